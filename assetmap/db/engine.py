"""Engines and sessions. One engine per URL, cached; pre-ping so a database restart heals."""
from __future__ import annotations

import select
from contextlib import contextmanager
from contextvars import ContextVar
from functools import cache, partial

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from assetmap.errors import DatabaseUnavailableError

#: The ``statement_timeout`` (milliseconds) of connections handed out in this context: set by the web
#: layer for each request (shorter for anonymous visitors than for signed-in planners); None (the
#: command line, imports, tests calling the database directly) means no limit.
statement_timeout_ms: ContextVar[int | None] = ContextVar("statement_timeout_ms", default=None)


# Unbounded: an engine pushed out of a bounded cache would be dropped with its pooled connections
# still open. A process uses one URL or a handful (tests), and dispose_engines closes their pools.
@cache
def get_engine(url: str) -> Engine:
    return _make_engine(url)


@cache
def get_read_engine(url: str) -> Engine:
    """An engine whose connections run in autocommit, for requests that only read: each statement
    is a transaction of its own, so no BEGIN/COMMIT round trips, and nothing to roll back when a
    connection goes back to the pool (a rollback would also drop psycopg's prepared statements)."""
    return _make_engine(url, isolation_level="AUTOCOMMIT", pool_reset_on_return=None)


def _make_engine(url: str, **options) -> Engine:
    engine = create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10, **options)
    if engine.dialect.driver == "psycopg":
        engine.dialect.do_ping = partial(_ping_if_in_doubt, engine.dialect.do_ping)
    event.listen(engine, "checkout", _apply_statement_timeout)
    return engine


def _apply_statement_timeout(dbapi_connection, connection_record, _proxy) -> None:
    """Give a connection leaving the pool the timeout of :data:`statement_timeout_ms`.

    Set for the database session (not per transaction) so it holds across a request's commits and
    in autocommit; remembered on the pooled connection, so the usual case (the same timeout as the
    connection's last user) costs no round trip.
    """
    wanted = statement_timeout_ms.get() or 0
    if connection_record.info.get("statement_timeout_ms", 0) == wanted:
        return
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"SET statement_timeout = {int(wanted)}")
    finally:
        cursor.close()
    if not getattr(dbapi_connection, "autocommit", False):
        dbapi_connection.commit()
    connection_record.info["statement_timeout_ms"] = wanted


def dispose_engines(url: str) -> None:
    """Close the pooled connections of both engines on ``url`` (before dropping its database)."""
    get_engine(url).dispose()
    get_read_engine(url).dispose()


def _ping_if_in_doubt(ping, dbapi_connection) -> bool:
    """The pool's pre-ping, with a round trip only when the connection may have gone.

    An idle connection that is still open has nothing to read: a server that shuts down, restarts
    or ends the session sends its error and closes the socket, which makes it readable. So a poll
    that finds the socket quiet (no round trip, a few µs) stands for a successful ping; anything
    else (readable, hung up, closed, a bad state) gets the real ping, whose failure makes the
    pool reconnect as before.
    """
    from psycopg import pq

    try:
        pgconn = dbapi_connection.pgconn
        if (dbapi_connection.closed or pgconn.status != pq.ConnStatus.OK
                or pgconn.transaction_status != pq.TransactionStatus.IDLE):
            return ping(dbapi_connection)
        poller = select.poll()
        poller.register(pgconn.socket, select.POLLIN | select.POLLPRI)
        if poller.poll(0):
            return ping(dbapi_connection)
    except Exception:  # anything odd: ask the server
        return ping(dbapi_connection)
    return True


def make_session(url: str) -> Session:
    return sessionmaker(get_engine(url), expire_on_commit=False)()


@contextmanager
def session_scope(url: str):
    """A session inside one transaction: committed on success, rolled back on error."""
    session = make_session(url)
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def ensure_database(url: str) -> None:
    """Create the database named in ``url`` (if missing) and the PostGIS extension in it."""
    target = make_url(url)
    admin = target.set(database="postgres")
    try:
        engine = create_engine(admin, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": target.database}).scalar()
            if not exists:
                conn.execute(text(f'CREATE DATABASE "{target.database}"'))
        engine.dispose()
        engine = create_engine(target, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            conn.execute(text("CREATE EXTENSION IF NOT EXISTS postgis"))
        engine.dispose()
    except OperationalError as exc:
        raise DatabaseUnavailableError(
            f"cannot reach the database at {target.render_as_string()}: {_first_line(exc)}"
        ) from exc


def drop_database(url: str, attempts: int = 5) -> None:
    """Drop the database at ``url``, ending this role's sessions in it first.

    Not ``WITH (FORCE)``: for a role that is not a superuser, that fails outright when an
    autovacuum worker happens to be busy in the database ("must be a member of the role whose
    process is being terminated"), while a plain ``DROP DATABASE`` stops such a worker itself and
    waits a few seconds for sessions that are ending."""
    target = make_url(url)
    engine = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            for attempt in range(1, attempts + 1):
                conn.execute(text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = :name AND usename = current_user AND pid <> pg_backend_pid()"
                ), {"name": target.database})
                try:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{target.database}"'))
                    return
                except OperationalError as exc:  # 55006: still in use (a session not yet ended)
                    if getattr(exc.orig, "sqlstate", None) != "55006" or attempt == attempts:
                        raise
    finally:
        engine.dispose()


def _first_line(exc: Exception) -> str:
    return str(getattr(exc, "orig", exc)).strip().splitlines()[0]
