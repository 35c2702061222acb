"""One database session per request, closed (and rolled back if not committed) on teardown."""
from __future__ import annotations

from flask import current_app, g
from sqlalchemy.orm import Session


def get_session() -> Session:
    if "db_session" not in g:
        g.db_session = current_app.extensions["assetmap.session_factory"]()
    return g.db_session


def _close_session(exc=None) -> None:
    session = g.pop("db_session", None)
    if session is not None:
        if exc is not None:
            session.rollback()
        session.close()


def init_app(app) -> None:
    app.teardown_appcontext(_close_session)
