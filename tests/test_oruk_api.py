"""The Open Referral UK API: shapes against the published v3 schemas, paging, filters, bad input."""
from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from assetmap.db.models import AssetStatus
from assetmap.domain.oruk_common import derived_id
from tests.factories import make_asset
from tests.oruk_fixtures import assert_valid, assert_valid_page

OSWESTRY = (-3.0540, 52.8600)


@pytest.fixture
def places(db_session):
    """A few published assets around Oswestry and Shrewsbury, and some that must never show."""
    made = {
        "hall": make_asset(db_session, "Cabin Lane Community Hall", -3.0475, 52.8641, "community-venue",
                           postcode="SY11 1HT", address="Cabin Lane", town="Oswestry", phone="01691 111111",
                           opening_hours={"mon": [["09:00", "17:00"]], "sat": [["10:00", "12:00"]], "sun": []},
                           age_groups=["children", "adults"], accessibility=["step_free", "hearing_loop"],
                           is_free=True, description="Hall for hire, coffee mornings and a toddler group."),
        "larder": make_asset(db_session, "Oswestry Larder", -3.0398, 52.8558, "food-bank", postcode="SY11 2SA",
                             opening_hours={"tue": [["10:00", "12:00"]]}, cost="£3.50 a week", age_groups=["older"],
                             email="larder@example.org", url="https://larder.example.org"),
        "library": make_asset(db_session, "Shrewsbury Library", -2.7546, 52.7071, "library", postcode="SY1 1LH",
                              opening_hours={"mon": [["09:00", "19:00"]], "fri": [["22:00", "02:00"]]}),
        "pending": make_asset(db_session, "Pending place", -3.05, 52.86, status=AssetStatus.pending),
        "rejected": make_asset(db_session, "Rejected place", -3.05, 52.86, status=AssetStatus.rejected),
        "archived": make_asset(db_session, "Archived place", -3.05, 52.86, status=AssetStatus.archived),
    }
    db_session.flush()
    return made


def _ids(body):
    return [c["id"] for c in body["contents"]]


def test_root_says_version_and_is_open_to_any_origin(client):
    response = client.get("/oruk/")
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    body = response.get_json()
    assert body["version"] == "3.0"
    assert body["openapi_url"].endswith("/api/openapi.json")
    assert "licence" in body["meta"] and "attribution" in body["meta"]


def test_services_page_and_full_service_match_the_profile(client, places):
    response = client.get("/oruk/services")
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    body = response.get_json()
    assert_valid_page(body, "service_list")
    assert body["total_items"] == 3 and body["first_page"] and body["last_page"] and not body["empty"]
    assert sorted(c["name"] for c in body["contents"]) == ["Cabin Lane Community Hall", "Oswestry Larder",
                                                          "Shrewsbury Library"]

    hall = places["hall"]
    full = client.get(f"/oruk/services/{hall.uuid}").get_json()
    assert_valid("service", full)
    assert full["id"] == str(hall.uuid)
    assert full["minimum_age"] == 0 and full["maximum_age"] == 59
    assert full["cost_options"][0]["amount"] == 0
    (sal,) = full["service_at_locations"]
    assert sal["id"] == str(derived_id("service_at_location", hall.uuid))
    location = sal["location"]
    assert location["id"] == str(derived_id("location", hall.uuid))
    assert (location["latitude"], location["longitude"]) == (52.8641, -3.0475)
    assert location["addresses"][0]["postal_code"] == "SY11 1HT"
    assert {a["description"] for a in location["accessibility"]} == {"Step-free access", "Hearing loop"}
    days = {s["byday"]: (s["opens_at"], s["closes_at"]) for s in full["schedules"]}
    assert days == {"MO": ("09:00:00", "17:00:00"), "SA": ("10:00:00", "12:00:00")}
    assert all(s["freq"] == "WEEKLY" for s in full["schedules"])
    assert full["phones"][0]["number"] == "01691 111111"
    (attribute,) = full["attributes"]
    assert attribute["taxonomy_term"]["taxonomy"] == "asset-type"
    assert attribute["taxonomy_term"]["term"] == "community-venue"


def test_service_at_locations_match_the_profile(client, places):
    body = client.get("/oruk/service_at_locations?per_page=2").get_json()
    assert_valid_page(body, "service_at_location_list")
    assert body["total_items"] == 3 and body["total_pages"] == 2 and body["size"] == 2
    sal_id = body["contents"][0]["id"]
    full = client.get(f"/oruk/service_at_locations/{sal_id}").get_json()
    assert_valid("service_at_location", full)
    assert full["service"]["name"] == body["contents"][0]["service"]["name"]
    assert "service_at_locations" not in full["service"]


def test_taxonomies_and_terms_match_the_profile(client, db_session):
    body = client.get("/oruk/taxonomies").get_json()
    assert_valid_page(body, "taxonomy")
    names = {t["name"]: t["id"] for t in body["contents"]}
    assert "Type of place or service" in names and "Five Ways to Wellbeing" in names
    taxonomy = client.get(f"/oruk/taxonomies/{names['Five Ways to Wellbeing']}").get_json()
    assert_valid("taxonomy", taxonomy)
    assert [t["term"] for t in taxonomy["taxonomy_terms"]] == ["connect", "be-active", "take-notice",
                                                                "keep-learning", "give"]
    terms = client.get("/oruk/taxonomy_terms?per_page=7").get_json()
    assert_valid_page(terms, "taxonomy_term")
    term = client.get(f"/oruk/taxonomy_terms/{terms['contents'][0]['id']}").get_json()
    assert_valid("taxonomy_term", term)
    only_five = client.get(f"/oruk/taxonomy_terms?taxonomy_id={names['Five Ways to Wellbeing']}").get_json()
    assert only_five["total_items"] == 5


def test_pending_rejected_and_archived_never_appear(client, places):
    contents = client.get("/oruk/service_at_locations?per_page=100").get_json()["contents"]
    listed = {c["service"]["name"] for c in contents}
    assert not listed & {"Pending place", "Rejected place", "Archived place"}
    for key in ("pending", "rejected", "archived"):
        asset = places[key]
        assert client.get(f"/oruk/services/{asset.uuid}").status_code == 404
        sal = derived_id("service_at_location", asset.uuid)
        assert client.get(f"/oruk/service_at_locations/{sal}").status_code == 404


def test_paging_never_skips_or_repeats(client, db_session):
    # Many assets with the same name: only the id tells them apart, and the order must still hold.
    for i in range(23):
        make_asset(db_session, "Warm space" if i % 2 else f"Group {i % 5}", -3.05 + i / 1000, 52.86, "warm-space")
    db_session.flush()
    for path in ("/oruk/services", "/oruk/service_at_locations"):
        seen = []
        first = client.get(f"{path}?per_page=5").get_json()
        assert first["total_items"] == 23 and first["total_pages"] == 5
        for page in range(1, 6):
            body = client.get(f"{path}?per_page=5&page={page}").get_json()
            assert body["page_number"] == page and body["last_page"] == (page == 5)
            seen += _ids(body)
        assert len(seen) == 23 and len(set(seen)) == 23
        again = [i for page in range(1, 6) for i in _ids(client.get(f"{path}?per_page=5&page={page}").get_json())]
        assert again == seen
        past = client.get(f"{path}?per_page=5&page=9").get_json()
        assert past["contents"] == [] and past["total_items"] == 23 and not past["empty"]


def test_filters(client, db_session, places):
    def names(query: str) -> set[str]:
        response = client.get(f"/oruk/services?{query}")
        assert response.status_code == 200, response.get_json()
        return {c["name"] for c in response.get_json()["contents"]}

    assert names("search=toddler") == {"Cabin Lane Community Hall"}
    assert names("search=larder") == {"Oswestry Larder"}
    library = db_session.execute(text(
        "SELECT uuid FROM taxonomy_term WHERE vocabulary = 'asset-type' AND slug = 'library'")).scalar()
    assert names(f"taxonomy_term_id={library}") == {"Shrewsbury Library"}
    assert names("postcode=SY11 1HT&proximity=2000") == {"Cabin Lane Community Hall", "Oswestry Larder"}
    near = client.get("/oruk/services?postcode=SY1 1LH").get_json()["contents"]
    assert near[0]["name"] == "Shrewsbury Library"  # nearest first
    assert names("maximum_age=59") == {"Cabin Lane Community Hall"}
    assert names("minimum_age=60") == {"Oswestry Larder"}
    assert names("day=SA") == {"Cabin Lane Community Hall"}
    assert names("day=MO&start_time=09:00&end_time=17:30") == {"Cabin Lane Community Hall"}
    assert names("day=monday&end_time=18:00") == {"Cabin Lane Community Hall"}
    assert names("day=FR&start_time=21:00") == {"Shrewsbury Library"}  # past midnight still starts on Friday
    assert names("day=FR&end_time=23:00") == set()
    future = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert names(f"modified_after={future}") == set()
    assert len(names("modified_after=2000-01-01")) == 3
    sal_names = {c["service"]["name"] for c in
                 client.get("/oruk/service_at_locations?postcode=SY11 2SA&proximity=300").get_json()["contents"]}
    assert sal_names == {"Oswestry Larder"}


@pytest.mark.parametrize("query, word", [
    ("page=0", "page"),
    ("per_page=abc", "per_page"),
    ("per_page=100000", "per_page"),
    ("proximity=500", "postcode"),
    ("postcode=NOT A POSTCODE", "postcode"),
    ("postcode=ZZ9 9ZZ", "postcode"),
    ("day=Funday", "day"),
    ("start_time=25:00", "start_time"),
    ("minimum_age=old", "minimum_age"),
    ("taxonomy_term_id=xyz", "taxonomy_term_id"),
    ("modified_after=yesterday", "modified_after"),
    ("search=%00", "NUL"),
])
def test_bad_parameters_are_a_400_in_json(client, query, word):
    response = client.get(f"/oruk/services?{query}")
    assert response.status_code == 400
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert word in response.get_json()["error"]["message"]


def test_unknown_and_malformed_ids(client):
    missing = uuid.uuid4()
    for path in ("services", "service_at_locations", "taxonomies", "taxonomy_terms"):
        assert client.get(f"/oruk/{path}/{missing}").status_code == 404
        response = client.get(f"/oruk/{path}/not-a-uuid")
        assert response.status_code == 400
        assert response.get_json()["error"]["status"] == 400


def test_read_only(client):
    response = client.post("/oruk/services", json={})
    assert response.status_code in (400, 405)
    assert client.delete("/oruk/services").status_code == 405
