"""One database session per request, closed (and rolled back if not committed) on teardown."""
from __future__ import annotations

import logging

from flask import current_app, g
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)


def get_session() -> Session:
    if "db_session" not in g:
        g.db_session = current_app.extensions["assetmap.session_factory"]()
    return g.db_session


def _close_session(exc=None) -> None:
    session = g.pop("db_session", None)
    if session is None:
        return
    try:
        if exc is not None:
            session.rollback()
        session.close()
    except SQLAlchemyError as error:
        # The connection died under us (a database restart): the response is already decided and
        # the pool discards the connection; failing here would turn it into a bare 500.
        log.warning("discarding a broken database session: %s", str(error).splitlines()[0])


def init_app(app) -> None:
    app.teardown_appcontext(_close_session)
