"""Run the Alembic migrations programmatically (``assetmap init`` / ``assetmap db upgrade``).

The history has one head (revision 0008 joined the feature branches): a new migration revises the
newest one. A second head makes :func:`upgrade` and :func:`head_revision` fail rather than migrate
to an order nobody chose.
"""
from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from assetmap.db.engine import ensure_database, get_engine

ALEMBIC_INI = Path(__file__).resolve().parent / "alembic.ini"


def alembic_config(url: str) -> Config:
    """Alembic's settings (``alembic.ini``, as the ``alembic`` command reads them) on ``url``."""
    cfg = Config(str(ALEMBIC_INI))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    """Create the database and PostGIS if needed, then migrate to ``revision``."""
    ensure_database(url)
    command.upgrade(alembic_config(url), revision)


def head_revision() -> str:
    """The newest revision (Alembic raises if the history has more than one head)."""
    return ScriptDirectory.from_config(alembic_config("postgresql://")).get_current_head()


def current_revisions(url: str) -> set[str]:
    """The revisions ``alembic_version`` records: one at head, several in a database not yet
    upgraded past the branches that 0008 joined."""
    with get_engine(url).connect() as conn:
        return set(MigrationContext.configure(conn).get_current_heads())


def pending_revisions(url: str) -> list[str]:
    """The migrations ``upgrade`` would apply to the database at ``url``, oldest first."""
    script = ScriptDirectory.from_config(alembic_config(url))
    current = tuple(current_revisions(url))
    applied = {rev.revision for rev in script.iterate_revisions(current, "base")} if current else set()
    return [rev.revision for rev in reversed(list(script.walk_revisions())) if rev.revision not in applied]


# --- comparing the models with the migrated schema ------------------------------------------

# Tables that PostGIS and its extensions own (postgis_topology, postgis_tiger_geocoder): they are
# in the database but never in the models, and no migration of ours creates or drops them.
EXTENSION_SCHEMAS = {"topology", "tiger", "tiger_data"}
EXTENSION_TABLES = {"spatial_ref_sys", "geometry_columns", "geography_columns", "raster_columns",
                    "raster_overviews", "layer", "topology"}


def include_object(obj, name, type_, reflected, compare_to) -> bool:
    """Leave out of autogenerate what PostGIS owns: its tables and, for a geometry column, the
    GiST index GeoAlchemy2 creates with the column (``idx_<table>_<column>``)."""
    if type_ == "table":
        return name not in EXTENSION_TABLES and getattr(obj, "schema", None) not in EXTENSION_SCHEMAS
    if type_ == "index" and name and name.startswith("idx_") and _is_spatial_index(obj):
        return False
    return True


def _is_spatial_index(index) -> bool:
    from geoalchemy2.types import _GISType

    columns = list(index.columns)
    return len(columns) == 1 and isinstance(columns[0].type, _GISType)


COMPARE_OPTIONS = {"include_object": include_object, "compare_type": True, "compare_server_default": True}
