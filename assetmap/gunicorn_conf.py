"""gunicorn settings for `assetmap serve --production`: workers from the CPU count, structured
access logs, and no request that can hang a worker for ever."""
import json
import multiprocessing
import os
from datetime import UTC, datetime

from gunicorn.glogging import Logger

bind = os.environ.get("ASSETMAP_BIND", "127.0.0.1:8000")
# CPUs + 1 processes, not gunicorn's usual 2 x CPUs + 1 (which assumes workers that wait on other
# machines): a request here is CPU, in the worker or in PostgreSQL on the same machine, so every
# process past the CPUs only adds switching between them, and the one spare keeps the CPUs busy
# while a slow page (a gap map) holds a worker. bench_finder.py and bench_load.py, each setting
# taking turns with the other, gave more requests a second and a lower p99 this way (the figures
# are in the README, "Measured on one 2-core machine").
workers = int(os.environ.get("WEB_CONCURRENCY", multiprocessing.cpu_count() + 1))
# One thread a worker (gunicorn's sync worker). A request is CPU in Python or a short wait on
# PostgreSQL on the same machine, and the processes already cover those waits; a second
# thread adds no CPU (the GIL) but lets a busy worker accept connections it cannot serve yet, so
# requests queue behind another's work while an idle worker waits. bench_finder.py, 1 and 2
# threads taking turns, gave one thread the far lower p99 and less CPU a request (README). Raise
# ASSETMAP_THREADS only for slow clients or long database waits.
threads = int(os.environ.get("ASSETMAP_THREADS", "1"))
timeout = 60
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then (a guard against slow leaks), but rarely: a new worker imports the
# app (numpy, pandas, geopandas: most of a second of CPU) and starts with cold connections, so at
# full load a recycle every few thousand requests meant a restart every few seconds somewhere, and
# a latency spike with each.
max_requests = 50_000
max_requests_jitter = 5_000
accesslog = "-"
errorlog = "-"
# No control socket: gunicorn's default is one fixed path per user ($XDG_RUNTIME_DIR or
# ~/.gunicorn/gunicorn.ctl), which every run as the same user (root, say) would share. Reload and
# stop with signals to the master instead (HUP, TERM).
control_socket_disable = True
# gunicorn counts the bytes of a response only when it writes them itself; with sendfile, a static
# file's would be logged as 0.
sendfile = False
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


def post_worker_init(worker) -> None:
    """Load the gap analysis's compiled loop as the worker starts, not in a planner's first request
    (importing Numba and loading the loop's machine code take a few tenths of a second)."""
    try:
        from assetmap.domain.access import warm_up

        warm_up()
    except Exception:  # the gap pages would fail alike, but everything else must still be served
        worker.log.exception("could not load the gap analysis's compiled loop; the gap pages will not work")


def access_record(resp, environ, request_time) -> dict:
    """One access-log entry: what was asked, by whom, the answer and how long it took."""
    status = resp.status
    status = int(str(status).split(None, 1)[0]) if status else None
    return {
        "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "remote": environ.get("REMOTE_ADDR", "-"),
        "method": environ.get("REQUEST_METHOD"),
        "path": environ.get("PATH_INFO"),
        "query": environ.get("QUERY_STRING", ""),
        "status": status,
        "bytes": getattr(resp, "sent", 0) or 0,
        "duration_ms": round(request_time.total_seconds() * 1000, 1),
        "agent": environ.get("HTTP_USER_AGENT", "-"),
        "referer": environ.get("HTTP_REFERER", "-"),
    }


class JsonAccessLogger(Logger):
    """Access logs as one JSON object a line, written by ``json.dumps``: a backslash, quote or
    control character in a path, query or User-Agent is escaped, so every line parses."""

    def access(self, resp, req, environ, request_time):
        if not self.access_log_enabled:
            return
        try:
            line = json.dumps(access_record(resp, environ, request_time), separators=(",", ":"), default=str)
            self.access_log.info(line)
        except Exception:
            self.exception("could not write an access-log line")


logger_class = JsonAccessLogger
