"""One error handler: the application's errors carry their HTTP status; JSON for the API, HTML
for pages. Never a traceback page; a database that is down is a 503, not a 500."""
from __future__ import annotations

import logging

from flask import jsonify, make_response, render_template, request
from sqlalchemy.exc import DBAPIError, OperationalError
from werkzeug.exceptions import HTTPException
from werkzeug.http import HTTP_STATUS_CODES

from assetmap.errors import AssetmapError
from assetmap.web.extensions import API_PATH

log = logging.getLogger(__name__)


def wants_json() -> bool:
    return request.path.startswith((API_PATH, "/oruk")) or request.accept_mimetypes.best == "application/json"


def _respond(status: int, title: str, message: str, details: dict | None = None):
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
        return _respond(exc.http_status, HTTP_STATUS_CODES.get(exc.http_status, "Error"), exc.message, exc.details)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        return _respond(exc.code or 500, exc.name, exc.description or exc.name)

    @app.errorhandler(OperationalError)
    def _db_down(exc):
        from assetmap.web.health import note_database_down

        note_database_down(str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc))
        response = _respond(503, "Service Unavailable",
                            "The database is not reachable just now. Please try again in a moment.")
        response.headers["Retry-After"] = "5"
        return response

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
