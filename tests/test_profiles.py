"""Area profiles on real Shropshire data: towns from wards, the profile of Oswestry's LSOAs checked
against counts and averages worked out independently (shapely, pyproj and the published IoD 2025
workbooks, Census 2021 and IoD 2019 files read with pandas), on IoD 2025 and LSOA 2021 by default
and on IoD 2019 and LSOA 2011 when asked, gaps from the gap analysis, provision by quarter from
revisions, custom areas drawn or uploaded and refused with a clear reason, and the pages."""
from __future__ import annotations

import doctest
import json
import re
from datetime import UTC, datetime
from html import unescape as html_unescape
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Transformer
from scipy.stats import rankdata
from shapely.geometry import box, mapping
from sqlalchemy import text

import assetmap.charts
from assetmap.db import profile_queries
from assetmap.db.models import Revision
from assetmap.domain import gap_ranks as gap_maths
from assetmap.domain.area_profile import parse_custom_area, profile_weights, read_towns
from assetmap.domain.vintages import VINTAGES
from assetmap.errors import BadInputError
from assetmap.importers.towns import load_towns
from tests.factories import make_asset
from tests.profile_fixtures import (
    SHROPSHIRE,
    import_shropshire_assets,
    load_project_towns,
    lsoa21_shapes,
    lsoa_shapes,
    oswestry_lsoas,
    ward_union,
)

LONDON = ZoneInfo("Europe/London")
TO_BNG = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)
RADAR_KEYS = ["imd_rank", "income_rank", "employment_rank", "education_rank", "health_rank", "crime_rank",
              "barriers_rank", "living_environment_rank", "share_0_15", "share_60_plus"]
RADAR_KEYS_2025 = [f"{k}_rank_2025" for k in ("imd", "income", "employment", "education", "health", "crime",
                                              "barriers", "living_environment", "idaci", "idaopi")]
IOD2025 = "iod2025"
FILE1_RANK = "Index of Multiple Deprivation (IMD) Rank (where 1 is most deprived)"
# A small square over the middle of Oswestry, and a bow-tie (its edges cross at 52.86, -3.05).
OSWESTRY_SQUARE = box(-3.066, 52.852, -3.044, 52.868)
BOW_TIE = {"type": "Polygon",
           "coordinates": [[[-3.06, 52.85], [-3.04, 52.87], [-3.04, 52.85], [-3.06, 52.87], [-3.06, 52.85]]]}


@pytest.fixture
def assets(db_session, data_dir):
    return import_shropshire_assets(db_session, data_dir)


@pytest.fixture
def towns(db_session):
    report = load_project_towns(db_session)
    assert report.ok, report.summary()
    return report


def published_assets(session) -> pd.DataFrame:
    """Every published asset and type as plain numbers (no spatial SQL): id, lon, lat, slug."""
    rows = session.execute(text(
        """SELECT a.id, ST_X(a.location), ST_Y(a.location), t.slug FROM asset a
           JOIN asset_term x ON x.asset_id = a.id JOIN taxonomy_term t ON t.id = x.term_id
           WHERE a.status = 'published' AND a.location IS NOT NULL AND t.vocabulary = 'asset-type'"""
    )).all()
    return pd.DataFrame(rows, columns=["id", "lon", "lat", "slug"])


def independent_counts(session, area) -> dict:
    """slug → (inside, within reach) for a shapely outline, distances on EPSG:27700 with pyproj."""
    radius = dict(session.execute(text(
        "SELECT slug, catchment_m FROM taxonomy_term WHERE vocabulary = 'asset-type'")).all())
    area_bng = shapely.transform(area, lambda xy: np.column_stack(TO_BNG.transform(xy[:, 0], xy[:, 1])))
    out = {}
    for slug, group in published_assets(session).groupby("slug"):
        xs, ys = TO_BNG.transform(group["lon"].to_numpy(), group["lat"].to_numpy())
        inside = shapely.intersects(area, shapely.points(group["lon"], group["lat"]))
        distance = shapely.distance(area_bng, shapely.points(xs, ys))
        out[slug] = (int(inside.sum()), int((distance <= radius[slug]).sum()))
    return out


def csrf_token(client, path="/profile/custom") -> str:
    html = client.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)


# --- towns ----------------------------------------------------------------------------------------
def test_towns_are_the_union_of_their_wards(db_session, data_dir, towns):
    assert (towns.read, towns.inserted) == (9, 9)
    rows = dict(db_session.execute(text(
        "SELECT code, ST_AsGeoJSON(geom) FROM area WHERE level = 'town' ORDER BY code")).all())
    assert {"town-oswestry", "town-ludlow", "town-market-drayton", "town-shrewsbury", "town-chadderton"} <= set(rows)
    oswestry = shapely.from_geojson(rows["town-oswestry"])
    expected = ward_union(data_dir, "Oswestry")
    # (ST_AsGeoJSON rounds to 9 decimal places)
    assert abs(oswestry.area - expected.area) / expected.area < 1e-6
    assert oswestry.symmetric_difference(expected).area / expected.area < 1e-6
    ludlow, expected = shapely.from_geojson(rows["town-ludlow"]), ward_union(data_dir, "Ludlow")
    assert ludlow.symmetric_difference(expected).area / expected.area < 1e-6
    lad, population = db_session.execute(text(
        "SELECT lad_code, population FROM area WHERE code = 'town-oswestry'")).one()
    assert lad == SHROPSHIRE and 14_000 < population < 17_000

    again = load_project_towns(db_session)
    assert (again.inserted, again.updated, again.unchanged) == (0, 0, 9)


def test_towns_with_missing_or_renamed_wards_are_reported(db_session):
    towns = read_towns({"towns": [
        {"code": "town-nowhere", "name": "Nowhere", "lad_code": SHROPSHIRE, "wards": [["E05999999", "Nowhere"]]},
        {"code": "town-wrong", "name": "Wrong", "lad_code": SHROPSHIRE, "wards": [["E05009282", "Oswestry North"]]},
    ]})
    report = load_towns(db_session, towns)
    assert [(p.row, p.reason) for p in report.problems] == [
        (1, "wards not loaded (import the ward boundaries first)"), (2, "ward names differ")]
    assert "E05009282 is 'Oswestry East', not 'Oswestry North'" in report.problems[1].value
    assert db_session.execute(text("SELECT count(*) FROM area WHERE level = 'town'")).scalar() == 0
    with pytest.raises(ValueError, match="used twice"):
        read_towns({"towns": [{"code": "t", "name": "A", "lad_code": "L", "wards": [["W", "w"]]}] * 2})


def test_import_towns_command_reports_problems_and_exits_non_zero(runner, tmp_path, monkeypatch, db_url):
    from assetmap.cli import main

    monkeypatch.setenv("DATABASE_URL", db_url)
    bad = tmp_path / "towns.json"
    bad.write_text(json.dumps({"towns": [{"code": "town-x", "name": "X", "lad_code": SHROPSHIRE,
                                          "wards": [["E05999999", "Nowhere"]]}]}))
    result = runner.invoke(main, ["import", "towns", str(bad)])
    assert result.exit_code == 1
    assert "wards not loaded" in result.output
    bad.write_text("{not json")
    result = runner.invoke(main, ["import", "towns", str(bad)])
    assert result.exit_code == 2 and "error:" in result.output


# --- the profile of Oswestry's LSOAs ---------------------------------------------------------------
def _iod2025_shropshire(data_dir) -> pd.DataFrame:
    """IoD 2025 for Shropshire's LSOAs 2021 from the published workbooks (File 1, File 3), the domains
    file, and Census 2021 usual residents, read here with pandas."""
    folder = data_dir / IOD2025
    f1 = pd.read_excel(folder / "File_1_IoD2025_Index_of_Multiple_Deprivation.xlsx", sheet_name="IMD25", dtype=str)
    f1 = f1[f1["Local Authority District code (2024)"] == SHROPSHIRE].set_index("LSOA code (2021)")
    f3 = pd.read_excel(folder / "File_3_IoD2025_Supplementary_Indices_IDACI_and_IDAOPI.xlsx",
                       sheet_name="IoD2025 IDACI & IDAOPI", dtype=str).set_index("LSOA code (2021)")
    domains = pd.read_csv(folder / "iod2025_domains_lsoa21_from_file7.csv", dtype=str).set_index("lsoa21_code")
    census = pd.read_csv(data_dir / "population" / "census2021_ts021_lsoa21.csv", dtype=str).set_index("lsoa21_code")
    codes = f1.index
    return pd.DataFrame({
        "name": f1["LSOA name (2021)"],
        "population": census["total_residents"].reindex(codes).astype(float),
        "imd_rank_2025": f1[FILE1_RANK].astype(float),
        "health_rank_2025": domains["Health_rank"].reindex(codes).astype(float),
        "idaci_rank_2025": f3["Income Deprivation Affecting Children Index (IDACI) Rank (where 1 is most deprived)"]
        .reindex(codes).astype(float),
    })


def _check_against_the_authority(rows, iod, codes, checks) -> None:
    """Each indicator's profile and authority means, values and need percentiles, worked out here."""
    population = iod["population"]
    for key, higher in checks:
        values = iod[key]
        # need percentile among Shropshire's LSOAs (100 = most need; ties at their lowest), then weighted means
        order = values if higher else -values
        pct = pd.Series(100 * (rankdata(order, method="min") - 1) / (len(values) - 1), index=values.index)
        assert rows[key]["la_value"] == pytest.approx(np.average(values, weights=population), rel=1e-9), key
        assert rows[key]["value"] == pytest.approx(np.average(values[codes], weights=population[codes]), rel=1e-9)
        assert rows[key]["need_pct"] == pytest.approx(np.average(pct[codes], weights=population[codes]), rel=1e-9)
        assert rows[key]["la_need_pct"] == pytest.approx(np.average(pct, weights=population), rel=1e-9)


def test_profile_of_oswestrys_lsoas_2021_is_iod_2025_weighted_by_census_2021(db_session, data_dir, assets):
    codes = oswestry_lsoas(data_dir, 2025)
    assert len(codes) == 9
    area = profile_queries.describe_lsoas(db_session, codes)
    profile = profile_queries.build_profile(db_session, area)
    assert profile["vintage"] == VINTAGES[2025] and area["subject"]["level"] == "lsoa21"
    assert [lsoa["code"] for lsoa in profile["lsoas"]] == codes
    # by their readable names: the Commons Library MSOA name and the LSOA's own
    iod = _iod2025_shropshire(data_dir)
    assert profile["lsoas"][0]["name"] == "Oswestry East (Shropshire 006C)" == (
        "Oswestry East (" + iod.loc[codes[0], "name"] + ")")

    # IoD 2025 only (no IoD 2019 figure, nor the 2019 rank carried to 2021), with year and geography.
    rows = {r["key"]: r for r in profile["indicators"]}
    assert [r["key"] for r in profile["indicators"]][:len(RADAR_KEYS_2025)] == RADAR_KEYS_2025
    assert all(r["year"] == 2025 and r["geography"] == "LSOA 2021" for r in profile["indicators"])
    assert not any(k.endswith(("_decile_2025", "_score_2025")) or "2019" in k for k in rows)
    _check_against_the_authority(rows, iod, codes, [("imd_rank_2025", False), ("health_rank_2025", False),
                                                     ("idaci_rank_2025", False)])
    assert profile["population"] == pytest.approx(iod["population"][codes].sum())
    assert [a["key"] for a in profile["radar"]] == RADAR_KEYS_2025

    # Need over time: every one of its LSOAs 2021, 2019 -> 2025.
    change = profile["need_change"]
    assert change["count"] == len(codes) and change["deepened"] + change["eased"] <= len(codes)
    assert {r["code"] for r in change["rows"]} <= set(codes)
    for r in change["rows"]:
        assert r["rank_2025"] == iod.loc[r["code"], "imd_rank_2025"]
        assert r["change"] == pytest.approx(r["rank_2019"] - r["rank_2025"])


def test_profile_of_oswestrys_lsoas_2011_on_iod_2019(db_session, data_dir, assets):
    codes = oswestry_lsoas(data_dir)
    assert len(codes) == 10
    area = profile_queries.describe_lsoas(db_session, codes, VINTAGES[2019])
    profile = profile_queries.build_profile(db_session, area)
    assert profile["vintage"] == VINTAGES[2019]

    assert area["lad_code"] == SHROPSHIRE and area["lad_name"] == "Shropshire"
    assert [lsoa["code"] for lsoa in profile["lsoas"]] == codes
    assert all(lsoa["share"] == 1.0 for lsoa in profile["lsoas"])

    # Places inside and within reach, against shapely on the published outlines and pyproj.
    outline = shapely.union_all([lsoa_shapes(data_dir)[c] for c in codes])
    expected = independent_counts(db_session, outline)
    got = {c["slug"]: (c["inside"], c["within_reach"]) for c in profile["assets"]}
    for slug in ("library", "pharmacy", "gp-practice"):
        assert got[slug] == expected[slug], slug
    assert got["library"][0] >= 1 and got["pharmacy"][0] >= 3 and got["gp-practice"][0] >= 2
    assert all(got[s] == (0, 0) for s in got if s not in expected)
    inside_names = {a["name"] for a in profile["asset_list"] if a["inside"]}
    assert "Oswestry" in inside_names  # the library

    # Indicators, from the IoD 2019 files read here with pandas.
    iod = _iod_shropshire(data_dir)
    population = iod["population"]
    rows = {r["key"]: r for r in profile["indicators"]}
    assert [r["key"] for r in profile["indicators"]][:len(RADAR_KEYS)] == RADAR_KEYS
    assert all(r["geography"] == "LSOA 2011" and not r["key"].endswith("_2025") for r in profile["indicators"])
    _check_against_the_authority(rows, iod, codes, [("imd_rank", False), ("health_rank", False),
                                                     ("share_60_plus", True)])
    # Need over time, on the LSOAs 2021 its LSOAs 2011 became.
    assert profile["need_change"]["count"] >= len(codes)
    # Oswestry is more deprived than the Shropshire average on IMD, income and employment.
    assert rows["imd_rank"]["value"] < rows["imd_rank"]["la_value"]
    assert all(rows[k]["direction"] == "more need" for k in ("income_rank", "employment_rank"))

    # The radar's axes are the need percentiles, in the set order.
    assert [a["key"] for a in profile["radar"]] == RADAR_KEYS
    assert all(a["value"] == rows[a["key"]]["need_pct"] and a["reference"] == rows[a["key"]]["la_need_pct"]
               for a in profile["radar"])
    assert profile["population"] == pytest.approx(population[codes].sum())


def _iod_shropshire(data_dir) -> pd.DataFrame:
    def read(name):
        df = pd.read_csv(data_dir / "imd2019" / name, dtype=str, encoding="utf-8-sig")
        df = df[df["Local Authority District code (2019)"] == SHROPSHIRE].set_index("LSOA code (2011)")
        return df.map(lambda v: v.replace(",", "") if isinstance(v, str) else v)

    f1, f2, f6 = (read(n) for n in ["imd2019_lsoa11.csv", "iod2019_domains_lsoa11.csv",
                                    "iod2019_population_lsoa11.csv"])
    total = f6["Total population: mid 2015 (excluding prisoners)"].astype(float)
    return pd.DataFrame({
        "population": total,
        "imd_rank": f1["Index of Multiple Deprivation (IMD) Rank"].astype(float),
        "health_rank": f2["Health Deprivation and Disability Rank (where 1 is most deprived)"].astype(float),
        "share_60_plus":
            100 * f6["Older population aged 60 and over: mid 2015 (excluding prisoners)"].astype(float) / total,
    })


def test_gap_by_category_is_the_weighted_mean_of_the_gap_analysis_scores(db_session, data_dir, assets):
    from assetmap.db import gap_results

    codes = oswestry_lsoas(data_dir, 2025)
    profile = profile_queries.build_profile(db_session, profile_queries.describe_lsoas(db_session, codes))
    assert profile["gaps"]["indicator"] == "Index of Multiple Deprivation 2025 (rank)"
    by_slug = {g["slug"]: g for g in profile["gaps"]["rows"]}
    assert by_slug["dentist"]["message"].startswith("No published places")
    population = {lsoa["code"]: lsoa["population"] for lsoa in profile["lsoas"]}
    for slug in ("library", "pharmacy", "gp-practice"):
        row = by_slug[slug]
        scores = pd.DataFrame(gap_results.scores_for_areas(db_session, codes, slug, indicator="imd_rank_2025"))
        scores = scores.set_index("code")
        w = pd.Series(population)[scores.index]
        for col in ("need_pct", "provision_pct", "gap"):
            assert row[col] == pytest.approx(np.average(scores[col], weights=w), rel=1e-9), (slug, col)
        assert row["class"] == gap_maths.bivariate_class(row["need_pct"], row["provision_pct"])
        assert row["lsoas"] == len(codes)
        assert row["high_need_low_provision"] == int((scores["bivariate_class"] == "high-need/low-provision").sum())
        assert row["gap"] == pytest.approx(row["need_pct"] - row["provision_pct"])


def test_town_profile_weights_lsoas_by_the_share_inside(db_session, data_dir, assets, towns):
    area = profile_queries.describe_area(db_session, "town-oswestry")
    profile = profile_queries.build_profile(db_session, area)
    town = ward_union(data_dir, "Oswestry")
    shapes = lsoa21_shapes(data_dir)
    shares = {lsoa["code"]: lsoa["share"] for lsoa in profile["lsoas"]}
    # Shares on the ellipsoid (PostGIS geography) against planar shares in degrees: close, not equal.
    for code, share in shares.items():
        assert share == pytest.approx(shapes[code].intersection(town).area / shapes[code].area, abs=0.01), code
    assert set(oswestry_lsoas(data_dir, 2025)) <= set(shares)
    # LSOAs that merely touch the town (slivers under 1% both ways, where generalised boundaries
    # disagree) are left out; the others count.
    overlapping = {code: g.intersection(town).area for code, g in shapes.items() if g.intersects(town)}
    real = {code for code, a in overlapping.items() if a / shapes[code].area >= 0.01 or a / town.area >= 0.01}
    assert set(shares) == real and len(overlapping) > len(real)
    assert profile["population"] == pytest.approx(sum(lsoa["weight"] for lsoa in profile["lsoas"]))
    got = {c["slug"]: (c["inside"], c["within_reach"]) for c in profile["assets"]}
    expected = independent_counts(db_session, town)
    assert all(got[s] == expected[s] for s in expected)


def test_profile_weights_drop_slivers_unless_nothing_else_overlaps():
    rows = [dict(code="A", name="A", lad_code="L", population=1000, share=0.004, share_of_area=0.3)]
    assert profile_weights(rows)["weight"].tolist() == [4.0]  # a small area inside one big LSOA counts
    rows.append(dict(code="B", name="B", lad_code="L", population=1000, share=0.002, share_of_area=0.005))
    assert profile_weights(rows).index.tolist() == ["A"]


# --- provision over time ---------------------------------------------------------------------------
def _revise(session, asset, when: str, status: str, location: tuple[float, float] | None = "keep"):
    snapshot = {"status": status, "name": asset.name}
    if location != "keep":
        snapshot["location"] = list(location) if location else None
    session.add(Revision(asset_id=asset.id, action="update", snapshot=snapshot, changes={}, status_after=status,
                         created_at=datetime.fromisoformat(when)))
    session.flush()


def test_published_places_by_quarter_come_from_the_revision_history(db_session, towns):
    inside, outside = (-3.054, 52.860), (-2.718, 52.368)  # Oswestry; Ludlow
    a = make_asset(db_session, "A")
    _revise(db_session, a, "2024-02-10T10:00:00+00:00", "published", inside)
    b = make_asset(db_session, "B", status="archived")
    _revise(db_session, b, "2024-05-01T10:00:00+00:00", "pending", inside)
    _revise(db_session, b, "2024-05-20T10:00:00+00:00", "published", inside)
    _revise(db_session, b, "2024-11-15T10:00:00+00:00", "archived", inside)
    c = make_asset(db_session, "C moved away", lon=outside[0], lat=outside[1])
    _revise(db_session, c, "2024-08-01T10:00:00+00:00", "published", inside)
    _revise(db_session, c, "2024-10-05T10:00:00+00:00", "published", outside)
    d = make_asset(db_session, "D never published", status="pending")
    _revise(db_session, d, "2024-03-01T10:00:00+00:00", "pending", inside)
    e = make_asset(db_session, "E moved in")
    _revise(db_session, e, "2025-01-10T10:00:00+00:00", "published", outside)
    _revise(db_session, e, "2025-02-01T10:00:00+00:00", "published", inside)
    f = make_asset(db_session, "F snapshot without a location")
    _revise(db_session, f, "2024-12-31T23:30:00+00:00", "published")  # present location: inside
    g = make_asset(db_session, "G published in the first hour of Q2 (BST)")
    _revise(db_session, g, "2025-03-31T23:30:00+00:00", "published", inside)  # 00:30 on 1 April in London

    rows = profile_queries.quarterly_published(db_session, {"kind": "area", "code": "town-oswestry"})
    got = [(r["quarter"].isoformat(), r["published"], r["added"], r["removed"]) for r in rows]
    assert got[:7] == [
        ("2024-01-01", 1, 1, 0),  # A
        ("2024-04-01", 2, 1, 0),  # B published
        ("2024-07-01", 3, 1, 0),  # C
        ("2024-10-01", 2, 1, 2),  # C moved out, B archived, F published
        ("2025-01-01", 3, 1, 0),  # E moved in
        ("2025-04-01", 4, 1, 0),  # G
        ("2025-07-01", 4, 0, 0),
    ]
    assert all(r[1:] == (4, 0, 0) for r in got[6:])
    now = datetime.now(UTC).astimezone(LONDON)
    assert got[-1][0] == f"{now.year}-{3 * ((now.month - 1) // 3) + 1:02d}-01"

    capped = profile_queries.quarterly_published(db_session, {"kind": "area", "code": "town-oswestry"}, max_quarters=3)
    assert [(r["published"], r["added"]) for r in capped] == [(4, 0)] * 3


# --- custom areas ----------------------------------------------------------------------------------
def test_a_drawn_area_is_saved_and_profiled(client, db_session, assets):
    token = csrf_token(client)
    geojson = json.dumps({"type": "Feature", "properties": {}, "geometry": mapping(OSWESTRY_SQUARE)})
    response = client.post("/profile/custom", data={"csrf_token": token, "geojson": geojson, "name": "Oswestry centre"})
    assert response.status_code == 303
    url = response.headers["Location"]
    assert re.fullmatch(r"/profile/custom-[0-9a-f]{12}", url)
    # The same area and name again: the same row and link.
    again = client.post("/profile/custom", data={"csrf_token": token, "geojson": geojson, "name": "Oswestry centre"})
    assert again.headers["Location"] == url

    html = client.get(url).get_data(as_text=True)
    assert "Oswestry centre" in html and "Custom area" in html
    area = profile_queries.describe_area(db_session, url.rsplit("/", 1)[1])
    profile = profile_queries.build_profile(db_session, area)
    expected = independent_counts(db_session, OSWESTRY_SQUARE)
    got = {c["slug"]: (c["inside"], c["within_reach"]) for c in profile["assets"]}
    assert all(got[s] == expected[s] for s in expected)
    assert profile["area"]["lad_code"] == SHROPSHIRE
    assert 0 < min(lsoa["share"] for lsoa in profile["lsoas"]) and max(lsoa["share"] for lsoa in profile["lsoas"]) <= 1


def test_an_uploaded_geojson_file_is_profiled(client):
    from io import BytesIO

    token = csrf_token(client)
    body = json.dumps({"type": "FeatureCollection",
                       "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:OGC:1.3:CRS84"}},
                       "features": [{"type": "Feature", "properties": {}, "geometry": mapping(OSWESTRY_SQUARE)}]})
    response = client.post("/profile/custom", data={"csrf_token": token, "geojson": "",
                                                    "file": (BytesIO(body.encode()), "oswestry.geojson")},
                           content_type="multipart/form-data")
    assert response.status_code == 303
    assert client.get(response.headers["Location"]).status_code == 200


def test_an_area_declared_in_british_national_grid_is_converted(client, db_session, assets):
    """Custom areas take the same coordinate systems as the bulk upload (domain.geojson_crs)."""
    square_bng = shapely.transform(OSWESTRY_SQUARE, lambda xy: np.column_stack(TO_BNG.transform(xy[:, 0], xy[:, 1])))
    geojson = json.dumps({"type": "Feature", "properties": {}, "geometry": mapping(square_bng),
                          "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::27700"}}})
    area = parse_custom_area(geojson)
    assert area.bounds == pytest.approx(OSWESTRY_SQUARE.bounds, abs=1e-6)
    response = client.post("/profile/custom", data={"csrf_token": csrf_token(client), "geojson": geojson})
    assert response.status_code == 303
    assert client.get(response.headers["Location"]).status_code == 200


BNG_SQUARE = {"type": "Polygon", "coordinates": [
    [[329000, 329000], [331000, 329000], [331000, 331000], [329000, 331000], [329000, 329000]]]}


@pytest.mark.parametrize(("geojson", "message"), [
    (json.dumps(BOW_TIE), "not a valid polygon: Self-intersection at -3.05, 52.86"),
    (json.dumps(mapping(box(-3.4, 52.3, -2.4, 52.9))), "custom areas of up to 2,000 km²"),
    (json.dumps(mapping(box(1.2, 52.6, 1.3, 52.7))),
     "outside the loaded areas (local authorities loaded: Oldham, Shropshire)"),
    (json.dumps(BNG_SQUARE), "look like British National Grid metres (EPSG:27700)"),
    (json.dumps({"type": "Feature", "geometry": BNG_SQUARE,
                 "crs": {"type": "name", "properties": {"name": "EPSG:3857"}}}),
     "declares the coordinate system 'EPSG:3857'"),
    (json.dumps({"type": "Feature", "geometry": BNG_SQUARE, "crs": {"type": "name", "properties": "EPSG:27700"}}),
     "crs member that does not name a coordinate system"),
    (json.dumps({"type": "Point", "coordinates": [-3.05, 52.86]}), "is a Point, not an area"),
    (json.dumps({"type": "Polygon", "coordinates": [[[52.85, -3.06], [52.87, -3.06], [52.87, -3.04], [52.85, -3.06]]]}),
     "look like latitude, longitude"),
    ("{\"type\": \"Polygon\", ", "not valid GeoJSON"),
    ("", "No area was given"),
])
def test_custom_areas_that_cannot_be_profiled_get_a_clear_400(client, db_session, geojson, message):
    before = db_session.execute(text("SELECT count(*) FROM area WHERE level = 'custom'")).scalar()
    response = client.post("/profile/custom", data={"csrf_token": csrf_token(client), "geojson": geojson})
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert 'role="alert"' in html
    assert message in html.replace("&#39;", "'").replace("&amp;", "&"), html[html.find("error-summary"):][:600]
    assert db_session.execute(text("SELECT count(*) FROM area WHERE level = 'custom'")).scalar() == before


def test_the_database_check_refuses_an_invalid_outline_too(db_session):
    # The domain check would stop it first; the database's own check does not rely on that.
    bow_tie = shapely.MultiPolygon([shapely.from_geojson(json.dumps(BOW_TIE))])
    with pytest.raises(BadInputError, match="Self-intersection"):
        profile_queries.check_custom_area(db_session, bow_tie)
    coverage = profile_queries.check_custom_area(db_session, shapely.MultiPolygon([OSWESTRY_SQUARE]))["coverage"]
    assert coverage == pytest.approx(1.0, abs=1e-4)


def test_a_custom_area_without_the_csrf_token_is_refused(client):
    response = client.post("/profile/custom", data={"geojson": json.dumps(mapping(OSWESTRY_SQUARE))})
    assert response.status_code == 400


def test_parse_custom_area_merges_a_feature_collection_and_limits_size():
    two = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {}, "geometry": mapping(box(-3.06, 52.85, -3.05, 52.86))},
        {"type": "Feature", "properties": {}, "geometry": mapping(box(-3.03, 52.85, -3.02, 52.86))}]}
    assert len(parse_custom_area(json.dumps(two)).geoms) == 2
    with pytest.raises(BadInputError, match="MB"):
        parse_custom_area(b" " * (3 * 1024 * 1024))
    ring = [[round(-3 + 0.01 * np.cos(t), 5), round(52.8 + 0.01 * np.sin(t), 5)]
            for t in np.linspace(0, 2 * np.pi, 60_000)]
    ring[-1] = ring[0]
    with pytest.raises(BadInputError, match="at most 50,000"):
        parse_custom_area(json.dumps({"type": "Polygon", "coordinates": [ring]}))


# --- pages ---------------------------------------------------------------------------------------
def test_profile_page_has_tables_radar_and_an_offline_map(client, db_session, data_dir, assets):
    codes = oswestry_lsoas(data_dir)
    make_asset(db_session, "<script>alert(1)</script> `${x}`", category="library")
    response = client.get("/profile/lsoas?codes=" + ",".join(codes))
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    for heading in ("Places inside 10 LSOAs and within reach", "Need against the Shropshire average",
                    "Gaps by type of place", "Provision over time", "Small areas counted"):
        assert heading in html
    svg = re.search(r'<svg [^>]*class="chart radar".*?</svg>', html, flags=re.S).group(0)
    assert 'role="img"' in svg and 'aria-labelledby="need-radar-title need-radar-desc"' in svg
    desc = re.search(r"<desc[^>]*>(.*?)</desc>", svg, flags=re.S).group(1)
    profile = profile_queries.build_profile(db_session, profile_queries.describe_lsoas(db_session, codes))
    assert f"IMD {profile['radar'][0]['value']:.0f}" in desc
    assert len(re.findall(r"\d; ", desc)) == 2 * (len(RADAR_KEYS) - 1)
    # The map loads nothing from outside; every name is inert in list, popup and tooltip.
    assert re.findall(r'<(?:script|link)[^>]+(?:src|href)="(https?://[^"]+)"', html) == []
    assert "<script>alert(1)" not in html
    assert "${x}" not in "".join(re.findall(r"<script[^>]*>(.*?)</script>", html, re.S))
    css = client.get("/static/css/app.css")
    assert "body:has(.profile) .site-header" in css.get_data(as_text=True)  # the print styles
    css.close()


def test_profiles_index_pick_and_bad_codes(client, db_session, towns):
    html = client.get("/profile").get_data(as_text=True)
    assert "Oswestry" in html and "Oswestry East" in html and 'href="/profile/custom"' in html
    assert client.get("/profile/pick?code=E05009282").headers["Location"].endswith("/profile/E05009282")
    assert client.get("/profile/pick?code=E01028902,E01028903").headers["Location"].endswith(
        "/profile/lsoas?codes=E01028902,E01028903")
    assert client.get("/profile/town-oswestry").status_code == 200
    assert client.get("/profile/E05009282").status_code == 200  # a ward
    msoa = db_session.execute(text("SELECT code FROM area WHERE level = 'msoa' ORDER BY code LIMIT 1")).scalar()
    assert "MSOA" in client.get(f"/profile/{msoa}").get_data(as_text=True)
    missing = client.get("/profile/E01999999")
    assert missing.status_code == 404 and "E01999999" in missing.get_data(as_text=True)
    unknown = client.get("/profile/lsoas?codes=E01028902,E0199")
    assert unknown.status_code == 400 and "not a loaded LSOA 2021: E0199" in unknown.get_data(as_text=True)
    # E01028885 was split in 2021 (into E01035057 and E01035058): a 2011 code, told so.
    old = client.get("/profile/lsoas?codes=E01028902,E01028885")
    text_ = old.get_data(as_text=True).replace("&#39;", "'")
    assert old.status_code == 400 and "not a loaded LSOA 2021: E01028885" in text_
    assert "these are 2011 LSOA codes" in text_ and "add vintage=2019" in text_
    assert client.get("/profile/lsoas?codes=E01028902,E01028885&vintage=2019").status_code == 200
    new = client.get("/profile/lsoas?codes=E01035057&vintage=2019")
    assert new.status_code == 400 and "these are 2021 LSOA codes" in new.get_data(as_text=True)
    bad = client.get("/profile/E01028902?vintage=2015")
    assert bad.status_code == 400 and "unknown vintage" in bad.get_data(as_text=True)
    assert client.get("/profile/lsoas?codes=").status_code == 400
    many = ",".join(f"E01{n:06d}" for n in range(profile_queries.MAX_LSOAS + 1))
    too_many = client.get(f"/profile/lsoas?codes={many}")
    assert too_many.status_code == 400 and f"at most {profile_queries.MAX_LSOAS}" in too_many.get_data(as_text=True)


def _published(data_dir, files: dict[str, tuple[str, str]]) -> dict[str, str]:
    """code → name of every feature of the published boundary files, ``{file: (code key, name key)}``."""
    out = {}
    for name, (code_key, name_key) in files.items():
        with open(data_dir / "boundaries" / name, encoding="utf-8") as f:
            out.update({ft["properties"][code_key]: ft["properties"][name_key] for ft in json.load(f)["features"]})
    return out


def _msoa_names(data_dir, year: int, codes) -> dict[str, str]:
    """The Commons Library's names of ``codes``, MSOAs 2021 or 2011, from its published table."""
    name, code_col, name_col = (("msoa21_names_hocl_v2.2.csv", "msoa21cd", "msoa21hcln") if year == 2021
                                else ("msoa11_names_hocl_v1.14.csv", "msoa11cd", "msoa11hclnm"))
    table = pd.read_csv(data_dir / "names" / name, dtype=str, encoding="utf-8-sig").set_index(code_col)
    return {code: table.loc[code, name_col] for code in codes}


def _choices(html: str, kind: str) -> tuple[str, dict[str, str]]:
    """The label and the options (code → name, as shown) of the profiles page's ``kind`` list."""
    label = re.search(rf'<label for="pick-{kind}">([^<]+)</label>', html).group(1)
    select = re.search(rf'<select id="pick-{kind}" name="code">(.*?)</select>', html, flags=re.S).group(1)
    return label, {code: html_unescape(name) for code, name in re.findall(r'<option value="([^"]+)">([^<]+)<', select)}


def test_profiles_index_lists_the_current_geography_by_name_and_the_earlier_on_request(client, data_dir, towns):
    """The page lists the 2024 wards and MSOAs 2021 of the loaded authorities, by name, and each
    profile it opens is on IoD 2025; ``vintage=2019`` lists the 2011-era wards and MSOAs 2011 and
    opens IoD 2019. Expected names are read from the published files."""
    wards24 = _published(data_dir, {"wards22_E06000051_shropshire_bsc.geojson": ("WD22CD", "WD22NM"),
                                    "wards23_E08000004_oldham_bgc.geojson": ("area_code", "area_name")})
    wards11 = _published(data_dir, {"wards_E06000051_shropshire.geojson": ("WD13CD", "WD13NM"),
                                    "wards_E08000004_oldham.geojson": ("WD13CD", "WD13NM")})
    msoas21 = _msoa_names(data_dir, 2021, _published(data_dir, {
        "msoa21_E06000051_shropshire_bsc.geojson": ("MSOA21CD", "MSOA21NM"),
        "msoa21_E08000004_oldham_bgc.geojson": ("area_code", "area_name")}))
    msoas11 = _msoa_names(data_dir, 2011, _published(data_dir, {
        "msoa11_E06000051_shropshire.geojson": ("MSOA11CD", "MSOA11NM"),
        "msoa11_E08000004_oldham.geojson": ("MSOA11CD", "MSOA11NM")}))
    assert len(wards24) == len(wards11) == 83 and set(wards24) != set(wards11)  # Oldham's wards were redrawn
    assert (len(msoas21), len(msoas11)) == (73, 72)

    html = client.get("/profile").get_data(as_text=True)
    assert _choices(html, "ward") == ("Ward (2024)", wards24)
    assert _choices(html, "msoa") == ("MSOA 2021", msoas21)
    assert _choices(html, "msoa")[1]["E02006024"] == "Oswestry East"
    assert _choices(html, "town")[1]["town-oswestry"] == "Oswestry (Shropshire)"
    assert _choices(html, "lad")[1] == {SHROPSHIRE: "Shropshire", "E08000004": "Oldham"}
    assert "Need data: IoD 2025 on LSOA 2021." in html and 'name="vintage"' not in html
    assert 'href="/profile?vintage=2019">Earlier need data: IoD 2019 on LSOA 2011</a>' in html

    earlier = client.get("/profile?vintage=2019").get_data(as_text=True)
    assert _choices(earlier, "ward") == ("Ward (2011 boundaries)", wards11)
    assert _choices(earlier, "msoa") == ("MSOA 2011", msoas11)
    assert "Need data: IoD 2019 on LSOA 2011 <span class=\"muted\">(an earlier vintage" in earlier
    assert 'href="/profile">Current need data: IoD 2025 on LSOA 2021</a>' in earlier
    # every form of the page passes the vintage on to the profile it opens
    assert earlier.count('<form method="get" action="/profile/pick"') == 5
    assert earlier.count('<input type="hidden" name="vintage" value="2019">') == 5
    assert client.get("/profile?vintage=2015").status_code == 400

    # Oldham's 2011-era Alexandra ward, and Oswestry East, a Shropshire ward code of both vintages.
    assert client.get("/profile/pick?code=E05000719&vintage=2019").headers["Location"] == (
        "/profile/E05000719?vintage=2019")
    assert client.get("/profile/pick?code=E01028902,E01028903&vintage=2019").headers["Location"] == (
        "/profile/lsoas?codes=E01028902,E01028903&vintage=2019")
    assert client.get("/profile/pick?code=E05009282&vintage=2025").headers["Location"] == "/profile/E05009282"
    assert client.get("/profile/pick?code=,&vintage=2019").headers["Location"] == "/profile?vintage=2019"
    assert client.get("/profile/pick?code=E05009282&vintage=2015").status_code == 400
    assert client.get("/profile/pick?code=E05009282&vintage=%C2%B2%E2%81%B0%C2%B9%E2%81%B9").status_code == 400  # ²⁰¹⁹
    for path, level, need in [("/profile/E05000719?vintage=2019", "Ward (2011 boundaries) E05000719",
                               "IoD 2019 on LSOA 2011"),
                              ("/profile/E05009282?vintage=2019", "Ward (2011 boundaries) E05009282",
                               "IoD 2019 on LSOA 2011"),
                              ("/profile/E05009282", "Ward (2024) E05009282", "IoD 2025 on LSOA 2021")]:
        page = client.get(path).get_data(as_text=True)
        facts = re.search(r'<dl class="profile-facts">(.*?)</dl>', page, flags=re.S).group(1)
        assert f'<span class="profile-level">{level}</span>' in page and f"<dd>{need}" in facts, path
        # back to the list of areas of the same geography
        index = "/profile?vintage=2019" if "vintage=2019" in path else "/profile"
        assert f'<p class="breadcrumb no-print"><a href="{index}">Area profiles</a>' in page, path


def _row(html: str, label: str) -> str:
    """The text of the table row whose header is ``label``."""
    match = re.search(r"<tr>\s*<th scope=\"row\">" + re.escape(label) + r"</th>(.*?)</tr>", html, flags=re.S)
    assert match, label
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", match.group(1))).strip()


def test_a_named_lsoas_profile_shows_its_imd_2025_rank_as_published_and_2019_on_request(client, data_dir):
    # Shropshire 015D, the most deprived LSOA in Shropshire in IoD 2025 (unchanged since 2011).
    code = "E01028957"
    f1 = pd.read_excel(data_dir / IOD2025 / "File_1_IoD2025_Index_of_Multiple_Deprivation.xlsx",
                       sheet_name="IMD25", dtype=str).set_index("LSOA code (2021)")
    rank_2025 = int(f1.loc[code, FILE1_RANK])
    assert rank_2025 == 1897 and f1.loc[code, "LSOA name (2021)"] == "Shropshire 015D"
    html = client.get(f"/profile/{code}").get_data(as_text=True)
    name = re.search(r"<h1>(.*?) <span", html).group(1).replace("&amp;", "&")
    assert name.endswith(" (Shropshire 015D)") and len(name) > len(" (Shropshire 015D)")
    assert "LSOA 2021 E01028957" in html and "IoD 2025 on LSOA 2021" in html and "Census 2021" in html
    assert _row(html, "Index of Multiple Deprivation 2025 (rank)").startswith(f"2025, LSOA 2021 {rank_2025:,} ")
    assert "Income deprivation affecting children (IDACI) 2025 (rank)" in html
    assert "Index of Multiple Deprivation (rank)" not in html  # no IoD 2019 figure beside them
    # Need over time: its own 2019 and 2025 ranks.
    iod2019 = _iod_shropshire(data_dir)
    rank_2019 = int(iod2019.loc[code, "imd_rank"])
    assert "Need over time: IMD rank 2019 to 2025" in html
    assert _row(html, name.replace("&", "&amp;")) == (
        f"{rank_2019:,} {rank_2025:,} {rank_2019 - rank_2025:+,} unchanged")
    assert f'href="/profile/{code}?vintage=2019"' in html

    earlier = client.get(f"/profile/{code}?vintage=2019").get_data(as_text=True)
    assert "IoD 2019 on LSOA 2011" in earlier and "(an earlier vintage)" in earlier and "mid-2015" in earlier
    assert "LSOA 2011 E01028957" in earlier  # a code of both vintages: the LSOA of the one asked for
    assert _row(earlier, "Index of Multiple Deprivation (rank)").startswith(f"2019, LSOA 2011 {rank_2019:,} ")
    assert "2025 (rank)" not in earlier
    assert f'href="/profile/{code}"' in earlier


def test_an_lsoa_split_or_merged_since_2011_is_profiled_on_the_other_vintages_lsoas(db_session):
    # The ONS lookup: E01028885 (2011) was split into E01035057 and E01035058; E01028991 and
    # E01033529 (2011) were merged into E01035071.
    split = profile_queries.build_profile(db_session, profile_queries.describe_area(db_session, "E01028885"))
    assert split["area"]["level"] == "lsoa" and split["vintage"] == VINTAGES[2025]
    assert {lsoa["code"] for lsoa in split["lsoas"] if lsoa["share"] > 0.9} == {"E01035057", "E01035058"}
    assert split["need_change"]["count"] >= 2
    assert {r["how"] for r in split["need_change"]["rows"] if r["code"] in ("E01035057", "E01035058")} == {"split"}
    merged = profile_queries.build_profile(db_session, profile_queries.describe_area(db_session, "E01035071"),
                                           VINTAGES[2019])
    assert merged["area"]["level"] == "lsoa21" and merged["vintage"] == VINTAGES[2019]
    assert {lsoa["code"] for lsoa in merged["lsoas"] if lsoa["share"] > 0.9} == {"E01028991", "E01033529"}
    assert all(r["geography"] == "LSOA 2011" for r in merged["indicators"])


def test_a_local_authority_profile_counts_its_own_lsoas_whole(db_session, data_dir, assets):
    profile = profile_queries.build_profile(db_session, profile_queries.describe_area(db_session, SHROPSHIRE))
    census = pd.read_csv(data_dir / "population" / "census2021_ts021_lsoa21.csv", dtype={"lsoa21_code": str})
    shropshire = set(lsoa21_shapes(data_dir))
    population = census.loc[census["lsoa21_code"].isin(shropshire), "total_residents"].sum()
    assert len(profile["lsoas"]) == len(shropshire) == 198 and profile["population"] == pytest.approx(population)
    # Against itself, every indicator is "about the same".
    assert {r["direction"] for r in profile["indicators"]} == {"about the same"}
    assert all(r["value"] == pytest.approx(r["la_value"]) for r in profile["indicators"])


def test_a_profile_with_nothing_published_says_so(client, db_session):
    html = client.get("/profile/E01028902").get_data(as_text=True)
    assert "No published places inside the area or within reach of it." in html
    assert "No place has been published inside" in html


def test_chart_docstring_examples():
    result = doctest.testmod(assetmap.charts)
    assert result.attempted >= 2 and result.failed == 0

