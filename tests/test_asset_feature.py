"""``asset.feature``, the GeoJSON Feature kept ready on each asset row (migration 0007): written by
the database on every change to what it shows, whichever code makes the change."""
from __future__ import annotations

import json
from datetime import UTC, datetime

from sqlalchemy import select, text

from assetmap.db import finder
from assetmap.db.models import Area, Organisation, TaxonomyTerm
from assetmap.domain.search import open_now_probe
from tests.factories import make_asset
from tests.finder_fixtures import import_pharmacies

NOW = datetime(2026, 12, 2, 10, 0, tzinfo=UTC)


def _stored(session, asset_id: int) -> dict:
    return json.loads(session.execute(text("SELECT feature FROM asset WHERE id = :id"), {"id": asset_id}).scalar_one())


def _api_feature(session, asset_id: int) -> dict:
    [item] = finder.get_assets(session, [asset_id], open_now_probe(NOW), finder.Features("https://x.test/assets/"))
    return json.loads(item["feature"])


def _term(session, vocabulary: str, slug: str) -> TaxonomyTerm:
    return session.scalar(select(TaxonomyTerm).where(TaxonomyTerm.vocabulary == vocabulary, TaxonomyTerm.slug == slug))


def test_a_new_asset_has_its_feature_with_its_terms(db_session):
    asset = make_asset(db_session, name="Ludlow Library", category="library", postcode="SY8 1AA",
                       access_modes=["drop_in"], lon=-2.7184, lat=52.3675)
    asset.terms.append(_term(db_session, "five-ways", "keep-learning"))
    db_session.flush()
    stored = _stored(db_session, asset.id)
    assert stored["type"] == "Feature" and stored["id"] == asset.id
    assert stored["geometry"] == {"type": "Point", "coordinates": [-2.7184, 52.3675]}
    props = stored["properties"]
    assert props["name"] == "Ludlow Library" and props["postcode"] == "SY8 1AA"
    assert props["category"] == "library" and [c["slug"] for c in props["categories"]] == ["library"]
    assert [w["slug"] for w in props["wellbeing"]] == ["keep-learning"]
    assert props["access_modes"] == ["drop_in"]
    # The search's own properties are not stored; the API adds them.
    assert not {"open_now", "stale", "distance_m", "within_radius", "page_url"} & props.keys()
    api = _api_feature(db_session, asset.id)["properties"]
    assert api["page_url"] == f"https://x.test/assets/{asset.id}" and api["stale"] is False
    assert {k: v for k, v in api.items() if k in props} == props


def test_the_feature_follows_every_change_to_what_it_shows(db_session):
    org = Organisation(name="Shropshire Council")
    db_session.add(org)
    area = db_session.scalar(select(Area).where(Area.code == "E06000051"))  # Shropshire
    db_session.flush()
    asset = make_asset(db_session, name="Old name", category="library", organisation_id=org.id,
                       service_area_id=area.id)

    asset.name = "New name"  # the asset's own column, through the ORM
    db_session.flush()
    assert _stored(db_session, asset.id)["properties"]["name"] == "New name"

    org.name = "Shropshire Libraries"  # another table's row it shows
    area.name = "Shropshire (county)"
    db_session.flush()
    props = _stored(db_session, asset.id)["properties"]
    assert (props["organisation"], props["service_area"]) == ("Shropshire Libraries", "Shropshire (county)")

    wellbeing = _term(db_session, "five-ways", "connect")
    asset.terms.append(wellbeing)  # a term added
    db_session.flush()
    assert [w["slug"] for w in _stored(db_session, asset.id)["properties"]["wellbeing"]] == ["connect"]

    library = _term(db_session, "asset-type", "library")
    library.label = "Public library"  # a term relabelled, for every asset that has it
    db_session.flush()
    props = _stored(db_session, asset.id)["properties"]
    assert props["category_label"] == "Public library"
    assert props["categories"] == [{"slug": "library", "label": "Public library"}]

    db_session.execute(text("DELETE FROM asset_term WHERE asset_id = :a AND term_id = :t"),
                       {"a": asset.id, "t": wellbeing.id})  # a term removed, in plain SQL
    assert _stored(db_session, asset.id)["properties"]["wellbeing"] == []

    db_session.execute(text("UPDATE asset_term SET term_id = :new WHERE asset_id = :a AND term_id = :old"),
                       {"a": asset.id, "old": library.id, "new": _term(db_session, "asset-type", "food-bank").id})
    assert _stored(db_session, asset.id)["properties"]["category"] == "food-bank"


def test_times_are_written_in_utc_whatever_the_writers_time_zone(db_session):
    asset = make_asset(db_session)
    db_session.execute(text("SET LOCAL timezone = 'America/New_York'"))
    db_session.execute(text("UPDATE asset SET last_verified_at = '2026-07-01 12:30:00+01' WHERE id = :id"),
                       {"id": asset.id})
    assert _stored(db_session, asset.id)["properties"]["last_verified_at"] == "2026-07-01T11:30:00+00:00"


def test_stored_features_agree_with_the_details_the_pages_show(db_session, data_dir):
    # The API's Feature (stored by the importer's writes) and the pages' details (read afresh)
    # describe the same real pharmacies alike, opening hours included.
    import_pharmacies(db_session, data_dir)
    ids = db_session.execute(text("SELECT id FROM asset WHERE status = 'published' ORDER BY id")).scalars().all()
    assert len(ids) > 30
    probe = open_now_probe(NOW)
    details = finder.get_assets(db_session, ids, probe)
    features = finder.get_assets(db_session, ids, probe, finder.Features("/assets/"))
    for item, feature in zip(details, features, strict=True):
        props = json.loads(feature["feature"])["properties"]
        assert props["id"] == item["id"] and props["name"] == item["name"]
        assert props["categories"] == item["categories"] and props["wellbeing"] == item["wellbeing"]
        assert props["organisation"] == item["organisation"] and props["service_area"] == item["service_area"]
        assert props["open_now"] == item["open_now"]
        assert props["access_modes"] == item["access_modes"] and props["is_free"] == item["is_free"]
        assert props["opening_hours"] == item["opening_hours"]
