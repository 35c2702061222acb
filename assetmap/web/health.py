"""Health checks for load balancers and deploys: /healthz (the process answers) and /readyz
(the database answers, no restore is running, and its schema is at the newest migration).

/readyz is public, so its answer says what is wrong in words and never names the database's host,
port or error text; those go to the log. The log gets one line when this process finds the
database unreachable and one when it is back (:func:`note_database_down`, :func:`note_database_up`),
not one a request: an outage under load would otherwise write thousands.
"""
from __future__ import annotations

import logging
import threading

from flask import Blueprint, current_app, jsonify
from sqlalchemy.exc import SQLAlchemyError

bp = Blueprint("health", __name__)
log = logging.getLogger(__name__)

_outage = {"down": False, "failed_requests": 0}
_outage_lock = threading.Lock()


def note_database_down(detail: str) -> None:
    """Log the first failure of an outage (with its detail); count the rest quietly."""
    with _outage_lock:
        first = not _outage["down"]
        _outage["down"] = True
        _outage["failed_requests"] += 1
    if first:
        log.warning("database unreachable: %s", detail)


def note_database_up() -> None:
    """After an outage, log once that the database answers again, and how many requests failed."""
    if not _outage["down"]:  # the common case: no lock taken
        return
    with _outage_lock:
        if not _outage["down"]:
            return
        failed, _outage["down"], _outage["failed_requests"] = _outage["failed_requests"], False, 0
    log.warning("database reachable again (%d requests answered 503 meanwhile)", failed)


@bp.after_app_request
def _track_recovery(response):
    if response.status_code < 500:
        note_database_up()
    return response


@bp.route("/healthz")
def healthz():
    return jsonify(status="ok")


@bp.route("/readyz")
def readyz():
    from assetmap.db import locks, migrate
    from assetmap.web.db import get_session

    try:
        session = get_session()
        # First, before any of the application's tables (a restore holds their locks).
        restoring = locks.is_held(session, locks.RESTORE)
        if not restoring:
            current = migrate.current_revisions(current_app.config["SQLALCHEMY_DATABASE_URI"])
    except SQLAlchemyError as exc:
        note_database_down(str(getattr(exc, "orig", exc)).strip().splitlines()[0])
        return jsonify(status="unavailable", reason="the database does not answer"), 503
    if restoring:
        return jsonify(status="restoring", reason="a restore of the database is running"), 503
    head = migrate.head_revision()
    if current != {head}:
        return jsonify(status="migrations pending", reason="run `assetmap db upgrade`",
                       current=sorted(current), head=[head]), 503
    return jsonify(status="ready", migrations=sorted(current))
