"""Test fixtures on a real PostGIS.

A template database holding the reference data the tests share (Shropshire and Oldham boundaries,
2011 and 2021, IoD 2019 and 2025, Census 2021 population, the 2021 lookups and MSOA names, and
the Code-Point postcodes of the areas around them) is built once and rebuilt only
when the schema or the importers change; each test session clones it (CREATE DATABASE ... TEMPLATE)
and each test runs in a transaction that is rolled back.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session

from assetmap import config
from assetmap.db.cluster import database_url
from assetmap.db.engine import dispose_engines, drop_database
from tests.rollback import app_sharing, rolled_back, savepoint_session

# The fixtures each feature's tests share, registered here once: a test module names a fixture as a
# parameter and never imports it. (The helper functions in these modules are imported by name.)
pytest_plugins = [
    "tests.contribute_fixtures",
    "tests.finder_fixtures",
    "tests.gaps_fixtures",
    "tests.oruk_fixtures",
    "tests.profile_fixtures",
]

PROJECT = Path(__file__).resolve().parent.parent
SHROPSHIRE, OLDHAM = "E06000051", "E08000004"
# Postcode areas covering both places and their neighbours (gap catchments cross borders).
POSTCODE_AREAS = ["SY", "TF", "WV", "LD", "DY", "OL", "M", "SK", "HX"]


def _template_fingerprint() -> str:
    h = hashlib.sha256()
    for pattern in ["assetmap/db/migrations/versions/*.py", "assetmap/importers/*.py", "assetmap/db/seed.py",
                    "data/*.json", "tests/conftest.py"]:
        for f in sorted(PROJECT.glob(pattern)):
            h.update(f.name.encode())
            h.update(f.read_bytes())
    return h.hexdigest()[:16]


def _base_url() -> str:
    explicit = os.environ.get("ASSETMAP_TEST_DATABASE_URL")
    if explicit:
        return explicit
    name = os.environ.get("ASSETMAP_TEST_DB", "assetmap_test")
    return database_url(name)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    d = config.data_dir()
    if not (d / "README.md").exists():
        pytest.fail(f"the shared open data is not at {d}; set ASSETMAP_DATA_DIR")
    return d


def load_reference_data(url: str, data: Path) -> None:
    """Migrate, seed and load the shared reference data into ``url`` (used for the template)."""
    from assetmap.db.engine import session_scope
    from assetmap.db.migrate import upgrade
    from assetmap.db.seed import record_import, seed_datasets, seed_taxonomy
    from assetmap.importers.boundaries import derive_lad_geometries, fill_missing_lad_codes, import_boundaries
    from assetmap.importers.demo import geography_2021_steps
    from assetmap.importers.indicators import import_iod
    from assetmap.importers.postcodes import import_codepoint

    upgrade(url)
    with session_scope(url) as s:
        seed_taxonomy(s)
        seed_datasets(s)
        b = data / "boundaries"
        for lad, place in [(SHROPSHIRE, "shropshire"), (OLDHAM, "oldham")]:
            for level in ["lsoa11", "msoa11", "wards"]:
                record_import(s, "ons-boundaries", import_boundaries(s, b / f"{level}_{lad}_{place}.geojson"))
        for name in ["imd2019_lsoa11.csv", "iod2019_domains_lsoa11.csv", "iod2019_population_lsoa11.csv"]:
            record_import(s, "iod2019", import_iod(s, data / "imd2019" / name, lad_codes=[SHROPSHIRE, OLDHAM]))
        fill_missing_lad_codes(s)
        derive_lad_geometries(s)
        for _, key, path, fn in geography_2021_steps(data, [SHROPSHIRE, OLDHAM]):
            record_import(s, key, fn(s, path))
        codepoint = import_codepoint(s, data / "postcodes" / "codepo_gb.zip", areas=POSTCODE_AREAS)
        record_import(s, "codepoint-open", codepoint)
        from assetmap.importers.places import import_places
        record_import(s, "os-open-names", import_places(s, data / "gazetteer" / "gb_populated_places_all_BNG_csv.zip"))
        s.execute(text("ANALYZE"))


@pytest.fixture(scope="session")
def db_url(data_dir) -> str:
    """A fresh test database cloned from the reference-data template."""
    url = _base_url()
    target = make_url(url)
    template = target.set(database=f"{target.database}_template").render_as_string(hide_password=False)
    fingerprint = _template_fingerprint()
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        current = conn.execute(
            text("SELECT shobj_description(oid, 'pg_database') FROM pg_database WHERE datname = :n"),
            {"n": make_url(template).database},
        ).scalar()
    if current != fingerprint:
        drop_database(template)
        load_reference_data(template, data_dir)
        dispose_engines(template)
        with admin.connect() as conn:
            conn.execute(text(f'COMMENT ON DATABASE "{make_url(template).database}" IS \'{fingerprint}\''))
    drop_database(url)
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{target.database}" TEMPLATE "{make_url(template).database}"'))
    admin.dispose()
    yield url
    dispose_engines(url)


@pytest.fixture
def db_conn(db_url):
    """A connection inside a transaction that is rolled back after the test."""
    with rolled_back(db_url) as conn:
        yield conn


@pytest.fixture
def db_session(db_conn) -> Session:
    """A session whose commits only release savepoints: the test's writes vanish afterwards."""
    session = savepoint_session(db_conn)
    yield session
    session.close()


@pytest.fixture
def app(request, db_url, db_conn):
    """The Flask app, its requests sharing the test's rolled-back transaction; a test (or module)
    marked ``@pytest.mark.app_config(KEY=value, ...)`` gets those settings too."""
    marker = request.node.get_closest_marker("app_config")
    return app_sharing(db_url, db_conn, **(marker.kwargs if marker else {}))


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner():
    from click.testing import CliRunner

    return CliRunner()


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium for a module's browser tests."""
    from tests.live import chromium

    with chromium() as b:
        yield b


@pytest.fixture
def shots(tmp_path) -> Path:
    """Where a test's screenshots go: ASSETMAP_SCREENSHOT_DIR to keep them, else a temporary folder."""
    from tests.live import screenshot_dir

    return screenshot_dir(tmp_path)
