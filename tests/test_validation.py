"""The shared rules of assetmap.domain.validation and assetmap.domain.geojson_crs: one table of
examples each, and every way in (the form, the bulk upload, the importers, custom areas) giving
the same answer for them."""
from __future__ import annotations

import json
from datetime import UTC

import pytest

from assetmap.domain import contribution, geojson_crs, tabular, validation
from assetmap.domain.area_profile import parse_custom_area
from assetmap.errors import BadInputError, ImportFileError
from assetmap.importers import asset_formats
from assetmap.importers.report import ImportReport

CHECKS = contribution.Checks(asset_types=frozenset({"library"}))

# --- email -------------------------------------------------------------------------------------
EMAILS = [
    ("jo@example.org", True),
    ("Jo.Bloggs+map@shropshire.gov.uk", True),
    ("a@b.co", True),
    ("a@b..c", False),  # the upload used to take it
    ("a,b@c.org", False),  # the form used to take it
    ("a;b@c.org", False),
    ("a@b,c.org", False),
    ("a@.b.c", False),
    ("a@b.c.", False),
    ("a@localhost", False),
    ("a b@c.org", False),
    ("@c.org", False),
    ("a@", False),
    ("a@@c.org", False),
    ("a@b@c.org", False),
    ("not an email", False),
    ("x" * 250 + "@c.org", False),  # longer than the column
]


@pytest.mark.parametrize(("email", "ok"), EMAILS)
def test_every_way_in_agrees_on_an_email_address(email, ok):
    form_value, form_error = validation.validate_email(email)
    assert (form_error is None) is ok and (form_value == email if ok else form_value is None)
    values, errors = contribution.validate_asset({"name": "Hall", "asset_types": ["library"], "lat": "52.7",
                                                  "lon": "-2.75", "email": email}, CHECKS)
    assert ("email" not in errors) is ok
    row = tabular.check_row(2, {"name": "Hall", "latitude": "52.7", "longitude": "-2.75", "email": email},
                            {"library": "library"}, "library")
    assert (row.values["email"] == email and not any(e[0] == "email" for e in row.errors)) is ok
    if len(email) <= validation.MAX_LENGTHS["email"]:
        assert validation.is_email(email) is ok


def test_an_email_is_stripped_and_may_be_required():
    assert validation.validate_email("  jo@example.org\x00 ") == ("jo@example.org", None)
    assert validation.validate_email("", required=True, what="your email address") == (None, "Enter your email address")
    assert validation.validate_email(None) == (None, None)


# --- web addresses -------------------------------------------------------------------------------
URLS = [
    ("https://www.example.org", "https://www.example.org"),
    ("http://example.org/a?b=c#d", "http://example.org/a?b=c#d"),
    ("HTTPS://Example.org", "HTTPS://Example.org"),
    ("www.example.org", "https://www.example.org"),
    ("example.org/path", "https://example.org/path"),
    ("shropshire.gov.uk?x=1", "https://shropshire.gov.uk?x=1"),
    ("javascript:alert(1)", None),
    ("ftp://example.org", None),
    ("mailto:jo@example.org", None),
    ("https://localhost", None),
    ("https://.example.org", None),
    ("https://", None),
    ("https://[::1", None),
    ("http://[not-an-ip]/page", None),
    ("www.[example].org", None),
    ("example", None),
    ("see our website", None),
    ("https://example.org/a b", None),
]


@pytest.mark.parametrize(("url", "stored"), URLS)
def test_every_way_in_agrees_on_a_web_address(url, stored):
    assert validation.clean_url(url) == stored
    values, errors = contribution.validate_asset({"name": "Hall", "asset_types": ["library"], "lat": "52.7",
                                                  "lon": "-2.75", "url": url}, CHECKS)
    assert values["url"] == stored and ("url" in errors) is (stored is None)
    row = tabular.check_row(2, {"name": "Hall", "latitude": "52.7", "longitude": "-2.75", "website": url},
                            {"library": "library"}, "library")
    assert row.values["url"] == stored
    assert any(w[0] == "website" for w in row.warnings) is (stored is None)


# --- phone numbers -------------------------------------------------------------------------------
PHONES = [
    ("01743 123456", True),
    ("+44 1743 123456", True),
    ("(01743) 123-456", True),
    ("0300 123 4567 ext 12", True),
    ("0161 790 3377 x2", True),
    ("999", True),
    ("12", False),
    ("call me", False),
    ("01743 123456 or 07700 900123", False),
    ("+", False),
    ("1" * 51, False),
]


@pytest.mark.parametrize(("phone", "ok"), PHONES)
def test_the_form_takes_uk_phone_numbers(phone, ok):
    assert validation.is_phone(phone) is ok
    values, errors = contribution.validate_asset({"name": "Hall", "asset_types": ["library"], "lat": "52.7",
                                                  "lon": "-2.75", "phone": phone}, CHECKS)
    assert ("phone" not in errors) is ok and (values["phone"] == phone if ok else values["phone"] is None)


# --- lengths -------------------------------------------------------------------------------------
def test_lengths_are_the_database_columns_where_they_have_one():
    from assetmap.db.models import Asset, Organisation

    for field in ("name", "town", "postcode", "phone", "email", "url", "source_id"):
        assert validation.MAX_LENGTHS[field] == Asset.__table__.c[field].type.length, field
    assert validation.MAX_LENGTHS["organisation"] == Organisation.__table__.c["name"].type.length


@pytest.mark.parametrize("field", ["name", "phone", "email", "address", "town"])
def test_the_form_and_the_upload_refuse_the_same_lengths(field):
    limit = validation.MAX_LENGTHS[field]
    upload_key = field
    for length, ok in ((limit, True), (limit + 1, False)):
        text = ("a" * (length - 6) + "@b.org") if field == "email" else (
            "0" * length if field == "phone" else "x" * length)
        row = tabular.check_row(2, {"name": "Hall", "latitude": "52.7", "longitude": "-2.75", upload_key: text},
                                {"library": "library"}, "library")
        assert (not any(e[0] == upload_key for e in row.errors)) is ok, (field, length)
        raw = {"name": "Hall", "asset_types": ["library"], "lat": "52.7", "lon": "-2.75", field: text}
        values, errors = contribution.validate_asset(raw, CHECKS)
        assert (field not in errors) is ok, (field, length)


# --- where the UK is -----------------------------------------------------------------------------
@pytest.mark.parametrize(("lon", "lat", "inside"), [
    (-2.75, 52.71, True),  # Shrewsbury
    (-0.85, 60.85, True),  # Unst, Shetland
    (-1.5, 60.97, True),  # between the two northern limits the copies used to disagree on
    (-6.3, 49.9, True),  # Scilly
    (-8.0, 54.6, True),  # Fermanagh
    (52.71, -2.75, False),  # swapped
    (-2.75, 61.5, False),
    (2.35, 48.86, False),  # Paris
])
def test_one_uk_box_for_the_finder_the_upload_and_the_importers(lon, lat, inside):
    from assetmap.domain.search import parse_finder_query

    assert validation.in_uk(lon, lat) is inside
    row = tabular.check_row(2, {"name": "Hall", "latitude": str(lat), "longitude": str(lon)},
                            {"library": "library"}, "library")
    assert (row.point == (lon, lat)) is inside
    args = {"lat": [str(lat)], "lon": [str(lon)]}
    if inside:
        assert parse_finder_query(args, lambda v: {}, api=True).where.kind == "point"
    else:
        with pytest.raises(BadInputError, match="outside the UK"):
            parse_finder_query(args, lambda v: {}, api=True)


def test_give_food_rows_outside_the_uk_are_problems(tmp_path):
    header = "slug,name,postcode,address,url,latitude,longitude,ward,district,charity_number,closed,network"
    path = tmp_path / "givefood.csv"
    path.write_text("\n".join([header,
                               "unst,Unst,ZE2 9DL,Baltasound,,60.97,-0.87,,,,False,",
                               "paris,Paris,,Rue,,48.86,2.35,,,,False,"]) + "\n")
    report = ImportReport(source="test")
    rows = list(asset_formats.read_givefood(path, report))
    assert [r.source_id for r in rows] == ["unst"]
    assert [p.reason for p in report.problems] == ["latitude/longitude outside the UK (swapped?)"]


# --- coordinate systems of GeoJSON --------------------------------------------------------------
WGS84_SPELLINGS = ["urn:ogc:def:crs:OGC:1.3:CRS84", "urn:ogc:def:crs:OGC::CRS84", "ogc:crs84", "OGC:CRS84", "CRS84",
                   "EPSG:4326", "epsg:4326", "urn:ogc:def:crs:EPSG::4326", "urn:ogc:def:crs:EPSG:6.6:4326",
                   "http://www.opengis.net/def/crs/OGC/1.3/CRS84", "http://www.opengis.net/def/crs/EPSG/0/4326"]
BNG_SPELLINGS = ["EPSG:27700", "urn:ogc:def:crs:EPSG::27700", "urn:ogc:def:crs:EPSG:9.8.15:27700",
                 "http://www.opengis.net/def/crs/EPSG/0/27700", "OSGB 1936 / British National Grid"]
REFUSED = ["EPSG:3857", "EPSG:999999", "EPSG:4277", "urn:ogc:def:crs:EPSG::32630", "+proj=longlat", "WGS 84 / UTM 30N",
           "4326x", "EPSG:43260"]
MALFORMED = [{"type": "name", "properties": "EPSG:27700"}, {"type": "name", "properties": [1]}, "EPSG:27700", [],
             {"type": "name"}, {"type": "name", "properties": {"name": ""}},
             {"type": "name", "properties": {"name": 27700}}]

SHREWSBURY = (-2.7536, 52.7077)
SHREWSBURY_BNG = geojson_crs.grid_to_lonlat().transform(*SHREWSBURY, direction="INVERSE")


def _collection(coords, crs=None) -> dict:
    body = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "Hall"},
         "geometry": {"type": "Point", "coordinates": list(coords)}}]}
    if crs is not None:
        body["crs"] = crs
    return body


def _named(name: str) -> dict:
    return {"type": "name", "properties": {"name": name}}


def _square(x: float, y: float, half: float) -> dict:
    return {"type": "Polygon", "coordinates": [[[x - half, y - half], [x + half, y - half], [x + half, y + half],
                                               [x - half, y + half], [x - half, y - half]]]}


def _imported_point(tmp_path, body: dict) -> tuple[float, float]:
    path = tmp_path / "halls.geojson"
    path.write_text(json.dumps(body))
    rows = list(asset_formats.read_geojson(path, ImportReport(source="test"), "community-venue", "Hall"))
    return rows[0].lon, rows[0].lat


@pytest.mark.parametrize("name", WGS84_SPELLINGS + [None])
def test_wgs84_in_every_spelling_is_read_as_it_is(tmp_path, name):
    crs = None if name is None else _named(name)
    assert geojson_crs.check_crs(_collection(SHREWSBURY, crs)) is None
    assert _imported_point(tmp_path, _collection(SHREWSBURY, crs)) == pytest.approx(SHREWSBURY)
    area = {"type": "Feature", "geometry": _square(*SHREWSBURY, 0.01)}
    if crs is not None:
        area["crs"] = crs
    assert parse_custom_area(json.dumps(area)).centroid.coords[0] == pytest.approx(SHREWSBURY)


@pytest.mark.parametrize("name", BNG_SPELLINGS)
def test_british_national_grid_is_converted_everywhere(tmp_path, name):
    assert geojson_crs.check_crs(_collection(SHREWSBURY_BNG, _named(name))) == name
    assert _imported_point(tmp_path, _collection(SHREWSBURY_BNG, _named(name))) == pytest.approx(SHREWSBURY, abs=1e-6)
    area = {"type": "Feature", "geometry": _square(*SHREWSBURY_BNG, 500), "crs": _named(name)}
    assert parse_custom_area(json.dumps(area)).centroid.coords[0] == pytest.approx(SHREWSBURY, abs=1e-4)


@pytest.mark.parametrize("name", REFUSED)
def test_other_systems_are_refused_everywhere_with_the_reason(tmp_path, name):
    with pytest.raises(BadInputError, match="declares the coordinate system .*re-export it in WGS84"):
        geojson_crs.check_crs(_collection(SHREWSBURY, _named(name)))
    with pytest.raises(ImportFileError, match=r"halls\.geojson declares the coordinate system"):
        _imported_point(tmp_path, _collection(SHREWSBURY, _named(name)))
    with pytest.raises(BadInputError, match="declares the coordinate system"):
        parse_custom_area(json.dumps({"type": "Feature", "geometry": _square(*SHREWSBURY, 0.01), "crs": _named(name)}))


@pytest.mark.parametrize("crs", MALFORMED)
def test_a_crs_member_that_names_nothing_is_a_clear_error_not_a_crash(tmp_path, crs):
    with pytest.raises(BadInputError, match="crs member that does not name a coordinate system"):
        geojson_crs.check_crs(_collection(SHREWSBURY, crs))
    with pytest.raises(ImportFileError, match="crs member that does not name a coordinate system"):
        _imported_point(tmp_path, _collection(SHREWSBURY, crs))
    with pytest.raises(BadInputError, match="crs member that does not name a coordinate system"):
        parse_custom_area(json.dumps({"type": "Feature", "geometry": _square(*SHREWSBURY, 0.01), "crs": crs}))


# --- the stale rule ------------------------------------------------------------------------------
def test_the_stale_list_the_reminders_and_the_rule_agree_at_the_boundary(db_session):
    """An entry checked just before the cutoff is stale everywhere; one just after, nowhere."""
    from datetime import datetime, timedelta

    from assetmap.db import moderation
    from assetmap.domain.staleness import is_stale, stale_before
    from tests.factories import make_asset

    now = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)
    cutoff = stale_before(now, 13)
    assert cutoff == datetime(2025, 2, 28, 12, 0, tzinfo=UTC)
    old = make_asset(db_session, "Checked just before", email="old@example.org",
                     last_verified_at=cutoff - timedelta(seconds=1))
    fresh = make_asset(db_session, "Checked just after", email="fresh@example.org",
                       last_verified_at=cutoff + timedelta(seconds=1))
    for asset, stale in ((old, True), (fresh, False)):
        assert is_stale(asset.last_verified_at, asset.created_at, now, 13) is stale
    listed = {a["id"] for a in moderation.stale_assets(db_session, 13, now=now, source="test")["items"]}
    reminded = {a["id"] for a in moderation.reminder_candidates(db_session, 13, now=now, sources=["test"])}
    assert old.id in listed and fresh.id not in listed
    assert old.id in reminded and fresh.id not in reminded


def test_upload_rights_are_asked_of_one_rule(app, db_session):
    from types import SimpleNamespace as U

    from assetmap.domain.permissions import can_publish_upload, can_see_every_upload, can_upload
    from tests.contribute_fixtures import make_user, sign_in

    roles = ("volunteer", "moderator", "planner", "admin")
    assert [can_upload(U(role=r)) for r in roles] == [False, False, True, True]
    assert [can_publish_upload(U(role=r)) for r in roles] == [False, False, False, True]
    assert [can_see_every_upload(U(role=r)) for r in roles] == [False, False, False, True]
    for role, allowed in zip(roles, (False, False, True, True)):
        client = app.test_client()
        make_user(db_session, f"{role}@example.org", role)
        sign_in(client, f"{role}@example.org")
        for path in ("/upload/", "/plan/indicators"):
            assert (client.get(path).status_code == 200) is allowed, (role, path)
        assert ("Upload a list" in client.get("/find").get_data(as_text=True)) is allowed, role


# --- licence and attribution ---------------------------------------------------------------------
def test_every_response_credits_the_same_sources_under_the_same_licence(client, db_session):
    from assetmap.db.catalogue import data_sources
    from assetmap.domain.attribution import attribution_lines, licence_text

    sources = data_sources(db_session)
    lines, licence = attribution_lines(sources), licence_text(sources)
    assert lines and licence
    api = client.get("/api/v1/categories").get_json()["meta"]
    assert (api["licence"], api["attribution"]) == (licence, lines)
    for body in (client.get("/oruk/").get_json()["meta"],
                 client.get("/exports/areas/E06000051/assets.geojson").get_json()["metadata"]):
        assert (body["licence"], body["attribution"]) == (licence, " ".join(lines))
        assert [s["title"] for s in body["sources"]] == [s["title"] for s in sources]
