"""/api/v1: GeoJSON near a place, one asset, postcodes and categories; every response checked
against the OpenAPI schemas of assetmap.web.openapi_finder; bad input is a 400/404 that explains."""
from __future__ import annotations

import pytest
from jsonschema import Draft202012Validator
from sqlalchemy import text

from assetmap.web.openapi_finder import openapi_components, openapi_paths
from tests.factories import make_asset
from tests.finder_fixtures import SUNDAY_NOON, WEDNESDAY_NOON, fixed_clock, haversine_m, import_pharmacies

OSWESTRY = "SY11 1QD"


def _validator(name: str) -> Draft202012Validator:
    document = {"$ref": f"#/components/schemas/{name}", "components": openapi_components()}
    Draft202012Validator.check_schema(document)
    return Draft202012Validator(document, format_checker=Draft202012Validator.FORMAT_CHECKER)


def _check(name: str, body: dict) -> dict:
    errors = sorted(_validator(name).iter_errors(body), key=lambda e: list(e.path))
    assert not errors, [f"{list(e.path)}: {e.message}" for e in errors[:5]]
    return body


def test_nearest_pharmacies_as_geojson_in_haversine_order(client, wednesday, db_session, data_dir):
    import_pharmacies(db_session, data_dir)
    response = client.get(f"/api/v1/assets?postcode={OSWESTRY}&category=pharmacy&radius_m=50000&per_page=50")
    assert response.status_code == 200 and response.mimetype == "application/json"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    body = _check("FinderAssetCollection", response.get_json())
    origin = body["meta"]["location"]
    assert origin["kind"] == "postcode" and origin["label"] == OSWESTRY
    distances = [haversine_m(origin["lat"], origin["lon"], f["geometry"]["coordinates"][1],
                             f["geometry"]["coordinates"][0]) for f in body["features"]]
    assert len(distances) >= 10 and distances == sorted(distances)
    for feature, distance in zip(body["features"], distances):
        assert feature["properties"]["distance_m"] == pytest.approx(distance, abs=1.0)
        assert feature["properties"]["category"] == "pharmacy"
    assert body["meta"]["paging"]["total"] == len(body["features"])
    assert "Contains OS data" in " ".join(body["meta"]["attribution"])
    assert "Open Government Licence v3.0" in body["meta"]["licence"]


def test_filters_paging_and_open_now_at_fixed_times(app, client, db_session, data_dir):
    import_pharmacies(db_session, data_dir)
    url = f"/api/v1/assets?postcode={OSWESTRY}&radius_m=30000&open_now=true&per_page=100"
    app.config["FINDER_CLOCK"] = fixed_clock(WEDNESDAY_NOON)
    wednesday = _check("FinderAssetCollection", client.get(url).get_json())
    app.config["FINDER_CLOCK"] = fixed_clock(SUNDAY_NOON)
    sunday = _check("FinderAssetCollection", client.get(url).get_json())
    assert all(f["properties"]["open_now"] is True for f in wednesday["features"] + sunday["features"])
    assert len(wednesday["features"]) > len(sunday["features"]) > 0
    # Paging: three pages of 4 are the first 12 of the whole list, in order, without repeats.
    app.config["FINDER_CLOCK"] = fixed_clock(WEDNESDAY_NOON)
    whole = client.get(f"/api/v1/assets?postcode={OSWESTRY}&radius_m=30000&per_page=12").get_json()
    pages, link = [], f"/api/v1/assets?postcode={OSWESTRY}&radius_m=30000&per_page=4"
    for _ in range(3):
        page = _check("FinderAssetCollection", client.get(link).get_json())
        pages += [f["id"] for f in page["features"]]
        link = page["meta"]["paging"]["next"]
    assert pages == [f["id"] for f in whole["features"]]
    assert "per_page=4" in link and "page=4" in link


def test_each_filter_through_the_api(client, wednesday, db_session):
    free = make_asset(db_session, "Free lunch", category="food-bank", is_free=True, age_groups=["older"],
                      access_modes=["drop_in"], accessibility=["step_free", "hearing_loop"])
    make_asset(db_session, "Paid class", category="health-wellbeing", is_free=False, access_modes=["booking"])

    def ids(query: str) -> list[int]:
        body = _check("FinderAssetCollection", client.get(f"/api/v1/assets?lat=52.86&lon=-3.054&{query}").get_json())
        return [f["id"] for f in body["features"] if f["properties"]["within_radius"]]

    for query in ["free=true", "category=food-bank", "age_group=older", "no_referral=true", "access=drop_in",
                  "accessibility=step_free,hearing_loop", "q=lunch"]:
        assert ids(query) == [free.id], query
    assert ids("category=youth") == []


def test_listing_without_a_location_is_by_id(client, wednesday, db_session):
    a = make_asset(db_session, "First")
    b = make_asset(db_session, "Second", lon=-2.1, lat=53.5)
    body = _check("FinderAssetCollection", client.get("/api/v1/assets?per_page=5").get_json())
    assert [f["id"] for f in body["features"]] == [a.id, b.id]
    assert body["meta"]["order"] == "id" and body["meta"]["location"] is None
    assert body["features"][0]["properties"]["distance_m"] is None


def test_rural_search_widens_and_says_so(client, wednesday, db_session):
    make_asset(db_session, "Far hall", lon=-3.2, lat=52.5)
    body = _check("FinderAssetCollection", client.get("/api/v1/assets?lat=52.86&lon=-3.054&radius_m=1000").get_json())
    assert body["meta"]["widened"] is True and body["meta"]["paging"]["total"] == 0
    assert [f["properties"]["within_radius"] for f in body["features"]] == [False]


def test_one_asset_postcodes_and_categories(client, wednesday, db_session):
    asset = make_asset(db_session, "Hall", opening_hours={"wed": [["09:00", "17:00"]]}, cost="Free")
    one = _check("FinderAssetResponse", client.get(f"/api/v1/assets/{asset.id}").get_json())
    assert one["properties"]["name"] == "Hall" and one["properties"]["open_now"] is True
    assert one["properties"]["page_url"].endswith(f"/assets/{asset.id}")
    postcode = _check("FinderPostcode", client.get("/api/v1/postcodes/sy111qd").get_json())
    assert postcode["postcode"] == OSWESTRY and postcode["kind"] == "postcode" and postcode["lad_code"] == "E06000051"
    district = _check("FinderPostcode", client.get("/api/v1/postcodes/SY11").get_json())
    count = db_session.execute(text("SELECT count(*) FROM postcode WHERE outward = 'SY11'")).scalar()
    assert district["kind"] == "outward" and district["postcodes"] == count
    categories = _check("FinderCategories", client.get("/api/v1/categories").get_json())
    assert {"pharmacy", "library", "community-venue"} <= {c["slug"] for c in categories["categories"]}
    assert [w["slug"] for w in categories["wellbeing"]] == ["connect", "be-active", "take-notice", "keep-learning",
                                                            "give"]


@pytest.mark.parametrize("url, status, words", [
    ("/api/v1/assets?postcode=SY11+1ZZ", 404, ["SY11 1ZZ"]),
    ("/api/v1/assets?postcode=SY27", 404, ["SY27"]),
    ("/api/v1/assets?postcode=banana", 400, ["not a postcode"]),
    ("/api/v1/assets?place=Oswestrey", 404, ["Oswestry (Shropshire)"]),
    ("/api/v1/assets?lat=40.7&lon=-74.0", 400, ["outside the UK"]),
    ("/api/v1/assets?lat=91&lon=0", 400, ["between -90 and 90"]),
    ("/api/v1/assets?lat=52&lon=nan", 400, ["finite"]),
    ("/api/v1/assets?lat=52.8&lon=-3&postcode=SY11", 400, ["give one location"]),
    ("/api/v1/assets?postcode=SY11&category=spaceport", 400, ["unknown category"]),
    ("/api/v1/assets?postcode=SY11&wellbeing=sleep", 400, ["unknown wellbeing"]),
    ("/api/v1/assets?postcode=SY11&accessibility=lift", 400, ["step_free, hearing_loop, accessible_toilet"]),
    ("/api/v1/assets?postcode=SY11&catgory=library", 400, ["unknown parameter catgory"]),
    ("/api/v1/assets?postcode=SY11&per_page=0", 400, ["per_page must be at least 1"]),
    ("/api/v1/assets?postcode=SY11&page=1.5", 400, ["whole number"]),
    ("/api/v1/assets?postcode=SY11&page=99999999999999999999", 400, ["only the first 1000"]),
    ("/api/v1/assets?q=" + "x" * 300, 400, ["too long"]),
    ("/api/v1/assets?q=%00", 400, ["NUL"]),
    ("/api/v1/assets/0", 404, ["no published entry"]),
    ("/api/v1/assets/99999999999999", 404, []),  # too big for an id: no route matches
    ("/api/v1/assets/abc", 404, []),
    ("/api/v1/postcodes/ZZ99%209ZZ", 404, ["ZZ99"]),
    ("/api/v1/postcodes/%00", 400, ["NUL"]),
    ("/api/v1/postcodes/not-one", 400, ["not a postcode"]),
])
def test_bad_input_is_explained_in_json_never_a_500(client, wednesday, url, status, words):
    response = client.get(url)
    assert response.status_code == status, response.get_data(as_text=True)
    body = _check("FinderError", response.get_json())
    for word in words:
        assert word in body["error"]["message"], body


def test_errors_carry_the_allowed_values_and_suggestions(client, wednesday):
    bad = client.get("/api/v1/assets?postcode=SY11&category=spaceport").get_json()["error"]
    assert bad["parameter"] == "category" and "pharmacy" in bad["allowed"]
    unknown = client.get("/api/v1/assets?postcode=SY11+1ZZ").get_json()["error"]
    assert unknown["suggestions"][0] == "SY11" and unknown["status"] == 404
    district = client.get("/api/v1/postcodes/SY27").get_json()["error"]
    assert district["suggestions"] == ["SY25", "SY24", "SY23"]


def test_huge_radius_is_clamped_and_said(client, wednesday, db_session):
    make_asset(db_session, "Hall")
    body = _check("FinderAssetCollection", client.get("/api/v1/assets?postcode=SY11&radius_m=1e9").get_json())
    assert body["meta"]["radius_m"] == 50_000
    assert body["meta"]["notices"] == ["You asked for 1000000 km; we searched within 50 km, the furthest we look."]


def test_the_spec_describes_every_parameter_the_parser_takes():
    from assetmap.domain.search import PARAMETERS

    Draft202012Validator.check_schema({"components": openapi_components()})
    listed = {p["$ref"].split("/")[-1] for p in openapi_paths()["/api/v1/assets"]["get"]["parameters"]}
    assert listed == {f"finder_{p.name}" for p in PARAMETERS if not p.page_only}
    features = openapi_components()["parameters"]["finder_accessibility"]["schema"]["items"]["enum"]
    assert features == ["step_free", "hearing_loop", "accessible_toilet"]


def test_api_reads_in_autocommit_and_pages_in_a_transaction(db_url, monkeypatch):
    # On real engines (not the tests' shared transaction): the API reads through a connection in
    # autocommit, so no BEGIN or COMMIT round trips; a page's session keeps its transaction.
    # (The search goes to the driver directly, so it is watched there; the rest through events.)
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    from assetmap.db import finder
    from assetmap.db.engine import get_engine, get_read_engine
    from assetmap.web import create_app

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": db_url, "SECRET_KEY": "test"})
    seen: list[tuple[str, bool]] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        seen.append((statement.split()[0], conn.connection.driver_connection.autocommit))

    send = finder.fetch_all

    def record_search(handle, statement, params):
        connection = handle.connection() if isinstance(handle, Session) else handle
        seen.append(("search", connection.connection.driver_connection.autocommit))
        return send(handle, statement, params)

    monkeypatch.setattr(finder, "fetch_all", record_search)
    engines = [get_engine(db_url), get_read_engine(db_url)]
    for engine in engines:
        event.listen(engine, "before_cursor_execute", record)
    try:
        client = app.test_client()
        assert client.get(f"/api/v1/assets?postcode={OSWESTRY}").status_code == 200
        api = list(seen)
        seen.clear()
        assert client.get(f"/find?where={OSWESTRY}").status_code == 200
        page = list(seen)
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", record)
    assert ("search", True) in api and all(autocommit for _, autocommit in api), api
    assert ("search", False) in page and not any(autocommit for _, autocommit in page), page
    # The reading connection went back to its pool as it was: no transaction left open.
    with get_read_engine(db_url).connect() as conn:
        assert conn.connection.driver_connection.info.transaction_status.name == "IDLE"


def test_the_api_sets_no_cookie_and_ignores_one(client, wednesday):
    client.set_cookie("session", "whatever-a-browser-sent")
    response = client.get("/api/v1/categories")
    assert response.status_code == 200
    assert "Set-Cookie" not in response.headers
