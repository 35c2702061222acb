"""Shared helpers and fixtures of the finder tests: real Shropshire pharmacies, an independent
distance, fixed clocks, and a committed database for the browser test."""
from __future__ import annotations

import math
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from assetmap.db.engine import dispose_engines, drop_database, session_scope
from tests.live import clone_template

LONDON = ZoneInfo("Europe/London")
PHARMACIES = "assets/consol_pharmacy_list_202324q3.csv"
# A Wednesday in July (BST) at noon, and a Sunday at noon: neither a bank holiday.
WEDNESDAY_NOON = datetime(2026, 7, 1, 12, 0, tzinfo=LONDON)
SUNDAY_NOON = datetime(2026, 7, 5, 12, 0, tzinfo=LONDON)


def haversine_m(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Great-circle distance in metres on a sphere of the IUGG mean radius, written out here so the
    tests do not check PostGIS against itself."""
    r = 6_371_008.8
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * r * math.asin(math.sqrt(h))


def import_pharmacies(session, data_dir, areas=("SY",)):
    """Import the NHSBSA pharmacies in postcode areas ``areas`` with the project's importer, published."""
    from assetmap.importers.assets import import_assets

    report = import_assets(session, data_dir / PHARMACIES, "nhsbsa-pharmacies", publish=True,
                           only_postcode_areas=list(areas))
    assert report.inserted > 20, report.summary()
    return report


def fixed_clock(at: datetime):
    return lambda: at.astimezone(UTC)


@pytest.fixture
def wednesday(app):
    """The app, its finder's clock stopped at noon on a Wednesday."""
    app.config["FINDER_CLOCK"] = fixed_clock(WEDNESDAY_NOON)
    return app


@pytest.fixture(scope="session")
def finder_db_url(db_url, data_dir) -> str:
    """A database of its own, cloned from the reference template, with Shropshire's pharmacies
    imported and committed: a server thread uses its own connections, which would not see the
    rolled-back transaction of the ``client`` fixture."""
    url = clone_template(db_url, "browser_finder")
    with session_scope(url) as session:
        import_pharmacies(session, data_dir)
    yield url
    dispose_engines(url)
    drop_database(url)
