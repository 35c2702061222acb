"""Alembic environment.

The URL comes from the caller (:mod:`assetmap.db.migrate` sets it), or, for the ``alembic``
command (``alembic -c assetmap/db/alembic.ini ...``), from assetmap's configuration, so no URL is
written in a file. Autogenerate compares with the options the schema test uses
(:data:`assetmap.db.migrate.COMPARE_OPTIONS`).
"""
from alembic import context
from sqlalchemy import create_engine, pool

from assetmap.db.cluster import database_url
from assetmap.db.migrate import COMPARE_OPTIONS
from assetmap.db.models import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    connectable = config.attributes.get("connection")
    if connectable is None:
        url = config.get_main_option("sqlalchemy.url") or database_url()
        engine = create_engine(url, poolclass=pool.NullPool)
        with engine.connect() as connection:
            _run(connection)
    else:
        _run(connectable)


def _run(connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, **COMPARE_OPTIONS)
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
