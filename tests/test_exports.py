"""Downloads of an area's assets: CSV, GeoJSON and ORUK JSON, with attribution and a timestamp."""
from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from assetmap.db.models import AssetStatus
from assetmap.db.seed import record_import
from assetmap.domain import tabular
from assetmap.importers.report import ImportReport
from assetmap.importers.upload_files import read_upload
from assetmap.web.exports import CSV_COLUMNS
from tests.factories import make_asset
from tests.oruk_fixtures import assert_valid

SHROPSHIRE = "E06000051"


@pytest.fixture
def shropshire_assets(db_session):
    record_import(db_session, "web", ImportReport(source="test"))
    made = [
        make_asset(db_session, "Cabin Lane Community Hall", -3.0475, 52.8641, "community-venue", postcode="SY11 1HT",
                   opening_hours={"mon": [["09:00", "17:00"]], "sun": []}, age_groups=["adults"], is_free=True,
                   phone="01691 111111", url="https://hall.example.org"),
        make_asset(db_session, "Ludlow Library", -2.7195, 52.3683, "library", postcode="SY8 1AN", town="Ludlow"),
        make_asset(db_session, "Waiting for review", -2.75, 52.70, status=AssetStatus.pending),
        make_asset(db_session, "Oldham Library", -2.1090, 53.5405, "library"),  # another authority
    ]
    for asset in made[:2]:
        asset.source = "web"  # added through the web form: the "web" data source's attribution
    db_session.flush()
    return made


def _stamp_is_recent(value: str) -> None:
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    assert abs((datetime.now(UTC) - moment).total_seconds()) < 120


def test_csv(client, shropshire_assets):
    response = client.get(f"/exports/areas/{SHROPSHIRE}/assets.csv")
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    assert f'filename="assets-{SHROPSHIRE}-' in response.headers["Content-Disposition"]
    _stamp_is_recent(response.headers["X-Exported-At"])
    body = response.get_data(as_text=True)
    assert body.startswith("\ufeff")  # spreadsheets read it as UTF-8
    rows = list(csv.DictReader(io.StringIO(body.lstrip("\ufeff"))))
    assert list(rows[0]) == list(CSV_COLUMNS)
    assert [r["name"] for r in rows] == ["Cabin Lane Community Hall", "Ludlow Library"]  # published, in the area
    hall = rows[0]
    assert hall["category"] == "community-venue" and hall["opening_hours"] == "Mon 09:00-17:00; Sun closed"
    assert hall["latitude"] == "52.864100" and hall["is_free"] == "yes" and hall["age_groups"] == "adults"
    assert hall["attribution"] == "Community contributions, reviewed by moderators."
    _stamp_is_recent(hall["exported_at"])


def test_csv_reads_back_through_the_bulk_upload(client, db_session, shropshire_assets):
    body = client.get(f"/exports/areas/{SHROPSHIRE}/assets.csv").get_data()
    parsed = read_upload("export.csv", body)
    mapping = tabular.suggest_mapping(parsed.header)
    assert {"id", "name", "category", "postcode", "latitude", "longitude", "opening_hours", "website"} <= set(mapping)
    categories = {"community-venue": "community-venue", "library": "library"}
    index = {k: parsed.header.index(c) for k, c in mapping.items()}
    rows = [tabular.check_row(line, {k: cells[i] for k, i in index.items()}, categories, None)
            for line, cells, _ in parsed.rows]
    assert all(r.ok and not r.warnings for r in rows), [(r.errors, r.warnings) for r in rows]
    assert rows[0].values["opening_hours"] == {"mon": [["09:00", "17:00"]], "sun": []}


def test_geojson(client, shropshire_assets):
    response = client.get(f"/exports/areas/{SHROPSHIRE}/assets.geojson")
    assert response.status_code == 200 and response.mimetype == "application/geo+json"
    body = json.loads(response.get_data())
    assert body["type"] == "FeatureCollection"
    assert body["metadata"]["area"] == {"code": SHROPSHIRE, "name": "Shropshire"}
    assert "Community contributions" in body["metadata"]["attribution"]
    _stamp_is_recent(body["metadata"]["exported_at"])
    names = [f["properties"]["name"] for f in body["features"]]
    assert names == ["Cabin Lane Community Hall", "Ludlow Library"]
    assert body["features"][0]["geometry"] == {"type": "Point", "coordinates": [-3.0475, 52.8641]}
    assert "latitude" not in body["features"][0]["properties"]


def test_oruk_json(client, shropshire_assets):
    response = client.get(f"/exports/areas/{SHROPSHIRE}/assets.oruk.json")
    assert response.status_code == 200
    body = json.loads(response.get_data())
    assert body["total_items"] == 2 and body["size"] == 2 and body["last_page"]
    for service in body["contents"]:
        assert_valid("service", service)
    assert body["meta"]["area"]["code"] == SHROPSHIRE and body["meta"]["attribution"]
    _stamp_is_recent(body["meta"]["exported_at"])


def test_unknown_area_and_wrong_level(client, db_session):
    assert client.get("/exports/areas/E99999999/assets.csv").status_code == 404
    ward = db_session.execute(text("SELECT code FROM area WHERE level = 'ward' LIMIT 1")).scalar()
    response = client.get(f"/exports/areas/{ward}/assets.geojson")
    assert response.status_code == 400
    assert "local authority or LSOA" in response.get_data(as_text=True)


def test_an_lsoa_of_either_vintage_exports_its_own_assets(client, data_dir, shropshire_assets):
    from shapely.geometry import Point

    from tests.profile_fixtures import lsoa21_shapes, lsoa_shapes

    hall = Point(-3.0475, 52.8641)
    for shapes in (lsoa21_shapes(data_dir), lsoa_shapes(data_dir)):
        code = next(c for c, g in shapes.items() if g.contains(hall))
        response = client.get(f"/exports/areas/{code}/assets.csv")
        assert response.status_code == 200, code
        rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
        assert [r["name"] for r in rows] == ["Cabin Lane Community Hall"]
    # LSOAs split in 2021 (E01028885 into E01035057 and E01035058): each code is its own area
    for code in ("E01028885", "E01035057"):
        assert client.get(f"/exports/areas/{code}/assets.geojson").status_code == 200, code
