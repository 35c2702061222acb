"""One error handler: the application's errors carry their HTTP status; JSON for the API, HTML
for pages. Never a traceback page; a database that is down is a 503, not a 500. A refusal that
will pass (a rate limit, the service busy, a statement that ran too long) says when to try again:
a ``Retry-After`` header, ``retry_after`` in the JSON, and words on the page."""
from __future__ import annotations

import logging
import math
import time

from flask import jsonify, make_response, render_template, request
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException, TooManyRequests
from werkzeug.http import HTTP_STATUS_CODES

from assetmap.errors import AssetmapError
from assetmap.web.extensions import API_PATH

log = logging.getLogger(__name__)
#: Titles for refusals that pass with time (others take the standard reason phrase).
FRIENDLY_TITLES = {429: "Please wait a moment", 503: "Busy just now"}
#: PostgreSQL's SQLSTATE for a statement cancelled (here: by ``statement_timeout``).
QUERY_CANCELED = "57014"


def wants_json() -> bool:
    return request.path.startswith((API_PATH, "/oruk")) or request.accept_mimetypes.best == "application/json"


def wait_in_words(seconds: int) -> str:
    """How long to wait, as a person would say it.

    >>> [wait_in_words(s) for s in (1, 45, 60, 61, 150, 3600, 5400)]
    ['a second', '45 seconds', 'a minute', '2 minutes', '3 minutes', 'an hour', '2 hours']
    """
    if seconds <= 1:
        return "a second"
    if seconds < 60:
        return f"{seconds} seconds"
    minutes = math.ceil(seconds / 60)
    if minutes == 1:
        return "a minute"
    if minutes < 60:
        return f"{minutes} minutes"
    hours = round(minutes / 60)
    return "an hour" if hours == 1 else f"{hours} hours"


def _respond(status: int, title: str, message: str, details: dict | None = None):
    retry_after = (details or {}).get("retry_after")
    if retry_after is not None:
        details = {**details, "retry_after": int(retry_after), "try_again": wait_in_words(int(retry_after))}
    response = _render(status, title, message, details)
    if retry_after is not None:
        response.headers["Retry-After"] = str(int(retry_after))
    return response


def _render(status: int, title: str, message: str, details: dict | None):
    if wants_json():
        body = {"error": {"status": status, "title": title, "message": message}}
        if details:
            body["error"].update(details)
        return make_response(jsonify(body), status)
    return make_response(
        render_template("error.html", status=status, title=title, message=message, details=details or {}), status
    )


def init_app(app) -> None:
    @app.errorhandler(AssetmapError)
    def _app_error(exc: AssetmapError):
        title = FRIENDLY_TITLES.get(exc.http_status) or HTTP_STATUS_CODES.get(exc.http_status, "Error")
        return _respond(exc.http_status, title, exc.message, exc.details)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        return _respond(exc.code or 500, exc.name, exc.description or exc.name)

    @app.errorhandler(TooManyRequests)
    def _rate_limited(exc: TooManyRequests):
        """Flask-Limiter's refusal: when the client's window resets, in plain words."""
        from assetmap.web.extensions import limiter

        current = limiter.current_limit
        retry_after = max(1, math.ceil(current.window[0] - time.time())) if current is not None else 60
        item = getattr(getattr(exc, "limit", None), "limit", None)
        limit = exc.description
        if item is not None:
            unit, n = item.GRANULARITY.name, item.multiples
            limit = f"{item.amount} a {unit}" if n == 1 else f"{item.amount} every {n} {unit}s"
        return _respond(429, "Please wait a moment",
                        f"You have sent a lot of requests in a short time (the limit is {limit}), so this one "
                        "was not carried out. Nothing is wrong with your account or your connection.",
                        {"retry_after": retry_after})

    @app.errorhandler(OperationalError)
    def _db_down(exc):
        if getattr(getattr(exc, "orig", None), "sqlstate", None) == QUERY_CANCELED:
            log.warning("statement timeout: %s %s", request.method, request.path)
            return _respond(503, "This took too long",
                            "Working this out took longer than a request may take here, so it was stopped. "
                            "Try a smaller area or fewer codes, or try again later.", {"retry_after": 30})
        from assetmap.web.health import note_database_down

        note_database_down(str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc))
        return _respond(503, "Service Unavailable",
                        "The database is not reachable just now. Please try again in a moment.", {"retry_after": 5})

    @app.errorhandler(DBAPIError)
    def _db_error(exc):
        if exc.connection_invalidated:
            return _db_down(exc)
        log.exception("database error")
        return _respond(500, "Internal Server Error", "Something went wrong on our side; it has been logged.")

    @app.errorhandler(Exception)
    def _unexpected(exc):
        log.exception("unhandled error")
        return _respond(500, "Internal Server Error", "Something went wrong on our side; it has been logged.")
