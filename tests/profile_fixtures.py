"""Shared helpers of the area profile tests: real Shropshire libraries, pharmacies and GP
practices, the project's towns, Oswestry's LSOAs worked out independently from the published
boundary files, and a committed database for the browser test."""
from __future__ import annotations

import json
from functools import lru_cache

import pytest
from shapely import union_all
from shapely.geometry import shape

from assetmap.config import PROJECT_DIR
from assetmap.db.engine import dispose_engines, drop_database, session_scope
from tests.live import clone_template

SHROPSHIRE = "E06000051"
ASSET_FILES = [
    ("libraries", "assets/libraries_england_2023.csv"),
    ("nhsbsa-pharmacies", "assets/consol_pharmacy_list_202324q3.csv"),
    ("epraccur", "assets/epraccur_2023-12.csv"),
]


def import_shropshire_assets(session, data_dir) -> dict:
    """Libraries, pharmacies and GP practices with SY, TF or WV postcodes, published, with the
    project's importer; returns the number inserted by format."""
    from assetmap.importers.assets import import_assets

    inserted = {}
    for fmt, path in ASSET_FILES:
        report = import_assets(session, data_dir / path, fmt, publish=True, only_postcode_areas=["SY", "TF", "WV"])
        assert report.inserted > 10, report.summary()
        inserted[fmt] = report.inserted
    return inserted


def load_project_towns(session):
    from assetmap.domain.area_profile import read_towns
    from assetmap.importers.towns import load_towns

    return load_towns(session, read_towns(json.loads((PROJECT_DIR / "data" / "towns.json").read_text())))


@lru_cache(maxsize=4)
def _features(path: str) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return json.load(f)["features"]


def ward_union(data_dir, prefix: str, lad_file: str = "wards_E06000051_shropshire.geojson"):
    """The union of the wards whose name starts with ``prefix``, read from the published file."""
    feats = _features(str(data_dir / "boundaries" / lad_file))
    return union_all([shape(f["geometry"]) for f in feats if f["properties"]["WD13NM"].startswith(prefix)])


def lsoa_shapes(data_dir, lad_file: str = "lsoa11_E06000051_shropshire.geojson") -> dict:
    """code → shapely polygon of every LSOA in the published file."""
    features = _features(str(data_dir / "boundaries" / lad_file))
    return {f["properties"]["LSOA11CD"]: shape(f["geometry"]) for f in features}


def lsoa21_shapes(data_dir, lad_file: str = "lsoa21_E06000051_shropshire_bsc.geojson") -> dict:
    """code → shapely polygon of every LSOA 2021 in the published file."""
    features = _features(str(data_dir / "boundaries" / lad_file))
    return {f["properties"]["LSOA21CD"]: shape(f["geometry"]) for f in features}


def oswestry_lsoas(data_dir, vintage: int = 2019) -> list[str]:
    """Oswestry's LSOAs (2011 for IoD 2019, 2021 for IoD 2025): those with more than half their
    area inside the three Oswestry wards (East, South, West), worked out with shapely from the
    boundary files."""
    town = ward_union(data_dir, "Oswestry")
    shapes = lsoa_shapes(data_dir) if vintage == 2019 else lsoa21_shapes(data_dir)
    return sorted(code for code, g in shapes.items() if g.intersection(town).area / g.area > 0.5)


@pytest.fixture(scope="session")
def profile_db_url(db_url, data_dir) -> str:
    """A committed database of its own, cloned from the reference template, with Shropshire's
    libraries, pharmacies and GP practices and the project's towns: a server thread uses its own
    connections, which would not see a test's rolled-back transaction."""
    url = clone_template(db_url, "browser_profile")
    with session_scope(url) as session:
        import_shropshire_assets(session, data_dir)
        report = load_project_towns(session)
        assert report.ok, report.summary()
    yield url
    dispose_engines(url)
    drop_database(url)
