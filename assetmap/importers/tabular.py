"""Planners' own lists: CSV, Excel (.xlsx) and GeoJSON read into rows of text cells, checked row by
row against a column mapping, and committed as assets in one transaction.

Reading is forgiving and says what it did: a UTF-8 BOM, Windows line endings, Windows-1252 or
Latin-1 text, semicolon or tab separators, blank lines, a stray quote mark, extra columns and short
rows are all read; a file that cannot be read at all (not a spreadsheet, a GeoJSON whose
coordinates are not longitude/latitude and says no other system) is refused whole with the reason.
Checking (:func:`check_upload`) reports each row's errors and warnings before anything is
written; committing (:func:`commit_upload`) writes the valid rows only, all or nothing.
"""
from __future__ import annotations

import csv
import io
import json
import math
import re
import zipfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, time, timezone
from pathlib import Path
from typing import Callable

from sqlalchemy.orm import Session

from assetmap.db.assets import ImportRow, postcode_points, upsert_from_import
from assetmap.db.models import BulkUpload, ImportRun
from assetmap.db.seed import record_import
from assetmap.db.uploads import asset_types, existing_source_ids
from assetmap.domain import tabular
from assetmap.errors import BadInputError, ImportFileError
from assetmap.importers.report import ImportReport

SOURCE = "upload"
DATASET_KEY = "bulk-upload"
FORMATS = {".csv": "csv", ".txt": "csv", ".tsv": "csv", ".xlsx": "xlsx", ".geojson": "geojson", ".json": "geojson"}
MAX_COLUMNS = 200
MAX_ROWS = 250_000
_STRAY_QUOTE_SPAN = 20  # a quoted cell running on for more lines than this is a stray quote mark
GEOMETRY_COLUMNS = ("longitude (from geometry)", "latitude (from geometry)")


@dataclass
class ParsedFile:
    """A file as a header and rows of text cells, with what reading it had to say."""

    file_format: str
    header: list[str]
    rows: list[list]  # [line, [cell, ...], why the row cannot be read whole (or None)]
    encoding: str | None = None
    notes: list[str] = field(default_factory=list)


# --- reading ---------------------------------------------------------------------------------------

def read_upload(file_name: str, data: bytes) -> ParsedFile:
    """Read an uploaded file by its extension (``.csv``, ``.xlsx``, ``.geojson``/``.json``).

    Raises
    ------
    ImportFileError
        When the file cannot be read at all; the message says why and what to do.
    """
    suffix = Path(file_name).suffix.lower()
    kind = FORMATS.get(suffix)
    if kind is None:
        raise ImportFileError(f"{file_name}: upload a .csv, .xlsx or .geojson file (not {suffix or 'no extension'})")
    if not data.strip():
        raise ImportFileError(f"{file_name} is empty")
    parsed = {"csv": read_csv, "xlsx": read_xlsx, "geojson": read_geojson}[kind](data)
    if not parsed.rows:
        raise ImportFileError(f"{file_name} has a header but no rows")
    if len(parsed.rows) > MAX_ROWS:
        raise ImportFileError(f"{file_name} has {len(parsed.rows):,} rows; split it into files of at most {MAX_ROWS:,}")
    return parsed


def _decode(data: bytes) -> tuple[str, str, list[str]]:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16"), "utf-16", ["read as UTF-16 text"]
    if b"\x00" in data[:4096]:
        raise ImportFileError("this is not a text file; save it as CSV (comma-separated values)")
    if data.startswith(b"\xef\xbb\xbf"):
        return data.decode("utf-8-sig", errors="strict"), "utf-8-sig", []
    try:
        return data.decode("utf-8"), "utf-8", []
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252"), "windows-1252", ["not UTF-8: read as Windows-1252 (Western European) text"]
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1", ["not UTF-8: read as Latin-1 text"]


def _delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (",", ";", "\t", "|")}
    best = max(counts, key=lambda d: (counts[d], d == ","))
    return best if counts[best] else ","


class _Feed:
    """Physical lines from a position on, for a csv.reader that reads one record."""

    def __init__(self, lines: list[str], start: int):
        self.lines, self.i = lines, start

    def __iter__(self):
        return self

    def __next__(self) -> str:
        if self.i >= len(self.lines):
            raise StopIteration
        self.i += 1
        return self.lines[self.i - 1]


def _header(cells: list[str]) -> list[str]:
    names, seen = [], Counter()
    for number, cell in enumerate(cells, start=1):
        name = cell.strip() or f"column {number}"
        seen[name] += 1
        names.append(name if seen[name] == 1 else f"{name} ({seen[name]})")
    return names


def read_csv(data: bytes) -> ParsedFile:
    """Rows of a CSV file. Line numbers are physical lines (the header is line 1)."""
    text_, encoding, notes = _decode(data)
    lines = re.split(r"(?<=\r\n)|(?<=\n)|(?<=\r)(?!\n)", text_)
    lines = [line for line in lines if line != ""]
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        raise ImportFileError("the file is empty")
    delimiter = _delimiter(lines[first])
    if delimiter != ",":
        notes.append({";": "values separated by semicolons", "\t": "values separated by tabs",
                      "|": "values separated by | marks"}[delimiter])
    header_cells = next(csv.reader([lines[first].rstrip("\r\n")], delimiter=delimiter))
    header = _header(header_cells)
    if len(header) > MAX_COLUMNS:
        raise ImportFileError(f"the header has {len(header)} columns; at most {MAX_COLUMNS} can be read")
    width = len(header)
    rows: list[list] = []
    problems: dict[int, str] = {}
    blank = stray = 0
    pos = first + 1
    while pos < len(lines):
        line_number = pos + 1
        if not lines[pos].strip():
            blank += 1
            pos += 1
            continue
        reader = csv.reader(_Feed(lines, pos), delimiter=delimiter, strict=False)
        try:
            cells = next(reader)
            used = reader.line_num
        except csv.Error:
            cells, used = None, 1
        if cells is None or (used > 1 and (len(cells) != width or used > _STRAY_QUOTE_SPAN)):
            # An opening quote that never closes would swallow the rows after it: read its line alone.
            cells = next(csv.reader([lines[pos].rstrip("\r\n")], delimiter=delimiter, quoting=csv.QUOTE_NONE))
            cells = [c.strip('"') for c in cells]
            stray += 1
            used = 1
        if len(cells) > width:
            if any(c.strip() for c in cells[width:]):
                problems[line_number] = (f"{len(cells)} values but the header has {width} columns "
                                         "(a value with a comma in it needs quotes)")
            cells = cells[:width]
        cells = [c.strip() for c in cells] + [""] * (width - len(cells))
        if any(cells):
            rows.append([line_number, cells, problems.get(line_number)])
        else:
            blank += 1
        pos += used
    if blank:
        notes.append(f"{blank} blank line(s) skipped")
    if stray:
        notes.append(f"{stray} line(s) with a quote mark that is never closed were read as they are")
    return ParsedFile("csv", header, rows, encoding, notes)


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        if not math.isfinite(value):
            return ""
        return str(int(value)) if value.is_integer() else f"{value:.10g}"
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() else value.isoformat(timespec="minutes")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, time):
        return value.strftime("%H:%M")
    return str(value).strip()


def read_xlsx(data: bytes) -> ParsedFile:
    """Rows of the first sheet of an Excel workbook that holds any data."""
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError):
        raise ImportFileError("this is not an Excel .xlsx workbook (an older .xls? save it as .xlsx or CSV)") from None
    notes: list[str] = []
    try:
        sheets = [ws for ws in book.worksheets if ws.sheet_state == "visible"]
        for ws in sheets:
            raw = [[_cell(v) for v in row] for row in ws.iter_rows(values_only=True)]
            numbered = [(i, row) for i, row in enumerate(raw, start=1) if any(row)]
            if numbered:
                break
        else:
            raise ImportFileError("the workbook has no data")
        if len(sheets) > 1:
            notes.append(f"only the sheet {ws.title!r} was read (the first with data)")
    finally:
        book.close()
    header_line, header_cells = numbered[0]
    while header_cells and not header_cells[-1]:
        header_cells = header_cells[:-1]
    header = _header(header_cells)
    if len(header) > MAX_COLUMNS:
        raise ImportFileError(f"the header has {len(header)} columns; at most {MAX_COLUMNS} can be read")
    width = len(header)
    rows, problems = [], {}
    for line, cells in numbered[1:]:
        if len(cells) > width and any(cells[width:]):
            problems[line] = f"values beyond the {width} columns of the header"
        cells = (cells + [""] * width)[:width]
        if any(cells):
            rows.append([line, cells, problems.get(line)])
    return ParsedFile("xlsx", header, rows, None, notes)


_WGS84_NAMES = {
    "urn:ogc:def:crs:ogc:1.3:crs84", "urn:ogc:def:crs:ogc::crs84", "crs84", "ogc:crs84", "epsg:4326",
    "urn:ogc:def:crs:epsg::4326", "urn:ogc:def:crs:epsg:6.6:4326", "http://www.opengis.net/def/crs/ogc/1.3/crs84",
    "http://www.opengis.net/def/crs/epsg/0/4326",
}


def _transformer(collection: dict):
    """None for longitude/latitude (GeoJSON's own system), else a transformer from the declared one."""
    from pyproj import CRS, Transformer
    from pyproj.exceptions import CRSError

    crs = collection.get("crs")
    if crs is None:
        return None, None
    name = (crs.get("properties") or {}).get("name") if isinstance(crs, dict) else None
    if not name:
        raise ImportFileError("its crs member names no coordinate reference system; remove it, or name one "
                              "(e.g. EPSG:27700)")
    if str(name).strip().lower() in _WGS84_NAMES:
        return None, None
    try:
        source = CRS.from_user_input(name)
    except CRSError:
        raise ImportFileError(f"it declares the coordinate reference system {name!r}, which is not known here; "
                              "re-export it as WGS84 (EPSG:4326)") from None
    if source.equals(CRS.from_epsg(4326), ignore_axis_order=True):
        return None, None
    return Transformer.from_crs(source, "EPSG:4326", always_xy=True), name


def read_geojson(data: bytes) -> ParsedFile:
    """Features as rows: their properties as columns, and the point (a polygon's inner point) as
    two more columns. A declared coordinate system is converted from; an undeclared one that is not
    longitude/latitude refuses the file."""
    import shapely
    from shapely.geometry import shape

    text_, encoding, notes = _decode(data)
    try:
        collection = json.loads(text_)
    except json.JSONDecodeError as exc:
        raise ImportFileError(f"this is not valid JSON (line {exc.lineno}): {exc.msg}") from None
    if isinstance(collection, dict) and collection.get("type") == "Feature":
        collection = {"type": "FeatureCollection", "features": [collection]}
    if not isinstance(collection, dict) or collection.get("type") != "FeatureCollection" or not isinstance(
            collection.get("features"), list):
        raise ImportFileError("this is not a GeoJSON FeatureCollection")
    transformer, crs_name = _transformer(collection)
    if transformer is not None:
        notes.append(f"coordinates converted from {crs_name} to longitude/latitude")
    keys: dict[str, None] = {}
    for feature in collection["features"]:
        if isinstance(feature, dict) and isinstance(feature.get("properties"), dict):
            keys.update(dict.fromkeys(str(k) for k in feature["properties"]))
    header = _header(list(keys))[:MAX_COLUMNS] + list(GEOMETRY_COLUMNS)
    names = list(keys)[:MAX_COLUMNS]
    rows, problems = [], {}
    polygons = 0
    out_of_range = []
    for number, feature in enumerate(collection["features"], start=1):
        props = feature.get("properties") if isinstance(feature, dict) else None
        props = props if isinstance(props, dict) else {}
        cells = [_property(props.get(k)) for k in names]
        point = None
        geometry = feature.get("geometry") if isinstance(feature, dict) else None
        if not geometry:
            problems[number] = "no geometry"
        else:
            try:
                geom = shape(geometry)
                if geom.is_empty:
                    raise ValueError("empty")
                if geom.geom_type in ("Polygon", "MultiPolygon"):
                    polygons += 1
                    geom = (geom if geom.is_valid else shapely.make_valid(geom)).point_on_surface()
                elif geom.geom_type == "MultiPoint" and len(geom.geoms) == 1:
                    geom = geom.geoms[0]
                if geom.geom_type != "Point":
                    problems[number] = f"a {geometry.get('type')} is not a point or an area"
                elif not (math.isfinite(geom.x) and math.isfinite(geom.y)):
                    raise ValueError("not finite")
                else:
                    point = (geom.x, geom.y)
            except (ValueError, TypeError, AttributeError, KeyError, IndexError, shapely.errors.GEOSException):
                problems[number] = "invalid geometry"
        if point is not None:
            if transformer is not None:
                point = transformer.transform(*point)
            elif not (-180 <= point[0] <= 180 and -90 <= point[1] <= 90):
                out_of_range.append(point)
        cells += ["", ""] if point is None else [f"{point[0]:.7f}", f"{point[1]:.7f}"]
        rows.append([number, cells, problems.get(number)])
    if out_of_range:
        x, y = out_of_range[0]
        grid = 0 <= x <= 700_000 and 0 <= y <= 1_300_000
        raise ImportFileError(
            f"coordinates such as ({x:.0f}, {y:.0f}) are not longitude/latitude, and the file names no other "
            "coordinate reference system."
            + (" They look like British National Grid metres (EPSG:27700)." if grid else "")
            + " Re-export it as WGS84 (EPSG:4326), or add a crs member naming its system."
        )
    if polygons:
        notes.append(f"{polygons} area(s) placed at a point inside them")
    return ParsedFile("geojson", header, rows, encoding, notes)


def _property(value) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    return _cell(value)


# --- checking ---------------------------------------------------------------------------------------

def validate_mapping(header: list[str], mapping: dict[str, str], options: dict, categories: dict[str, str]) -> None:
    """Refuse a mapping that names columns the file does not have, or that cannot place or name rows."""
    unknown = sorted(set(mapping) - set(tabular.FIELD_KEYS))
    if unknown:
        raise BadInputError(f"unknown fields {', '.join(unknown)}")
    missing = sorted(c for c in mapping.values() if c not in header)
    if missing:
        raise BadInputError(f"the file has no column {', '.join(missing)}")
    if len(set(mapping.values())) < len(mapping):
        raise BadInputError("each column can be used for one field only")
    if "name" not in mapping:
        raise BadInputError("choose the column that holds each place's name")
    pairs = [("latitude", "longitude"), ("easting", "northing")]
    for a, b in pairs:
        if (a in mapping) != (b in mapping):
            raise BadInputError(f"choose both the {a} and the {b} column, or neither")
    if not any(k in mapping for k in ("postcode", "latitude", "easting")):
        raise BadInputError("choose a postcode column, or latitude and longitude, or easting and northing")
    default = options.get("category")
    if default and default not in categories.values():
        raise BadInputError(f"unknown type {default!r}")
    if "category" not in mapping and not default:
        raise BadInputError("choose a type column, or the type every row has")


@dataclass
class CheckResult:
    rows: list[tabular.CheckedRow]
    report: dict


def _source_id(upload: BulkUpload, row: tabular.CheckedRow) -> str:
    return f"{upload.source_key}/{row.source_id}"[:200]


def check_upload(session: Session, upload: BulkUpload, progress: Callable[[int, int], None] | None = None) -> CheckResult:
    """Check every row of ``upload`` against its mapping: errors stop a row, warnings do not.

    Postcodes of rows without coordinates are looked up; ids repeated in the file are errors after
    their first row; rows whose id was uploaded before are counted as updates.
    """
    categories, _ = asset_types(session)
    mapping, options = upload.mapping or {}, upload.options or {}
    validate_mapping(upload.header, mapping, options, categories)
    index = {key: upload.header.index(column) for key, column in mapping.items()}
    checked: list[tabular.CheckedRow] = []
    total = len(upload.rows)
    unreadable_field = "geometry" if upload.file_format == "geojson" else None
    for n, stored in enumerate(upload.rows, start=1):
        line, cells = stored[0], stored[1]
        row = tabular.check_row(line, {k: cells[i] for k, i in index.items()}, categories, options.get("category"))
        if len(stored) > 2 and stored[2]:  # the reader could not read the row whole
            row.errors.insert(0, (unreadable_field, stored[2], None))
        checked.append(row)
        if progress and n % 2000 == 0:
            progress(n, total)

    # Repeated ids: the first row stands, later ones are errors.
    first_line: dict[str, int] = {}
    for row in checked:
        if not row.ok:
            continue
        seen = first_line.get(row.source_id)
        if seen is not None:
            what = "the same id" if "id" in mapping else "the same name and place"
            row.errors.append(("id" if "id" in mapping else "name", f"{what} as line {seen}", row.source_id[:60]))
        else:
            first_line[row.source_id] = row.line

    found = postcode_points(session, {row.postcode for row in checked if row.ok and row.point is None and row.postcode})
    for row in checked:
        if row.ok and row.point is None and row.postcode not in found:
            row.errors.append(("postcode", "postcode not known here (new, or outside the areas loaded)", row.postcode))

    existing = existing_source_ids(session, SOURCE, [_source_id(upload, r) for r in checked if r.ok])
    if progress:
        progress(total, total)
    return CheckResult(checked, _check_report(upload, checked, existing, mapping))


def _check_report(upload: BulkUpload, checked: list[tabular.CheckedRow], existing: set[str], mapping: dict) -> dict:
    columns = {**mapping, "geometry": "geometry"}
    problems, warning_kinds = [], Counter()
    for row in checked:
        for severity, items in (("error", row.errors), ("warning", row.warnings)):
            for field_key, reason, value in items:
                problems.append({"line": row.line, "severity": severity, "field": field_key,
                                 "column": columns.get(field_key) if field_key else None, "reason": reason,
                                 "value": value})
                if severity == "warning":
                    warning_kinds[reason] += 1
    ok = [r for r in checked if r.ok]
    notes = list(upload.file_notes or [])
    for reason, n in warning_kinds.most_common():
        if reason in (tabular.SWAPPED_LATLON, tabular.GRID_IN_LATLON, tabular.LATLON_IN_GRID, tabular.SWAPPED_GRID):
            notes.append(f"{n} row(s): {reason}")
    return {
        "rows": len(checked),
        "ok": len(ok),
        "error_rows": sum(1 for r in checked if r.errors),
        "warning_rows": sum(1 for r in checked if r.warnings),
        "new": sum(1 for r in ok if _source_id(upload, r) not in existing),
        "existing": sum(1 for r in ok if _source_id(upload, r) in existing),
        "problems": problems[:500],
        "problem_count": len(problems),
        "notes": notes,
        "preview": [
            {"line": r.line, "name": r.values["name"], "category": r.category, "postcode": r.values["postcode"],
             "lon": None if r.point is None else r.point[0], "lat": None if r.point is None else r.point[1],
             "opening_hours": tabular.hours_text(r.values["opening_hours"])}
            for r in ok[:10]
        ],
    }


# --- committing ---------------------------------------------------------------------------------------

# The asset fields a mapped column writes (others are left as they are on re-upload).
_FIELD_COLUMNS = {
    "description": ("description",), "organisation": ("organisation_id",), "address": ("address",),
    "town": ("town",), "postcode": ("postcode",), "phone": ("phone",), "email": ("email",), "website": ("url",),
    "opening_hours": ("opening_hours", "opening_hours_note"), "opening_hours_note": ("opening_hours_note",),
    "cost": ("cost",),
}


def _written_fields(mapping: dict) -> list[str]:
    fields = ["name", "location"]
    for key in mapping:
        for column in _FIELD_COLUMNS.get(key, ()):
            if column not in fields:
                fields.append(column)
    return fields


def commit_upload(session: Session, upload: BulkUpload, user_id: int | None, publish: bool,
                  progress: Callable[[int, int], None] | None = None) -> tuple[ImportReport, ImportRun]:
    """Write the valid rows of ``upload`` as assets, in the caller's transaction (all or none).

    New assets are published (``publish``) or wait for moderation; assets uploaded before keep
    their status when published straight away, and go back to moderation when changed otherwise.
    Each inserted or changed asset gets a revision (:func:`assetmap.db.assets.upsert_from_import`);
    the report is kept in an ``import_run``, returned with it, and carries the change set
    (``report.changes``) for the gap refresh after the commit. ``upload`` itself is not changed
    (a progress callback may be writing to its row from another connection).
    """
    total = max(len(upload.rows), 1)

    def step(fraction: float) -> None:
        if progress:
            progress(min(total, int(total * fraction)), total)

    result = check_upload(session, upload, progress=lambda done, n: step(0.5 * done / n))
    report = ImportReport(source=f"upload ({upload.file_name})")
    report.read = len(result.rows)
    mapping = upload.mapping or {}
    for row in result.rows:
        if not row.ok:
            field_key, reason, value = row.errors[0]
            report.problem(row.line, reason, mapping.get(field_key or "", field_key), value)
    records = [
        ImportRow(
            line=row.line, source_id=_source_id(upload, row), name=row.values["name"], category=row.category,
            lon=None if row.point is None else row.point[0], lat=None if row.point is None else row.point[1],
            postcode=row.values.get("postcode"), postcode_raw=row.values.get("postcode"),
            postcode_column=mapping.get("postcode"), description=row.values.get("description"),
            org_name=row.values.get("organisation"), address=row.values.get("address"), town=row.values.get("town"),
            phone=row.values.get("phone"), email=row.values.get("email"), url=row.values.get("url"),
            opening_hours=None if row.values.get("opening_hours") is None else json.dumps(row.values["opening_hours"]),
            opening_hours_note=row.values.get("opening_hours_note"), cost=row.values.get("cost"),
            extra=json.dumps({"upload": {"file": upload.file_name, "line": row.line}}),
        )
        for row in result.rows if row.ok
    ]
    step(0.6)
    outcome = upsert_from_import(
        session, records, source=SOURCE, fields=_written_fields(mapping), publish=publish,
        reason=f"upload: {upload.file_name}"[:500], user_id=user_id, organisations_ignore_case=True,
        replace_categories=True, pending_when_changed=not publish,
    )
    for line, column, value in outcome.unlocated:  # checked already; a postcode removed since
        report.problem(line, "postcode not known here (new, or outside the areas loaded)", column, value)
    report.inserted, report.updated, report.unchanged = outcome.inserted, outcome.updated, outcome.unchanged
    report.changes = outcome.changes
    step(0.95)

    run = ImportRun(kind="assets:upload", dataset_key=DATASET_KEY, file_name=upload.file_name[:300],
                    user_id=user_id, report=report.to_dict(), finished_at=datetime.now(timezone.utc))
    session.add(run)
    record_import(session, DATASET_KEY, report, upload.file_name)
    session.flush()
    step(1.0)
    return report, run
