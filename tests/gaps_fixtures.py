"""Fixtures for the gap analysis tests: a committed database with real Shropshire assets.

The session's test database has boundaries, IoD 2019 and postcodes but no assets, and every
test there is rolled back. Importing the official lists in every test would take seconds each,
so this clones the same template once a module into ``<test db>_browser_gaps``, imports the real
libraries, pharmacies and GP practices of the postcode areas in and around Shropshire (SY, TF,
WV, LD, DY: catchments cross the border) and commits. Tests then run in a rolled-back transaction
on it (``gdb``), and the browser test serves it from a real server.
"""
from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from assetmap.db.engine import dispose_engines, drop_database, session_scope
from tests.live import clone_template
from tests.rollback import app_sharing, rolled_back, savepoint_session

SHROPSHIRE, OLDHAM = "E06000051", "E08000004"
AROUND_SHROPSHIRE = ["SY", "TF", "WV", "LD", "DY"]
LIBRARIES = "libraries_england_2023.csv"
PHARMACIES = "consol_pharmacy_list_202324q3.csv"
EPRACCUR = "epraccur_2023-12.csv"


def import_shropshire_assets(session: Session, data_dir) -> dict:
    """Real libraries, pharmacies and GP practices in and around Shropshire, published."""
    from assetmap.importers.assets import import_assets

    reports = {}
    for name, fmt in [(LIBRARIES, "libraries"), (PHARMACIES, "nhsbsa-pharmacies"), (EPRACCUR, "epraccur")]:
        reports[fmt] = import_assets(session, data_dir / "assets" / name, fmt, publish=True,
                                     only_postcode_areas=AROUND_SHROPSHIRE)
    return reports


@pytest.fixture(scope="module")
def gaps_db_url(db_url, data_dir):
    """``<test db>_browser_gaps``: the reference data plus real Shropshire assets, committed; made
    afresh for each test module, because some commit to it (the browser test's server stores the
    gap runs it computes, and a stored run would answer another module's tests)."""
    url = clone_template(db_url, "browser_gaps")
    with session_scope(url) as session:
        import_shropshire_assets(session, data_dir)
        session.execute(text("ANALYZE"))
    yield url
    dispose_engines(url)
    drop_database(url)


@pytest.fixture
def gdb_conn(gaps_db_url):
    with rolled_back(gaps_db_url) as conn:
        yield conn


@pytest.fixture
def gdb(gdb_conn) -> Session:
    """A session on the assets database whose writes vanish after the test."""
    session = savepoint_session(gdb_conn)
    yield session
    session.close()


@pytest.fixture
def gapp(gaps_db_url, gdb_conn):
    """The Flask app on the assets database, sharing the test's rolled-back transaction."""
    return app_sharing(gaps_db_url, gdb_conn)


@pytest.fixture
def gclient(gapp):
    return gapp.test_client()
