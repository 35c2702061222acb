"""One migration history, and models that agree with the schema the migrations build."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text

from assetmap.db import migrate
from assetmap.db.models import Base

PROJECT = Path(__file__).resolve().parent.parent
# The heads databases deployed before revision 0008 record in alembic_version.
FEATURE_HEADS = {"0004", "0005", "0006", "0007"}


def test_the_history_has_one_head():
    heads = ScriptDirectory.from_config(migrate.alembic_config("postgresql://")).get_heads()
    assert heads == [migrate.head_revision()], f"more than one head: {heads}; a new migration revises the newest"


def test_the_test_database_is_migrated_to_that_head(db_url):
    assert migrate.current_revisions(db_url) == {migrate.head_revision()}


def test_models_and_migrated_schema_agree(db_conn):
    """Autogenerate, run on the migrated test database, would write an empty migration."""
    context = MigrationContext.configure(db_conn, opts=migrate.COMPARE_OPTIONS)
    assert compare_metadata(context, Base.metadata) == []


def test_the_comparison_leaves_out_what_postgis_owns(db_conn):
    context = MigrationContext.configure(db_conn, opts={**migrate.COMPARE_OPTIONS, "include_object": None})
    unfiltered = {d[1].name for d in compare_metadata(context, Base.metadata) if d[0] == "remove_table"}
    assert "spatial_ref_sys" in unfiltered


def test_a_database_at_the_four_feature_heads_upgrades_to_the_single_head(db_conn):
    db_conn.execute(text("DELETE FROM alembic_version"))
    for head in sorted(FEATURE_HEADS):
        db_conn.execute(text("INSERT INTO alembic_version (version_num) VALUES (:v)"), {"v": head})
    assert MigrationContext.configure(db_conn).get_current_heads() == tuple(sorted(FEATURE_HEADS))
    cfg = migrate.alembic_config("postgresql://")
    cfg.attributes["connection"] = db_conn
    # To the merge point only: later revisions have already run on this test database.
    command.upgrade(cfg, "0008")
    assert MigrationContext.configure(db_conn).get_current_heads() == ("0008",)


def test_the_alembic_command_reads_its_ini_and_assetmaps_database(db_url):
    """``alembic -c assetmap/db/alembic.ini ...`` works, its URL taken from assetmap's settings."""
    env = {**os.environ, "DATABASE_URL": db_url, "PYTHONPATH": str(PROJECT)}

    def alembic(*args: str) -> list[str]:
        done = subprocess.run([sys.executable, "-m", "alembic", "-c", "assetmap/db/alembic.ini", *args],
                              capture_output=True, text=True, env=env, cwd=PROJECT, timeout=120)
        assert done.returncode == 0, done.stderr
        return done.stdout.split()

    assert alembic("heads") == [migrate.head_revision(), "(head)"]
    assert alembic("current")[:2] == [migrate.head_revision(), "(head)"]  # a merge point says so too
