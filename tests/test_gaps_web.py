"""The gap map page, its exports, the vector tiles, the JSON API and the CLI, on real Shropshire
libraries, pharmacies and GP practices."""
from __future__ import annotations

import csv
import io
import json
import re
import struct
from html import unescape as html_unescape

import pandas as pd
import pytest
from sqlalchemy import text

from assetmap.db import gap_refresh, gap_results, gap_runs
from tests.factories import make_asset
from tests.gaps_fixtures import OLDHAM, SHROPSHIRE

QUERY = f"lad={SHROPSHIRE}&category=library&indicator=imd_rank&group=all&radius_m=3000&decay=gaussian"


# --- a minimal Mapbox vector tile reader (protobuf wire format) -----------------------------------
def _varint(buf, i):
    shift = result = 0
    while True:
        b = buf[i]
        i += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, i
        shift += 7


def _fields(buf):
    i = 0
    while i < len(buf):
        key, i = _varint(buf, i)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, i = _varint(buf, i)
        elif wire == 1:
            value, i = buf[i:i + 8], i + 8
        elif wire == 2:
            length, i = _varint(buf, i)
            value, i = buf[i:i + length], i + length
        elif wire == 5:
            value, i = buf[i:i + 4], i + 4
        else:
            raise ValueError(f"wire type {wire}")
        yield number, wire, value


def _packed(buf):
    out, i = [], 0
    while i < len(buf):
        v, i = _varint(buf, i)
        out.append(v)
    return out


def _value(buf):
    for number, _, v in _fields(buf):
        if number == 1:
            return v.decode()
        if number == 2:
            return struct.unpack("<f", v)[0]
        if number == 3:
            return struct.unpack("<d", v)[0]
        if number in (4, 5):
            return v
        if number == 6:
            return (v >> 1) ^ -(v & 1)
        if number == 7:
            return bool(v)
    return None


def decode_mvt(data: bytes) -> dict[str, list[dict]]:
    """{layer name: [feature properties, with the feature id as ``_id``]} of a vector tile."""
    layers = {}
    for number, _, layer in _fields(data):
        if number != 3:
            continue
        name, keys, values, features = None, [], [], []
        for n, _, v in _fields(layer):
            if n == 1:
                name = v.decode()
            elif n == 2:
                features.append(v)
            elif n == 3:
                keys.append(v.decode())
            elif n == 4:
                values.append(_value(v))
        props = []
        for feature in features:
            parts = {n: v for n, _, v in _fields(feature)}
            tags = _packed(parts.get(2, b""))
            props.append({"_id": parts.get(1), **{keys[tags[k]]: values[tags[k + 1]] for k in range(0, len(tags), 2)}})
        layers[name] = props
    return layers


def tile_url(html: str) -> str:
    """The map's tile URL: LSOA tiles, or the ward or MSOA tiles of the level the table shows."""
    found = re.search(r"'(/tiles/(?:lsoa|gaps/\w+)/\{z\}/\{x\}/\{y\}\.pbf\?[^']+)'", html)
    return found.group(1).replace("&amp;", "&")


# --- the page --------------------------------------------------------------------------------------
def test_gap_page_defaults_to_shropshire_with_table_map_and_legend(gclient):
    response = gclient.get("/plan")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Need and provision:" in html and "in Shropshire" in html
    # the ranked table: 20 rows with name, code, need, provision, gap and population
    table = html.split('class="gap-table"')[1].split("</table>")[0]
    assert table.count("<tr>") == 21
    assert re.search(r"E010\d{5}", table) and "Shropshire " in table
    # the map: four layers from vector tiles, a legend control, and the assets on top
    for layer in ("Gap (need minus provision)", "Need and provision together", "Need", "Provision"):
        assert f'"{layer}"' in html
    assert html.count("L.vectorGrid.protobuf(") == 4
    assert "gap-bivariate-grid" in html and 'id="gap-no-data"' in html
    assert "L.circleMarker" in html
    # page weight: the polygons are not in the page
    assert len(response.data) < 500_000
    # every script and stylesheet is the app's own
    assert re.findall(r'<(?:script|link)[^>]+(?:src|href)="(https?://[^"]+)"', html) == []
    for path in set(re.findall(r'(?:src|href)="(/static/vendor/[^"]+)"', html)):
        r = gclient.get(path)
        assert r.status_code == 200, path
        r.close()


def test_tiles_carry_the_runs_scores(gclient, gdb):
    html = gclient.get(f"/plan?{QUERY}&level=lsoa").get_data(as_text=True)
    url = tile_url(html)
    run_id = int(re.search(r"run=(\d+)", url).group(1))
    rows = {r["code"]: r for r in gap_results.run_scores(gdb, run_id)}
    # Shropshire at zoom 10 and zoom 7
    detailed = gclient.get(url.replace("{z}/{x}/{y}", "10/504/334"))
    assert detailed.status_code == 200 and detailed.mimetype == "application/vnd.mapbox-vector-tile"
    assert "max-age=86400" in detailed.headers["Cache-Control"]
    features = decode_mvt(detailed.data)["lsoa"]
    assert len(features) > 10
    for f in features:
        r = rows[f["code"]]
        assert f["name"] == r["name"] and f["pop"] == round(r["population"])
        assert f["np"] == pytest.approx(r["need_pct"], abs=0.051)
        assert f["pp"] == pytest.approx(r["provision_pct"], abs=0.051)
        assert f["gap"] == pytest.approx(r["gap"], abs=0.051) and f["cls"] == r["bivariate_class"]
        assert f["prov"] == pytest.approx(r["provision"] * 1000, rel=1e-3, abs=1e-12)
    # the four zoom-8 tiles over Shropshire hold all of it, and only it, with whole percentiles
    overview = [f for x in (125, 126) for y in (83, 84)
                for f in decode_mvt(gclient.get(url.replace("{z}/{x}/{y}", f"8/{x}/{y}")).data)["lsoa"]]
    assert {f["code"] for f in overview} == set(rows)
    assert set(overview[0]) - {"none"} == {"_id", "code", "np", "pp", "gap", "cls"}
    assert all(f["np"] == int(f["np"]) and abs(f["np"] - rows[f["code"]]["need_pct"]) <= 0.5 for f in overview)
    # below zoom 8 features carry the area id, not the code
    ids = dict(gdb.execute(text("SELECT id, code FROM area WHERE lad_code = :lad AND level = 'lsoa'"),
                           {"lad": SHROPSHIRE}).all())
    low = [f for x in (62, 63) for y in (41, 42)
           for f in decode_mvt(gclient.get(url.replace("{z}/{x}/{y}", f"7/{x}/{y}")).data)["lsoa"]]
    assert {ids[f["_id"]] for f in low} == set(rows) and "code" not in low[0]
    # a stale version is not cached; a tile with nothing in it is empty
    stale = gclient.get(re.sub(r"v=\d+", "v=1", url).replace("{z}/{x}/{y}", "10/504/334"))
    assert stale.headers["Cache-Control"] == "no-cache"
    assert gclient.get(url.replace("{z}/{x}/{y}", "10/0/0")).data == b""


def test_tile_bad_requests(gclient):
    assert gclient.get("/tiles/lsoa/3/1/1.pbf").status_code == 400
    assert gclient.get("/tiles/lsoa/3/1/1.pbf?run=999999").status_code == 404
    html = gclient.get(f"/plan?{QUERY}").get_data(as_text=True)
    assert gclient.get(tile_url(html).replace("{z}/{x}/{y}", "3/9/1")).status_code == 400


def test_no_data_areas_are_marked_not_zero(gclient, gdb):
    gdb.execute(text(
        """
        DELETE FROM indicator_value v USING area a, indicator i
        WHERE v.area_id = a.id AND v.indicator_id = i.id AND i.key = 'health_rank'
          AND a.code IN ('E01028950', 'E01028951')
        """
    ))
    query = f"lad={SHROPSHIRE}&category=pharmacy&indicator=health_rank&level=lsoa"
    html = gclient.get(f"/plan?{query}").get_data(as_text=True)
    assert "2 areas have no value for health deprivation and disability (rank)" in html
    url = tile_url(html)
    features = {f["code"]: f for x in (125, 126) for y in (83, 84) for f in decode_mvt(
        gclient.get(url.replace("{z}/{x}/{y}", f"8/{x}/{y}")).data)["lsoa"]}
    assert "np" not in features["E01028950"] and "gap" not in features["E01028950"]
    assert features["E01028950"]["cls"] == "no-data"
    assert "p.np == null ? HATCH" in html  # drawn hatched, not with the lowest colour


def test_empty_category_says_so(gclient):
    response = gclient.get(f"/plan?lad={SHROPSHIRE}&category=youth")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "No published youth club or children" in html and "Provision is zero everywhere" in html
    rows = gclient.get(f"/api/v1/gaps?lad={SHROPSHIRE}&category=youth").get_json()["rows"]
    assert {r["provision"] for r in rows} == {0.0}


def test_names_are_inert_on_the_map(gclient, gdb):
    evil = "<script>alert(1)</script> `${alert(2)}` \\u"
    make_asset(gdb, evil, category="library")
    html = gclient.get(f"/plan?{QUERY}").get_data(as_text=True)
    assert "<script>alert(1)" not in html and "${alert(2)}" not in html
    rows = [row for block in re.findall(r"var data = (\[.*?\]);\n", html) for row in json.loads(block)]
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &#96;&#36;{alert(2)}&#96; &#92;u" in [r[2] for r in rows]
    # tile properties become tooltip text through textContent, never innerHTML
    script = "".join(re.findall(r"<script[^>]*>(.*?)</script>", html, flags=re.S))
    assert "textContent" in script and "innerHTML" not in script


def test_recompute_shows_on_the_page_at_once(gclient, gdb):
    first = gclient.get(f"/plan?{QUERY}").get_data(as_text=True)
    library = make_asset(gdb, "New library at Oswestry", category="library")
    gap_refresh.recompute_for_asset_change(gdb, library.id)
    second = gclient.get(f"/plan?{QUERY}").get_data(as_text=True)
    assert "New library at Oswestry" in second
    assert re.search(r"run=(\d+)", tile_url(first)).group(1) == re.search(r"run=(\d+)", tile_url(second)).group(1)
    assert tile_url(first) != tile_url(second)  # a new version: browsers fetch fresh tiles


# --- exports ---------------------------------------------------------------------------------------
def test_csv_export_is_a_plain_table_described_by_its_meta_json(gclient, gdb):
    response = gclient.get(f"/plan/gaps.csv?{QUERY}")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "gaps-E06000051-library-imd_rank-all-3000m-gaussian.csv" in response.headers["Content-Disposition"]
    body = response.get_data(as_text=True).lstrip("\ufeff")
    assert body.startswith("rank,code,name,")  # the header is the first row: no metadata lines
    frame = pd.read_csv(io.BytesIO(response.get_data()))
    assert list(frame.columns[:3]) == ["rank", "code", "name"] and len(frame) == 193
    link = response.headers["Link"]
    meta_url = re.match(r'<([^>]+)>; rel="describedby"; type="application/json"', link).group(1)
    assert meta_url.startswith("http://localhost/plan/gaps.meta.json?")
    meta = gclient.get(meta_url).get_json()
    assert meta["parameters"]["lad"] == "E06000051" and meta["parameters"]["radius_m"] == 3000.0
    assert meta["parameters"]["decay"] == "gaussian" and meta["parameters"]["indicator"] == "imd_rank"
    assert any(a.startswith("Contains National Statistics data") for a in meta["attribution"])
    assert meta["licence"].startswith("Open Government Licence") and meta["columns"][0] == "rank"
    assert meta["data"].startswith("http://localhost/plan/gaps.csv?")
    rows = list(csv.DictReader(io.StringIO(body)))
    assert len(rows) == 193
    gaps_ = [float(r["gap"]) for r in rows]
    assert gaps_ == sorted(gaps_, reverse=True) and [r["rank"] for r in rows[:3]] == ["1", "2", "3"]
    run = gap_runs.ensure_run(
        gdb, gap_runs.params_of(gap_runs.current_runs(gdb, lads=[SHROPSHIRE], categories=["library"])[0]))
    stored = {r["code"]: r for r in gap_results.run_scores(gdb, run["id"])}
    for r in rows:
        s = stored[r["code"]]
        assert float(r["provision"]) == pytest.approx(s["provision"], rel=1e-9)
        assert float(r["provision_per_1000"]) == pytest.approx(s["provision"] * 1000, rel=1e-9)
        assert r["bivariate_class"] == s["bivariate_class"] and float(r["need"]) == s["need"]


def test_geojson_export_is_the_layer_with_parameters(gclient):
    response = gclient.get(f"/plan/gaps.geojson?{QUERY}")
    assert response.status_code == 200 and response.mimetype == "application/geo+json"
    body = json.loads(response.data)
    assert body["type"] == "FeatureCollection" and len(body["features"]) == 193
    assert body["parameters"]["lad"] == SHROPSHIRE and body["parameters"]["category_label"] == "Library"
    assert body["parameters"]["indicator_direction"].startswith("lower is more need")
    assert any("Crown copyright" in a for a in body["attribution"]) and body["licence"]
    f = body["features"][0]
    assert f["geometry"]["type"] == "MultiPolygon"
    assert {"code", "name", "population", "need", "need_pct", "provision", "provision_pct", "nearest_m", "gap",
            "bivariate_class"} <= set(f["properties"])


# --- the JSON API ----------------------------------------------------------------------------------
def test_api_gaps_one_row_per_lsoa(gclient):
    response = gclient.get(f"/api/v1/gaps?{QUERY.replace('gaussian', 'none')}")
    assert response.status_code == 200
    body = response.get_json()
    assert len(body["rows"]) == 193
    assert [r["code"] for r in body["rows"]] == sorted(r["code"] for r in body["rows"])
    assert set(body["rows"][0]) >= {"code", "name", "population", "need", "provision", "gap", "class"}
    assert body["meta"]["parameters"]["decay"] == "none" and body["meta"]["licence"]
    assert body["meta"]["attribution"] and "provision" in body["meta"]["fields"]
    assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_api_indicators_list_keys_labels_and_direction(gclient):
    body = gclient.get("/api/v1/indicators").get_json()
    by_key = {i["key"]: i for i in body["indicators"]}
    assert {"imd_rank", "imd_decile", "income_rank", "health_decile", "living_environment_rank",
            "population", "share_0_15", "share_60_plus"} <= set(by_key)
    assert by_key["imd_rank"]["direction"] == "lower is more need"
    assert by_key["share_60_plus"]["higher_is_more_need"] is True
    assert body["meta"]["licence"]


@pytest.mark.parametrize("query, parameter, allowed", [
    ("lad=E09999999", "lad", [SHROPSHIRE, OLDHAM, "all"]),
    ("category=spaceport", "category", ["library", "pharmacy", "gp-practice"]),
    ("indicator=happiness", "indicator", ["imd_rank", "share_60_plus"]),
    ("group=teens", "group", ["all", "0-15", "16-59", "60+"]),
    ("decay=exponential", "decay", ["gaussian", "none"]),
])
def test_unknown_values_are_400_listing_the_allowed_ones(gclient, query, parameter, allowed):
    base = "" if parameter == "category" else "category=library&"
    for path in ("/api/v1/gaps", "/plan", "/plan/gaps.csv", "/plan/gaps.geojson"):
        response = gclient.get(f"{path}?{base}{query}")
        assert response.status_code == 400, path
        text_ = response.get_data(as_text=True)
        for value in allowed:
            assert value in text_, (path, value)
    error = gclient.get(f"/api/v1/gaps?{base}{query}").get_json()["error"]
    assert error["parameter"] == parameter and set(allowed) <= set(error["allowed"])


@pytest.mark.parametrize("radius", ["abc", "-5", "0", "1e9", "nan", "inf"])
def test_bad_radius_is_400(gclient, radius):
    response = gclient.get(f"/api/v1/gaps?category=library&radius_m={radius}")
    assert response.status_code == 400
    assert "radius_m must be a number of metres from 100 to 50,000" in response.get_json()["error"]["message"]


def test_bad_layer_is_400(gclient):
    response = gclient.get("/plan?layer=satellite")
    assert response.status_code == 400 and "bivariate" in response.get_data(as_text=True)


# --- the CLI ---------------------------------------------------------------------------------------
def test_compute_gaps_command_recomputes_with_a_progress_report(gaps_db_url, monkeypatch):
    from click.testing import CliRunner

    from assetmap.cli import main

    monkeypatch.setenv("DATABASE_URL", gaps_db_url)
    result = CliRunner().invoke(main, ["compute", "gaps", "--lad", SHROPSHIRE, "--category", "gp-practice"])
    assert result.exit_code == 0, result.output
    assert "gap runs computed" in result.output
    assert f"{SHROPSHIRE} gp-practice r=3000 gaussian: 198 areas" in result.output  # IoD 2025: LSOA 2021
    bad = CliRunner().invoke(main, ["compute", "gaps", "--category", "spaceport"])
    assert bad.exit_code != 0 and "unknown category 'spaceport'" in bad.output


# --- planners: drill-down, the level drawn, the type list, honest ranks on the page -------------
def test_the_map_draws_the_level_the_table_shows(gclient, gdb):
    for level, layer in (("ward", "ward"), ("msoa", "msoa")):
        html = gclient.get(f"/plan?{QUERY}&level={level}").get_data(as_text=True)
        url = tile_url(html)
        assert f"/tiles/gaps/{level}/" in url and f'"{layer}": ' in html
        run_id = int(re.search(r"run=(\d+)", url).group(1))
        want = {r["code"]: r for r in gap_results.aggregate_run(gdb, gap_runs.get_run(gdb, run_id), level)["rows"]}
        features = [f for x in (125, 126) for y in (83, 84)
                    for f in decode_mvt(gclient.get(url.replace("{z}/{x}/{y}", f"8/{x}/{y}")).data).get(layer, [])]
        assert {f["code"] for f in features} == set(want)
        for f in features:
            r = want[f["code"]]
            assert f["cls"] == r["bivariate_class"] and f["np"] == pytest.approx(r["need_pct"], abs=0.5)
    assert gclient.get("/tiles/gaps/lad/8/125/83.pbf?run=1").status_code == 400


@pytest.mark.parametrize("indicator, args, need, geography", [
    ("imd_rank", "?vintage=2019", "IoD 2019 on LSOA 2011", "2011"),
    ("imd_rank_2025", "", "IoD 2025 on LSOA 2021", "2021"),
])
def test_every_area_in_the_tables_links_to_its_profile_on_the_runs_vintage(gclient, gdb, indicator, args, need,
                                                                            geography):
    """A run on IoD 2019 (LSOA 2011) links each area, in both tables and on the map, to its profile
    on IoD 2019; a run on IoD 2025, the profiles' default, links without a vintage. The profile
    linked is of that vintage, and describes the area of its geography where a code is of both."""
    html = gclient.get(f"/plan?{QUERY.replace('imd_rank', indicator)}&level=msoa").get_data(as_text=True)
    top = html.split('class="gap-table"')[1].split("</table>")[0]
    lsoas = re.findall(rf'<th scope="row"><a href="/profile/(E010\d{{5}}){re.escape(args)}">', top)
    assert len(lsoas) == 20
    by_area = html.split('class="gap-area-table"')[1].split("</table>")[0]
    msoas = re.findall(rf'<th scope="row"><a href="/profile/(E02\d{{6}}){re.escape(args)}">', by_area)
    assert len(msoas) == 39  # Shropshire's MSOAs, 2011 and 2021 alike
    assert f'"profile_url": "/profile/__code__{args}"' in html  # the map offers the same link on a click
    every_link = re.findall(r'href="/profile/E0\d{7}([^"]*)"', html)
    assert len(every_link) == 59 and set(every_link) == {args}

    # Codes of both vintages (unchanged since 2011): the profile is of the run's geography.
    both = set(gdb.execute(text(
        "SELECT code FROM area WHERE level IN ('msoa', 'msoa21', 'lsoa', 'lsoa21') GROUP BY code HAVING count(*) = 2"
    )).scalars())
    for code, level in ((next(c for c in msoas if c in both), "MSOA"), (next(c for c in lsoas if c in both), "LSOA")):
        page = gclient.get(f"/profile/{code}{args}")
        assert page.status_code == 200
        profile = page.get_data(as_text=True)
        facts = re.search(r'<dl class="profile-facts">(.*?)</dl>', profile, flags=re.S).group(1)
        assert f"<dd>{need}" in facts
        assert f'<span class="profile-level">{level} {geography} {code}</span>' in profile
        assert f'<th scope="col">LSOA {geography}</th>' in profile  # the small areas counted


def test_the_type_list_counts_the_chosen_area_and_carries_default_radii(gclient, gdb):
    html = gclient.get(f"/plan?{QUERY}").get_data(as_text=True)
    option = re.search(r'<option value="library" data-radius="3000" data-rural="(\d+)" selected>Library \(([\d,]+)\)',
                       html)
    assert option and option.group(1) == "8000"
    in_shropshire = int(option.group(2).replace(",", ""))
    england = gdb.execute(text(
        """
        SELECT count(*) FROM asset a JOIN asset_term at ON at.asset_id = a.id
        JOIN taxonomy_term t ON t.id = at.term_id AND t.slug = 'library'
        WHERE a.status = 'published' AND a.location IS NOT NULL
        """
    )).scalar_one()
    assert 0 < in_shropshire < england
    assert 'src="/static/js/gaps.js"' in html
    assert 'name="rural_radius_m"' in html and 'value="8000"' in html
    script = gclient.get("/static/js/gaps.js")
    assert script.status_code == 200 and b"gap-category" in script.data
    script.close()


def test_rural_radius_is_a_parameter_stored_with_the_run(gclient, gdb):
    body = gclient.get(f"/api/v1/gaps?{QUERY}&rural_radius_m=9000").get_json()
    assert body["meta"]["parameters"]["rural_radius_m"] == 9000.0
    same = gclient.get(f"/api/v1/gaps?{QUERY}&rural_radius_m=3000").get_json()
    assert "rural_radius_m" not in same["meta"]["parameters"]  # one radius for all: the plain run
    bad = gclient.get(f"/api/v1/gaps?{QUERY}&rural_radius_m=99")
    assert bad.status_code == 400 and "rural_radius_m" in bad.get_json()["error"]["message"]


def test_sparse_category_is_told_above_the_map_with_a_larger_radius(gclient, gdb):
    html = gclient.get(f"/plan?lad={SHROPSHIRE}&category=pharmacy&radius_m=300").get_data(as_text=True)
    summary = re.search(r"<strong>([\d,]+) of ([\d,]+) areas have no pharmacy within 300 m.</strong>", html)
    assert summary and int(summary.group(1)) * 2 > int(summary.group(2))
    assert html.index("gap-sparse") < html.index('class="map-pane"')
    assert "radius_m=600" in html.split("gap-sparse")[1].split("</p>")[0]
    assert f"<dt>No provision within reach</dt><dd>{summary.group(1)} areas" in html
    api = gclient.get(f"/api/v1/gaps?lad={SHROPSHIRE}&category=pharmacy&radius_m=300").get_json()["rows"]
    none = [r for r in api if r["provision"] == 0]
    assert {r["class"] for r in none if r["need_pct"] is not None} == {"no-provision"}
    assert {r["provision_pct"] for r in none} == {0.0}


# --- 2021 geography end to end: IoD 2025 on LSOA 2021, 2024 wards, 2021 MSOAs; IoD 2019 on 2011 --------
CURRENT = f"lad={SHROPSHIRE}&category=library&radius_m=3000&decay=gaussian"  # the default indicator: IMD 2025


def _codes_names(session, level, lad):
    return dict(session.execute(text("SELECT code, name FROM area WHERE level = :level AND lad_code = :lad"),
                                {"level": level, "lad": lad}).all())


def _table_rows(html, args=""):
    """(code, name) of each row of the table by area, whose profile link adds ``args`` to its address."""
    by_area = html.split('class="gap-area-table"')[1].split("</table>")[0]
    link = rf'<th scope="row"><a href="/profile/(E0\d{{7}}){re.escape(args)}">'
    return re.findall(link + r'<span class="area-name">([^<]+)</span>', by_area)


def _tile_features(gclient, html, layer, tiles=((125, 83), (125, 84), (126, 83), (126, 84))):
    url = tile_url(html)
    return [f for x, y in tiles for f in decode_mvt(gclient.get(url.replace("{z}/{x}/{y}", f"8/{x}/{y}")).data)
            .get(layer, [])]


def test_iod_2025_ward_msoa_and_lsoa_views_are_on_2021_geography_with_names(gclient, gdb):
    wards24 = _codes_names(gdb, "ward24", SHROPSHIRE)
    html = gclient.get(f"/plan?{CURRENT}").get_data(as_text=True)  # the default: IMD 2025, by ward
    assert 'value="imd_rank_2025" selected' in html
    assert "By ward (2024)" in html and "<dt>Areas (LSOA 2021)</dt><dd>198</dd>" in html
    assert "/tiles/gaps/ward24/" in tile_url(html) and '"ward24": ' in html
    rows = _table_rows(html)
    assert {code for code, _ in rows} == set(wards24)  # every 2024 ward of Shropshire, by its name
    assert all(html_unescape(name) == wards24[code] for code, name in rows)
    features = _tile_features(gclient, html, "ward24")
    assert {f["code"] for f in features} == set(wards24) and all(f["name"] == wards24[f["code"]] for f in features)

    msoas21 = _codes_names(gdb, "msoa21", SHROPSHIRE)
    html = gclient.get(f"/plan?{CURRENT}&level=msoa").get_data(as_text=True)
    assert "By MSOA 2021" in html and "/tiles/gaps/msoa21/" in tile_url(html)
    rows = dict(_table_rows(html))
    assert set(rows) == set(msoas21) and rows["E02006024"] == "Oswestry East"
    assert {f["name"] for f in _tile_features(gclient, html, "msoa21")} == set(msoas21.values())

    lsoas21 = _codes_names(gdb, "lsoa21", SHROPSHIRE)
    html = gclient.get(f"/plan?{CURRENT}&level=lsoa").get_data(as_text=True)
    assert "By LSOA 2021 (every area)" in html and "/tiles/lsoa/" in tile_url(html) and '"lsoa21": ' in html
    rows = dict(_table_rows(html))
    assert set(rows) == set(lsoas21) and "E01035057" in rows  # a 2021 LSOA split from a 2011 one
    assert html_unescape(rows["E01035057"]) == "Hinstock & Hodnet (Shropshire 009E)"
    features = _tile_features(gclient, html, "lsoa21")
    assert {f["code"] for f in features} == set(lsoas21)


def test_oldham_2024_wards_for_iod_2025_and_2011_wards_for_iod_2019(gclient, gdb):
    """Oldham's wards were redrawn in 2023: the two vintages share no ward code."""
    wards24, wards11 = _codes_names(gdb, "ward24", OLDHAM), _codes_names(gdb, "ward", OLDHAM)
    assert not set(wards24) & set(wards11)
    current = gclient.get(f"/plan?lad={OLDHAM}&category=library&level=ward").get_data(as_text=True)
    assert {code for code, _ in _table_rows(current)} == set(wards24)
    assert "(142 LSOAs," in current  # Oldham's 2021 LSOAs
    earlier = gclient.get(f"/plan?lad={OLDHAM}&category=library&indicator=imd_rank&level=ward").get_data(as_text=True)
    assert {code for code, _ in _table_rows(earlier, "?vintage=2019")} == set(wards11)
    assert "By ward (2011 boundaries)" in earlier and "(141 LSOAs," in earlier
    assert "/tiles/gaps/ward/" in tile_url(earlier) and '"ward": ' in earlier
    assert {f["code"] for f in _tile_features(gclient, earlier, "ward", [(126, 82), (126, 83)])} == set(wards11)


def test_api_and_exports_name_the_geography(gclient, gdb):
    body = gclient.get(f"/api/v1/gaps?lad={OLDHAM}&category=library").get_json()
    assert body["meta"]["parameters"]["level"] == "lsoa21" and body["meta"]["parameters"]["geography"] == "LSOA 2021"
    assert body["meta"]["fields"]["code"] == "LSOA 2021 code" and "Census 2021" in body["meta"]["fields"]["population"]
    names = {r["code"]: r["name"] for r in body["rows"]}
    assert len(names) == 142 and names["E01034232"] == "Werneth (Oldham 036A)"
    wards = gclient.get(f"/api/v1/gaps?lad={OLDHAM}&category=library&level=ward").get_json()
    assert wards["meta"]["parameters"]["level"] == "ward24"
    assert {r["code"]: r["name"] for r in wards["rows"]} == _codes_names(gdb, "ward24", OLDHAM)
    assert sum(r["areas"] for r in wards["rows"]) + wards["meta"]["lsoas_in_no_area"] == 142
    named = gclient.get(f"/api/v1/gaps?lad={OLDHAM}&category=library&level=ward24").get_json()
    assert named["rows"] == wards["rows"]
    earlier = gclient.get(f"/api/v1/gaps?lad={OLDHAM}&category=library&indicator=imd_rank&level=msoa").get_json()
    assert earlier["meta"]["parameters"]["level"] == "msoa"
    assert {r["code"] for r in earlier["rows"]} == set(_codes_names(gdb, "msoa", OLDHAM))
    old = gclient.get(f"/api/v1/gaps?lad={OLDHAM}&category=library&indicator=imd_rank")
    assert old.get_json()["meta"]["fields"]["code"] == "LSOA 2011 code" and len(old.get_json()["rows"]) == 141
    mixed = gclient.get(f"/api/v1/gaps?lad={OLDHAM}&category=library&indicator=imd_rank&level=ward24")
    assert mixed.status_code == 400
    assert set(mixed.get_json()["error"]["allowed"]) == {"lsoa", "ward", "msoa"}
    # the exports: every 2021 LSOA, and the meta says which geography
    frame = pd.read_csv(io.BytesIO(gclient.get(f"/plan/gaps.csv?{CURRENT}").get_data()))
    assert len(frame) == 198 and "E01035057" in set(frame["code"])
    meta = gclient.get(f"/plan/gaps.meta.json?{CURRENT}").get_json()
    assert meta["parameters"]["level"] == "lsoa21" and meta["parameters"]["geography"] == "LSOA 2021"
    geojson = json.loads(gclient.get(f"/plan/gaps.geojson?{CURRENT}").data)
    assert len(geojson["features"]) == 198 and geojson["parameters"]["indicator"] == "imd_rank_2025"
    assert {f["id"] for f in geojson["features"]} == set(_codes_names(gdb, "lsoa21", SHROPSHIRE))


def test_a_level_with_no_boundaries_loaded_is_400_naming_what_is(gclient, gdb):
    gdb.execute(text("UPDATE area SET geom = NULL WHERE level = 'ward24'"))
    for path in ("/api/v1/gaps", "/plan"):
        response = gclient.get(f"{path}?{CURRENT}&level=ward")
        assert response.status_code == 400, path
        message = response.get_data(as_text=True)
        assert "no ward (2024) boundaries are loaded (loaded: " in message and "LSOA 2021" in message, path
    # the page's own default level is not asked for by name: the page says what is missing
    html = gclient.get(f"/plan?{CURRENT}").get_data(as_text=True)
    assert "No ward (2024) boundaries are loaded for Shropshire." in html
    # the indicator's geography itself
    gdb.execute(text("UPDATE area SET geom = NULL WHERE level = 'lsoa21'"))
    response = gclient.get(f"/api/v1/gaps?{CURRENT}")
    assert response.status_code == 400
    message = response.get_json()["error"]["message"]
    assert message.startswith("no LSOA 2021 boundaries are loaded (loaded: ") and "LSOA 2011" in message
    assert gclient.get(f"/plan?{CURRENT}&indicator=imd_rank").status_code == 200  # the 2019 view still works


def test_the_table_by_area_stops_at_its_cap_and_points_to_the_csv(gclient, monkeypatch):
    from assetmap.web import plan

    monkeypatch.setattr(plan, "AREA_TABLE_MAX", 50)  # an England-wide run's 33,755 LSOAs, in small
    html = gclient.get(f"/plan?{CURRENT}&level=lsoa").get_data(as_text=True)
    assert len(_table_rows(html)) == 50
    assert "The table shows the 50 biggest gaps of 198 areas:" in html and "/plan/gaps.csv?" in html
    rows = gclient.get(f"/api/v1/gaps?{CURRENT}").get_json()["rows"]
    biggest = sorted((r for r in rows if r["gap"] is not None), key=lambda r: (-r["gap"], r["code"]))[:50]
    assert [code for code, _ in _table_rows(html)] == [r["code"] for r in biggest]
    assert len(_table_rows(gclient.get(f"/plan?{CURRENT}&level=ward").get_data(as_text=True))) == 50
