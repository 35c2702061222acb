"""A test's database writes, rolled back at its end: a connection inside a transaction, sessions
whose commits only release savepoints, and the app with every request sharing that transaction."""
from __future__ import annotations

from contextlib import contextmanager

from sqlalchemy.orm import Session

from assetmap.db.engine import get_engine


@contextmanager
def rolled_back(url: str):
    """A connection inside a transaction that is rolled back at the end of the block."""
    conn = get_engine(url).connect()
    trans = conn.begin()
    try:
        yield conn
    finally:
        trans.rollback()
        conn.close()


def savepoint_session(conn) -> Session:
    """A session on ``conn`` whose commits only release savepoints."""
    return Session(bind=conn, join_transaction_mode="create_savepoint", expire_on_commit=False)


def app_sharing(url: str, conn, **config):
    """The Flask app on ``url``, every request's session sharing ``conn``'s transaction."""
    from assetmap.web import create_app

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "test",
                      "RATELIMIT_ENABLED": False, **config})
    app.extensions["assetmap.session_factory"] = lambda: savepoint_session(conn)
    app.extensions["assetmap.reader_factory"] = lambda: savepoint_session(conn)
    return app
