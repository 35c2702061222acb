"""assetmap.db.driver: a statement run through psycopg directly, on SQLAlchemy's connection and
with SQLAlchemy's errors."""
from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import OperationalError, ProgrammingError

from assetmap.db.driver import driver_sql, fetch_all
from assetmap.db.engine import get_engine, get_read_engine
from tests.factories import make_asset


def test_named_parameters_and_literal_percent_signs_reach_psycopg_as_it_takes_them():
    assert driver_sql(text("SELECT :a, CAST(:b AS text) WHERE 'x%' LIKE :c")) == (
        "SELECT %(a)s, CAST(%(b)s AS text) WHERE 'x%%' LIKE %(c)s"
    )


def test_rows_come_back_as_dicts_and_a_session_reads_its_own_transaction(db_session):
    asset = make_asset(db_session, name="Not committed")  # flushed, never committed
    rows = fetch_all(db_session, text("SELECT id, name FROM asset WHERE id = :id"), {"id": asset.id})
    assert rows == [{"id": asset.id, "name": "Not committed"}]


def test_a_lost_connection_is_an_operational_error_and_the_pool_heals(db_url):
    engine = get_read_engine(db_url)
    with engine.connect() as conn:
        pid = conn.connection.driver_connection.info.backend_pid
        with get_engine(db_url).connect() as admin:
            assert admin.execute(text("SELECT pg_terminate_backend(:pid, 5000)"), {"pid": pid}).scalar()
        with pytest.raises(OperationalError) as raised:
            fetch_all(conn, text("SELECT 1 AS one"), {})
        # As SQLAlchemy's own execution does: invalidated, so the web app answers 503, not 500.
        assert raised.value.connection_invalidated and conn.invalidated
    with engine.connect() as conn:
        assert fetch_all(conn, text("SELECT 1 AS one"), {}) == [{"one": 1}]


def test_other_database_errors_are_sqlalchemys_and_keep_the_connection(db_url):
    with get_read_engine(db_url).connect() as conn:
        with pytest.raises(ProgrammingError) as raised:
            fetch_all(conn, text("SELECT no_such_column FROM asset"), {})
        assert "no_such_column" in str(raised.value) and not raised.value.connection_invalidated
        assert fetch_all(conn, text("SELECT 2 AS two"), {}) == [{"two": 2}]
