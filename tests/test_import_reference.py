"""Boundaries, IoD 2019 and Code-Point Open importers on the real published files."""
import json
import zipfile

import pytest
from sqlalchemy import text

from assetmap.errors import ImportFileError
from assetmap.importers.boundaries import import_boundaries
from assetmap.importers.indicators import import_iod
from assetmap.importers.postcodes import import_codepoint

SHROPSHIRE = "E06000051"


def scalar(session, sql, **params):
    return session.execute(text(sql), params).scalar()


def test_shropshire_has_193_lsoas_each_with_its_iod_rows(db_session):
    assert scalar(db_session, "SELECT count(*) FROM area WHERE level='lsoa' AND lad_code=:l", l=SHROPSHIRE) == 193
    joined = scalar(
        db_session,
        """SELECT count(DISTINCT a.id) FROM area a JOIN indicator_value v ON v.area_id = a.id
           JOIN indicator i ON i.id = v.indicator_id AND i.key = 'imd_rank'
           WHERE a.level='lsoa' AND a.lad_code=:l""",
        l=SHROPSHIRE,
    )
    assert joined == 193
    # A known row of File 1 with a thousands separator: Shropshire 027A.
    rank = scalar(
        db_session,
        """SELECT v.value FROM indicator_value v JOIN indicator i ON i.id=v.indicator_id AND i.key='imd_rank'
           JOIN area a ON a.id=v.area_id WHERE a.code='E01028826'""",
    )
    assert rank == pytest.approx(float(_iod_value("imd2019_lsoa11.csv", "E01028826", 4).replace(",", "")))


def _iod_value(name, code, column):
    import csv

    from assetmap.config import data_dir

    with open(data_dir() / "imd2019" / name, encoding="utf-8-sig") as f:
        for row in csv.reader(f):
            if row[0] == code:
                return row[column]
    raise AssertionError(code)


def test_population_and_local_authority_outline(db_session):
    pop = scalar(db_session, "SELECT sum(population) FROM area WHERE level='lsoa' AND lad_code=:l", l=SHROPSHIRE)
    assert 300_000 < pop < 330_000  # mid-2015 Shropshire, excluding prisoners
    lad = db_session.execute(
        text("SELECT name, ST_Area(geom::geography) / 1e6 FROM area WHERE code=:l"), {"l": SHROPSHIRE}
    ).one()
    assert lad[0] == "Shropshire"
    assert 3100 < lad[1] < 3300  # km²
    assert scalar(db_session, "SELECT count(*) FROM area WHERE level='ward' AND lad_code IS NULL") == 0
    assert scalar(db_session, "SELECT count(*) FROM area WHERE level='msoa' AND lad_code=:l", l=SHROPSHIRE) == 39


def test_second_import_of_boundaries_and_indicators_is_a_no_op(db_session, data_dir):
    report = import_boundaries(db_session, data_dir / "boundaries" / "lsoa11_E06000051_shropshire.geojson")
    assert (report.read, report.inserted, report.updated, report.unchanged) == (193, 0, 0, 193)
    report = import_iod(db_session, data_dir / "imd2019" / "imd2019_lsoa11.csv", lad_codes=[SHROPSHIRE])
    assert (report.inserted, report.updated, report.unchanged) == (0, 0, 193)


def test_postcodes_are_normalised_placed_and_reimport_is_a_no_op(db_session, data_dir):
    row = db_session.execute(
        text("SELECT easting, northing, ST_X(location), ST_Y(location), lad_code FROM postcode "
             "WHERE postcode='SY11 1PA'")
    ).one()
    assert row.lad_code == SHROPSHIRE
    assert -3.1 < row[2] < -3.0 and 52.8 < row[3] < 52.9  # Oswestry
    report = import_codepoint(db_session, data_dir / "postcodes" / "codepo_gb.zip", areas=["LD"])
    assert report.inserted == 0 and report.updated == 0 and report.unchanged > 1000


def test_codepoint_rows_without_position_and_broken_rows_are_reported(db_session, tmp_path, data_dir):
    src = zipfile.ZipFile(data_dir / "postcodes" / "codepo_gb.zip")
    path = tmp_path / "codepo_small.zip"
    with zipfile.ZipFile(path, "w") as z:
        for name in ["Doc/Code-Point_Open_Column_Headers.csv"]:
            z.writestr(name, src.read(name))
        z.writestr(
            "Data/CSV/zz.csv",
            '"ZZ1 1AA",10,349381,312241,"E92000001","E19000001","E18000005","","E06000051","E05016060"\n'
            '"ZZ1 1AB",90,0,0,"E92000001","","","","",""\n'
            '"NOT A PC",10,349381,312241,"E92000001","","","","",""\n'
            '"ZZ1 1AD",10,east,312241,"E92000001","","","","",""\n',
        )
    report = import_codepoint(db_session, path)
    assert report.read == 4 and report.inserted == 1
    assert report.skipped_reasons["no position (0,0 in Code-Point Open)"] == 1
    assert sorted(p.row for p in report.problems) == [3, 4]
    assert "malformed postcode" in str(report.problems[0]) or "malformed postcode" in str(report.problems[1])


def test_boundaries_in_the_wrong_crs_are_refused(db_session, tmp_path):
    bad = tmp_path / "lsoa_bng.geojson"
    bad.write_text(json.dumps({
        "type": "FeatureCollection",
        "features": [{"type": "Feature", "properties": {"LSOA11CD": "E01999999", "LSOA11NM": "X"},
                      "geometry": {"type": "Polygon", "coordinates": [
                          [[349000, 312000], [350000, 312000], [350000, 313000], [349000, 312000]]]}}],
    }))
    with pytest.raises(ImportFileError, match="British National Grid"):
        import_boundaries(db_session, bad)


@pytest.mark.parametrize("name", ["missing.geojson", "not_geo.geojson"])
def test_boundaries_missing_or_unreadable_file(db_session, tmp_path, name):
    if name == "not_geo.geojson":
        (tmp_path / name).write_text("this is not json")
    with pytest.raises(ImportFileError):
        import_boundaries(db_session, tmp_path / name)


def test_iod_with_broken_rows_imports_the_rest(db_session, tmp_path, data_dir):
    lines = (data_dir / "imd2019" / "imd2019_lsoa11.csv").read_text(encoding="utf-8-sig").splitlines()
    shropshire = [line for line in lines if ",E06000051," in line][:3]
    broken = shropshire[1].rsplit(",", 1)[0] + ",ten"
    path = tmp_path / "imd_broken.csv"
    path.write_text("\ufeff" + "\n".join([lines[0], shropshire[0], broken, shropshire[2]]) + "\n", encoding="utf-8")
    report = import_iod(db_session, path)
    assert [p.row for p in report.problems] == [3]
    assert report.problems[0].value == "ten"
    assert report.unchanged == 2


def test_iod_file_not_recognised(db_session, tmp_path):
    path = tmp_path / "other.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(ImportFileError, match="LSOA code"):
        import_iod(db_session, path)
