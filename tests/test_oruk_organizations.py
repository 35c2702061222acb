"""Open Referral UK ``/oruk/organizations``: shapes against the published v3 schemas, paging,
filters, bad input, the organisations the imported sources name, and their stable ids."""
from __future__ import annotations

import csv
import importlib.util
import uuid
from pathlib import Path

import pytest
from alembic.migration import MigrationContext
from alembic.operations import Operations
from sqlalchemy import select, text

from assetmap.config import PROJECT_DIR
from assetmap.db.models import Asset, AssetStatus, Organisation
from assetmap.domain.identities import organisation_uuid
from assetmap.importers import asset_formats
from assetmap.importers.assets import import_assets
from assetmap.importers.report import ImportReport
from tests.factories import make_asset
from tests.oruk_fixtures import assert_valid, assert_valid_page


@pytest.fixture
def orgs(db_session):
    """Three organisations: two run published places, one only a place waiting for moderation."""
    council = Organisation(name="Oswestry Town Council", source="test", source_id="oswestry-tc",
                           url="https://oswestry-tc.gov.uk", email="info@oswestry-tc.gov.uk")
    charity = Organisation(name="Borders Food Charity", source="givefood", source_id="GB-CHC-1143519",
                           description="Food parcels by referral.")
    waiting = Organisation(name="Not Yet Moderated Group", source="upload", source_id="not yet moderated group")
    db_session.add_all([council, charity, waiting])
    db_session.flush()
    make_asset(db_session, "Cabin Lane Community Hall", -3.0475, 52.8641, "community-venue", postcode="SY11 1HT",
               organisation_id=council.id, opening_hours={"mon": [["09:00", "17:00"]]}, phone="01691 111111")
    make_asset(db_session, "Guildhall", -3.0540, 52.8600, "community-venue", postcode="SY11 1PZ",
               organisation_id=council.id, description="Meeting rooms")
    make_asset(db_session, "Oswestry and Borders", -3.0520, 52.8618, "food-bank", postcode="SY11 1QW",
               organisation_id=charity.id)
    make_asset(db_session, "Archived hall", -3.05, 52.86, organisation_id=charity.id, status=AssetStatus.archived)
    make_asset(db_session, "Pending group", -3.05, 52.86, organisation_id=waiting.id, status=AssetStatus.pending)
    db_session.flush()
    return {"council": council, "charity": charity, "waiting": waiting}


def _names(body):
    return [c["name"] for c in body["contents"]]


def test_list_matches_the_profile_and_shows_only_organisations_with_published_services(client, orgs):
    response = client.get("/oruk/organizations")
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    body = response.get_json()
    assert_valid_page(body, "organization_list")
    assert _names(body) == ["Borders Food Charity", "Oswestry Town Council"]
    assert body["total_items"] == 2 and body["first_page"] and body["last_page"]
    council = body["contents"][1]
    assert council == {"id": str(orgs["council"].uuid), "name": "Oswestry Town Council",
                       "description": "Oswestry Town Council", "email": "info@oswestry-tc.gov.uk",
                       "website": "https://oswestry-tc.gov.uk"}
    assert "licence" in body["meta"]


def test_paging_never_skips_or_repeats(client, orgs):
    first = client.get("/oruk/organizations?per_page=1").get_json()
    second = client.get("/oruk/organizations?per_page=1&page=2").get_json()
    past = client.get("/oruk/organizations?per_page=1&page=3").get_json()
    assert (first["total_pages"], first["size"], first["last_page"]) == (2, 1, False)
    assert _names(first) + _names(second) == ["Borders Food Charity", "Oswestry Town Council"]
    assert second["last_page"] and past["contents"] == [] and past["total_items"] == 2


def test_filters_choose_organisations_by_their_services(client, orgs):
    def names(query):
        return _names(client.get(f"/oruk/organizations?{query}").get_json())

    assert names("search=meeting") == ["Oswestry Town Council"]
    assert names("search=borders food charity") == ["Borders Food Charity"]
    assert names("search=moderated") == []
    assert names("postcode=SY11 1QW&proximity=200") == ["Borders Food Charity"]
    food_bank = client.get("/oruk/taxonomy_terms?per_page=500").get_json()["contents"]
    term = next(t["id"] for t in food_bank if t["term"] == "food-bank")
    assert names(f"taxonomy_term_id={term}") == ["Borders Food Charity"]


def test_item_has_identifiers_and_services_and_matches_the_profile(client, orgs):
    charity = orgs["charity"]
    body = client.get(f"/oruk/organizations/{charity.uuid}").get_json()
    assert_valid("organization", body)
    assert body["description"] == "Food parcels by referral."
    (identifier,) = body["organization_identifiers"]
    assert (identifier["identifier_scheme"], identifier["identifier"]) == ("GB-CHC", "1143519")
    assert [s["name"] for s in body["services"]] == ["Oswestry and Borders"]  # not the archived one
    assert "organization" not in body["services"][0]
    assert body["services"][0]["organization_id"] == str(charity.uuid)

    council = client.get(f"/oruk/organizations/{orgs['council'].uuid}?full_service=true").get_json()
    assert_valid("organization", council)
    assert council["organization_identifiers"] == []
    assert [s["name"] for s in council["services"]] == ["Cabin Lane Community Hall", "Guildhall"]
    hall = council["services"][0]
    assert hall["service_at_locations"][0]["location"]["addresses"][0]["postal_code"] == "SY11 1HT"
    assert hall["phones"][0]["number"] == "01691 111111"
    brief = client.get(f"/oruk/organizations/{orgs['council'].uuid}").get_json()
    assert "service_at_locations" not in brief["services"][0]


def test_unknown_unpublished_and_malformed_ids(client, orgs):
    for missing in (uuid.uuid4(), orgs["waiting"].uuid):
        response = client.get(f"/oruk/organizations/{missing}")
        assert response.status_code == 404
        assert response.get_json()["error"]["status"] == 404
        assert response.headers["Access-Control-Allow-Origin"] == "*"
    for bad in ("/oruk/organizations/not-a-uuid", f"/oruk/organizations/{orgs['council'].uuid}?full_service=maybe",
                "/oruk/organizations?per_page=0", "/oruk/organizations?postcode=nowhere"):
        response = client.get(bad)
        assert response.status_code == 400, bad
        assert response.get_json()["error"]["status"] == 400


def test_a_pharmacy_contractor_imported_from_the_real_file_appears_with_its_pharmacies(client, db_session,
                                                                                       data_dir):
    report = import_assets(db_session, data_dir / "assets" / "consol_pharmacy_list_202324q3.csv",
                           "nhsbsa-pharmacies", only_postcode_areas=["SY"])
    assert report.inserted >= 30
    boots = db_session.execute(text(
        "SELECT o.uuid, count(*) FROM asset a JOIN organisation o ON o.id = a.organisation_id "
        "WHERE a.source = 'nhsbsa-pharmacies' AND o.name = 'BOOTS UK LIMITED' GROUP BY o.uuid"
    )).one()

    listed = client.get("/oruk/organizations?search=boots&per_page=100").get_json()
    assert_valid_page(listed, "organization_list")
    assert {"id": str(boots.uuid), "name": "BOOTS UK LIMITED", "description": "BOOTS UK LIMITED"} in listed["contents"]
    body = client.get(f"/oruk/organizations/{boots.uuid}?full_service=true").get_json()
    assert_valid("organization", body)
    assert len(body["services"]) == boots.count > 1
    assert all(s["organization_id"] == str(boots.uuid) for s in body["services"])
    assert all(s["service_at_locations"][0]["location"]["addresses"][0]["postal_code"].startswith("SY")
               for s in body["services"])


def test_a_library_authority_imported_from_the_real_file_appears_with_its_libraries(client, db_session, data_dir,
                                                                                    tmp_path):
    path = tmp_path / "libraries_shropshire.csv"
    with open(data_dir / "assets" / "libraries_england_2023.csv", encoding="utf-8-sig", newline="") as f:
        reader = csv.DictReader(f)
        fields, rows = reader.fieldnames, [r for r in reader if r["authority"] == "Shropshire"]
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    report = import_assets(db_session, path, "libraries", only_postcode_areas=["SY", "TF", "WV"])
    assert report.inserted > 10

    listed = client.get("/oruk/organizations?search=Shropshire library service").get_json()
    assert_valid_page(listed, "organization_list")
    (found,) = [c for c in listed["contents"] if c["name"] == "Shropshire library service"]
    body = client.get(f"/oruk/organizations/{found['id']}").get_json()
    assert_valid("organization", body)
    assert len(body["services"]) == report.inserted
    assert {"Oswestry", "Ludlow"} <= {s["name"] for s in body["services"]}


def test_a_community_run_library_says_who_runs_it_for_the_authority(db_session, data_dir):
    rows = _rows(asset_formats.read_libraries, data_dir / "assets" / "libraries_england_2023.csv")
    shropshire = {r.name: r for r in rows if r.extra.get("authority") == "Shropshire"}
    assert {r.organisation for r in shropshire.values()} == {"Shropshire library service"}
    assert shropshire["Albrighton"].extra["operating_organisation"] == "Albrighton Parish Council"
    assert "operating_organisation" not in shropshire["Oswestry"].extra  # "-": the authority runs it


def test_the_openapi_document_lists_the_organization_endpoints(client):
    paths = client.get("/api/openapi.json").get_json()["paths"]
    assert "/oruk/organizations" in paths and "/oruk/organizations/{id}" in paths
    params = {p["name"] for p in paths["/oruk/organizations/{id}"]["get"]["parameters"]}
    assert params == {"id", "full_service"}


# --- the organisations each source names ----------------------------------------------------------

def _rows(reader, path, *args):
    return list(reader(path, ImportReport(source="test"), *args))


def test_each_source_names_who_runs_its_places(data_dir, tmp_path):
    assets = data_dir / "assets"
    with open(assets / "epraccur_2023-12.csv", encoding="latin-1", newline="") as f:
        local = [cells for cells in csv.reader(f) if cells[9][:2] == "SY"]
    gp_path = tmp_path / "epraccur_sy.csv"
    with open(gp_path, "w", encoding="latin-1", newline="") as f:
        csv.writer(f, quoting=csv.QUOTE_ALL).writerows(local)
    practices = _rows(asset_formats.read_epraccur, gp_path)
    assert practices and all(r.organisation == r.name and r.organisation_key == f"ODS-{r.source_id}"
                             for r in practices)

    food_banks = {r.source_id: r for r in _rows(asset_formats.read_givefood,
                                                  assets / "foodbanks_givefood_shropshire_oldham.csv")}
    oswestry = food_banks["oswestry-and-borders"]
    assert (oswestry.organisation, oswestry.organisation_key) == ("Oswestry and Borders food bank", "GB-CHC-1143519")
    assert food_banks["strettons"].organisation_key is None  # no charity number: known by its name

    parks = _rows(asset_formats.read_geojson, assets / "greater_manchester" / "gm_green_flags.geojson", "park", "Park")
    agecroft = next(r for r in parks if r.name == "Agecroft Cemetery")
    assert agecroft.organisation == "Salford City Council"


def test_derived_ids_are_stable_and_the_migration_rewrites_stored_ones(db_session):
    imported = Organisation(name="BOOTS UK LIMITED", source="nhsbsa-pharmacies", source_id="BOOTS UK LIMITED",
                            uuid=uuid.uuid4())
    from_feed = Organisation(name="Fed", source="oruk", source_id="x", uuid=uuid.uuid4())
    by_hand = Organisation(name="Shropshire Council", uuid=uuid.uuid4())
    db_session.add_all([imported, from_feed, by_hand])
    db_session.flush()
    kept = {o.id: o.uuid for o in (from_feed, by_hand)}

    path = Path(PROJECT_DIR) / "assetmap" / "db" / "migrations" / "versions" / "0009_organisation_ids.py"
    spec = importlib.util.spec_from_file_location("migration_0009", path)
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    with Operations.context(MigrationContext.configure(db_session.connection())):
        migration.upgrade()

    def stored(org):
        return db_session.scalar(select(Organisation.uuid).where(Organisation.id == org.id))

    assert stored(imported) == organisation_uuid("nhsbsa-pharmacies", "BOOTS UK LIMITED")
    assert stored(imported) == uuid.uuid5(uuid.UUID("73122229-d505-4e9b-bd99-2fa936ae8276"),
                                          "organisation:nhsbsa-pharmacies:BOOTS UK LIMITED")
    assert {o.id: stored(o) for o in (from_feed, by_hand)} == kept


def test_gp_practices_named_alike_are_separate_organisations_with_derived_ids(client, db_session, data_dir,
                                                                              tmp_path):
    with open(data_dir / "assets" / "epraccur_2023-12.csv", encoding="latin-1", newline="") as f:
        local = [cells for cells in csv.reader(f) if cells[9][:2] == "SY" and cells[12] == "A" and cells[25] == "4"]
    twin = list(local[1])
    twin[1] = local[0][1]  # two practices of one name, as "THE SURGERY" is thirteen times over
    path = tmp_path / "epraccur_sy.csv"
    with open(path, "w", encoding="latin-1", newline="") as f:
        csv.writer(f, quoting=csv.QUOTE_ALL).writerows([local[0], twin])
    assert import_assets(db_session, path, "epraccur").inserted == 2

    ids = []
    for cells in (local[0], twin):
        expected = organisation_uuid("epraccur", f"ODS-{cells[0]}")
        body = client.get(f"/oruk/organizations/{expected}").get_json()
        assert_valid("organization", body)
        assert body["name"] == local[0][1]
        assert [i["identifier"] for i in body["organization_identifiers"]] == [cells[0]]
        assert [s["id"] for s in body["services"]] == [str(db_session.scalar(
            select(Asset.uuid).where(Asset.source == "epraccur", Asset.source_id == cells[0])))]
        ids.append(expected)
    assert ids[0] != ids[1]
