"""Asset importers on the real published files: libraries, NHSBSA pharmacies, epraccur GP
practices, Give Food and the Greater Manchester GeoJSON layers."""
from __future__ import annotations

import csv
import json

import pytest
from shapely.geometry import Point, shape
from sqlalchemy import select, text

from assetmap.config import PROJECT_DIR
from assetmap.db.models import Asset, AssetStatus
from assetmap.errors import BadInputError, ImportFileError
from assetmap.importers.asset_formats import EPRACCUR_NAMES, LIBRARY_CLOSED
from assetmap.importers.assets import FORMATS, import_assets
from assetmap.importers.postcodes import import_codepoint

LIBRARIES = "libraries_england_2023.csv"
PHARMACIES = "consol_pharmacy_list_202324q3.csv"
EPRACCUR = "epraccur_2023-12.csv"
GIVEFOOD = "foodbanks_givefood_shropshire_oldham.csv"
PRISON = "prison library: not open to the public"


@pytest.fixture
def assets_dir(data_dir):
    return data_dir / "assets"


def scalar(session, sql, **params):
    return session.execute(text(sql), params).scalar()


def revision_count(session):
    return scalar(session, "SELECT count(*) FROM revision")


def read_dicts(path, encoding="utf-8-sig"):
    with open(path, encoding=encoding, newline="") as f:
        return list(csv.DictReader(f))


def write_subset(src, dest, keep, encoding="utf-8-sig"):
    """Header and the rows ``keep(row)`` accepts, written as a CSV like the original."""
    with open(src, encoding=encoding, newline="") as f:
        reader = csv.DictReader(f)
        fields = reader.fieldnames
        rows = [row for row in reader if keep(row)]
    with open(dest, "w", encoding=encoding, newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    return rows


def shropshire_libraries(assets_dir, tmp_path):
    path = tmp_path / "libraries_shropshire.csv"
    rows = write_subset(assets_dir / LIBRARIES, path, lambda r: r["authority"] == "Shropshire")
    return path, rows


def is_open_public(row):
    """Not closed in any year, and a static library (not the prison's, nor a mobile whose
    postcode is only its depot)."""
    return not row["closed"].strip() and row["type"].lower().startswith("static")


# --- libraries ---------------------------------------------------------------------------------
def test_every_open_shropshire_library_is_placed_at_its_postcode(db_session, assets_dir, tmp_path, data_dir):
    path, rows = shropshire_libraries(assets_dir, tmp_path)
    # Cleobury Mortimer library is in DY14, which the shared test database does not load.
    import_codepoint(db_session, data_dir / "postcodes" / "codepo_gb.zip", areas=["DY"])

    report = import_assets(db_session, path, "libraries")

    expected = {r["name"] for r in rows if is_open_public(r)}
    assert len(expected) >= 20
    assert report.ok, report.summary()
    assert report.read == len(rows)
    assert report.inserted == len(expected)
    placed = db_session.execute(text(
        """SELECT a.name, a.postcode, ST_Equals(a.location, p.location), ST_X(a.location) = ST_X(p.location)
                  AND ST_Y(a.location) = ST_Y(p.location), a.status
           FROM asset a JOIN postcode p ON p.postcode = a.postcode WHERE a.source = 'libraries'"""
    )).all()
    assert {name for name, *_ in placed} == expected
    assert all(equal and same_xy for _, _, equal, same_xy, _ in placed)
    assert {status for *_, status in placed} == {"published"}
    by_name = {r["name"]: r for r in rows}
    assert all(postcode == by_name[name]["postcode"].strip() for name, postcode, *_ in placed)
    terms = db_session.execute(text(
        """SELECT DISTINCT t.slug FROM asset a JOIN asset_term x ON x.asset_id = a.id
           JOIN taxonomy_term t ON t.id = x.term_id WHERE a.source = 'libraries'"""
    )).scalars().all()
    assert terms == ["library"]


def test_closed_prison_and_mobile_libraries_are_skipped_with_reasons(db_session, assets_dir, tmp_path):
    path, rows = shropshire_libraries(assets_dir, tmp_path)
    report = import_assets(db_session, path, "libraries", only_postcode_areas=["SY", "TF", "WV"])

    closed = [r["name"] for r in rows if r["closed"].strip()]
    assert closed == ["Shawbury"]
    assert report.skipped_reasons[LIBRARY_CLOSED] == 1
    assert report.skipped_reasons[PRISON] == 1
    mobiles = sum(1 for r in rows if r["type"] == "Mobile Library")
    assert [k for k, n in report.skipped_reasons.items() if k.startswith("mobile library") and n == mobiles]
    names = set(db_session.scalars(select(Asset.name).where(Asset.source == "libraries")))
    assert not names & {"Shawbury", "Stoke Heath Prison", "Brooks Mobile"}
    # Opening sessions are kept as a note, the rest of the row in extra.
    ludlow = db_session.scalar(select(Asset).where(Asset.source == "libraries", Asset.name == "Ludlow"))
    assert ludlow.opening_hours is None
    assert ludlow.opening_hours_note.startswith("Mon: open morning and afternoon")
    assert ludlow.extra["uprn"] == "10012075796" and ludlow.extra["authority"] == "Shropshire"
    assert ludlow.email and "@" in ludlow.email


def test_unknown_and_malformed_postcodes_are_reported_by_line(db_session, assets_dir, tmp_path):
    rows = [r for r in read_dicts(assets_dir / LIBRARIES) if r["authority"] == "Shropshire" and is_open_public(r)][:4]
    rows[1]["postcode"] = "SY99 9ZZ"  # well formed, but no such postcode
    rows[2]["postcode"] = "SY1"  # not a postcode
    path = tmp_path / "libraries_bad_postcodes.csv"
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)

    report = import_assets(db_session, path, "libraries")

    assert [(p.row, p.reason, p.column, p.value) for p in report.problems] == [
        (4, "malformed postcode", "postcode", "SY1"),
        (3, "unknown postcode", "postcode", "SY99 9ZZ"),
    ]
    assert report.inserted == 2 and report.skipped == 2


def test_line_numbers_are_the_files_own_despite_multiline_cells(db_session, assets_dir, tmp_path):
    raw = (assets_dir / LIBRARIES).read_text(encoding="utf-8-sig")
    lines = raw.split("\n")
    target = next(i for i, line in enumerate(lines) if line.startswith("Shropshire,Bayston Hill,"))
    assert "SY3 0NA" in lines[target]
    # Cells spanning lines (East Sussex "email" notes) come before it, so rows ≠ lines.
    assert len(read_dicts(assets_dir / LIBRARIES)) < len(lines) - 2
    lines[target] = lines[target].replace("SY3 0NA", "SY99 9ZZ")
    path = tmp_path / LIBRARIES
    path.write_text("\ufeff" + "\n".join(lines), encoding="utf-8")

    report = import_assets(db_session, path, "libraries", only_postcode_areas=["SY"])

    assert [(p.row, p.reason, p.value) for p in report.problems] == [(target + 1, "unknown postcode", "SY99 9ZZ")]
    assert report.read == 3487
    outside = [k for k in report.skipped_reasons if k.startswith("outside the postcode areas")]
    assert len(outside) == 1 and report.skipped_reasons[outside[0]] > 2000


def test_second_import_changes_nothing(db_session, assets_dir, tmp_path):
    path, _ = shropshire_libraries(assets_dir, tmp_path)
    first = import_assets(db_session, path, "libraries", only_postcode_areas=["SY", "TF", "WV"])
    assert first.inserted > 0
    revisions, versions = revision_count(db_session), scalar(db_session, "SELECT sum(version) FROM asset")
    assert revisions == first.inserted

    again = import_assets(db_session, path, "libraries", only_postcode_areas=["SY", "TF", "WV"])

    assert (again.inserted, again.updated, again.unchanged) == (0, 0, first.inserted)
    assert again.read == first.read and again.skipped == first.skipped
    assert revision_count(db_session) == revisions
    assert scalar(db_session, "SELECT sum(version) FROM asset") == versions


def test_a_changed_asset_is_updated_with_a_revision_and_moderation_kept(db_session, assets_dir, tmp_path):
    path, _ = shropshire_libraries(assets_dir, tmp_path)
    import_assets(db_session, path, "libraries", only_postcode_areas=["SY", "TF", "WV"], publish=False)
    asset = db_session.scalar(select(Asset).where(Asset.source == "libraries", Asset.name == "Oswestry"))
    assert asset.status == AssetStatus.pending and asset.version == 1
    asset.name, asset.town, asset.status = "Oswestry (edited)", "Oswestry", AssetStatus.archived
    db_session.flush()
    version = asset.version

    report = import_assets(db_session, path, "libraries", only_postcode_areas=["SY", "TF", "WV"])

    assert (report.inserted, report.updated) == (0, 1)
    db_session.refresh(asset)
    assert asset.name == "Oswestry" and asset.version == version + 1
    assert asset.town == "Oswestry"  # a field the file does not give is left alone
    assert asset.status == AssetStatus.archived  # a moderator's decision is kept
    changes, action, status_after = db_session.execute(
        text("SELECT changes, action, status_after FROM revision WHERE asset_id = :a ORDER BY id DESC LIMIT 1"),
        {"a": asset.id},
    ).one()
    assert action == "import" and status_after == "archived"
    assert changes == {"name": ["Oswestry (edited)", "Oswestry"]}
    asset.description = "still editable through the ORM"
    db_session.flush()  # the version bumped in SQL matches the ORM's optimistic lock


def test_duplicate_source_ids_are_problems_for_the_later_row(db_session, assets_dir, tmp_path):
    rows = read_dicts(assets_dir / GIVEFOOD)
    copy = dict(rows[0], name="Strettons again")
    identical = dict(rows[1])
    path = tmp_path / "givefood_duplicates.csv"
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows([*rows, copy, identical])

    report = import_assets(db_session, path, "givefood")

    assert report.inserted == 9
    assert [(p.row, p.reason, p.column) for p in report.problems] == [(11, "duplicate source id", "slug")]
    assert report.skipped_reasons["repeated row (identical to an earlier one)"] == 1
    assert db_session.scalar(select(Asset.name).where(Asset.source_id == rows[0]["slug"])) == rows[0]["name"]


# --- NHSBSA pharmacies ---------------------------------------------------------------------------
def _hours(cell):
    return [] if cell == "CLOSED" else [p.split("-") for p in cell.split(",")]


def test_pharmacies_in_sy_keep_their_opening_hours_and_owner(db_session, assets_dir):
    rows = read_dicts(assets_dir / PHARMACIES)
    in_sy = [r for r in rows if r["POST_CODE"].startswith("SY")]

    report = import_assets(db_session, assets_dir / PHARMACIES, "nhsbsa-pharmacies", only_postcode_areas=["SY"])

    assert report.read == len(rows) == 10785
    assert report.inserted + len(report.problems) == len(in_sy)
    assert len(report.problems) <= 2 and report.inserted >= 30
    simple = [r for r in in_sy if all(
        r[f"PHARMACY_OPENING_HOURS_{d}"] == "CLOSED"
        or all(len(p) == 11 for p in r[f"PHARMACY_OPENING_HOURS_{d}"].split(","))
        for d in ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY"))]
    assert len(simple) > 25
    assets = {a.source_id: a for a in db_session.scalars(select(Asset).where(Asset.source == "nhsbsa-pharmacies"))}
    for row in simple:
        asset = assets[row["PHARMACY_ODS_CODE_(F-CODE)"]]
        assert asset.name == row["PHARMACY_TRADING_NAME"]
        assert asset.opening_hours["mon"] == _hours(row["PHARMACY_OPENING_HOURS_MONDAY"])
        assert asset.opening_hours["sat"] == _hours(row["PHARMACY_OPENING_HOURS_SATURDAY"])
        assert asset.opening_hours["sun"] == _hours(row["PHARMACY_OPENING_HOURS_SUNDAY"])
        assert asset.organisation.name == row["ORGANISATION_NAME"]
        assert asset.extra["contract_type"] == row["CONTRACT_TYPE"]
    assert scalar(db_session, "SELECT count(*) FROM organisation WHERE source = 'nhsbsa-pharmacies'") == len(
        {r["ORGANISATION_NAME"] for r in in_sy if r["PHARMACY_ODS_CODE_(F-CODE)"] in assets}
    )


# --- epraccur -----------------------------------------------------------------------------------
def test_epraccur_keeps_active_gp_practices_read_as_latin1(db_session, assets_dir, tmp_path):
    with open(assets_dir / EPRACCUR, encoding="latin-1", newline="") as f:
        rows = [dict(zip(EPRACCUR_NAMES, cells)) for cells in csv.reader(f)]
    assert len(rows) == 15971
    local = [r for r in rows if r["postcode"][:2] in ("SY", "TF")]
    active_gp = [r for r in local if r["status_code"] == "A" and r["prescribing_setting"] == "4"]
    # The December 2023 file is plain ASCII; give one practice an accented name, as ODS writes
    # them in Latin-1, to prove the file is read as such (UTF-8 would fail on byte 0xC9).
    active_gp[0]["name"] = "CL\u00c9E HILL SURGERY"
    path = tmp_path / "epraccur_sy_tf.csv"
    with open(path, "w", encoding="latin-1", newline="") as f:
        csv.writer(f, quoting=csv.QUOTE_ALL).writerows([[r[c] for c in EPRACCUR_NAMES] for r in local])
    assert b"\xc9" in path.read_bytes()

    report = import_assets(db_session, path, "epraccur")

    assert report.read == len(local)
    assert report.inserted == len(active_gp) - len(report.problems)
    assert report.skipped_reasons["closed practice (status C)"] == sum(r["status_code"] == "C" for r in local)
    assert sum(n for k, n in report.skipped_reasons.items() if k.startswith("not a GP practice")) == sum(
        r["status_code"] == "A" and r["prescribing_setting"] != "4" for r in local)
    codes = set(db_session.scalars(select(Asset.source_id).where(Asset.source == "epraccur")))
    assert codes <= {r["org_code"] for r in active_gp}
    first_name = db_session.scalar(select(Asset.name).where(Asset.source_id == active_gp[0]["org_code"]))
    assert first_name == "CL\u00c9E HILL SURGERY"


def test_the_whole_epraccur_file_is_read_without_a_header(db_session, assets_dir):
    report = import_assets(db_session, assets_dir / EPRACCUR, "epraccur", only_postcode_areas=["SY", "TF"])
    assert report.read == 15971
    assert report.inserted > 50
    assert scalar(db_session, "SELECT count(*) FROM asset WHERE source='epraccur' AND postcode NOT LIKE 'SY%' "
                              "AND postcode NOT LIKE 'TF%'") == 0


# --- Give Food --------------------------------------------------------------------------------------
def test_givefood_nine_food_banks_at_their_coordinates(db_session, assets_dir):
    report = import_assets(db_session, assets_dir / GIVEFOOD, "givefood")
    assert (report.read, report.inserted, report.skipped) == (9, 9, 0)
    for row in read_dicts(assets_dir / GIVEFOOD):
        lon, lat, url = db_session.execute(
            text("SELECT ST_X(location), ST_Y(location), url FROM asset WHERE source='givefood' AND source_id=:s"),
            {"s": row["slug"]},
        ).one()
        assert (lon, lat) == (float(row["longitude"]), float(row["latitude"]))
        assert url == row["url"]


def test_givefood_closed_rows_are_skipped(db_session, assets_dir, tmp_path):
    rows = read_dicts(assets_dir / GIVEFOOD)
    rows[0]["closed"] = "True"
    path = tmp_path / "givefood.csv"
    with open(path, "w", encoding="utf-8", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    report = import_assets(db_session, path, "givefood", publish=False)
    assert report.inserted == 8 and report.skipped_reasons["closed (Give Food)"] == 1 and report.ok
    assert set(db_session.scalars(select(Asset.status).where(Asset.source == "givefood"))) == {AssetStatus.pending}


# --- GeoJSON ----------------------------------------------------------------------------------------
def test_polygon_layer_gives_points_inside_the_polygons(db_session, assets_dir):
    path = assets_dir / "greater_manchester" / "gm_places_of_worship_RAW.geojson"
    features = json.loads(path.read_text())["features"]
    polygons = {f["properties"]["ID"]: shape(f["geometry"]) for f in features}

    report = import_assets(db_session, path, "geojson")

    assert report.read == len(features)
    assert report.inserted == len(polygons)  # three features are exact repeats
    assert report.ok
    rows = db_session.execute(text(
        """SELECT a.source_id, a.name, ST_X(a.location), ST_Y(a.location), t.slug FROM asset a
           JOIN asset_term x ON x.asset_id = a.id JOIN taxonomy_term t ON t.id = x.term_id
           WHERE a.source = 'geojson'"""
    )).all()
    assert len(rows) == len(polygons)
    for source_id, _name, lon, lat, slug in rows:
        assert slug == "place-of-worship"
        assert polygons[source_id.split("/", 1)[1]].contains(Point(lon, lat))
    names = {name for _, name, *_ in rows}
    assert "Unknown" not in names and "Place of worship" in names
    assert "St Thomas's Church" in names


def test_geojson_points_and_category_from_the_file_name(db_session, assets_dir):
    path = assets_dir / "greater_manchester" / "gm_pharmacies.geojson"
    report = import_assets(db_session, path, "geojson")
    assert report.inserted == 631 and report.ok
    a1 = db_session.scalar(select(Asset).where(Asset.source_id == "pharmacy/FM664"))
    assert a1.name == "A1 Pharmacy" and a1.postcode == "BL3 1SX"
    assert a1.opening_hours["mon"] == [["08:30", "13:00"], ["14:00", "17:30"]]
    assert a1.opening_hours["sun"] == []
    assert [t.slug for t in a1.terms] == ["pharmacy"]


def test_polling_station_ids_are_per_council(db_session, assets_dir):
    path = assets_dir / "greater_manchester" / "gm_polling_stations.geojson"
    report = import_assets(db_session, path, "geojson")
    assert report.inserted == 700 and report.ok  # "4529" is both a Bury and a Trafford venue
    assert db_session.scalar(select(Asset.name).where(Asset.source_id == "polling-station-venue/E08000002:4529")) \
        == "Whitefield CP School"


def _feature_collection(coords_list, crs=None):
    collection = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": f"Hall {i}"}, "geometry": {"type": "Point", "coordinates": c}}
        for i, c in enumerate(coords_list)
    ]}
    if crs:
        collection["crs"] = {"type": "name", "properties": {"name": crs}}
    return collection


SHREWSBURY_BNG = [349_300.0, 312_600.0]


def test_british_national_grid_without_crs_is_refused(db_session, tmp_path):
    path = tmp_path / "halls.geojson"
    path.write_text(json.dumps(_feature_collection([SHREWSBURY_BNG])))
    with pytest.raises(ImportFileError, match="not longitude/latitude.*British National Grid"):
        import_assets(db_session, path, "geojson", category="community-venue")
    assert scalar(db_session, "SELECT count(*) FROM asset") == 0


def test_declared_crs_is_transformed_or_refused(db_session, tmp_path):
    path = tmp_path / "halls_bng.geojson"
    path.write_text(json.dumps(_feature_collection([SHREWSBURY_BNG], crs="urn:ogc:def:crs:EPSG::27700")))
    report = import_assets(db_session, path, "geojson", category="community-venue")
    assert report.inserted == 1
    lon, lat = db_session.execute(text("SELECT ST_X(location), ST_Y(location) FROM asset")).one()
    assert lon == pytest.approx(-2.754, abs=0.01) and lat == pytest.approx(52.712, abs=0.01)

    path.write_text(json.dumps(_feature_collection([SHREWSBURY_BNG], crs="urn:ogc:def:crs:EPSG::999999")))
    with pytest.raises(ImportFileError, match="cannot be transformed to WGS84"):
        import_assets(db_session, path, "geojson", category="community-venue")


def test_invalid_geometries_are_reported_per_feature(db_session, tmp_path):
    collection = _feature_collection([[-2.75, 52.71], [-2.76, 52.72]])
    collection["features"].insert(1, {"type": "Feature", "properties": {"name": "No shape"}, "geometry": None})
    collection["features"].insert(2, {"type": "Feature", "properties": {"name": "Broken"},
                                      "geometry": {"type": "Polygon", "coordinates": [[[-2.7, 52.7], [-2.71]]]}})
    collection["features"].append({"type": "Feature", "properties": {"name": "A road"},
                                   "geometry": {"type": "LineString", "coordinates": [[-2.7, 52.7], [-2.8, 52.8]]}})
    path = tmp_path / "halls.geojson"
    path.write_text(json.dumps(collection))

    report = import_assets(db_session, path, "geojson", category="community-venue")

    assert report.inserted == 2
    assert [(p.row, p.column) for p in report.problems] == [(2, "geometry"), (3, "geometry"), (5, "geometry")]
    assert report.problems[0].reason == "no geometry"
    assert report.problems[1].reason.startswith("invalid geometry")


def test_category_is_required_when_the_file_name_does_not_tell(db_session, tmp_path):
    path = tmp_path / "halls.geojson"
    path.write_text(json.dumps(_feature_collection([[-2.75, 52.71]])))
    with pytest.raises(BadInputError, match="--category"):
        import_assets(db_session, path, "geojson")
    with pytest.raises(BadInputError, match="unknown category"):
        import_assets(db_session, path, "geojson", category="castle")


def test_formats_name_their_datasets():
    datasets = json.loads((PROJECT_DIR / "data" / "datasets.json").read_text())["datasets"]
    assert set(FORMATS) == {"libraries", "nhsbsa-pharmacies", "epraccur", "givefood", "geojson", "oruk"}
    assert all(spec.dataset_key in datasets and spec.description for spec in FORMATS.values())


def test_a_new_category_for_an_imported_asset_is_a_change(db_session, assets_dir):
    path = assets_dir / "greater_manchester" / "gm_jobcentreplus.geojson"
    import_assets(db_session, path, "geojson")
    report = import_assets(db_session, path, "geojson", category="advice")
    # The source id is scoped by category, so these are new assets; the jobcentres stay as they were.
    assert report.inserted == 26
    first = db_session.scalar(select(Asset).where(Asset.source_id.like("jobcentre/%")).order_by(Asset.id).limit(1))
    db_session.execute(text("DELETE FROM asset_term WHERE asset_id = :a"), {"a": first.id})
    again = import_assets(db_session, path, "geojson")
    assert (again.inserted, again.updated, again.unchanged) == (0, 1, 25)
    changes = db_session.execute(
        text("SELECT changes FROM revision WHERE asset_id = :a ORDER BY id DESC LIMIT 1"), {"a": first.id}
    ).scalar()
    assert changes == {"asset_types": [[], ["jobcentre"]]}
