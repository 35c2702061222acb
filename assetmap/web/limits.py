"""Bounds on expensive work, per request: how long a database statement may run, how many new gap
runs an anonymous client may start, and how many computations run at once.

- Every request's database connections carry a ``statement_timeout``
  (:data:`assetmap.db.engine.statement_timeout_ms`): ``ASSETMAP_STATEMENT_TIMEOUT_MS`` for
  anonymous visitors and the public API, ``ASSETMAP_SIGNED_IN_STATEMENT_TIMEOUT_MS`` for signed-in
  users. The command line and imports have none.
- A gap run computed for a request (:data:`assetmap.db.gap_runs.compute_guard`) first takes one of
  ``ASSETMAP_MAX_COMPUTATIONS`` slots shared by every worker of this server (lock files) or, when
  ``REDIS_URL`` is set, by every server using that Redis; with none free the request is a 503 with
  ``Retry-After``. An anonymous client may start ``ASSETMAP_ANON_COMPUTE_LIMIT`` requests that
  compute (429 past that), and never an England-wide run other than the default one.
"""
from __future__ import annotations

import fcntl
import hashlib
import logging
import os
import secrets
import time
from contextlib import contextmanager
from pathlib import Path

from flask import abort, current_app, g, request
from flask_login import current_user
from limits import parse

from assetmap import config
from assetmap.db import engine, gap_runs
from assetmap.domain.gap_analysis import ALL_AREAS
from assetmap.errors import ServiceBusyError, TooManyRequestsError
from assetmap.web.extensions import API_PATH, client_address, limiter

log = logging.getLogger(__name__)

DEFAULTS = {
    "ASSETMAP_STATEMENT_TIMEOUT_MS": 10_000,
    "ASSETMAP_SIGNED_IN_STATEMENT_TIMEOUT_MS": 60_000,
    # Requests that start at least one new gap run, per anonymous client.
    "ASSETMAP_ANON_COMPUTE_LIMIT": "6 per 10 minutes",
    # Requests to the gap pages and API (cached or not), per client.
    "ASSETMAP_GAP_RATE_LIMIT": "60 per minute",
    # Half the CPUs: the other half keeps serving the finder and the pages while runs compute.
    "ASSETMAP_MAX_COMPUTATIONS": max(1, (os.cpu_count() or 2) // 2),
    "ASSETMAP_COMPUTE_RETRY_AFTER": 10,
}
#: How long a Redis slot outlives a worker that died holding it (seconds): past gunicorn's timeout.
SLOT_TTL_S = 120


def gap_rate_limit() -> str:
    """The per-client limit on the gap pages and API (for ``@limiter.limit``)."""
    return current_app.config["ASSETMAP_GAP_RATE_LIMIT"]


class FileSlots:
    """``n`` slots shared by every process on this machine using ``folder``: each an exclusive
    ``flock`` on a file, released by the kernel if the process dies."""

    def __init__(self, folder: Path, n: int):
        self.folder, self.n = folder, n

    def acquire(self):
        self.folder.mkdir(parents=True, exist_ok=True)
        for i in range(self.n):
            fd = os.open(self.folder / f"slot-{i}.lock", os.O_RDWR | os.O_CREAT, 0o600)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            return fd
        return None

    def release(self, fd) -> None:
        fcntl.flock(fd, fcntl.LOCK_UN)
        os.close(fd)


_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end"


class RedisSlots:
    """``n`` slots shared by every server using one Redis: each a key set only if absent, with an
    expiry in case its holder dies, deleted on release only by its holder. Falls back to
    ``fallback`` (this machine's slots) while Redis does not answer."""

    def __init__(self, url: str, prefix: str, n: int, fallback: FileSlots):
        import redis

        self.client = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self.prefix, self.n, self.fallback = prefix, n, fallback

    def acquire(self):
        import redis

        token = secrets.token_hex(8)
        try:
            for i in range(self.n):
                key = f"{self.prefix}:slot:{i}"
                if self.client.set(key, token, nx=True, ex=SLOT_TTL_S):
                    return ("redis", key, token)
            return None
        except redis.RedisError as exc:
            log.warning("Redis unavailable for the computation slots, using this machine's: %s", exc)
            fd = self.fallback.acquire()
            return None if fd is None else ("file", fd)

    def release(self, slot) -> None:
        import redis

        if slot[0] == "file":
            self.fallback.release(slot[1])
            return
        try:
            self.client.eval(_RELEASE, 1, slot[1], slot[2])
        except redis.RedisError as exc:  # the key expires by itself
            log.warning("could not release a computation slot in Redis: %s", exc)


def make_slots(app):
    """The computation slots of ``app``: per database, on this machine or in ``REDIS_URL``."""
    n = int(app.config["ASSETMAP_MAX_COMPUTATIONS"])
    database = hashlib.sha1(str(app.config["SQLALCHEMY_DATABASE_URI"]).encode()).hexdigest()[:12]
    files = FileSlots(config.instance_dir() / "locks" / f"gap-compute-{database}", n)
    redis_url = app.config.get("REDIS_URL")
    if redis_url:
        prefix = f"assetmap:{app.config.get('RATELIMIT_KEY_PREFIX') or ''}:{database}:gap-compute"
        return RedisSlots(redis_url, prefix, n, files)
    return files


def signed_in() -> bool:
    """Is a user signed in? (Never under /api/, which has no session.)"""
    if request.path.startswith(API_PATH):
        return False
    return bool(current_user.is_authenticated)


def _count_anonymous_computation() -> None:
    """Count this request against the client's allowance of requests that compute (once)."""
    if g.get("gap_compute_counted") or not current_app.config.get("RATELIMIT_ENABLED", True):
        return
    g.gap_compute_counted = True
    item = parse(current_app.config["ASSETMAP_ANON_COMPUTE_LIMIT"])
    client = client_address()
    try:
        if limiter.limiter.hit(item, "gap-compute", client):
            return
        reset_at, _remaining = limiter.limiter.get_window_stats(item, "gap-compute", client)
    except Exception as exc:  # a storage that does not answer: the cap on computations still holds
        log.warning("could not count a gap computation against the client's allowance: %s", exc)
        return
    retry_after = max(1, int(reset_at - time.time() + 0.999))
    raise TooManyRequestsError(
        f"You have asked for {item} new gap analyses (other settings than the ones already worked out). "
        "Signed-in planners can ask for more.", details={"retry_after": retry_after})


@contextmanager
def _computation(params):
    """The guard :func:`assetmap.db.gap_runs.ensure_run` holds while it computes a run."""
    if not signed_in():
        if params.lad == ALL_AREAS:
            abort(403, "England-wide analyses with other settings than the defaults are for signed-in planners; "
                       "choose a local authority, or keep the default settings.")
        _count_anonymous_computation()
    slots = current_app.extensions["assetmap.compute_slots"]
    slot = slots.acquire()
    if slot is None:
        raise ServiceBusyError(
            "Every slot for working out a new gap analysis is in use just now. "
            "Analyses already worked out are still shown straight away.",
            details={"retry_after": int(current_app.config["ASSETMAP_COMPUTE_RETRY_AFTER"])})
    try:
        yield
    finally:
        slots.release(slot)


def _before_request() -> None:
    g.limits_tokens = (engine.statement_timeout_ms.set(int(current_app.config["ASSETMAP_STATEMENT_TIMEOUT_MS"])),
                       gap_runs.compute_guard.set(_computation))
    if (request.endpoint in (None, "static") or request.endpoint.startswith("health.")
            or request.path.startswith(API_PATH)):
        return
    if current_user.is_authenticated:  # loads the user (over a connection with the shorter timeout)
        engine.statement_timeout_ms.set(int(current_app.config["ASSETMAP_SIGNED_IN_STATEMENT_TIMEOUT_MS"]))
        from assetmap.web.db import release_connections

        release_connections()  # the next one is checked out with the longer timeout


def _teardown_request(_exc=None) -> None:
    tokens = g.pop("limits_tokens", None)
    if tokens:
        engine.statement_timeout_ms.reset(tokens[0])
        gap_runs.compute_guard.reset(tokens[1])


def init_app(app) -> None:
    for key, value in DEFAULTS.items():
        app.config.setdefault(key, os.environ.get(key) or value)
    app.extensions["assetmap.compute_slots"] = make_slots(app)
    app.before_request(_before_request)
    app.teardown_request(_teardown_request)
