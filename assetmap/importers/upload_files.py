"""Planners' own lists read from the file they upload: CSV, Excel (.xlsx) and GeoJSON into a header
and rows of text cells.

Reading is forgiving and says what it did: a UTF-8 BOM, Windows line endings, Windows-1252 or
Latin-1 text, semicolon or tab separators, blank lines, a stray quote mark, extra columns and short
rows are all read; a file that cannot be read at all (not a spreadsheet, a GeoJSON whose
coordinates are not longitude/latitude and says no other system) is refused whole with the reason.
Checking and committing the rows is :mod:`assetmap.importers.tabular`.

Hostile files are refused before they cost much: a workbook is checked as a zip (how far it
inflates, in all and against its compressed size) before any XML is parsed, its XML may declare no
DOCTYPE (so no entity expansion or external entities, whether or not defusedxml is there to catch
them too), its rows are streamed with the row, column and cell-size caps applied as they come, and
text holding NUL characters, JSON nested too deep or numbers too long to read are each refused with
a plain reason instead of failing later.
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
from datetime import date, datetime, time
from pathlib import Path

from assetmap.domain.geojson_crs import check_crs, grid_to_lonlat, looks_like_grid
from assetmap.errors import ImportFileError

__all__ = [
    "FORMATS",
    "GEOMETRY_COLUMNS",
    "MAX_CELL_CHARS",
    "MAX_COLUMNS",
    "MAX_ROWS",
    "ParsedFile",
    "decode_text",
    "read_csv",
    "read_geojson",
    "read_upload",
    "read_xlsx",
]

FORMATS = {".csv": "csv", ".txt": "csv", ".tsv": "csv", ".xlsx": "xlsx", ".geojson": "geojson", ".json": "geojson"}
MAX_COLUMNS = 200
MAX_ROWS = 250_000
MAX_CELL_CHARS = 32_767  # Excel's own limit for one cell
# A workbook is a zip of XML: refuse one that inflates past these before parsing any of it. Ordinary
# workbooks inflate 5-20 times; the ratio is the one Apache POI refuses at.
MAX_XLSX_INFLATED_BYTES = 256 * 1024 * 1024
MAX_XLSX_RATIO = 100
_RATIO_FLOOR_BYTES = 1024 * 1024  # small members may inflate as they like
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
    _refuse_nul(parsed)
    if not parsed.rows:
        raise ImportFileError(f"{file_name} has a header but no rows")
    if len(parsed.rows) > MAX_ROWS:
        raise ImportFileError(f"{file_name} has {len(parsed.rows):,} rows; split it into files of at most {MAX_ROWS:,}")
    return parsed


def _refuse_nul(parsed: ParsedFile) -> None:
    """PostgreSQL stores no NUL character in text: a file holding one is refused whole, saying where."""
    if any("\x00" in name for name in parsed.header):
        raise ImportFileError("the header holds a NUL character (\\0), which cannot be stored: remove it")
    for line, cells, _problem in parsed.rows:
        if any("\x00" in cell for cell in cells):
            where = "feature" if parsed.file_format == "geojson" else "line"
            raise ImportFileError(f"{where} {line} holds a NUL character (\\0), which cannot be stored: remove it")


def decode_text(data: bytes) -> tuple[str, str, list[str]]:
    """Text of an uploaded file, its encoding and a note on how it was read: UTF-16 with its byte
    order mark, UTF-8 (with or without a BOM), else Windows-1252 or Latin-1.

    Raises
    ------
    ImportFileError
        For UTF-16 that is cut short, and for bytes holding NUL (a binary file, or UTF-16 without a
        byte order mark), which no text column in PostgreSQL can store.
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16"), "utf-16", ["read as UTF-16 text"]
        except UnicodeDecodeError:
            raise ImportFileError("the file starts as UTF-16 text but is not valid UTF-16 (cut short?); "
                                  "save it again as CSV UTF-8") from None
    if b"\x00" in data:
        raise ImportFileError("the file holds NUL bytes, so it is not a text file; save it as CSV (comma-separated "
                              "values) UTF-8")
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
    text_, encoding, notes = decode_text(data)
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


_NOT_XLSX = "this is not an Excel .xlsx workbook (an older .xls? save it as .xlsx or CSV)"


def _check_workbook_zip(data: bytes) -> None:
    """Refuse a workbook whose zip would inflate too far, or whose XML declares a DOCTYPE (the only
    way to entity expansion and external entities), before openpyxl parses any of it."""
    try:
        book = zipfile.ZipFile(io.BytesIO(data))
        members = book.infolist()
    except (zipfile.BadZipFile, OSError, ValueError):
        raise ImportFileError(_NOT_XLSX) from None
    total = sum(m.file_size for m in members)
    if total > MAX_XLSX_INFLATED_BYTES:
        raise ImportFileError(f"the workbook unpacks to {total / 1024 / 1024:,.0f} MB, more than the "
                              f"{MAX_XLSX_INFLATED_BYTES // 1024 // 1024} MB that can be read: "
                              "split it into smaller files")
    for member in members:
        if member.file_size > _RATIO_FLOOR_BYTES and member.file_size > MAX_XLSX_RATIO * max(member.compress_size, 1):
            ratio = member.file_size // max(member.compress_size, 1)
            raise ImportFileError(f"the workbook's part {member.filename} unpacks {ratio:,} "
                                  "times larger than it is stored, which only a crafted file does: save it again from "
                                  "your spreadsheet program, or as CSV")
    with book:
        for member in members:
            if not member.filename.endswith((".xml", ".rels")):
                continue
            try:
                with book.open(member) as part:
                    prolog = part.read(4096)
            except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError, RuntimeError):
                raise ImportFileError(_NOT_XLSX) from None
            if b"<!DOCTYPE" in prolog.upper() or b"<!ENTITY" in prolog.upper() or b"<\x00!\x00" in prolog:
                raise ImportFileError(f"the workbook's part {member.filename} declares a DOCTYPE or entities, which "
                                      "Excel never writes: save it again from your spreadsheet program, or as CSV")


def read_xlsx(data: bytes) -> ParsedFile:
    """Rows of the first sheet of an Excel workbook that holds any data.

    Rows are streamed and the caps apply as they come: more than :data:`MAX_ROWS` rows, a header
    wider than :data:`MAX_COLUMNS` or a cell longer than :data:`MAX_CELL_CHARS` stops reading there.
    """
    from openpyxl import load_workbook
    from openpyxl.utils.exceptions import InvalidFileException

    _check_workbook_zip(data)
    xml_errors = _xml_errors()
    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError, TypeError) as exc:
        # openpyxl wraps what its XML parser refused in a ValueError of its own
        if isinstance(exc, xml_errors) or isinstance(exc.__cause__ or exc.__context__, xml_errors):
            raise ImportFileError("the workbook's XML cannot be read safely: save it again from your spreadsheet "
                                  "program, or as CSV") from None
        raise ImportFileError(_NOT_XLSX) from None
    notes: list[str] = []
    try:
        sheets = [ws for ws in book.worksheets if ws.sheet_state == "visible"]
        for ws in sheets:
            numbered = _stream_sheet(ws, xml_errors)
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
    width = len(header)
    rows, problems = [], {}
    for line, cells in numbered[1:]:
        if len(cells) > width and any(cells[width:]):
            problems[line] = f"values beyond the {width} columns of the header"
        cells = (cells + [""] * width)[:width]
        if any(cells):
            rows.append([line, cells, problems.get(line)])
    return ParsedFile("xlsx", header, rows, None, notes)


def _xml_errors() -> tuple[type[Exception], ...]:
    from xml.etree.ElementTree import ParseError

    try:
        from defusedxml import DefusedXmlException
    except ImportError:  # the DOCTYPE check in _check_workbook_zip still stands
        return (ParseError,)
    return (ParseError, DefusedXmlException)


def _stream_sheet(ws, xml_errors: tuple[type[Exception], ...]) -> list[tuple[int, list[str]]]:
    """The sheet's non-blank rows as (line, cells), the caps applied row by row as the XML is read."""
    numbered: list[tuple[int, list[str]]] = []
    try:
        # Rows as wide as their last cell, not padded to the width the sheet declares; one column past
        # the cap is kept, so a header wider than the cap is seen and refused.
        ws.reset_dimensions()
        for line, values in enumerate(ws.iter_rows(values_only=True), start=1):
            values = values[:MAX_COLUMNS + 1]
            if line > 2 * MAX_ROWS + 1:
                raise ImportFileError(f"the sheet runs past line {2 * MAX_ROWS + 1:,}; split it into files of at most "
                                      f"{MAX_ROWS:,} rows")
            cells = []
            for column, value in enumerate(values, start=1):
                if isinstance(value, str) and len(value) > MAX_CELL_CHARS:
                    raise ImportFileError(f"the cell in line {line}, column {column} holds {len(value):,} characters; "
                                          f"a cell can hold at most {MAX_CELL_CHARS:,}")
                cells.append(_cell(value))
            if not any(cells):
                continue
            if not numbered and cells[MAX_COLUMNS:] and any(cells[MAX_COLUMNS:]):
                raise ImportFileError(f"the header has more than {MAX_COLUMNS} columns; "
                                      f"at most {MAX_COLUMNS} can be read")
            numbered.append((line, cells))
            if len(numbered) > MAX_ROWS + 1:
                raise ImportFileError(f"the sheet has more than {MAX_ROWS:,} rows; split it into files of at most "
                                      f"{MAX_ROWS:,}")
    except xml_errors:
        raise ImportFileError("the sheet's XML cannot be read safely: save it again from your spreadsheet program, "
                              "or as CSV") from None
    except (ValueError, TypeError, KeyError, IndexError, OverflowError):
        raise ImportFileError("the sheet cannot be read (a damaged or hand-made workbook?): save it again from your "
                              "spreadsheet program, or as CSV") from None
    return numbered


def read_geojson(data: bytes) -> ParsedFile:
    """Features as rows: their properties as columns, and the point (a polygon's inner point) as
    two more columns. A declared coordinate system is converted from; an undeclared one that is not
    longitude/latitude refuses the file."""
    text_, encoding, notes = decode_text(data)
    collection = _load_json(text_)
    try:
        return _read_features(collection, encoding, notes)
    except RecursionError:
        raise ImportFileError("the GeoJSON is nested too deeply to read") from None


def _load_json(text_: str):
    """Parsed JSON, or the reason it cannot be read: bad syntax, nesting too deep for the parser,
    or a number with more digits than Python reads as an integer."""
    try:
        return json.loads(text_)
    except json.JSONDecodeError as exc:
        raise ImportFileError(f"this is not valid JSON (line {exc.lineno}): {exc.msg}") from None
    except RecursionError:
        raise ImportFileError("the JSON is nested too deeply to read (arrays or objects inside one another "
                              "hundreds of times)") from None
    except ValueError:
        raise ImportFileError("the JSON holds a number with thousands of digits, which cannot be read") from None


def _read_features(collection, encoding: str, notes: list[str]) -> ParsedFile:
    import shapely
    from shapely.geometry import shape

    if isinstance(collection, dict) and collection.get("type") == "Feature":
        collection = {"type": "FeatureCollection", "features": [collection]}
    if not isinstance(collection, dict) or collection.get("type") != "FeatureCollection" or not isinstance(
            collection.get("features"), list):
        raise ImportFileError("this is not a GeoJSON FeatureCollection")
    crs_name = check_crs(collection, what="it", error=ImportFileError)
    if crs_name:
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
            if crs_name:
                point = grid_to_lonlat().transform(*point)
            elif not (-180 <= point[0] <= 180 and -90 <= point[1] <= 90):
                out_of_range.append(point)
        cells += ["", ""] if point is None else [f"{point[0]:.7f}", f"{point[1]:.7f}"]
        rows.append([number, cells, problems.get(number)])
    if out_of_range:
        x, y = out_of_range[0]
        grid = looks_like_grid(x, y, x, y)
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
