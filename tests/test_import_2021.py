"""The 2021 geography and current need on the real published files (loaded into the template by
tests/conftest.py): IoD 2025 ranks, Census 2021 populations, the 2011 -> 2021 lookup, the rank
change 2019 -> 2025, Commons Library names, and what bad input is told."""
import csv

import pytest
from sqlalchemy import text

from assetmap.db import areas
from assetmap.db.need_change import CHANGE_KEY, rank_change_of
from assetmap.errors import BadInputError, ImportFileError
from assetmap.importers.geography import import_lsoa_lookup, import_msoa_names
from assetmap.importers.indicators import import_area_csv
from assetmap.importers.iod2025 import import_iod2025

SHROPSHIRE, OLDHAM = "E06000051", "E08000004"


def value(session, key, code, level="lsoa21"):
    return session.execute(text(
        """SELECT v.value FROM indicator_value v JOIN indicator i ON i.id = v.indicator_id AND i.key = :key
           JOIN area a ON a.id = v.area_id AND a.level = :level WHERE a.code = :code"""
    ), {"key": key, "code": code, "level": level}).scalar()


def _csv_rows(path, key_col):
    with open(path, encoding="utf-8-sig") as f:
        return {row[key_col]: row for row in csv.DictReader(f)}


@pytest.mark.parametrize("code, rank", [("E01028957", 1897), ("E01028967", 3280), ("E01005434", 39)])
def test_imd_2025_rank_of_named_lsoas_is_file_1s(db_session, code, rank):
    assert value(db_session, "imd_rank_2025", code) == rank


def test_imd_2025_score_domains_and_supplementary_indices(db_session, data_dir):
    assert value(db_session, "imd_score_2025", "E01028967") == pytest.approx(45.416)
    domains = _csv_rows(data_dir / "iod2025" / "iod2025_domains_lsoa21_from_file7.csv", "lsoa21_code")
    row = domains["E01005434"]
    assert value(db_session, "income_rank_2025", "E01005434") == float(row["Income_rank"])
    environment = value(db_session, "living_environment_score_2025", "E01005434")
    assert environment == pytest.approx(float(row["Environment_score"]))
    # File 3: children's and older people's income deprivation, on every Shropshire and Oldham LSOA 2021
    n = db_session.execute(text(
        """SELECT count(*) FROM area a JOIN indicator_value v ON v.area_id = a.id
           JOIN indicator i ON i.id = v.indicator_id AND i.key IN ('idaci_rank_2025', 'idaopi_rank_2025')
           WHERE a.level = 'lsoa21'""")).scalar()
    assert n == 2 * (198 + 142)
    meta = db_session.execute(text("SELECT year, area_level FROM indicator WHERE key = 'imd_rank_2025'")).one()
    assert tuple(meta) == (2025, "lsoa21")
    meta = db_session.execute(text("SELECT year, area_level FROM indicator WHERE key = 'imd_rank'")).one()
    assert tuple(meta) == (2019, "lsoa")


def test_census_2021_population_rural_class_and_ward(db_session):
    totals = dict(db_session.execute(text(
        "SELECT lad_code, sum(population) FROM area WHERE level = 'lsoa21' GROUP BY lad_code")).all())
    assert totals == {SHROPSHIRE: 323_590, OLDHAM: 242_078}  # the data README's totals
    rural = db_session.execute(text(
        "SELECT count(*) FILTER (WHERE rural), count(*) FILTER (WHERE rural IS NULL) FROM area "
        "WHERE level = 'lsoa21' AND lad_code = :l"), {"l": SHROPSHIRE}).one()
    assert rural[0] > 60 and rural[1] == 0
    no_ward = db_session.execute(text("SELECT count(*) FROM area WHERE level = 'lsoa21' AND ward_code IS NULL"))
    assert no_ward.scalar() == 0


def test_age_groups_on_2021_lsoas_are_estimates_labelled_with_their_method(db_session):
    row = db_session.execute(text(
        "SELECT population, pop_0_15, pop_16_59, pop_60_plus, pop_method FROM area "
        "WHERE level = 'lsoa21' AND code = 'E01028957'")).one()
    old = db_session.execute(text(
        "SELECT population, pop_0_15 FROM area WHERE level = 'lsoa' AND code = 'E01028957'")).one()
    assert row.population == 1831  # Census 2021
    assert row.pop_0_15 == pytest.approx(1831 * old.pop_0_15 / old.population, abs=0.1)
    assert row.pop_0_15 + row.pop_16_59 + row.pop_60_plus == pytest.approx(1831, abs=0.2)
    assert "Estimate" in row.pop_method and "lookup" in row.pop_method


def test_rank_change_unchanged_split_and_merged(db_session, data_dir):
    imd19 = _csv_rows(data_dir / "imd2019" / "imd2019_lsoa11.csv", "LSOA code (2011)")
    pop15 = _csv_rows(data_dir / "imd2019" / "iod2019_population_lsoa11.csv", "LSOA code (2011)")
    domains = _csv_rows(data_dir / "iod2025" / "iod2025_domains_lsoa21_from_file7.csv", "lsoa21_code")

    def r19(code):
        return float(imd19[code]["Index of Multiple Deprivation (IMD) Rank"].replace(",", ""))

    def p15(code):
        return float(pop15[code]["Total population: mid 2015 (excluding prisoners)"].replace(",", ""))

    def r25(code):
        return float(domains[code]["IMD_rank"])

    merged = (r19("E01033529") * p15("E01033529") + r19("E01028991") * p15("E01028991")) / (
        p15("E01033529") + p15("E01028991"))
    expected = {
        "E01028967": (r19("E01028967"), "unchanged"),  # Shropshire 018C, unchanged
        "E01035057": (r19("E01028885"), "split"),      # one half of a split 2011 LSOA
        "E01035058": (r19("E01028885"), "split"),
        "E01035071": (merged, "merged"),              # two 2011 LSOAs merged
    }
    got = {r["code"]: r for r in rank_change_of(db_session, list(expected))}
    for code, (rank_2019, how) in expected.items():
        assert got[code]["how"] == how
        assert got[code]["rank_2019"] == pytest.approx(rank_2019)
        assert got[code]["change"] == pytest.approx(rank_2019 - r25(code))
        assert value(db_session, CHANGE_KEY, code) == pytest.approx(rank_2019 - r25(code))
    # every LSOA 2021 of both places gets a change a planner can map and rank
    n = db_session.execute(text(
        """SELECT count(*) FROM indicator_value v JOIN indicator i ON i.id = v.indicator_id AND i.key = :k""",
    ), {"k": CHANGE_KEY}).scalar()
    assert n == 198 + 142


def test_commons_library_names_everywhere_an_area_is_named(db_session):
    names = dict(db_session.execute(text(
        "SELECT level || ':' || code, name FROM area WHERE code IN ('E02006024', 'E02006042', 'E01028967')")).all())
    assert names["msoa:E02006024"] == "Oswestry East"
    assert names["msoa21:E02006042"] == "Church Stretton"
    assert names["lsoa21:E01028967"] == "Shrewsbury Monkmoor (Shropshire 018C)"
    assert names["lsoa:E01028967"] == "Shrewsbury Monkmoor (Shropshire 018C)"
    ward = db_session.execute(text("SELECT name FROM area WHERE level = 'ward24' AND code = 'E05014646'")).scalar()
    assert ward == "Alexandra"
    # an unchanged code is one area of each vintage; the current one is meant by code alone
    assert areas.get_area(db_session, "E01028967")["level"] == "lsoa21"


def test_reimporting_names_and_iod_2025_changes_nothing(db_session, data_dir):
    report = import_msoa_names(db_session, data_dir / "names" / "msoa21_names_hocl_v2.2.csv")
    assert (report.inserted, report.updated) == (0, 0) and report.unchanged == report.read
    report = import_iod2025(db_session, data_dir / "iod2025" / "iod2025_domains_lsoa21_from_file7.csv",
                            lad_codes=[SHROPSHIRE])
    assert (report.read, report.inserted, report.updated, report.unchanged) == (198, 0, 0, 198)


def test_an_indicator_file_of_2011_codes_on_the_2021_geography_is_told_so(db_session, tmp_path):
    # two LSOAs 2011 that were split in 2021 (their codes are gone), one unchanged
    path = tmp_path / "old.csv"
    path.write_text("lsoa_code,value\nE01028885,1\nE01028932,2\nE01028967,3\n", encoding="utf-8")
    report = import_area_csv(db_session, path, "old_codes", "Old codes", True, vintage=2021)
    assert report.notes == ["2 of 3 codes are LSOA 2011 codes not used in 2021: these are 2011 LSOA codes; "
                            "pick the 2011 geography or convert with the lookup"]
    assert [(p.row, p.value) for p in report.problems] == [(2, "E01028885"), (3, "E01028932")]
    assert "2011 code" in report.problems[0].reason
    # read on the 2011 geography, the same file goes in whole
    report = import_area_csv(db_session, path, "old_codes", "Old codes", True, vintage=2011)
    assert report.level == "lsoa" and not report.problems and not report.notes


def test_an_iod_2025_file_of_2011_codes_is_refused_with_counts(db_session, tmp_path):
    path = tmp_path / "domains.csv"
    path.write_text("lsoa21_code,IMD_rank\nE01028885,1\nE01028932,2\n", encoding="utf-8")
    with pytest.raises(ImportFileError, match="2 of 2 codes are LSOA 2011 codes"):
        import_iod2025(db_session, path)


def test_a_lookup_row_with_an_unknown_code_is_reported_by_line(db_session, tmp_path):
    path = tmp_path / "lookup.csv"
    path.write_text(
        "lsoa11_name,lsoa11_code,change_code,lsoa21_name,lsoa21_code,ltla22_name,ltla22_code\n"
        "Shropshire 018C,E01028967,U,Shropshire 018C,E01028967,Shropshire,E06000051\n"
        "Nowhere 001A,E01999999,U,Nowhere 001A,E01999999,Shropshire,E06000051\n"
        "Shropshire 018C,E01028967,Q,Shropshire 018C,E01028967,Shropshire,E06000051\n",
        encoding="utf-8")
    report = import_lsoa_lookup(db_session, path)
    assert [(p.row, p.reason, p.value) for p in report.problems] == [
        (3, "unknown LSOA 2011 code (not a loaded LSOA 2011)", "E01999999"),
        (4, "change code not U, S, M or X", "Q"),
    ]
    assert report.unchanged == 1


def test_an_area_level_with_no_boundaries_gives_400_naming_what_is_loaded(db_session):
    areas.require_level_loaded(db_session, "lsoa21")
    db_session.execute(text("UPDATE area SET geom = NULL WHERE level = 'msoa21'"))
    with pytest.raises(BadInputError, match=r"no MSOA 2021 boundaries are loaded \(loaded: .*LSOA 2021.*\)"):
        areas.require_level_loaded(db_session, "msoa21")


def test_a_profile_shows_need_over_time_beside_provision_over_time(client):
    html = client.get("/profile/E01035071").get_data(as_text=True)  # an LSOA 2021 merged from two
    assert "Need over time: IMD rank 2019 to 2025" in html
    section = html.split('id="need-time-heading"')[1].split("</section>")[0]
    assert "merged" in section and "E01035071" not in section.split("<tbody>")[0]
    html = client.get("/profile/E06000051").get_data(as_text=True)  # the authority: all 198 of its LSOAs 2021
    assert "Of 198 neighbourhoods (LSOA 2021)" in html
    assert "Shrewsbury Harlescott Grange (Shropshire 015D)" in client.get("/profile/E01028957").get_data(as_text=True)
