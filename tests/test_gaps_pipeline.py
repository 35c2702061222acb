"""The gap analysis from the database to the stored scores: a hand-computed example, PySAL on
real Shropshire libraries, pharmacies and GP practices, percentiles and classes, missing data,
an empty category, and the recompute after one asset changes."""
from __future__ import annotations

import math
import time

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import text

from assetmap.db import gap_refresh, gap_results, gap_runs
from assetmap.domain.gap_analysis import GapParams
from assetmap.domain.gap_ranks import BIVARIATE_CLASSES, NO_DATA, percentile_rank
from tests.factories import make_asset
from tests.gaps_fixtures import OLDHAM, SHROPSHIRE

TESTSHIRE = "E06999999"


def add_square_lsoas(session, lad, squares):
    """LSOAs as 200 m squares centred on (x, y) in EPSG:27700, with IMD rank and population.

    ``squares``: [(code, x, y, population, imd_rank or None)]. The representative point of a
    square is its centre.
    """
    session.execute(text(
        "INSERT INTO area (code, name, level, lad_code, geom) VALUES (:c, 'Testshire', 'lad', :c, "
        "ST_Multi(ST_Transform(ST_MakeEnvelope(599000, 149000, 603000, 151000, 27700), 4326)))"
    ), {"c": lad})
    imd = session.execute(text("SELECT id FROM indicator WHERE key = 'imd_rank'")).scalar_one()
    for code, x, y, population, rank in squares:
        area_id = session.execute(text(
            """
            INSERT INTO area (code, name, level, lad_code, population, pop_0_15, pop_16_59, pop_60_plus, geom)
            VALUES (:code, :name, 'lsoa', :lad, :pop, :pop / 4, :pop / 2, :pop / 4,
                    ST_Multi(ST_Transform(ST_MakeEnvelope(:x - 100, :y - 100, :x + 100, :y + 100, 27700), 4326)))
            RETURNING id
            """
        ), {"code": code, "name": f"Testshire {code[-1]}", "lad": lad, "pop": population, "x": x, "y": y}).scalar_one()
        if rank is not None:
            session.execute(text("INSERT INTO indicator_value (indicator_id, area_id, value) VALUES (:i, :a, :v)"),
                            {"i": imd, "a": area_id, "v": rank})


def lonlat(session, x, y):
    return session.execute(text(
        "SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_Transform(ST_SetSRID(ST_MakePoint(:x, :y), 27700), 4326) p) q"
    ), {"x": x, "y": y}).one()


def params(lad=SHROPSHIRE, category="library", indicator="imd_rank", group="all", radius_m=3000.0, decay="gaussian"):
    return GapParams(lad, category, indicator, group, radius_m, decay)


# --- a hand-computed example, through the whole pipeline ---------------------------------------
def test_three_areas_by_hand_through_the_whole_pipeline(db_session):
    # a, b, c on a line 1 km apart; library s1 (capacity 6) between a and b, s2 (capacity 2)
    # between b and c; radius 800 m, no decay.
    #   R1 = 6 / (100 + 200) = 0.02      R2 = 2 / (200 + 100) = 0.0066667
    #   A_a = R1 = 0.02   A_b = R1 + R2 = 0.0266667   A_c = R2 = 0.0066667
    # IMD ranks 10, 20, 30 (1 = most deprived): need percentiles 100, 50, 0.
    # Provision percentiles: c 0, a 50, b 100. Gaps: 50, -50, 0.
    add_square_lsoas(db_session, TESTSHIRE, [
        ("E01999991", 600000, 150000, 100, 10),
        ("E01999992", 601000, 150000, 200, 20),
        ("E01999993", 602000, 150000, 100, 30),
    ])
    for name, x, capacity in [("Library one", 600500, 6), ("Library two", 601500, 2)]:
        lon, lat = lonlat(db_session, x, 150000)
        make_asset(db_session, name, lon=lon, lat=lat, category="library", capacity=capacity)

    run = gap_runs.ensure_run(db_session, params(lad=TESTSHIRE, radius_m=800, decay="none"))
    rows = {r["code"]: r for r in gap_results.run_scores(db_session, run["id"])}

    expected = {
        "E01999991": (0.02, 100.0, 50.0, 50.0, "high-need/mid-provision", 500.0),
        "E01999992": (0.02 + 2 / 300, 50.0, 100.0, -50.0, "mid-need/high-provision", 500.0),
        "E01999993": (2 / 300, 0.0, 0.0, 0.0, "low-need/low-provision", 500.0),
    }
    assert sorted(rows) == sorted(expected)
    for code, (provision, need_pct, provision_pct, gap, cls, nearest) in expected.items():
        row = rows[code]
        assert row["provision"] == pytest.approx(provision, rel=1e-9)
        assert (row["need_pct"], row["provision_pct"], row["gap"], row["bivariate_class"]) == (
            need_pct, provision_pct, gap, cls)
        assert row["nearest_m"] == pytest.approx(nearest, abs=1e-3)
    assert run["summary"]["supply"] == 2

    # The representative point is ST_PointOnSurface in EPSG:27700: the square's centre.
    x, y = db_session.execute(text(
        "SELECT p.x, p.y FROM area_point p JOIN area a ON a.id = p.area_id WHERE a.code = 'E01999992'")).one()
    assert (x, y) == pytest.approx((601000, 150000), abs=1e-3)

    # Children (a quarter of each area): the ratios grow fourfold, percentiles stay.
    children = gap_results.run_scores(db_session, gap_runs.ensure_run(
        db_session, params(lad=TESTSHIRE, group="0-15", radius_m=800, decay="none"))["id"])
    assert children[0]["provision"] == pytest.approx(0.08, rel=1e-9)

    # Gaussian decay (E2SFCA): W(500) = (exp(-0.5 (500/800)^2) - exp(-0.5)) / (1 - exp(-0.5)).
    w = (math.exp(-0.5 * (500 / 800) ** 2) - math.exp(-0.5)) / (1 - math.exp(-0.5))
    e2 = {r["code"]: r for r in gap_results.run_scores(db_session, gap_runs.ensure_run(
        db_session, params(lad=TESTSHIRE, radius_m=800, decay="gaussian"))["id"])}
    # R1 = 6 / (100 w + 200 w) and A_a = R1 w: the weights cancel for a, as all pairs are 500 m apart.
    assert w == pytest.approx(0.5491, abs=1e-4)
    assert e2["E01999991"]["provision"] == pytest.approx(0.02, rel=1e-9)


def test_a_run_is_stored_once_and_reused(db_session):
    add_square_lsoas(db_session, TESTSHIRE, [("E01999991", 600000, 150000, 100, 10)])
    p = params(lad=TESTSHIRE, radius_m=800)
    first = gap_runs.ensure_run(db_session, p)
    again = gap_runs.ensure_run(db_session, p)
    assert again["id"] == first["id"]
    refreshed = gap_runs.ensure_run(db_session, p, refresh=True)
    assert refreshed["id"] != first["id"]
    assert [r["id"] for r in gap_runs.current_runs(db_session, lads=[TESTSHIRE])] == [refreshed["id"]]


# --- real Shropshire data against PySAL access ---------------------------------------------------
def pysal_scores(session, category, radius_m):
    """Plain 2SFCA by PySAL access over every loaded LSOA and asset of the category: its own
    frames from PostGIS, and a dense cost table of every pair (no neighbour search of ours)."""
    from access import Access

    demand = pd.DataFrame(session.execute(text(
        """
        SELECT a.code AS id, ST_X(ST_PointOnSurface(ST_Transform(a.geom, 27700))) AS x,
               ST_Y(ST_PointOnSurface(ST_Transform(a.geom, 27700))) AS y, COALESCE(a.population, 0) AS population
        FROM area a WHERE a.level = 'lsoa' ORDER BY a.code
        """
    )).mappings().all())
    supply = pd.DataFrame(session.execute(text(
        """
        SELECT a.id, ST_X(ST_Transform(a.location, 27700)) AS x, ST_Y(ST_Transform(a.location, 27700)) AS y,
               COALESCE(a.capacity, 1) AS capacity
        FROM asset a JOIN asset_term at ON at.asset_id = a.id JOIN taxonomy_term t ON t.id = at.term_id
        WHERE t.slug = :cat AND a.status = 'published' AND a.location IS NOT NULL ORDER BY a.id
        """
    ), {"cat": category}).mappings().all())
    dx = demand["x"].to_numpy()[:, None] - supply["x"].to_numpy()[None, :]
    dy = demand["y"].to_numpy()[:, None] - supply["y"].to_numpy()[None, :]
    cost = pd.DataFrame({"origin": np.repeat(demand["id"].to_numpy(), len(supply)),
                         "dest": np.tile(supply["id"].to_numpy(), len(demand)),
                         "cost": np.sqrt(dx * dx + dy * dy).ravel()})
    model = Access(demand_df=demand.set_index("id"), demand_index=True, demand_value="population",
                   supply_df=supply.set_index("id"), supply_index=True, supply_value="capacity",
                   cost_df=cost, cost_origin="origin", cost_dest="dest", cost_name="cost")
    result = model.two_stage_fca(name="fca", max_cost=radius_m, normalize=False)["fca_capacity"]
    return result.fillna(0.0), len(supply)


@pytest.mark.parametrize("category, radius_m", [("library", 3000.0), ("pharmacy", 2000.0), ("gp-practice", 3000.0)])
def test_real_shropshire_2sfca_equals_pysal_access(gdb, category, radius_m):
    run = gap_runs.ensure_run(gdb, params(category=category, radius_m=radius_m, decay="none"))
    ours = {r["code"]: r["provision"] for r in gap_results.run_scores(gdb, run["id"])}
    theirs, n_assets = pysal_scores(gdb, category, radius_m)

    assert n_assets >= 20  # the real lists of SY, TF, WV, LD and DY
    assert len(ours) == 193  # Shropshire's LSOAs only
    reached = [c for c in ours if ours[c] > 0]
    assert len(reached) > 50
    for code, value in ours.items():
        assert value == pytest.approx(theirs[code], rel=1e-9, abs=0), code


def test_assets_across_the_border_count(gdb):
    """Wolverhampton/Telford's assets (WV, TF) and their people count near the boundary: a run
    cut at the boundary would differ from the run over everything within reach."""
    run = gap_runs.ensure_run(gdb, params(category="pharmacy", radius_m=2000.0, decay="none"))
    inside = gdb.execute(text(
        """
        SELECT count(*) FROM gap_supply g JOIN asset a ON a.id = g.asset_id
        WHERE g.run_id = :run AND NOT EXISTS (
            SELECT 1 FROM area l WHERE l.level = 'lsoa' AND l.lad_code = :lad AND ST_Intersects(l.geom, a.location))
        """
    ), {"run": run["id"], "lad": SHROPSHIRE}).scalar_one()
    assert inside > 0  # assets outside Shropshire counted for it


# --- percentiles and classes on the real data ----------------------------------------------------
def test_percentiles_and_classes_follow_the_imd_direction(gdb):
    run = gap_runs.ensure_run(gdb, params(category="gp-practice"))
    rows = gap_results.run_scores(gdb, run["id"])
    frame = pd.DataFrame(rows).set_index("code")
    # IMD rank 1 is the most deprived: the lowest rank gets need percentile 100.
    expected = percentile_rank(frame["need"], higher_is_more_need=False)
    pd.testing.assert_series_equal(frame["need_pct"], expected, check_names=False)
    assert frame.loc[frame["need"].idxmin(), "need_pct"] == 100.0
    assert frame.loc[frame["need"].idxmax(), "need_pct"] == 0.0
    assert frame["provision_pct"].between(0, 100).all()
    assert (frame["gap"] - (frame["need_pct"] - frame["provision_pct"])).abs().max() < 1e-12
    for r in rows:
        need = "low" if r["need_pct"] < 33.33 else "mid" if r["need_pct"] < 66.67 else "high"
        prov = "low" if r["provision_pct"] < 33.33 else "mid" if r["provision_pct"] < 66.67 else "high"
        if r["provision"] == 0:
            assert r["bivariate_class"] == "no-provision" and r["provision_pct"] == 0.0
        else:
            assert r["bivariate_class"] == f"{need}-need/{prov}-provision"
    classes = run["summary"]["classes"]
    assert sum(classes.values()) == 193 and set(classes) == {*BIVARIATE_CLASSES, "no-provision", NO_DATA}
    assert classes["no-provision"] == run["summary"]["no_provision"] == sum(r["provision"] == 0 for r in rows)


def test_missing_indicator_values_are_no_data_not_zero_need(gdb):
    codes = ["E01028950", "E01028951"]
    gdb.execute(text(
        """
        DELETE FROM indicator_value v USING area a, indicator i
        WHERE v.area_id = a.id AND v.indicator_id = i.id AND i.key = 'income_rank' AND a.code = ANY(:codes)
        """
    ), {"codes": codes})
    run = gap_runs.ensure_run(gdb, params(category="library", indicator="income_rank"))
    rows = {r["code"]: r for r in gap_results.run_scores(gdb, run["id"])}
    for code in codes:
        assert rows[code]["need"] is None and rows[code]["need_pct"] is None and rows[code]["gap"] is None
        assert rows[code]["bivariate_class"] == NO_DATA
        assert rows[code]["provision"] is not None
    ranked = [r for r in rows.values() if r["need_pct"] is not None]
    assert len(ranked) == 191 and max(r["need_pct"] for r in ranked) == 100.0
    assert run["summary"]["no_need_data"] == 2


def test_an_empty_category_gives_zero_provision_everywhere(gdb):
    run = gap_runs.ensure_run(gdb, params(category="youth", radius_m=1600.0))
    rows = gap_results.run_scores(gdb, run["id"])
    assert len(rows) == 193
    assert {r["provision"] for r in rows} == {0.0}
    assert {r["provision_pct"] for r in rows} == {0.0}  # lowest, not a tie at 50
    assert all(r["gap"] == r["need_pct"] and r["nearest_m"] is None for r in rows)
    assert all(r["bivariate_class"] == "no-provision" for r in rows)
    assert run["summary"]["supply"] == 0 and run["summary"]["no_provision"] == 193


def test_scores_for_areas_span_local_authorities(gdb):
    rows = gap_results.scores_for_areas(gdb, ["E01028950", "E01005320"], "pharmacy")
    assert [r["code"] for r in rows] == ["E01005320", "E01028950"]
    assert {r["lad_code"] for r in rows} == {SHROPSHIRE, OLDHAM}
    with pytest.raises(Exception, match="not a loaded LSOA: E01999999"):
        gap_results.scores_for_areas(gdb, ["E01999999"], "pharmacy")


# --- the recompute after one change ----------------------------------------------------------
def snapshot(session, run_id):
    return {r["code"]: r for r in gap_results.run_scores(session, run_id)}


def assert_same_scores(incremental, full):
    assert sorted(incremental) == sorted(full)
    for code, a in incremental.items():
        b = full[code]
        assert a["provision"] == pytest.approx(b["provision"], rel=1e-12, abs=1e-18), code
        if b["nearest_m"] is None:
            assert a["nearest_m"] is None
        else:
            assert a["nearest_m"] == pytest.approx(b["nearest_m"], abs=1e-6), code
        for key in ("need_pct", "provision_pct", "gap", "bivariate_class", "population", "need"):
            assert a[key] == b[key], (code, key)


def oswestry_library(session):
    return session.execute(text(
        """
        SELECT a.id FROM asset a JOIN asset_term at ON at.asset_id = a.id JOIN taxonomy_term t ON t.id = at.term_id
        WHERE t.slug = 'library' AND a.status = 'published' AND a.name ILIKE '%oswestry%' ORDER BY a.id LIMIT 1
        """
    )).scalar_one()


@pytest.mark.parametrize("decay", ["gaussian", "none"])
def test_incremental_recompute_equals_full_recompute(gdb, decay):
    p = params(category="library", decay=decay)
    other = params(category="library", decay=decay, lad=OLDHAM)
    run = gap_runs.ensure_run(gdb, p)
    oldham = gap_runs.ensure_run(gdb, other)
    oldham_before = snapshot(gdb, oldham["id"])
    pharmacy = gap_runs.ensure_run(gdb, params(category="pharmacy", decay=decay))
    pharmacy_before = snapshot(gdb, pharmacy["id"])

    # 1. a new library approved near Oswestry
    new = make_asset(gdb, "New community library", lon=-3.0540, lat=52.8600, category="library")
    started = time.perf_counter()
    result = gap_refresh.recompute_for_asset_change(gdb, new.id)
    elapsed = time.perf_counter() - started
    assert result["runs"] == [run["id"]] and result["areas"] > 0
    assert elapsed < 5  # the figure that matters is in benchmarks/bench_gaps.py
    # 2. an existing library moved 2 km east, then 3. another archived
    moved = oswestry_library(gdb)
    gdb.execute(text("UPDATE asset SET location = ST_Translate(location, 0.03, 0) WHERE id = :id"), {"id": moved})
    assert gap_refresh.recompute_for_asset_change(gdb, moved)["runs"] == [run["id"]]
    archived = gdb.execute(text(
        "SELECT asset_id FROM gap_supply WHERE run_id = :run AND asset_id NOT IN (:a, :b) ORDER BY asset_id LIMIT 1"
    ), {"run": run["id"], "a": new.id, "b": moved}).scalar_one()
    gdb.execute(text("UPDATE asset SET status = 'archived' WHERE id = :id"), {"id": archived})
    assert gap_refresh.recompute_for_asset_change(gdb, archived)["runs"] == [run["id"]]
    # 4. a change that moves nothing (e.g. new opening hours) touches no run
    assert gap_refresh.recompute_for_asset_change(gdb, new.id)["runs"] == []

    incremental = snapshot(gdb, run["id"])
    full = snapshot(gdb, gap_runs.ensure_run(gdb, p, refresh=True)["id"])
    assert_same_scores(incremental, full)
    assert snapshot(gdb, oldham["id"]) == oldham_before  # out of reach: untouched
    assert snapshot(gdb, pharmacy["id"]) == pharmacy_before  # another category: untouched


def test_recompute_after_a_capacity_change_and_a_category_change(gdb):
    p = params(category="pharmacy", decay="none", radius_m=2000.0)
    run = gap_runs.ensure_run(gdb, p)
    asset_id = gdb.execute(text(
        "SELECT asset_id FROM gap_supply WHERE run_id = :run ORDER BY asset_id LIMIT 1"
    ), {"run": run["id"]}).scalar_one()
    gdb.execute(text("UPDATE asset SET capacity = 5 WHERE id = :id"), {"id": asset_id})
    assert gap_refresh.recompute_for_asset_change(gdb, asset_id)["runs"] == [run["id"]]
    assert_same_scores(snapshot(gdb, run["id"]), snapshot(gdb, gap_runs.ensure_run(gdb, p, refresh=True)["id"]))

    run = gap_runs.current_runs(gdb, categories=["pharmacy"])[0]
    gdb.execute(text(
        """
        UPDATE asset_term
        SET term_id = (SELECT id FROM taxonomy_term WHERE vocabulary = 'asset-type' AND slug = 'dentist')
        WHERE asset_id = :id
        """
    ), {"id": asset_id})
    assert gap_refresh.recompute_for_asset_change(gdb, asset_id)["runs"] == [run["id"]]
    assert_same_scores(snapshot(gdb, run["id"]), snapshot(gdb, gap_runs.ensure_run(gdb, p, refresh=True)["id"]))


def test_recompute_for_an_asset_no_run_counts_is_a_no_op(gdb):
    pending = make_asset(gdb, "Pending library", category="library", status="pending")
    gap_runs.ensure_run(gdb, params(category="library"))
    nothing = {"runs": [], "areas": 0, "rows": 0, "superseded": []}
    assert gap_refresh.recompute_for_asset_change(gdb, pending.id) == nothing
    assert gap_refresh.recompute_for_asset_change(gdb, 987654321) == nothing


def test_an_england_wide_run_is_superseded_and_recomputed_on_its_next_view(gdb):
    """Re-ranking every LSOA in England for one approval would keep the moderator waiting: the
    England-wide run is set aside instead, and the next request for it computes a fresh one."""
    local = gap_runs.ensure_run(gdb, params(category="library"))
    england = gap_runs.ensure_run(gdb, params(category="library", lad="all"))
    new = make_asset(gdb, "Another community library", lon=-3.0540, lat=52.8600, category="library")
    result = gap_refresh.recompute_for_asset_change(gdb, new.id)
    assert result["runs"] == [local["id"]] and result["superseded"] == [england["id"]]
    assert gap_runs.find_run(gdb, params(category="library", lad="all")) is None
    fresh = gap_runs.ensure_run(gdb, params(category="library", lad="all"))
    assert fresh["id"] != england["id"]
    counted = gdb.execute(text("SELECT count(*) FROM gap_supply WHERE run_id = :r AND asset_id = :a"),
                          {"r": fresh["id"], "a": new.id}).scalar_one()
    assert counted == 1


# --- honest ranks: sparse categories ---------------------------------------------------------
def test_one_community_venue_leaves_the_rest_with_no_provision(gdb):
    # One published community venue in Shropshire (in Oswestry): every area out of its reach is
    # "no provision within reach" at percentile 0, not tied at the 47th percentile.
    make_asset(gdb, "Oswestry community venue", lon=-3.0540, lat=52.8600, category="community-venue")
    run = gap_runs.ensure_run(gdb, params(category="community-venue", radius_m=1600.0))
    rows = gap_results.run_scores(gdb, run["id"])
    reached = [r for r in rows if r["provision"] > 0]
    none = [r for r in rows if r["provision"] == 0]
    assert 1 <= len(reached) < 20 and len(none) > 170
    assert {r["provision_pct"] for r in none} == {0.0}
    assert {r["bivariate_class"] for r in none if r["need_pct"] is not None} == {"no-provision"}
    # the areas with the venue in reach rank above every one without
    assert min(r["provision_pct"] for r in reached) == pytest.approx(100 * len(none) / (len(rows) - 1))
    summary = run["summary"]
    assert summary["no_provision"] == len(none) == summary["classes"]["no-provision"]
    high = sum(r["need_pct"] is not None and r["need_pct"] >= 66.67 for r in none)
    assert summary["no_provision_high_need"] == high > 0
    assert all(r["gap"] == r["need_pct"] for r in none)
    # the page's headline counts them, and says most areas have none
    assert summary["classes"]["high-need/low-provision"] + summary["no_provision_high_need"] >= high


FOOD_BANK_TOWNS = [("Shrewsbury", -2.7520, 52.7070), ("Ludlow", -2.7190, 52.3680), ("Bridgnorth", -2.4190, 52.5350),
                   ("Whitchurch", -2.6830, 52.9690), ("Market Drayton", -2.4840, 52.9040),
                   ("Oswestry", -3.0540, 52.8600)]


def test_food_banks_zero_areas_rank_at_zero(gdb):
    for town, lon, lat in FOOD_BANK_TOWNS:
        make_asset(gdb, f"{town} food bank", lon=lon, lat=lat, category="food-bank")
    run = gap_runs.ensure_run(gdb, params(category="food-bank"))
    rows = gap_results.run_scores(gdb, run["id"])
    none = [r for r in rows if r["provision"] == 0]
    assert 60 < len(none) < 193, "the market towns' food banks leave the countryside out of reach"
    assert {r["provision_pct"] for r in none} == {0.0}
    assert {r["bivariate_class"] for r in none if r["need_pct"] is not None} == {"no-provision"}
    assert run["summary"]["classes"]["no-provision"] == sum(r["need_pct"] is not None for r in none)
    assert run["summary"]["no_provision"] == len(none)
    # ties elsewhere take their lowest percentile: equal provisions share the smallest one
    some = pd.DataFrame([r for r in rows if r["provision"] > 0])
    assert some["provision_pct"].min() == pytest.approx(100 * len(none) / (len(rows) - 1))
    for _, group in some.groupby(some["provision"].round(12)):
        assert group["provision_pct"].nunique() == 1


def test_rural_flags_are_all_urban_until_the_classification_is_loaded(gdb):
    from assetmap.db.gap_inputs import rural_classification_loaded, rural_flags

    ids = gdb.execute(text("SELECT id FROM area WHERE level = 'lsoa' AND lad_code = :lad"),
                      {"lad": SHROPSHIRE}).scalars().all()
    flags = rural_flags(gdb, ids)
    assert set(flags) == set(ids)
    if not rural_classification_loaded(gdb):
        assert not any(flags.values())
        # a rural radius then changes nothing: every area takes the urban one
        plain = gap_results.run_scores(gdb, gap_runs.ensure_run(gdb, params())["id"])
        with_rural = GapParams(SHROPSHIRE, "library", "imd_rank", "all", 3000.0, "gaussian", 8000.0)
        rural = gap_runs.ensure_run(gdb, with_rural)
        assert rural["params"]["rural_radius_m"] == 8000.0
        assert [r["provision"] for r in gap_results.run_scores(gdb, rural["id"])] == [r["provision"] for r in plain]


# --- each run on its own geography: IoD 2025 by 2024 ward and 2021 MSOA, IoD 2019 by 2011-era ones --------
def test_an_iod_2025_run_adds_up_to_2024_wards_by_the_ons_lookup(gdb):
    run = gap_runs.ensure_run(gdb, params(indicator="imd_rank_2025"))
    assert gap_runs.run_level(gdb, run) == "lsoa21"
    wards = gap_results.aggregate_run(gdb, run, "ward")
    assert wards["level"] == "ward24" and wards["unassigned"] == 0
    by_code = {r["code"]: r for r in wards["rows"]}
    names = dict(gdb.execute(text("SELECT code, name FROM area WHERE level = 'ward24' AND lad_code = :lad"),
                             {"lad": SHROPSHIRE}).all())
    assert {c: r["name"] for c, r in by_code.items()} == names  # all 63, by name
    assert sum(r["areas"] for r in wards["rows"]) == 198  # every 2021 LSOA, once
    # Ludlow East holds three LSOAs by the ONS best fit, though their representative points lie
    # in Ludlow North and South: the published membership wins
    ludlow_east = by_code["E05008166"]
    assert ludlow_east["name"] == "Ludlow East" and ludlow_east["areas"] == 3
    scores = {r["code"]: r for r in gap_results.run_scores(gdb, run["id"])}
    members = [scores[c] for c in ("E01029006", "E01029007", "E01029010")]
    weights = np.array([m["population"] for m in members])
    assert ludlow_east["population"] == pytest.approx(weights.sum())
    assert ludlow_east["need_pct"] == pytest.approx(np.average([m["need_pct"] for m in members], weights=weights))
    msoas = gap_results.aggregate_run(gdb, run, "msoa")
    assert msoas["level"] == "msoa21" and len(msoas["rows"]) == 39 and msoas["unassigned"] == 0
    assert "Oswestry East" in {r["name"] for r in msoas["rows"]}
    assert gap_results.run_bounds(gdb, run) is not None


def test_an_iod_2019_run_still_adds_up_to_2011_era_wards(gdb):
    run = gap_runs.ensure_run(gdb, params(lad=OLDHAM, indicator="imd_rank"))
    assert gap_runs.run_level(gdb, run) == "lsoa"
    wards = gap_results.aggregate_run(gdb, run, "ward")
    old = set(gdb.execute(text("SELECT code FROM area WHERE level = 'ward' AND lad_code = :lad"),
                          {"lad": OLDHAM}).scalars())
    assert wards["level"] == "ward" and {r["code"] for r in wards["rows"]} == old
    assert sum(r["areas"] for r in wards["rows"]) + wards["unassigned"] == 141
    with pytest.raises(Exception, match="level 'ward24' is not of this run's geography"):
        gap_results.aggregate_run(gdb, run, "ward24")


def test_scores_for_areas_take_2021_lsoa_codes(gdb):
    rows = gap_results.scores_for_areas(gdb, ["E01035057", "E01034232"], "library")  # 2021 only: split, new
    assert [(r["code"], r["lad_code"]) for r in rows] == [("E01034232", OLDHAM), ("E01035057", SHROPSHIRE)]
    assert rows[1]["name"] == "Hinstock & Hodnet (Shropshire 009E)" and rows[1]["need"] is not None
    earlier = gap_results.scores_for_areas(gdb, ["E01028885"], "library", indicator="imd_rank")  # 2011 only
    assert [r["code"] for r in earlier] == ["E01028885"]


def test_a_kept_aggregation_follows_the_runs_version_and_is_not_changed_by_its_callers(gdb):
    run = gap_runs.ensure_run(gdb, params(indicator="imd_rank_2025"))
    first = gap_results.aggregate_run(gdb, run, "ward")
    first["rows"].clear()  # a caller cutting its copy (the gap page keeps the top rows)
    first["total"]["gap"] = 99
    again = gap_results.aggregate_run(gdb, run, "ward")
    assert len(again["rows"]) == 63 and again["total"]["gap"] != 99
    oswestry = {r["code"]: r for r in again["rows"]}["E05009283"]  # Oswestry South
    # a new library in Oswestry: the run's scores change, and so does the next aggregation
    new = make_asset(gdb, "New community library", lon=-3.0540, lat=52.8600, category="library")
    assert gap_refresh.recompute_for_asset_change(gdb, new.id)["runs"] == [run["id"]]
    updated = gap_runs.get_run(gdb, run["id"])
    assert updated["updated_at"] != run["updated_at"]
    after = {r["code"]: r for r in gap_results.aggregate_run(gdb, updated, "ward")["rows"]}["E05009283"]
    assert after["provision"] > oswestry["provision"]


def test_kept_aggregations_are_bounded_in_rows_and_age(gdb, monkeypatch):
    run = gap_runs.ensure_run(gdb, params(indicator="imd_rank_2025"))
    monkeypatch.setattr(gap_results, "_AGGREGATED", type(gap_results._AGGREGATED)())
    monkeypatch.setattr(gap_results, "_AGGREGATED_MAX_ROWS", 100)
    kept = gap_results._AGGREGATED
    wards = gap_results.aggregate_run(gdb, run, "ward")  # 63 rows
    assert [key[-1] for key in kept] == ["ward"]
    msoas = gap_results.aggregate_run(gdb, run, "msoa")  # 39 more: past 100, the wards go
    assert len(wards["rows"]) == 63 and len(msoas["rows"]) == 39
    assert [key[-1] for key in kept] == ["msoa"]
    # an aggregation past its time is dropped when the next is kept
    key = next(iter(kept))
    kept[key] = (kept[key][0] - gap_results._AGGREGATED_TTL_S, kept[key][1])
    gap_results.aggregate_run(gdb, run, "ward")
    assert [k[-1] for k in kept] == ["ward"]
