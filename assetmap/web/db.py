"""The database for a request: a session (closed, and rolled back if not committed, on teardown),
or for views that only read, a connection in autocommit."""
from __future__ import annotations

import logging

from flask import current_app, g
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)


def get_session() -> Session:
    """This request's session."""
    if "db_session" not in g:
        g.db_session = current_app.extensions["assetmap.session_factory"]()
    return g.db_session


def get_reader() -> Connection | Session:
    """This request's connection for reading only (the public API): from an engine in autocommit
    (:func:`assetmap.db.engine.get_read_engine`), each statement a transaction of its own, with
    none of a session's bookkeeping (a sizeable share of a postcode search's Python time).
    Both it and a session answer ``execute``; the tests' factory gives a session that shares
    their rolled-back transaction."""
    if "db_reader" not in g:
        g.db_reader = current_app.extensions["assetmap.reader_factory"]()
    return g.db_reader


def _close(name: str, exc) -> None:
    handle = g.pop(name, None)
    if handle is None:
        return
    try:
        if exc is not None and isinstance(handle, Session):
            handle.rollback()
        handle.close()
    except SQLAlchemyError as error:
        # The connection died under us (a database restart): the response is already decided and
        # the pool discards the connection; failing here would turn it into a bare 500. Debug only:
        # the outage itself is logged once (assetmap.web.health.note_database_down).
        log.debug("discarding a broken database connection: %s", str(error).splitlines()[0])


def _close_all(exc=None) -> None:
    _close("db_session", exc)
    _close("db_reader", exc)


def release_connections() -> None:
    """Give this request's connections back to the pool now (nothing written yet is kept); the
    next :func:`get_session` or :func:`get_reader` checks out another, with the request's
    statement timeout as it is then (:data:`assetmap.db.engine.statement_timeout_ms`)."""
    _close_all()


def init_app(app) -> None:
    app.teardown_appcontext(_close_all)
