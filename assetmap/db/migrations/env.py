"""Alembic environment: the URL comes from the caller (assetmap.db.migrate), never from a file."""
from alembic import context
from sqlalchemy import create_engine, pool

from assetmap.db.models import Base

config = context.config
target_metadata = Base.metadata


def include_object(obj, name, type_, reflected, compare_to):
    # PostGIS owns these; never autogenerate drops for them.
    if type_ == "table" and name in {"spatial_ref_sys"}:
        return False
    return True


def run_migrations_online() -> None:
    connectable = config.attributes.get("connection")
    if connectable is None:
        engine = create_engine(config.get_main_option("sqlalchemy.url"), poolclass=pool.NullPool)
        with engine.connect() as connection:
            _run(connection)
    else:
        _run(connectable)


def _run(connection) -> None:
    context.configure(connection=connection, target_metadata=target_metadata, include_object=include_object)
    with context.begin_transaction():
        context.run_migrations()


run_migrations_online()
