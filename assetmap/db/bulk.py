"""Bulk loading through a temporary table and COPY, then one set-based upsert: fast, and the
whole import stays inside the caller's transaction (nothing half-written)."""
from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import text
from sqlalchemy.orm import Session


def copy_into_temp(session: Session, name: str, columns: Sequence[tuple[str, str]], rows: Iterable[Sequence]) -> int:
    """Create ``TEMP TABLE name`` (dropped at commit) with ``columns`` [(name, sql type)] and COPY ``rows``."""
    cols_sql = ", ".join(f"{c} {t}" for c, t in columns)
    session.execute(text(f"DROP TABLE IF EXISTS {name}"))
    session.execute(text(f"CREATE TEMP TABLE {name} ({cols_sql}) ON COMMIT DROP"))
    raw = session.connection().connection.driver_connection  # the psycopg connection, same transaction
    n = 0
    with raw.cursor() as cur:
        with cur.copy(f"COPY {name} ({', '.join(c for c, _ in columns)}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
                n += 1
    return n


def upsert_counts(session: Session, sql: str, params: dict | None = None) -> tuple[int, int]:
    """Run an ``INSERT ... ON CONFLICT ... DO UPDATE ... WHERE changed RETURNING (xmax = 0)`` and
    return (inserted, updated). Rows whose values did not change are not returned."""
    flags = session.execute(text(sql), params or {}).scalars().all()
    inserted = sum(1 for f in flags if f)
    return inserted, len(flags) - inserted
