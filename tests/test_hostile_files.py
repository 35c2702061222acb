"""Hostile files on the upload pages: each is refused whole with a plain 400, quickly, and nothing of
it is stored. Every fixture is built here by code."""
from __future__ import annotations

import io
import zipfile

import openpyxl
import pytest
from openpyxl import Workbook
from sqlalchemy import func, select, text

from assetmap.db.models import BulkUpload
from assetmap.errors import ImportFileError
from assetmap.importers import upload_files
from tests.contribute_fixtures import csrf_token, make_user, sign_in


def _xlsx(rows) -> bytes:
    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _replace_part(data: bytes, name: str, body: bytes) -> bytes:
    """The workbook with one zip member rewritten or added (deflated, as Excel stores them)."""
    src = zipfile.ZipFile(io.BytesIO(data))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            if item.filename != name:
                dst.writestr(item.filename, src.read(item.filename))
        dst.writestr(name, body)
    return out.getvalue()


def _with_shared_strings(sst: bytes) -> bytes:
    """A workbook whose cell A2 is string 0 of ``sst`` as its xl/sharedStrings.xml (openpyxl writes
    inline strings, so the part, its content type and the cell are put in here)."""
    data = _xlsx([["name"], ["hall"]])
    types = zipfile.ZipFile(io.BytesIO(data)).read("[Content_Types].xml").replace(b"</Types>", (
        b'<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.'
        b'spreadsheetml.sharedStrings+xml"/></Types>'))
    data = _replace_part(data, "[Content_Types].xml", types)
    sheet = (b'<row r="1"><c r="A1" t="inlineStr"><is><t>name</t></is></c></row>'
             b'<row r="2"><c r="A2" t="s"><v>0</v></c></row>')
    data = _replace_part(data, "xl/worksheets/sheet1.xml", _sheet_xml(sheet))
    return _replace_part(data, "xl/sharedStrings.xml", sst)


def _sheet_xml(body: bytes) -> bytes:
    return (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
            + body + b"</sheetData></worksheet>")


def _refused(name: str, data: bytes, match: str) -> str:
    with pytest.raises(ImportFileError, match=match) as caught:
        upload_files.read_upload(name, data)
    return caught.value.message


# --- Excel -----------------------------------------------------------------------------------------

def _rows_300000() -> bytes:
    rows = b'<row><c t="inlineStr"><is><t>place</t></is></c></row>' * 300_000
    return _replace_part(_xlsx([["name"], ["x"]]), "xl/worksheets/sheet1.xml", _sheet_xml(rows))


def test_a_small_xlsx_holding_300000_rows_is_refused_before_parsing():
    data = _rows_300000()
    assert len(data) < 100_000
    _refused("big.xlsx", data, "unpacks .* times larger")


def test_the_same_rows_stop_at_the_row_cap_while_streaming(monkeypatch):
    # without the zip check, reading stops at the row cap instead of reading every row first
    monkeypatch.setattr(upload_files, "MAX_XLSX_RATIO", 10**9)
    monkeypatch.setattr(upload_files, "MAX_ROWS", 1000)
    cells = []
    real_cell = upload_files._cell
    monkeypatch.setattr(upload_files, "_cell", lambda value: cells.append(value) or real_cell(value))
    _refused("big.xlsx", _rows_300000(), "more than 1,000 rows")
    assert len(cells) == 1002  # the header, the cap's rows, and the one past it


def test_the_row_cap_applies_while_streaming(monkeypatch):
    # an ordinary (not crafted) sheet past the cap stops at the cap, not after the whole sheet
    monkeypatch.setattr(upload_files, "MAX_ROWS", 50)
    data = _xlsx([["name", "n"]] + [[f"place {i}", i] for i in range(5000)])
    message = _refused("rows.xlsx", data, "more than 50 rows")
    assert "split it" in message


def _big_cell(size: int) -> bytes:
    # openpyxl itself writes no cell past Excel's limit, so the sheet's XML is written here
    sheet = (b'<row r="1"><c r="A1" t="inlineStr"><is><t>name</t></is></c></row><row r="2"><c r="A2" t="inlineStr">'
             b"<is><t>" + b"x" * size + b"</t></is></c></row>")
    return _replace_part(_xlsx([["name"], ["x"]]), "xl/worksheets/sheet1.xml", _sheet_xml(sheet))


def test_a_50_mb_cell_is_refused():
    data = _big_cell(50 * 1024 * 1024)
    assert len(data) < 200_000
    _refused("cell.xlsx", data, "unpacks .* times larger")


def test_a_big_cell_that_passes_the_zip_check_is_refused_while_reading(monkeypatch):
    monkeypatch.setattr(upload_files, "MAX_XLSX_RATIO", 10**9)
    _refused("cell.xlsx", _big_cell(5 * 1024 * 1024), "line 2, column 1 holds 5,242,880 characters")


def test_a_header_wider_than_the_column_cap_is_refused():
    _refused("wide.xlsx", _xlsx([[f"c{i}" for i in range(300)], list(range(300))]), "more than 200 columns")


ENTITY_BOMB = (b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;'
               b'&lol;&lol;&lol;&lol;&lol;&lol;"><!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
               b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1">'
               b'<si><t>&lol3;</t></si></sst>')
EXTERNAL_ENTITY = (b'<?xml version="1.0"?>\n<!DOCTYPE sst [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
                   b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1">'
                   b'<si><t>&xxe;</t></si></sst>')


@pytest.mark.parametrize("body", [ENTITY_BOMB, EXTERNAL_ENTITY], ids=["entity-expansion", "external-entity"])
def test_entities_in_shared_strings_are_refused(body):
    _refused("ent.xlsx", _with_shared_strings(body), "declares a DOCTYPE or entities")


def test_shared_strings_are_read():
    # the hand-made workbook above is one openpyxl reads, so the refusals are of the entities
    sst = (b'<?xml version="1.0"?>\n<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
           b'count="1" uniqueCount="1"><si><t>Morda Village Hall</t></si></sst>')
    assert upload_files.read_upload("ok.xlsx", _with_shared_strings(sst)).rows[0][1] == ["Morda Village Hall"]


def test_without_the_doctype_check_defusedxml_refuses_them(monkeypatch):
    monkeypatch.setattr(upload_files, "_check_workbook_zip", lambda data: None)
    _refused("ent.xlsx", _with_shared_strings(ENTITY_BOMB), "cannot be read safely")


def test_openpyxl_parses_with_defusedxml():
    # the DOCTYPE check is one guard; openpyxl's own parser refusing entities is the other
    assert openpyxl.DEFUSEDXML is True
    from defusedxml import DefusedXmlException
    from openpyxl.xml.functions import fromstring
    with pytest.raises(DefusedXmlException):
        fromstring(EXTERNAL_ENTITY)


def test_a_zip_that_is_not_a_workbook_is_refused():
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("hello.txt", "hi")
    _refused("x.xlsx", out.getvalue(), "not an Excel .xlsx workbook")


# --- CSV -------------------------------------------------------------------------------------------

def test_utf16_of_odd_length_is_refused():
    data = "name,postcode\nHall,SY11 1HT\n".encode("utf-16") + b"x"
    _refused("odd.csv", data, "not valid UTF-16")


def test_nul_bytes_in_a_csv_are_refused():
    data = b"name,postcode\n" + b"Hall,SY11 1HT\n" * 400 + b"Bad\x00Hall,SY11 1HT\n"
    _refused("nul.csv", data, "NUL bytes")


# --- GeoJSON ---------------------------------------------------------------------------------------

def _collection(properties: str, crs: str = "") -> bytes:
    return ('{"type": "FeatureCollection", ' + crs + '"features": [{"type": "Feature", "properties": '
            + properties + ', "geometry": {"type": "Point", "coordinates": [-3.05, 52.86]}}]}').encode()


def test_a_nul_character_in_a_geojson_property_is_refused():
    _refused("nul.geojson", _collection('{"name": "Hall\\u0000"}'), "feature 1 holds a NUL character")


def test_crs_properties_as_a_string_is_refused():
    data = _collection('{"name": "Hall"}', crs='"crs": {"type": "name", "properties": "EPSG:27700"}, ')
    _refused("crs.geojson", data, "crs member that does not name a coordinate system")


@pytest.mark.parametrize("depth", [5_000, 200_000])
def test_deep_nesting_is_refused(depth):
    _refused("deep.geojson", _collection('{"name": ' + "[" * depth + "]" * depth + "}"), "nested too deeply")


def test_a_number_of_5000_digits_is_refused():
    _refused("long.geojson", _collection('{"n": ' + "9" * 5000 + "}"), "thousands of digits")


# --- through the pages: a 400 with the reason, nothing stored --------------------------------------

HOSTILE = {
    "odd.csv": "name,postcode\nHall,SY11 1HT\n".encode("utf-16") + b"x",
    "nul.csv": b"name,postcode\nBad\x00Hall,SY11 1HT\n",
    "nul.geojson": _collection('{"name": "Hall\\u0000"}'),
    "deep.geojson": _collection('{"name": ' + "[" * 200_000 + "]" * 200_000 + "}"),
    "long.geojson": _collection('{"n": ' + "9" * 5000 + "}"),
    "crs.geojson": _collection('{"name": "Hall"}', crs='"crs": {"type": "name", "properties": "x"}, '),
    "ent.xlsx": _with_shared_strings(ENTITY_BOMB),
    "cell.xlsx": _big_cell(50 * 1024 * 1024),
}


@pytest.fixture
def planner_client(app, db_session):
    make_user(db_session, "planner@example.org", "planner")
    db_session.commit()
    client = app.test_client()
    assert sign_in(client, "planner@example.org").status_code == 302
    return client


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_the_upload_page_answers_400_and_stores_nothing(planner_client, db_session, name):
    before = db_session.scalar(select(func.count()).select_from(BulkUpload))
    response = planner_client.post("/upload/", data={
        "csrf_token": csrf_token(planner_client, "/upload/"), "file": (io.BytesIO(HOSTILE[name]), name)},
        content_type="multipart/form-data")
    assert response.status_code == 400
    assert name in response.get_data(as_text=True)
    assert db_session.scalar(select(func.count()).select_from(BulkUpload)) == before


@pytest.mark.parametrize("name", ["odd.csv", "nul.csv"])
def test_the_indicator_upload_answers_400_and_stores_nothing(planner_client, db_session, name):
    response = planner_client.post("/plan/indicators", data={
        "csrf_token": csrf_token(planner_client, "/plan/indicators"), "key": "hostile_one", "label": "Hostile",
        "direction": "higher", "file": (io.BytesIO(HOSTILE[name]), name)}, content_type="multipart/form-data")
    assert response.status_code == 400
    assert "NUL" in response.get_data(as_text=True) or "UTF-16" in response.get_data(as_text=True)
    assert db_session.execute(text("SELECT count(*) FROM indicator WHERE key = 'hostile_one'")).scalar_one() == 0
