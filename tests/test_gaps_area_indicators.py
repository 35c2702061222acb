"""Need from an uploaded CSV keyed by LSOA, MSOA or ward code, and the gap table aggregated to
wards, MSOAs and the local authority, on real Shropshire boundaries, IoD 2019 and libraries."""
from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import text

from assetmap.db import gap_results, gap_runs
from assetmap.db.engine import dispose_engines, drop_database, get_engine
from assetmap.domain.gap_analysis import GapParams
from assetmap.errors import ImportFileError
from assetmap.importers.indicators import import_area_csv
from tests.contribute_fixtures import csrf_token, make_user, sign_in
from tests.gaps_fixtures import SHROPSHIRE
from tests.live import clone_template

QUERY = f"lad={SHROPSHIRE}&category=library&group=all&radius_m=3000&decay=gaussian"
UNKNOWN_WARD = "E05999999"


def shropshire_wards(session, n: int) -> list[tuple[str, int]]:
    """The first ``n`` Shropshire wards by code: ``(code, area id)``."""
    return [tuple(r) for r in session.execute(text(
        "SELECT code, id FROM area WHERE level = 'ward' AND lad_code = :lad ORDER BY code LIMIT :n"
    ), {"lad": SHROPSHIRE, "n": n}).all()]


def messy_ward_csv(session) -> tuple[bytes, dict[str, float], dict[int, tuple[str, str]]]:
    """Every Shropshire ward with a value, as a spreadsheet might export them: a UTF-8 BOM, a
    quoted thousands separator, an unknown code and a value that is not a number.

    Returns the file, the values expected to be stored by ward code, and the problem rows
    expected ``{line: (reason start, value)}``."""
    wards = shropshire_wards(session, 1000)
    lines = ["Ward code,Ward name,People aged 65+ living alone"]
    expected, problems = {}, {}
    for i, (code, _) in enumerate(wards):
        line = len(lines) + 1
        if i == 3:
            lines.append(f'{code},"Ward, with comma","1,234"')
            expected[code] = 1234.0
        elif i == 5:
            lines.append(f"{code},Somewhere,n/a")
            problems[line] = ("not a number", "n/a")
        else:
            value = 10.0 + 7 * (i % 13) + i / 10
            lines.append(f"{code},Somewhere,{value}")
            expected[code] = value
        if i == 8:
            lines.append(f"{UNKNOWN_WARD},Nowhere,55")
            problems[len(lines)] = ("unknown area code", UNKNOWN_WARD)
    return ("\ufeff" + "\n".join(lines) + "\n").encode("utf-8"), expected, problems


def test_a_messy_ward_csv_is_imported_and_reports_its_bad_rows_by_line(gdb, tmp_path):
    data, expected, problems = messy_ward_csv(gdb)
    path = tmp_path / "lonely.csv"
    path.write_bytes(data)
    report = import_area_csv(gdb, path, "alone_65", "People aged 65+ living alone", True)

    assert report.level == "ward"
    assert report.read == len(expected) + len(problems)
    assert report.inserted == len(expected) and report.updated == report.unchanged == 0
    assert {p.row: (p.value, p.column) for p in report.problems} == {
        line: (value, "People aged 65+ living alone" if reason == "not a number" else "Ward code")
        for line, (reason, value) in problems.items()}
    for p in report.problems:
        assert p.reason.startswith(problems[p.row][0])
    stored = dict(gdb.execute(text(
        """
        SELECT a.code, v.value FROM indicator_value v JOIN indicator i ON i.id = v.indicator_id
        JOIN area a ON a.id = v.area_id WHERE i.key = 'alone_65'
        """
    )).all())
    assert stored == pytest.approx(expected)
    row = gdb.execute(text("SELECT area_level, higher_is_more_need FROM indicator WHERE key = 'alone_65'")).one()
    assert tuple(row) == ("ward", True)

    # the same file again: nothing changes; with one value changed, one update
    assert import_area_csv(gdb, path, "alone_65", "People aged 65+ living alone", True).unchanged == len(expected)
    first = shropshire_wards(gdb, 1)[0][0]
    path.write_bytes(data.replace(f"{first},Somewhere,10.0".encode(), f"{first},Somewhere,99".encode()))
    again = import_area_csv(gdb, path, "alone_65", "People aged 65+ living alone", True)
    assert (again.updated, again.unchanged) == (1, len(expected) - 1)


def test_a_latin1_msoa_file_with_named_columns_and_a_lower_is_more_need_rank(gdb, tmp_path):
    msoas = [r[0] for r in gdb.execute(text(
        "SELECT code FROM area WHERE level = 'msoa' AND lad_code = :lad ORDER BY code LIMIT 5"), {"lad": SHROPSHIRE})]
    body = "Nom,Code MSOA,Rang,Autre\n"
    body += "".join(f"Caf\u00e9 {i},{code},{i + 1},{i * 3}\n" for i, code in enumerate(msoas))
    path = tmp_path / "rangs.csv"
    path.write_bytes(body.encode("latin-1"))
    with pytest.raises(ImportFileError, match="value_column"):
        import_area_csv(gdb, path, "msoa_rank", "Rank by MSOA", False)
    report = import_area_csv(gdb, path, "msoa_rank", "Rank by MSOA", False, value_column="Rang")
    assert (report.level, report.encoding, report.inserted, report.problems) == ("msoa", "Latin-1", 5, [])
    with pytest.raises(ImportFileError, match="Indices of Deprivation"):
        import_area_csv(gdb, path, "imd_rank", "Clash", False, value_column="Rang")
    with pytest.raises(ImportFileError, match="key"):
        import_area_csv(gdb, path, "Bad Key!", "x", False, value_column="Rang")


def test_a_gap_run_reads_a_ward_indicator_at_the_lsoas_inside_each_ward(gdb, tmp_path):
    data, expected, _ = messy_ward_csv(gdb)
    path = tmp_path / "lonely.csv"
    path.write_bytes(data)
    import_area_csv(gdb, path, "alone_65", "People aged 65+ living alone", True)
    params = GapParams(SHROPSHIRE, "library", "alone_65", "all", 3000.0, "gaussian")
    rows = gap_results.run_scores(gdb, gap_runs.ensure_run(gdb, params)["id"])
    assert len(rows) == 193

    # independently: each LSOA's point on surface, tested against the ward polygons in EPSG:27700
    ward_of = dict(gdb.execute(text(
        """
        SELECT DISTINCT ON (l.code) l.code, w.code FROM area l
        JOIN area w ON w.level = 'ward'
            AND ST_Contains(ST_Transform(w.geom, 27700), ST_PointOnSurface(ST_Transform(l.geom, 27700)))
        WHERE l.level = 'lsoa' AND l.lad_code = :lad ORDER BY l.code, w.code
        """
    ), {"lad": SHROPSHIRE}).all())
    assert len(ward_of) == 193
    for r in rows:
        want = expected.get(ward_of[r["code"]])
        assert r["need"] == (pytest.approx(want) if want is not None else None), r["code"]
    with_data = [r for r in rows if r["need"] is not None]
    assert 0 < len(with_data) < 193  # the LSOAs of the ward whose value was "n/a" have no data
    # the LSOAs of the ward with 1,234 share the top need percentile (ties at their lowest)
    top = [r for r in with_data if r["need"] == 1234.0]
    n_top, n = len(top), len(with_data)
    # tied at the top, they all take the lowest rank of the tie: n - n_top + 1
    assert n_top >= 1 and all(r["need_pct"] == pytest.approx(100 * (n - n_top) / (n - 1)) for r in top)
    assert max(r["need_pct"] for r in with_data) == top[0]["need_pct"]
    assert all(r["bivariate_class"] == "no-data" for r in rows if r["need"] is None)


def _independent_membership(session, level: str) -> dict[str, str]:
    return dict(session.execute(text(
        """
        SELECT DISTINCT ON (l.code) l.code, g.code FROM area l
        JOIN area g ON g.level = :level
            AND ST_Contains(ST_Transform(g.geom, 27700), ST_PointOnSurface(ST_Transform(l.geom, 27700)))
        WHERE l.level = 'lsoa' AND l.lad_code = :lad ORDER BY l.code, g.code
        """
    ), {"level": level, "lad": SHROPSHIRE}).all())


def test_msoa_aggregation_equals_a_pandas_population_weighted_mean(gdb):
    params = GapParams(SHROPSHIRE, "library", "imd_rank", "all", 3000.0, "gaussian")
    run = gap_runs.ensure_run(gdb, params)
    lsoas = pd.DataFrame(gap_results.run_scores(gdb, run["id"]))
    lsoas["msoa"] = lsoas["code"].map(_independent_membership(gdb, "msoa"))
    assert lsoas["msoa"].notna().all()

    def weighted(frame, column):
        ok = frame[column].notna() & frame["population"].notna()
        f = frame[ok]
        return float((f[column] * f["population"]).sum() / f["population"].sum())

    want = {}
    for code, group in lsoas.groupby("msoa"):
        want[code] = {c: weighted(group, c) for c in ("need", "need_pct", "provision", "provision_pct")}
        want[code]["population"] = float(group["population"].sum())
        want[code]["areas"] = len(group)

    got = gap_results.aggregate_run(gdb, run, "msoa")
    assert got["unassigned"] == 0
    assert [r["code"] for r in got["rows"]] == sorted(want) and len(want) == 39
    for r in got["rows"]:
        w = want[r["code"]]
        for column in ("need", "need_pct", "provision", "provision_pct", "population"):
            assert r[column] == pytest.approx(w[column], rel=1e-12, abs=1e-15), (r["code"], column)
        assert r["areas"] == w["areas"]
        assert r["gap"] == pytest.approx(w["need_pct"] - w["provision_pct"], rel=1e-12, abs=1e-12)
        n, p = w["need_pct"], w["provision_pct"]

        def tercile(v: float) -> str:
            return "low" if v < 33.33 else ("mid" if v < 66.67 else "high")

        if w["provision"] == 0:  # none of its LSOAs has anything in reach
            assert r["bivariate_class"] == "no-provision"
        else:
            assert r["bivariate_class"] == f"{tercile(n)}-need/{tercile(p)}-provision"
        assert r["name"] and not re.match(r"^Shropshire \d{3}$", r["name"])  # the Commons Library's name
    # the local authority's line: the same mean over all its LSOAs
    total = got["total"]
    assert total["code"] == SHROPSHIRE and total["areas"] == 193
    assert total["need_pct"] == pytest.approx(weighted(lsoas, "need_pct"), rel=1e-12)
    assert total["population"] == pytest.approx(lsoas["population"].sum(), rel=1e-12)


def test_the_gaps_api_aggregates_by_ward_and_msoa_and_rejects_other_levels(gclient):
    lsoa = gclient.get(f"/api/v1/gaps?{QUERY}&indicator=imd_rank").get_json()
    assert len(lsoa["rows"]) == 193
    assert gclient.get(f"/api/v1/gaps?{QUERY}&indicator=imd_rank&level=lsoa").get_json()["rows"] == lsoa["rows"]
    by_ward = gclient.get(f"/api/v1/gaps?{QUERY}&indicator=imd_rank&level=ward")
    assert by_ward.status_code == 200
    body = by_ward.get_json()
    assert len(body["rows"]) == 63 and body["meta"]["parameters"]["level"] == "ward"
    assert body["meta"]["licence"] and body["meta"]["attribution"]
    assert sum(r["areas"] for r in body["rows"]) + body["meta"]["lsoas_in_no_area"] == 193
    assert set(body["rows"][0]) == {"code", "name", "areas", "population", "need", "need_pct", "provision",
                                    "provision_pct", "gap", "class"}
    assert all(r["code"].startswith("E05") for r in body["rows"])
    population = sum(r["population"] for r in lsoa["rows"])
    assert sum(r["population"] for r in body["rows"]) == pytest.approx(population, rel=1e-9)
    by_msoa = gclient.get(f"/api/v1/gaps?{QUERY}&indicator=imd_rank&level=msoa").get_json()
    assert len(by_msoa["rows"]) == 39
    bad = gclient.get(f"/api/v1/gaps?{QUERY}&level=county")
    assert bad.status_code == 400
    error = bad.get_json()["error"]
    assert "lsoa, ward, msoa" in error["message"]
    assert error["parameter"] == "level" and error["allowed"][:3] == ["lsoa", "ward", "msoa"]
    assert gclient.get(f"/plan?{QUERY}&level=county").status_code == 400


def test_the_gap_page_shows_wards_msoas_and_the_authority_line(gclient):
    html = gclient.get(f"/plan?{QUERY}&indicator=imd_rank").get_data(as_text=True)
    section = html.split('id="by-area"')[1].split("</section>")[0]
    assert "By ward (2011 boundaries)" in section and "Shropshire as a whole" in section
    assert section.count("<tr>") == 64 and 'aria-current="page">Ward (2011 boundaries)' in section
    html = gclient.get(f"/plan?{QUERY}&indicator=imd_rank&level=msoa").get_data(as_text=True)
    section = html.split('id="by-area"')[1].split("</section>")[0]
    assert "By MSOA 2011" in section and section.count("<tr>") == 40
    assert re.search(r"Church Stretton</span> <span class=\"area-code\">E02006042", section)


@pytest.fixture
def planner_client(gapp, gdb):
    make_user(gdb, "planner@example.org", "planner")
    client = gapp.test_client()
    assert sign_in(client, "planner@example.org").status_code == 302
    return client


def test_a_planner_uploads_a_ward_csv_sees_the_report_and_uses_it_on_the_gap_map(planner_client, gdb, gclient):
    data, expected, problems = messy_ward_csv(gdb)
    token = csrf_token(planner_client, "/plan/indicators")
    from io import BytesIO
    response = planner_client.post("/plan/indicators", data={
        "csrf_token": token, "key": "alone_65", "label": "People aged 65+ living alone", "direction": "higher",
        "file": (BytesIO(data), "alone 65+.csv"),
    }, content_type="multipart/form-data")
    assert response.status_code == 200, response.get_data(as_text=True)[:2000]
    html = response.get_data(as_text=True)
    table = html.split('class="gap-table indicator-problems"')[1].split("</table>")[0]
    lines = [int(n) for n in re.findall(r'<td class="num">(\d+)</td>', table)]
    assert lines == sorted(problems)
    assert UNKNOWN_WARD in table and "n/a" in table and "unknown area code" in table and "not a number" in table
    assert f"<dd>{len(expected)}</dd>" in html and "ward code" in html

    indicators = planner_client.get("/api/v1/indicators").get_json()["indicators"]
    mine = next(i for i in indicators if i["key"] == "alone_65")
    assert (mine["label"], mine["area_level"], mine["higher_is_more_need"]) == \
        ("People aged 65+ living alone", "ward", True)
    page = planner_client.get(f"/plan?{QUERY}&indicator=alone_65").get_data(as_text=True)
    assert '<option value="alone_65" selected>People aged 65+ living alone</option>' in page
    assert "Need and provision: Libraries in Shropshire" in page or "in Shropshire" in page
    rows = planner_client.get(f"/api/v1/gaps?{QUERY}&indicator=alone_65").get_json()["rows"]
    assert any(r["need"] == 1234.0 for r in rows)

    # no file, or a bad key: the form again with the reason, nothing added
    bad = planner_client.post("/plan/indicators", data={
        "csrf_token": token, "key": "Alone!", "label": "x", "file": (BytesIO(data), "a.csv"),
    }, content_type="multipart/form-data")
    assert bad.status_code == 400 and "must be 2-60" in bad.get_data(as_text=True)
    # without the CSRF token the post is refused
    refused = planner_client.post("/plan/indicators", data={
        "key": "alone_66", "label": "x", "file": (BytesIO(data), "a.csv")}, content_type="multipart/form-data")
    assert refused.status_code == 400
    assert gdb.execute(text("SELECT count(*) FROM indicator WHERE key = 'alone_66'")).scalar_one() == 0


def test_only_planners_and_admins_may_upload_indicators(gapp, gdb):
    anonymous = gapp.test_client().get("/plan/indicators")
    assert anonymous.status_code == 302 and "/login" in anonymous.headers["Location"]
    make_user(gdb, "mod@example.org", "moderator")
    client = gapp.test_client()
    assert sign_in(client, "mod@example.org").status_code == 302
    assert client.get("/plan/indicators").status_code == 403


def test_the_cli_imports_a_ward_csv_and_requires_a_key(db_url, gdb, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from assetmap.cli import main

    data, expected, problems = messy_ward_csv(gdb)
    path = tmp_path / "alone.csv"
    path.write_bytes(data)
    url = clone_template(db_url, "area_csv_cli")
    try:
        monkeypatch.setenv("DATABASE_URL", url)
        missing = CliRunner().invoke(main, ["import", "indicators", str(path)])
        assert missing.exit_code != 0 and "--key" in missing.output
        result = CliRunner().invoke(main, ["import", "indicators", str(path), "--key", "alone_65",
                                           "--label", "Alone", "--lower-is-more-need"])
        assert result.exit_code == 1, result.output  # rows were reported
        for line in problems:
            assert f"row {line}, column" in result.output
        with get_engine(url).connect() as conn:
            row = conn.execute(text(
                """
                SELECT i.area_level, i.higher_is_more_need, count(v.*) FROM indicator i
                JOIN indicator_value v ON v.indicator_id = i.id WHERE i.key = 'alone_65' GROUP BY 1, 2
                """
            )).one()
        assert tuple(row) == ("ward", False, len(expected))
    finally:
        dispose_engines(url)
        drop_database(url)


def test_weighted_means_skip_lsoas_without_data():
    from assetmap.domain.gap_analysis import aggregate_scores

    rows = pd.DataFrame({"population": [100.0, 300.0, np.nan], "need": [1.0, np.nan, 5.0],
                         "need_pct": [80.0, np.nan, 10.0], "provision": [0.0, 0.002, 0.001],
                         "provision_pct": [0.0, 100.0, 50.0]})
    out = aggregate_scores(rows, ["W1", "W1", "W1"])
    assert out.loc["W1", "need_pct"] == 80.0  # the LSOA without population weighs nothing
    assert out.loc["W1", "provision_pct"] == pytest.approx(75.0)
    assert out.loc["W1", "population"] == 400.0 and out.loc["W1", "areas"] == 3
