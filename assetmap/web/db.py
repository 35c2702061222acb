"""One database session per request, closed (and rolled back if not committed) on teardown."""
from __future__ import annotations

import logging

from flask import current_app, g
from sqlalchemy.engine import Engine
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)


def get_session(read_only: bool = False) -> Session:
    """This request's session (the first call decides how it is made).

    ``read_only`` is for views that only read, such as the public API: the connection runs in
    autocommit, each statement a transaction of its own, which spares the BEGIN and COMMIT
    round trips (two of a postcode search's three). It also keeps psycopg's prepared statements,
    which a ROLLBACK would drop (the rollback may have undone a PREPARE). A session already
    bound to a connection in a transaction (the tests') is used as it is.
    """
    if "db_session" not in g:
        session = current_app.extensions["assetmap.session_factory"]()
        if read_only and isinstance(session.get_bind(), Engine):
            session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        g.db_session = session
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
