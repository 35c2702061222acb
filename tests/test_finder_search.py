"""The finder's SQL on real PostGIS: distance order, radius, filters, places, paging, sinking."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from assetmap.db import finder
from assetmap.domain.search import FALLBACK_N, FinderQuery, Where, open_now_probe, parse_finder_query
from assetmap.errors import BadInputError, NotFoundError
from tests.factories import make_asset
from tests.finder_fixtures import WEDNESDAY_NOON, haversine_m, import_pharmacies

PROBE = open_now_probe(WEDNESDAY_NOON)
OSWESTRY = "SY11 1QD"  # central Oswestry (SY11 1PW, the example, is not in Code-Point)


def _query(session, **args) -> FinderQuery:
    return parse_finder_query({k: v if isinstance(v, list) else [str(v)] for k, v in args.items()},
                              lambda v: finder.vocabulary_terms(session, v), api=True)


@pytest.fixture
def pharmacies(db_session, data_dir):
    import_pharmacies(db_session, data_dir)
    return db_session


def test_nearest_pharmacies_are_in_haversine_order_with_haversine_distances(pharmacies):
    session = pharmacies
    origin = finder.lookup_postcode(session, OSWESTRY)
    result = finder.find(session, _query(session, postcode=OSWESTRY, radius_m=50_000, per_page=100), PROBE)
    items = result["items"]
    assert len(items) >= 30
    # Every published pharmacy with a location, measured independently in Python.
    everything = session.execute(text(
        "SELECT id, ST_Y(location) AS lat, ST_X(location) AS lon FROM asset "
        "WHERE status = 'published' AND location IS NOT NULL")).mappings().all()
    expected = sorted(
        ((haversine_m(origin["lat"], origin["lon"], r["lat"], r["lon"]), r["id"]) for r in everything),
    )
    expected = [(d, i) for d, i in expected if d <= 50_000][:100]
    assert [i["id"] for i in items] == [i for _, i in expected]
    for item, (distance, _) in zip(items, expected):
        assert item["distance_m"] == pytest.approx(distance, abs=0.5)
        assert item["within_radius"] and item["category"] == "pharmacy"
    assert result["total"] == len(expected) and not result["widened"] and not result["has_more"]


def test_radius_limits_results_and_paging_is_stable(pharmacies):
    session = pharmacies
    whole = finder.find(session, _query(session, postcode=OSWESTRY, radius_m=10_000, per_page=100), PROBE)
    assert whole["items"] and all(i["distance_m"] <= 10_000 for i in whole["items"])
    pages = []
    for page in range(1, 40):
        got = finder.find(session, _query(session, postcode=OSWESTRY, radius_m=10_000, per_page=3, page=page), PROBE)
        pages += got["items"]
        assert got["total"] == len(pages) and got["has_more"] == (len(pages) < len(whole["items"]))
        if not got["has_more"]:
            break
    assert [i["id"] for i in pages] == [i["id"] for i in whole["items"]]


def test_rural_search_with_few_results_shows_the_nearest_anyway(db_session):
    make_asset(db_session, "Village hall", lon=-3.0540, lat=52.8600)
    for n in range(12):  # a town 15-20 km away
        make_asset(db_session, f"Town venue {n}", lon=-2.80 + n * 0.001, lat=52.90)
    result = finder.find(db_session, _query(db_session, lat=52.86, lon=-3.054, radius_m=1000), PROBE)
    assert result["widened"] and result["total"] == 1
    assert len(result["items"]) == FALLBACK_N
    assert result["items"][0]["name"] == "Village hall" and result["items"][0]["within_radius"]
    assert not any(i["within_radius"] for i in result["items"][1:])
    distances = [i["distance_m"] for i in result["items"]]
    assert distances == sorted(distances)


def test_each_filter(db_session):
    s = db_session
    base = dict(lon=-3.0540, lat=52.8600)
    plain = make_asset(s, "Plain hall", **base)
    free = make_asset(s, "Free coffee morning", category="community-group", is_free=True, **base)
    drop = make_asset(s, "Drop-in advice", category="advice", access_modes=["drop_in"], **base)
    referral = make_asset(s, "Referral clinic", access_modes=["referral"], **base)
    kids = make_asset(s, "Toddler group", category="youth", age_groups=["children"], **base)
    older = make_asset(s, "Lunch club", age_groups=["older", "adults"], **base)
    step = make_asset(s, "Step-free library", category="library", accessibility=["step_free"], **base)
    both = make_asset(s, "Accessible centre", accessibility=["step_free", "hearing_loop", "accessible_toilet"], **base)
    walk = make_asset(s, "Walking group", description="A gentle walk round the park", **base)
    from sqlalchemy import select

    from assetmap.db.models import TaxonomyTerm

    walk.terms.append(s.scalar(select(TaxonomyTerm).where(TaxonomyTerm.slug == "be-active")))
    s.flush()

    def ids(**args):
        got = finder.find(s, _query(s, lat=52.86, lon=-3.054, radius_m=500, per_page=100, **args), PROBE)
        return {i["id"] for i in got["items"] if i["within_radius"]}

    assert len(ids()) == 9
    assert ids(category="library") == {step.id}
    assert ids(category="advice,youth") == {drop.id, kids.id}
    assert ids(wellbeing="be-active") == {walk.id}
    assert ids(free="true") == {free.id}
    assert ids(no_referral="1") == {drop.id}
    assert ids(access="referral") == {referral.id}
    assert ids(age_group="older") == {older.id}
    assert ids(age_group=["children", "older"]) == {kids.id, older.id}
    assert ids(accessibility="step_free") == {step.id, both.id}
    assert ids(accessibility="step_free,hearing_loop") == {both.id}
    assert ids(q="walk park") == {walk.id}
    assert ids(q="100%") == set()  # LIKE wildcards are taken literally
    assert ids(q="plain", free="true") == set()
    assert plain.id in ids(q="HALL")


def test_pending_and_archived_never_found(db_session):
    make_asset(db_session, "Pending place", status="pending")
    make_asset(db_session, "Archived place", status="archived")
    shown = make_asset(db_session, "Shown place")
    result = finder.find(db_session, _query(db_session, lat=52.86, lon=-3.054), PROBE)
    assert [i["id"] for i in result["items"]] == [shown.id]
    with pytest.raises(NotFoundError):
        finder.get_asset(db_session, result["items"][0]["id"] + 1, PROBE)


def test_stale_entries_sink_below_checked_ones_and_say_so(db_session):
    now = datetime.now(UTC)
    near_stale = make_asset(db_session, "Near but not checked", lon=-3.0540, lat=52.8600,
                            last_verified_at=now - timedelta(days=800))
    db_session.execute(text("UPDATE asset SET created_at = now() - interval '3 years' WHERE id = :i"),
                       {"i": near_stale.id})
    far_checked = make_asset(db_session, "Further, checked", lon=-3.0400, lat=52.8600, last_verified_at=now)
    query = _query(db_session, lat=52.86, lon=-3.054)
    plain = finder.find(db_session, query, PROBE)
    assert [i["id"] for i in plain["items"]] == [near_stale.id, far_checked.id]
    cutoff = now - timedelta(days=365)
    sunk = finder.find(db_session, query, PROBE, stale_before=cutoff)
    assert [(i["id"], i["stale"]) for i in sunk["items"]] == [(far_checked.id, False), (near_stale.id, True)]
    assert sunk["total"] == 2
    one_a_page = [finder.find(db_session, _query(db_session, lat=52.86, lon=-3.054, per_page=1, page=p), PROBE,
                              stale_before=cutoff) for p in (1, 2, 3)]
    assert [[i["id"] for i in r["items"]] for r in one_a_page] == [[far_checked.id], [near_stale.id], []]
    assert [r["has_more"] for r in one_a_page] == [True, False, False]


def test_area_wide_services_cover_the_point(db_session):
    ward = db_session.execute(text("SELECT id FROM area WHERE name = 'Oswestry South' AND level = 'ward'")).scalar_one()
    lad = db_session.execute(text("SELECT id FROM area WHERE code = 'E08000004'")).scalar_one()
    helpline = make_asset(db_session, "Oswestry befriending line", service_area_id=ward)
    db_session.execute(text("UPDATE asset SET location = NULL WHERE id = :i"), {"i": helpline.id})  # a phone line
    make_asset(db_session, "Oldham outreach", service_area_id=lad, lon=-2.11, lat=53.54)
    result = finder.find(db_session, _query(db_session, postcode=OSWESTRY, radius_m=500), PROBE,
                         with_area_services=True)
    assert [s["id"] for s in result["area_services"]] == [helpline.id]
    assert result["area_services"][0]["service_area"] == "Oswestry South"


def test_outward_code_searches_around_the_centroid_of_its_postcodes(db_session):
    found = finder.lookup_outward(db_session, "SY11")
    mean = db_session.execute(text(
        "SELECT avg(ST_Y(location)), avg(ST_X(location)), count(*) FROM postcode WHERE outward = 'SY11'")).one()
    assert found["postcodes"] == mean[2] > 100
    assert found["lat"] == pytest.approx(mean[0], abs=1e-6) and found["lon"] == pytest.approx(mean[1], abs=1e-6)


def test_place_names_find_wards_towns_and_groups_of_wards(db_session):
    one = finder.locate(db_session, Where("place", "market drayton west"))
    assert one["label"] == "Market Drayton West (Shropshire)"
    town = finder.locate(db_session, Where("place", "Oswestry"))  # the town of OS Open Names
    assert town["label"] == "Oswestry (Shropshire)"
    inside = db_session.execute(text(
        "SELECT bool_or(ST_Covers(geom, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326))) FROM area "
        "WHERE name LIKE 'Oswestry %' AND level = 'ward'"), {"lat": town["lat"], "lon": town["lon"]}).scalar()
    assert inside
    wards = finder.locate(db_session, Where("place", "Market Drayton"))  # no such ward: the town
    assert wards["label"] == "Market Drayton (Shropshire)"
    assert finder.locate(db_session, Where("place", "Bishops Castle"))["label"] == "Bishop's Castle (Shropshire)"
    with pytest.raises(BadInputError) as many:  # St James' (Oldham), St Martin's, St Mary's, St Oswald: far apart
        finder.locate(db_session, Where("place", "St"))
    assert {"St Martin's", "St Oswald", "St James'"} <= set(many.value.details["suggestions"])
    with pytest.raises(NotFoundError) as typo:
        finder.locate(db_session, Where("place", "Oswestrey"))
    assert typo.value.details["suggestions"][0] == "Oswestry, Shropshire"
    assert "Did you mean Oswestry (Shropshire)" in typo.value.message


def test_unknown_postcodes_get_helpful_suggestions(db_session):
    with pytest.raises(NotFoundError) as unknown_unit:
        finder.locate(db_session, Where("postcode", "SY11 1ZZ"))
    values = unknown_unit.value.details["suggestions"]
    assert values[0] == "SY11" and all(v.startswith("SY11 1") for v in values[1:]) and len(values) >= 2
    with pytest.raises(NotFoundError) as unknown_district:
        finder.locate(db_session, Where("outward", "SY27"))
    assert unknown_district.value.details["suggestions"] == ["SY25", "SY24", "SY23"]
    assert "SY27" in unknown_district.value.message


def test_places_at_one_point_page_in_id_order_without_repeats(db_session):
    # Several services at one address (or at one postcode's position) are at exactly one distance.
    same = [make_asset(db_session, f"Service {n}", lon=-3.0500, lat=52.8610).id for n in range(7)]
    nearer = make_asset(db_session, "Nearer", lon=-3.0535, lat=52.8601).id
    further = make_asset(db_session, "Further", lon=-3.0400, lat=52.8650).id
    expected = [nearer, *sorted(same), further]
    for per_page in (1, 2, 3, 4):
        seen = []
        for page in range(1, 12):
            got = finder.find(db_session, _query(db_session, lat=52.86, lon=-3.054, per_page=per_page, page=page),
                              PROBE)
            seen += [i["id"] for i in got["items"]]
            if not got["has_more"]:
                break
        assert seen == expected, per_page


def test_the_exact_search_runs_only_when_a_group_of_equal_distances_crosses_the_cut(db_session, monkeypatch):
    same = sorted(make_asset(db_session, f"Service {n}", lon=-3.0500, lat=52.8610).id for n in range(3))
    nearer = make_asset(db_session, "Nearer", lon=-3.0535, lat=52.8601).id
    further = make_asset(db_session, "Further", lon=-3.0400, lat=52.8650).id
    exact_runs = []
    run_exact = finder._search_near_exact
    monkeypatch.setattr(finder, "_search_near_exact", lambda *a, **k: exact_runs.append(1) or run_exact(*a, **k))

    def page(per_page: int) -> list[int]:
        query = _query(db_session, lat=52.86, lon=-3.054, per_page=per_page)
        return [i["id"] for i in finder.find(db_session, query, PROBE)["items"]]

    assert page(4) == [nearer, *same] and not exact_runs  # the row past the page is further: one scan
    assert page(2) == [nearer, same[0]] and exact_runs  # the cut falls among the three at one address
    assert page(5) == [nearer, *same, further]
