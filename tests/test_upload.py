"""Bulk upload: reading messy files, checking rows, and the upload → map → check → commit flow."""
from __future__ import annotations

import io
import json
from datetime import datetime
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import select, text

from assetmap.db.models import Asset, AssetStatus, BulkUpload, ImportRun
from assetmap.domain import tabular
from assetmap.errors import ImportFileError
from assetmap.importers import tabular as importer
from assetmap.importers import upload_files
from tests.contribute_fixtures import make_user, sign_in
from tests.oruk_fixtures import PROJECT

DATA = PROJECT / "tests" / "data" / "upload"
MESSY = DATA / "messy_warm_spaces.csv"


# --- reading files ---------------------------------------------------------------------------------

def test_messy_csv_is_read_and_says_how():
    parsed = upload_files.read_upload(MESSY.name, MESSY.read_bytes())
    assert parsed.encoding == "windows-1252"
    assert parsed.header[:5] == ["Ref", "Site Name", "Type", "Address", "Post Code"]
    notes = " | ".join(parsed.notes)
    assert "Windows-1252" in notes and "2 blank line(s) skipped" in notes and "quote mark that is never closed" in notes
    lines = {line: (cells, problem) for line, cells, problem in parsed.rows}
    assert sorted(lines) == [2, 4, 5, 6, 7, 8, 9, 10, 11, 12]  # physical line numbers; blanks skipped
    assert lines[4][0][1] == "Café Nood"
    assert lines[5][0][1] == "Morda Village Hall"  # the stray quote does not swallow the rows after it
    assert lines[12][0][3] == "1 Beatrice Street\r\nOswestry"  # a quoted line break is kept
    assert lines[10][1] == "13 values but the header has 11 columns (a value with a comma in it needs quotes)"


def test_bom_and_semicolons():
    parsed = upload_files.read_upload("list.csv", (DATA / "bom_semicolons.csv").read_bytes())
    assert parsed.header[0] == "id" and parsed.encoding == "utf-8-sig"
    assert parsed.notes == ["values separated by semicolons"]
    assert tabular.suggest_mapping(parsed.header) == {
        "id": "id", "name": "name", "category": "category", "postcode": "postcode", "easting": "easting",
        "northing": "northing", "website": "website"}


def test_latin1_that_is_not_windows_1252():
    parsed = upload_files.read_upload("old.csv", "name,postcode\nCaf\xe9 \x81,SY11 1HT\n".encode("latin-1"))
    assert parsed.encoding == "latin-1" and parsed.rows[0][1][0] == "Caf\xe9 \x81"


def test_xlsx(tmp_path):
    book = Workbook()
    notes = book.active
    notes.title = "Read me"
    sheet = book.create_sheet("Venues")
    book.remove(notes)
    book.create_sheet("Empty")
    sheet.append(["Name", "Postcode", "Phone", "Opened", "Latitude", "Longitude"])
    sheet.append(["Hall", "SY11 1HT", 1691111111, datetime(2020, 5, 1), 52.8641, -3.0475])
    sheet.append([None, None, None, None, None, None])
    sheet.append(["Library", "SY1 1LH", None, None, None, None, "stray"])
    buffer = io.BytesIO()
    book.save(buffer)
    parsed = upload_files.read_upload("venues.xlsx", buffer.getvalue())
    assert parsed.header == ["Name", "Postcode", "Phone", "Opened", "Latitude", "Longitude"]
    assert parsed.rows[0] == [2, ["Hall", "SY11 1HT", "1691111111", "2020-05-01", "52.8641", "-3.0475"], None]
    assert parsed.rows[1][0] == 4 and parsed.rows[1][2] == "values beyond the 6 columns of the header"
    assert parsed.notes == ["only the sheet 'Venues' was read (the first with data)"]


def _geojson(features, crs=None) -> bytes:
    body = {"type": "FeatureCollection", "features": features}
    if crs:
        body["crs"] = {"type": "name", "properties": {"name": crs}}
    return json.dumps(body).encode()


def _point(name, x, y):
    return {"type": "Feature", "properties": {"name": name}, "geometry": {"type": "Point", "coordinates": [x, y]}}


def test_geojson_wrong_crs_is_refused_with_the_reason():
    with pytest.raises(ImportFileError, match="British National Grid metres"):
        upload_files.read_upload("venues.geojson", _geojson([_point("Hall", 332150, 329870)]))
    with pytest.raises(ImportFileError, match="not known here"):
        upload_files.read_upload("venues.geojson", _geojson([_point("Hall", 1, 2)], crs="EPSG:999999"))


def test_geojson_declared_grid_is_converted_and_bad_geometry_is_a_row_problem():
    features = [
        _point("Hall", 332150, 329870),
        {"type": "Feature", "properties": {"name": "No shape"}, "geometry": None},
        {"type": "Feature", "properties": {"name": "Broken"}, "geometry": {"type": "Point", "coordinates": ["a"]}},
        {"type": "Feature", "properties": {"name": "Park", "area_ha": 2.5}, "geometry": {
            "type": "Polygon", "coordinates": [[[331000, 329000], [331200, 329000], [331200, 329200],
                                                [331000, 329200], [331000, 329000]]]}},
        {"type": "Feature", "properties": {"name": "Path"}, "geometry": {
            "type": "LineString", "coordinates": [[331000, 329000], [331200, 329000]]}},
    ]
    parsed = upload_files.read_upload("venues.geojson", _geojson(features, crs="urn:ogc:def:crs:EPSG::27700"))
    assert parsed.header == ["name", "area_ha", *upload_files.GEOMETRY_COLUMNS]
    assert parsed.notes == ["coordinates converted from urn:ogc:def:crs:EPSG::27700 to longitude/latitude",
                            "1 area(s) placed at a point inside them"]
    hall = parsed.rows[0][1]
    assert hall[2].startswith("-3.00") and hall[3].startswith("52.86")
    assert [r[2] for r in parsed.rows] == [None, "no geometry", "invalid geometry", None,
                                           "a LineString is not a point or an area"]


@pytest.mark.parametrize("name, data, message", [
    ("report.pdf", b"%PDF-1.4", "upload a .csv, .xlsx or .geojson file"),
    ("empty.csv", b"  \r\n", "is empty"),
    ("header.csv", b"name,postcode\r\n", "has a header but no rows"),
    ("old.xlsx", b"\xd0\xcf\x11\xe0 not a zip", "not an Excel .xlsx workbook"),
    ("binary.csv", b"\x00\x01\x02name", "not a text file"),
    ("list.geojson", b'{"type": "Feature"', "not valid JSON"),
])
def test_files_that_cannot_be_read(name, data, message):
    with pytest.raises(ImportFileError, match=message):
        upload_files.read_upload(name, data)


# --- checking rows ----------------------------------------------------------------------------------

CATEGORIES = {"warm-space": "warm-space", "warm space": "warm-space", "library": "library"}


@pytest.mark.parametrize("cells, point, warning", [
    ({"latitude": "52.8641", "longitude": "-3.0475"}, (-3.0475, 52.8641), None),
    ({"latitude": "-3.0475", "longitude": "52.8641"}, (-3.0475, 52.8641), tabular.SWAPPED_LATLON),
    ({"latitude": "329870", "longitude": "332150"}, (-3.0092389, 52.8620201), tabular.GRID_IN_LATLON),
    ({"easting": "332150", "northing": "329870"}, (-3.0092389, 52.8620201), None),
    ({"easting": "-3.0475", "northing": "52.8641"}, (-3.0475, 52.8641), tabular.LATLON_IN_GRID),
    ({"easting": "845000", "northing": "266500"}, (-4.2279014, 57.4755382), tabular.SWAPPED_GRID),
    ({"latitude": "52,8641", "longitude": "-3,0475"}, (-3.0475, 52.8641), None),
])
def test_coordinates_are_detected_and_said(cells, point, warning):
    row = tabular.check_row(2, {"name": "Hall", **cells}, CATEGORIES, "warm-space")
    assert row.ok and row.point == point
    assert [w[1] for w in row.warnings] == ([warning] if warning else [])


def test_row_errors_and_warnings():
    row = tabular.check_row(3, {"name": "", "category": "Pub", "latitude": "40.7", "longitude": "-74.0",
                                "email": "nope", "website": "www.example.org", "opening_hours": "when the vicar is in"},
                            CATEGORIES, None)
    assert [e[1] for e in row.errors] == ["no name", "not a known type of place",
                                          "latitude 40.7, longitude -74.0 is not a place in the UK"]
    assert [w[1] for w in row.warnings] == ["not an email address; left out",
                                            "opening hours not understood; kept as a note"]
    assert row.values["url"] == "https://www.example.org"
    assert row.values["opening_hours_note"] == "when the vicar is in"


# --- the web flow -----------------------------------------------------------------------------------

def _upload(client, path: Path, source_name="", data=None):
    body = data if data is not None else path.read_bytes()
    return client.post("/upload/", data={"file": (io.BytesIO(body), path.name), "source_name": source_name},
                       content_type="multipart/form-data")


MESSY_MAPPING = {"field-id": "Ref", "field-name": "Site Name", "field-category": "Type", "field-address": "Address",
                 "field-postcode": "Post Code", "field-latitude": "Lat", "field-longitude": "Long",
                 "field-opening_hours": "Opening Times", "field-email": "Contact Email", "field-description": "Notes"}


# The upload forms are posted here without their CSRF token (the forms' CSRF is tested with the
# contribution and area forms in test_contribute_web.py and test_profiles.py).
NO_CSRF = pytest.mark.app_config(WTF_CSRF_ENABLED=False)


def test_only_planners_and_admins_upload(client, db_session):
    response = client.get("/upload/")
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    make_user(db_session, "volunteer@example.org", "volunteer")
    assert sign_in(client, "volunteer@example.org").status_code == 302
    assert client.get("/upload/").status_code == 403


@NO_CSRF
def test_messy_csv_flow_to_moderation(client, db_session):
    planner = make_user(db_session, "planner@example.org", "planner")
    assert sign_in(client, planner["email"]).status_code == 302
    response = _upload(client, MESSY, source_name="Warm spaces winter 2024")
    assert response.status_code == 302
    upload = db_session.scalars(select(BulkUpload)).one()
    assert upload.source_key == "warm-spaces-winter-2024" and len(upload.rows) == 10
    assert response.headers["Location"].endswith(f"/upload/{upload.id}/map")

    page = client.get(f"/upload/{upload.id}/map").get_data(as_text=True)
    assert "Café Nood" in page and "read as Windows-1252" in page
    assert '<option value="Site Name" selected>' in page  # suggested from the header
    assert "Publish them at once" not in page  # planners send uploads to moderation

    response = client.post(f"/upload/{upload.id}/map", data={**MESSY_MAPPING, "publish": "yes"})
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/upload/{upload.id}/check")
    db_session.refresh(upload)
    report = upload.check_report
    assert (report["rows"], report["ok"], report["error_rows"], report["new"]) == (10, 5, 5, 5)
    errors = {(p["line"], p["reason"]) for p in report["problems"] if p["severity"] == "error"}
    assert errors == {
        (7, "the same id as line 4"),
        (8, "no name"),
        (9, "postcode not known here (new, or outside the areas loaded)"),
        (10, "13 values but the header has 11 columns (a value with a comma in it needs quotes)"),
        (11, "not a known type of place"),
    }
    warnings = {(p["line"], p["reason"]) for p in report["problems"] if p["severity"] == "warning"}
    assert (5, tabular.SWAPPED_LATLON) in warnings and (6, tabular.GRID_IN_LATLON) in warnings
    assert (6, "not an email address; left out") in warnings
    assert (12, "opening hours not understood; kept as a note") in warnings
    assert "1 row(s): latitude and longitude were the wrong way round; swapped back" in report["notes"]
    page = client.get(f"/upload/{upload.id}/check").get_data(as_text=True)
    assert "Row left out" in page and "Add 5 rows" in page and "go to <strong>moderation</strong>" in page

    response = client.post(f"/upload/{upload.id}/commit")
    assert response.status_code == 302
    db_session.refresh(upload)
    assert upload.state == "committed"
    assets = db_session.scalars(select(Asset).where(Asset.source == "upload").order_by(Asset.source_id)).all()
    assert [a.source_id for a in assets] == [f"warm-spaces-winter-2024/WS0{i}" for i in (1, 2, 3, 4, 9)]
    assert {a.status for a in assets} == {AssetStatus.pending}
    assert all(a.location is not None and a.created_by_id == planner["id"] for a in assets)
    hall = assets[0]
    assert hall.opening_hours["mon"] == [["10:00", "15:00"]] and hall.email == "hall@example.org"
    assert [t.slug for t in assets[3].terms] == ["community-venue"]
    run = db_session.get(ImportRun, upload.import_run_id)
    assert run.kind == "assets:upload" and run.user_id == planner["id"]
    assert run.report["inserted"] == 5 and run.report["problem_count"] == 5
    revisions = db_session.execute(text("SELECT count(*) FROM revision WHERE reason LIKE 'upload:%'")).scalar()
    assert revisions == 5
    page = client.get(f"/upload/{upload.id}").get_data(as_text=True)
    assert "Import report" in page and "<strong>5</strong> added" in page and "the same id as line 4" in page

    # The same file again, under the same name: nothing new, nothing changed.
    _upload(client, MESSY, source_name="Warm spaces winter 2024")
    again = db_session.scalars(select(BulkUpload).order_by(BulkUpload.id.desc())).first()
    client.post(f"/upload/{again.id}/map", data=MESSY_MAPPING)
    db_session.refresh(again)
    assert again.check_report["existing"] == 5 and again.check_report["new"] == 0
    client.post(f"/upload/{again.id}/commit")
    db_session.refresh(again)
    assert again.check_report["committed"]["unchanged"] == 5
    assert again.check_report["committed"]["inserted"] == again.check_report["committed"]["updated"] == 0
    assert client.post(f"/upload/{again.id}/commit").status_code == 409


@NO_CSRF
def test_admin_publishes_at_once_and_geojson_rows_are_kept_despite_bad_ones(client, db_session):
    make_user(db_session, "admin@example.org", "admin")
    assert sign_in(client, "admin@example.org").status_code == 302
    features = [_point("Cabin Lane Hall", -3.0475, 52.8641), _point("Nowhere", None, None),
                _point("Ludlow Assembly Rooms", -2.7195, 52.3683)]
    _upload(client, Path("halls.geojson"), data=_geojson(features))
    upload = db_session.scalars(select(BulkUpload)).one()
    assert upload.mapping == {"name": "name", "latitude": upload_files.GEOMETRY_COLUMNS[1],
                              "longitude": upload_files.GEOMETRY_COLUMNS[0]}
    response = client.post(f"/upload/{upload.id}/map", data={
        "field-name": "name", "field-latitude": upload_files.GEOMETRY_COLUMNS[1],
        "field-longitude": upload_files.GEOMETRY_COLUMNS[0], "category": "community-venue", "publish": "yes"})
    assert response.status_code == 302
    db_session.refresh(upload)
    assert upload.check_report["ok"] == 2
    assert upload.check_report["problems"][0] == {"line": 2, "severity": "error", "field": "geometry",
                                                  "column": "geometry", "reason": "invalid geometry", "value": None}
    client.post(f"/upload/{upload.id}/commit")
    published = db_session.scalars(select(Asset).where(Asset.source == "upload")).all()
    assert sorted(a.name for a in published) == ["Cabin Lane Hall", "Ludlow Assembly Rooms"]
    assert {a.status for a in published} == {AssetStatus.published}


@NO_CSRF
def test_mapping_that_cannot_work_is_refused(client, db_session):
    make_user(db_session, "planner@example.org", "planner")
    assert sign_in(client, "planner@example.org").status_code == 302
    _upload(client, MESSY)
    upload = db_session.scalars(select(BulkUpload)).one()
    response = client.post(f"/upload/{upload.id}/map", data={"field-name": "Site Name", "field-latitude": "Lat"})
    assert response.status_code == 400
    assert "choose both the latitude and the longitude column" in response.get_data(as_text=True)
    response = client.post(f"/upload/{upload.id}/map", data={"field-name": "Site Name", "field-postcode": "Post Code"})
    assert "choose a type column, or the type every row has" in response.get_data(as_text=True)


@NO_CSRF
def test_a_50_mb_file_is_refused_with_a_clear_message(client, db_session):
    make_user(db_session, "planner@example.org", "planner")
    assert sign_in(client, "planner@example.org").status_code == 302
    big = b"name,postcode\r\n" + b"Hall,SY11 1HT\r\n" * (50 * 1024 * 1024 // 15)
    # The multipart body by hand: the test client would spool a body this large to a temporary file.
    body = (b'--cut\r\nContent-Disposition: form-data; name="file"; filename="huge.csv"\r\n'
            b"Content-Type: text/csv\r\n\r\n" + big + b"\r\n--cut--\r\n")
    response = client.post("/upload/", data=body, content_type="multipart/form-data; boundary=cut")
    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert "The file is too large (50 MB)" in page and "The largest file you can upload is 20 MB" in page
    assert db_session.scalars(select(BulkUpload)).first() is None


@NO_CSRF
def test_a_failed_commit_leaves_nothing_half_imported(client, db_session, monkeypatch):
    make_user(db_session, "admin@example.org", "admin")
    assert sign_in(client, "admin@example.org").status_code == 302
    _upload(client, DATA / "bom_semicolons.csv")
    upload = db_session.scalars(select(BulkUpload)).one()
    client.post(f"/upload/{upload.id}/map", data={"field-id": "id", "field-name": "name", "field-category": "category",
                                                  "field-postcode": "postcode", "field-easting": "easting",
                                                  "field-northing": "northing", "field-website": "website"})
    db_session.refresh(upload)
    assert upload.check_report["ok"] == 3

    real_write = importer.upsert_from_import

    def write_then_fail(*args, **kwargs):
        real_write(*args, **kwargs)  # the rows are written ...
        raise ImportFileError("the database went away")  # ... and then something fails

    monkeypatch.setattr(importer, "upsert_from_import", write_then_fail)
    client.post(f"/upload/{upload.id}/commit")
    db_session.refresh(upload)
    assert upload.state == "failed" and upload.error == "the database went away"
    assert db_session.scalars(select(Asset).where(Asset.source == "upload")).all() == []
    assert db_session.scalars(select(ImportRun).where(ImportRun.kind == "assets:upload")).all() == []
    monkeypatch.setattr(importer, "upsert_from_import", real_write)
    client.post(f"/upload/{upload.id}/commit")  # a failed upload can be tried again
    db_session.refresh(upload)
    assert upload.state == "committed"
    assert len(db_session.scalars(select(Asset).where(Asset.source == "upload")).all()) == 3


@NO_CSRF
def test_uploads_are_private_to_their_planner(client, db_session):
    make_user(db_session, "first@example.org", "planner")
    assert sign_in(client, "first@example.org").status_code == 302
    _upload(client, MESSY)
    upload = db_session.scalars(select(BulkUpload)).one()
    client.post("/logout")
    make_user(db_session, "second@example.org", "planner")
    assert sign_in(client, "second@example.org").status_code == 302
    assert client.get(f"/upload/{upload.id}/map").status_code == 404
