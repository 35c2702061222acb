"""Engines and sessions. One engine per URL, cached; pre-ping so a database restart heals."""
from __future__ import annotations

from contextlib import contextmanager
from functools import lru_cache

from sqlalchemy import create_engine, text
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from assetmap.errors import DatabaseUnavailableError


@lru_cache(maxsize=8)
def get_engine(url: str) -> Engine:
    return create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10, future=True)


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
        raise DatabaseUnavailableError(f"cannot reach the database at {target.render_as_string()}: {_first_line(exc)}") from exc


def drop_database(url: str) -> None:
    target = make_url(url)
    engine = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
    engine.dispose()


def _first_line(exc: Exception) -> str:
    return str(getattr(exc, "orig", exc)).strip().splitlines()[0]
