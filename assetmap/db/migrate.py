"""Run the Alembic migrations programmatically (``assetmap init`` / ``assetmap db upgrade``)."""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from assetmap.db.engine import ensure_database, get_engine

MIGRATIONS = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "heads") -> None:
    """Create the database and PostGIS if needed, then migrate to ``revision``."""
    ensure_database(url)
    command.upgrade(alembic_config(url), revision)


def head_revisions() -> set[str]:
    """The newest revision of each branch of migrations (features add theirs beside each other)."""
    return set(ScriptDirectory.from_config(alembic_config("postgresql://")).get_heads())


def current_revisions(url: str) -> set[str]:
    with get_engine(url).connect() as conn:
        return set(MigrationContext.configure(conn).get_current_heads())


def is_at_head(url: str) -> bool:
    return current_revisions(url) == head_revisions()


def pending_revisions(url: str) -> list[str]:
    """The migrations ``upgrade`` would apply to the database at ``url``, oldest first."""
    script = ScriptDirectory.from_config(alembic_config(url))
    current = tuple(current_revisions(url))
    applied = {rev.revision for rev in script.iterate_revisions(current, "base")} if current else set()
    return [rev.revision for rev in reversed(list(script.walk_revisions())) if rev.revision not in applied]
