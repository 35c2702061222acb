"""One statement run through the driver (psycopg) rather than SQLAlchemy's execution layer.

For the statement every API search runs (:func:`assetmap.db.finder.search_near`), SQLAlchemy's
execution layer (compiled-cache lookup, execution context, result metadata, row mappings) was
about a fifth of the search's Python CPU in a worker (bench_finder.py). :func:`fetch_all` keeps
the rest of SQLAlchemy: the connection is its (pool, pre-ping, the request's transaction or
autocommit), the statement is its ``text()`` compiled by its psycopg dialect once, and errors come
out as its errors, a lost connection invalidated, so the 503 handling and self-healing stay as
they are.
What it skips: SQLAlchemy's ``*_cursor_execute`` events do not see the statement.
"""
from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache

from psycopg.rows import dict_row
from sqlalchemy.dialects.postgresql import psycopg as _psycopg_dialect
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import TextClause

_DIALECT = _psycopg_dialect.dialect()


@lru_cache(maxsize=256)
def driver_sql(statement: TextClause) -> str:
    """The statement as psycopg takes it (``:name`` → ``%(name)s``, a literal ``%`` doubled)."""
    return str(statement.compile(dialect=_DIALECT))


def fetch_all(handle: Connection | Session, statement: TextClause, params: Mapping) -> list[dict]:
    """All rows of ``statement`` as dicts, run on ``handle``'s connection (a session's: in its
    transaction)."""
    connection = handle.connection() if isinstance(handle, Session) else handle
    sql = driver_sql(statement)
    dbapi_connection = connection.connection.driver_connection
    try:
        with dbapi_connection.cursor(row_factory=dict_row) as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall()
    except connection.dialect.loaded_dbapi.Error as error:
        # As SQLAlchemy's own execution would: a connection that is gone is invalidated (the
        # pool replaces it), and the error is wrapped (OperationalError for a lost server).
        lost = connection.dialect.is_disconnect(error, dbapi_connection, None)
        if lost:
            connection.invalidate(error)
        raise DBAPIError.instance(sql, dict(params), error, connection.dialect.loaded_dbapi.Error,
                                  connection_invalidated=lost, dialect=connection.dialect) from error
