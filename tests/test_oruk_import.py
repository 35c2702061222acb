"""Importing Open Referral UK JSON, and the round trip export → import → export."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select, text

from assetmap.db.models import Asset, AssetStatus, OrukServiceAtLocation, Revision
from assetmap.errors import ImportFileError
from assetmap.importers.oruk_import import import_oruk
from tests.factories import make_asset
from tests.oruk_fixtures import ORUK_DATA, assert_valid, spec_dir

SHROPSHIRE, OLDHAM = "E06000051", "E08000004"


def _assets(session, source="oruk"):
    return {a.name: a for a in session.scalars(select(Asset).where(Asset.source == source).order_by(Asset.id))}


def _service_names(client, query=""):
    body = client.get(f"/oruk/services?per_page=100{query}").get_json()
    return {c["name"]: c["id"] for c in body["contents"]}


def test_published_examples_import_cleanly(db_session, client):
    report = import_oruk(db_session, spec_dir() / "examples")
    assert report.ok, report.summary()
    # One service, published as a full service, a list item, a service at a location and inside an
    # organization: all the same service, read once.
    assert report.read == 1 and report.inserted == 1
    reasons = " | ".join(n.reason for n in report.notes)
    assert "not a position on Earth" in reasons  # latitude 100, longitude 101
    assert "not a UK postcode" in reasons  # "ABC 1234"
    assert "opening hours not kept as a timetable" in reasons  # bymonthday
    assert "parent term not in the file" in reasons
    (asset,) = _assets(db_session).values()
    assert asset.name == "Community Counselling" and asset.location is None
    assert asset.age_groups == ["children", "adults", "older"]
    assert asset.accessibility == ["hearing_loop", "step_free"]
    assert "10 am to 6pm" in asset.opening_hours_note
    assert asset.organisation.name == "Example Organization Inc."
    assert asset.cost == "Under 18s and Over 60s: £35 per 1 hour session" and asset.is_free is False
    assert {t.vocabulary for t in asset.terms} == {"asset-type", "name"}  # the example taxonomy is called "name"
    service = client.get(f"/oruk/services/{asset.uuid}").get_json()
    assert_valid("service", service)
    assert service["id"] == "ac148810-d857-441c-9679-408f346de14b"
    assert service["service_at_locations"][0]["id"] == "e94c9f38-1e8f-4564-91d4-d53501ab1765"
    assert service["accreditations"].startswith("All of our practitioners")
    assert service["funding"][0]["id"] == "1f2df32c-bf08-4b8e-bd6f-e834014b19bc"
    again = import_oruk(db_session, spec_dir() / "examples")
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 1)


def test_shropshire_fixture(db_session, client):
    report = import_oruk(db_session, ORUK_DATA / "shropshire" / "services.json", category="community-group")
    assert report.ok, report.summary()
    assert report.read == 6 and report.skipped_reasons == {"service is defunct": 1}
    assert report.inserted == 7  # three services at one church, one service at three places, one by phone
    assert dict(report.unknown_fields) == {"service.x_directory_reference": 1}
    assert "unknown field service.x_directory_reference" in report.summary()
    assets = _assets(db_session)

    # Several services at one location share its location id.
    church = [assets[n] for n in ("Oswestry Community Larder", "Warm Welcome at the Methodist", "Knit and Natter")]
    links = [db_session.get(OrukServiceAtLocation, a.id) for a in church]
    assert len({link.location_uuid for link in links}) == 1
    assert len({link.service_uuid for link in links}) == 3

    # One service at several locations: three assets, one service, hours of each place.
    drop_in = db_session.scalars(select(Asset).where(Asset.name == "Citizens Advice drop-in").order_by(Asset.id)).all()
    assert len(drop_in) == 3
    assert {a.town for a in drop_in} == {"Oswestry", "Shrewsbury", "Ludlow"}
    assert [a.opening_hours for a in drop_in] == [
        {"mon": [["10:00", "13:00"]], "tue": [], "wed": [], "thu": [], "fri": [], "sat": [], "sun": []},
        {"mon": [], "tue": [["09:30", "16:00"]], "wed": [], "thu": [["09:30", "16:00"]], "fri": [], "sat": [],
         "sun": []},
        {"mon": [], "tue": [], "wed": [["10:00", "12:30"]], "thu": [], "fri": [], "sat": [], "sun": []},
    ]
    assert all(a.phone == "0808 278 7978" and a.is_free for a in drop_in)
    assert all(a.location is not None for a in drop_in)  # postcodes looked up where no coordinates
    service = client.get(f"/oruk/services/{drop_in[0].uuid}").get_json()
    assert_valid("service", service)
    assert len(service["service_at_locations"]) == 3
    assert {s["service_at_location_id"] for s in service["schedules"]} == {
        s["id"] for s in service["service_at_locations"]}
    assert service["organization"]["name"] == "Citizens Advice Shropshire"

    phone_only = assets["Telephone befriending"]
    assert phone_only.location is None and phone_only.phone == "01743 233123"
    assert phone_only.age_groups == ["older"] and phone_only.opening_hours_note.startswith("Calls arranged")
    larder = assets["Oswestry Community Larder"]
    assert larder.cost == "Membership: £3.50 per week" and larder.is_free is False
    assert larder.accessibility == ["hearing_loop", "step_free"]
    assert {t.slug for t in larder.terms} == {"food-bank", "food"}
    knit = assets["Knit and Natter"]
    assert knit.is_free is None and knit.cost == "Donation 50p towards tea"
    assert {t.vocabulary for t in assets["Warm Welcome at the Methodist"].terms} == {"asset-type", "five-ways"}
    # A local taxonomy comes in as a vocabulary of its own, listed by the API.
    taxonomies = {t["name"] for t in client.get("/oruk/taxonomies").get_json()["contents"]}
    assert "Shropshire Family Information Directory" in taxonomies
    # Each new asset has an import revision.
    revisions = db_session.scalar(select(text("count(*)")).select_from(Revision).where(
        Revision.asset_id.in_([a.id for a in drop_in])))
    assert revisions == 3


def test_directory_of_saved_pages(db_session, client):
    report = import_oruk(db_session, ORUK_DATA / "oldham", publish=False)
    assert report.ok, report.summary()
    assert report.read == 3 and report.inserted == 4
    assets = db_session.scalars(select(Asset).where(Asset.source == "oruk")).all()
    assert {a.status for a in assets} == {AssetStatus.pending}
    walks = [a for a in assets if a.name == "Oldham health walks"]
    assert len(walks) == 2 and all(a.is_free for a in walks)
    pantry = next(a for a in assets if a.name.startswith("Fitton Hill"))
    assert pantry.extra["oruk"]["service"] == {"status": "temporarily closed",
                                               "alert": "Closed for refurbishment until March."}
    youth = next(a for a in assets if a.name == "Coldhurst youth club")
    assert youth.age_groups == ["children", "adults"]
    # Pending: nothing is published yet.
    assert _service_names(client) == {}


def test_a_broken_file_imports_nothing(db_session, tmp_path):
    (tmp_path / "a.json").write_text((ORUK_DATA / "shropshire" / "services.json").read_text())
    (tmp_path / "b.json").write_text('{"total_items": 1, "contents": [')
    with pytest.raises(ImportFileError, match="b.json is not valid JSON"):
        import_oruk(db_session, tmp_path)
    assert _assets(db_session) == {}
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ImportFileError, match="no .json files"):
        import_oruk(db_session, empty)


def test_services_without_id_or_name_are_reported(db_session, tmp_path):
    path = tmp_path / "services.json"
    path.write_text(json.dumps([
        {"id": "not-a-uuid", "name": "Bad id", "status": "active"},
        {"id": "0d8a1c36-3f0a-4f57-9d6c-0e3a2c1a0001", "status": "active"},
        {"id": "0d8a1c36-3f0a-4f57-9d6c-0e3a2c1a0002", "name": "Good", "status": "active", "colour": "green"},
    ]))
    report = import_oruk(db_session, path)
    assert report.read == 3 and report.inserted == 1 and report.skipped == 2
    assert [(p.row, p.reason) for p in report.problems] == [(1, "service id 'not-a-uuid' is not a UUID"),
                                                             (2, "service has no name")]
    assert report.unknown_fields == {"service.colour": 1}
    assert report.to_dict()["unknown_fields"] == {"service.colour": 1}


def _export(client, code):
    body = client.get(f"/exports/areas/{code}/assets.oruk.json").get_json()
    body.pop("meta")
    return body


def test_round_trip_export_import_export_is_stable(db_session, client, tmp_path):
    import_oruk(db_session, ORUK_DATA / "shropshire" / "services.json")
    import_oruk(db_session, ORUK_DATA / "oldham")
    make_asset(db_session, "Ludlow Library", -2.7195, 52.3683, "library", postcode="SY8 1AN",
               opening_hours={"mon": [["09:00", "17:00"]], "sat": [["10:00", "13:00"]]},
               age_groups=["children", "older"],
               is_free=False, cost=None, accessibility=["accessible_toilet"], phone="01584 813600")
    db_session.flush()
    for code in (SHROPSHIRE, OLDHAM):
        first = _export(client, code)
        assert first["total_items"] >= 3
        for service in first["contents"]:
            assert_valid("service", service)
        path = tmp_path / f"{code}.json"
        path.write_text(json.dumps(first))
        count = db_session.scalar(select(text("count(*)")).select_from(Asset))
        report = import_oruk(db_session, path)
        assert report.ok and report.inserted == 0 and report.updated == 0, report.summary()
        assert db_session.scalar(select(text("count(*)")).select_from(Asset)) == count
        assert _export(client, code) == first

    # Into a database that has none of them (revisions are append-only, so the assets are set aside
    # under new ids rather than deleted): the same services come back with the same ids.
    first = _export(client, SHROPSHIRE)
    path = tmp_path / "fresh.json"
    path.write_text(json.dumps(first))
    db_session.execute(text("DELETE FROM oruk_service_at_location"))
    db_session.execute(text("UPDATE asset SET uuid = gen_random_uuid(), source = 'set-aside', status = 'archived'"))
    db_session.expire_all()
    report = import_oruk(db_session, path)
    assert report.ok and report.inserted == sum(len(s["service_at_locations"]) or 1 for s in first["contents"])
    second = _export(client, SHROPSHIRE)

    def without_times(body):
        return [{k: v for k, v in s.items() if k != "last_modified"} for s in body["contents"]]

    assert without_times(second) == without_times(first)
