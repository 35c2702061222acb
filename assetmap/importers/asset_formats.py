"""Readers for the asset lists as published: one column dict per format, each turning the file's
rows into :class:`AssetRow` records and reporting the rows it leaves out.

The readers know the files (headers, encodings, codes and quirks); they do no database work.
:mod:`assetmap.importers.assets` geocodes and upserts what they yield.
"""
from __future__ import annotations

import csv
import hashlib
import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import shapely
import shapely.errors
from shapely.geometry import shape

from assetmap.domain.geojson_crs import check_crs, grid_to_lonlat_xy, looks_like_grid
from assetmap.domain.opening_hours import OpeningHoursError, WeeklySchedule
from assetmap.domain.opening_hours_text import parse_free_text, parse_library_day, parse_nhsbsa_day
from assetmap.domain.organisations import charity_key, ods_key
from assetmap.domain.postcodes import normalise_postcode
from assetmap.domain.validation import clean_url, in_uk, is_digits, is_email
from assetmap.errors import ImportFileError
from assetmap.importers.report import ImportReport

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_LABELS = dict(zip(DAYS, ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")))


@dataclass
class AssetRow:
    """One row of a published list, mapped to the asset's fields (not yet located)."""

    line: int  # 1-based line of the file (header = line 1), or feature number in a GeoJSON file
    source_id: str
    id_column: str  # where source_id came from, for problem reports
    name: str | None
    postcode: str | None = None  # as published; normalised by the importer
    postcode_column: str | None = None
    lon: float | None = None
    lat: float | None = None
    coords_column: str | None = None
    address: str | None = None
    town: str | None = None
    phone: str | None = None
    email: str | None = None
    url: str | None = None
    opening_hours: dict | None = None
    opening_hours_note: str | None = None
    organisation: str | None = None  # who runs it, by name
    # The source's own identifier of that organisation, as :mod:`assetmap.domain.organisations`
    # writes it (an ODS code, a charity number); None when the name is all the source gives.
    organisation_key: str | None = None
    extra: dict = field(default_factory=dict)


# --- small helpers shared by the readers ----------------------------------------------------------
_NOT_GIVEN = {"", "n/a", "na", "none", "null", "-", "not known", "unknown"}


def clean(value) -> str | None:
    """The text of a cell, stripped (non-breaking spaces too); None when empty."""
    if value is None:
        return None
    text = str(value).replace("\u00a0", " ").strip()
    return text or None


def given(value) -> str | None:
    """Like :func:`clean`, but "N/A", "None", "-" and friends also count as not given."""
    text = clean(value)
    return None if text is None or text.lower() in _NOT_GIVEN else text


def join_address(*parts) -> str | None:
    kept = [p for p in (clean(x) for x in parts) if p]
    return ", ".join(kept) or None


def _read_text(path: Path, encoding: str) -> str:
    try:
        return path.read_text(encoding=encoding)
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        raise ImportFileError(
            f"{path.name} is not {encoding} text (line {line}); is this the file as published?"
        ) from None


def read_csv_rows(path: Path, columns: dict[str, str], encoding: str = "utf-8-sig",
                  names: list[str] | None = None) -> list[tuple[int, dict[str, str]]]:
    """Rows of a CSV as ``(first line number, {our name: cell})``, mapped through ``columns``
    (official header name → our name).

    With ``names`` the file has no header row: ``names`` is the published column order, and the
    first row is line 1. Quoted cells may span lines; the line number is where the row starts.
    A header lacking a column of ``columns`` is an :class:`ImportFileError`.
    """
    with open(path, encoding=encoding, newline="") as f:
        reader = csv.reader(f)
        try:
            return _csv_rows(path, reader, columns, names)
        except UnicodeDecodeError:
            raise ImportFileError(
                f"{path.name} is not {encoding} text (near line {reader.line_num + 1}); is this the file as published?"
            ) from None
        except csv.Error as exc:
            raise ImportFileError(f"{path.name} is not a readable CSV (line {reader.line_num}): {exc}") from None


def _csv_rows(path: Path, reader, columns: dict[str, str], names: list[str] | None):
    if names is None:
        try:
            header = [h.strip() for h in next(reader)]
        except StopIteration:
            raise ImportFileError(f"{path.name} is empty") from None
    else:
        header = names
    missing = [c for c in columns if c not in header]
    if missing:
        raise ImportFileError(
            f"{path.name} lacks the columns {', '.join(missing)}; found: {', '.join(header[:12])}"
            + (" ..." if len(header) > 12 else "")
        )
    index = {ours: header.index(official) for official, ours in columns.items()}
    rows = []
    last_line = reader.line_num
    for cells in reader:
        start, last_line = last_line + 1, reader.line_num
        if not any(c.strip() for c in cells):
            continue
        if names is not None and len(cells) != len(names):
            rows.append((start, {"__width__": str(len(cells))}))
            continue
        rows.append((start, {ours: (cells[i] if i < len(cells) else "") for ours, i in index.items()}))
    return rows


def _width_problem(report: ImportReport, line: int, rec: dict, expected: int) -> bool:
    if "__width__" in rec:
        report.problem(line, f"expected {expected} columns", None, f"{rec['__width__']} columns")
        return True
    return False


def nhsbsa_hours(cells: dict[str, str | None]) -> tuple[dict | None, str | None]:
    """A week of NHSBSA-style day cells ("09:00-13:00,14:00-17:30", "CLOSED") → (schedule JSON, note).

    A blank day is not known (left out of the schedule, as the stored JSON means); a day whose cell
    cannot be read is left out too, and its text as published goes into the note. The result is
    shared between equal weeks (the national list has ~900 distinct cells): do not modify it.
    """
    return _nhsbsa_week(tuple(clean(cells.get(day)) for day in DAYS))


@lru_cache(maxsize=4096)
def _nhsbsa_week(cells: tuple[str | None, ...]) -> tuple[dict | None, str | None]:
    days: dict[str, list | None] = {}
    unread = []
    for day, cell in zip(DAYS, cells):
        try:
            days[day] = parse_nhsbsa_day(cell)
        except OpeningHoursError:
            days[day] = None
            unread.append(f"{DAY_LABELS[day]} {cell}")
    schedule = WeeklySchedule.from_json(days).to_json()
    note = f"Opening hours as published: {'; '.join(unread)}" if unread else None
    return schedule or None, note


_NOT_PUBLISHED = " (times not published)"


def library_opening_note(cells: dict[str, str | None]) -> str | None:
    """The libraries file's day sessions as one note: "Mon: open morning and afternoon; Tue: closed; ..."."""
    parts = []
    vague = False
    for day in DAYS:
        cell = clean(cells.get(day))
        if cell is None:
            continue
        try:
            said = parse_library_day(cell).describe()
        except OpeningHoursError:
            said = f"{cell} (as published)"
        if said.endswith(_NOT_PUBLISHED):
            said, vague = said[: -len(_NOT_PUBLISHED)], True
        parts.append(f"{DAY_LABELS[day]}: {said[:1].lower()}{said[1:]}")
    if not parts:
        return None
    return "; ".join(parts) + (". Times not published." if vague else "")


# --- libraries: Arts Council England / DCMS public libraries basic dataset 2023 -----------------
LIBRARY_COLUMNS = {
    "name": "name",
    "address1": "address1",
    "address2": "address2",
    "address3": "address3",
    "authority": "authority",
    "postcode": "postcode",
    "uprn": "uprn",
    "type": "type",
    "closed": "closed",
    "operation_23": "operation_2023",
    "statutory_23": "statutory_2023",
    "monday": "mon",
    "tuesday": "tue",
    "wednesday": "wed",
    "thursday": "thu",
    "friday": "fri",
    "saturday": "sat",
    "sunday": "sun",
    "hours": "weekly_hours",
    "staffed_hours": "staffed_hours",
    "email": "email",
    "operating_organisation": "operating_organisation",
}
# Library type as published (compared lower-cased) → None to import it, or why it is left out.
LIBRARY_TYPES = {
    "static library": None,
    "static local history library": None,
    "archive": None,
    "static archive": None,
    "prison library": "prison library: not open to the public",
    "mobile library": "mobile library: its postcode is a depot, not a place people visit",
}
# operation_23 (how the library was run in 2023), lower-cased → why it is left out.
LIBRARY_OPERATION_SKIPS = {
    "closed": "closed in 2023 (operation_23 is Closed)",
    "temporary closure": "temporarily closed in 2023 (operation_23)",
}
LIBRARY_CLOSED = "closed (a year in the closed column)"
# operating_organisation cells that only say the authority runs the library itself.
LIBRARY_RUN_BY_AUTHORITY = {"la", "local authority"}


def library_service(authority: str | None) -> str | None:
    """The organisation a public library belongs to: its library authority's library service.

    The file names the authority only as a place ("Shropshire"); saying what of it runs the
    library lets a list of organisations read as one.

    >>> library_service("Barking and Dagenham")
    'Barking and Dagenham library service'
    """
    return f"{authority} library service" if authority else None


def read_libraries(path: Path, report: ImportReport) -> Iterator[AssetRow]:
    for line, rec in read_csv_rows(path, LIBRARY_COLUMNS, encoding="utf-8-sig"):
        report.read += 1
        if clean(rec["closed"]):
            report.skip(LIBRARY_CLOSED)
            continue
        operation = (clean(rec["operation_2023"]) or "").lower()
        if operation in LIBRARY_OPERATION_SKIPS:
            report.skip(LIBRARY_OPERATION_SKIPS[operation])
            continue
        kind = clean(rec["type"])
        if (kind or "").lower() not in LIBRARY_TYPES:
            report.problem(line, "unknown library type", "type", kind)
            continue
        if reason := LIBRARY_TYPES[(kind or "").lower()]:
            report.skip(reason)
            continue
        name, postcode = clean(rec["name"]), clean(rec["postcode"])
        # The published uprn is no key: co-located services share one, and some authorities
        # filled in internal codes (3168, 2425, "M0007") shared by libraries miles apart.
        uprn = clean(rec["uprn"])
        email_cell = clean(rec["email"])
        email = email_cell if is_email(email_cell) else None
        # a contact form in "email"
        url = email_cell if email_cell and "://" in email_cell and clean_url(email_cell) else None
        operator = given(rec["operating_organisation"])
        extra = {
            "authority": clean(rec["authority"]),
            # A community or trust that runs the library for the authority, named as published.
            "operating_organisation": None if (operator or "").lower() in LIBRARY_RUN_BY_AUTHORITY else operator,
            "library_type": kind,
            "uprn": uprn if uprn and is_digits(uprn, 12) else None,  # a UPRN has at most 12
            "operation_2023": clean(rec["operation_2023"]),
            "statutory_2023": clean(rec["statutory_2023"]),
            "weekly_hours": clean(rec["weekly_hours"]),
            "staffed_hours": clean(rec["staffed_hours"]),
        }
        if uprn and not is_digits(uprn, 12):
            extra["uprn_as_published"] = uprn
        if email_cell and not email and not url:
            extra["email_as_published"] = email_cell
        yield AssetRow(
            line=line,
            source_id=f"{name}|{normalise_postcode(postcode) or (postcode or '').upper()}",
            id_column="name",
            name=name,
            postcode=postcode,
            postcode_column="postcode",
            address=join_address(rec["address1"], rec["address2"], rec["address3"]),
            email=email,
            url=url,
            opening_hours_note=library_opening_note(rec),
            organisation=library_service(clean(rec["authority"])),
            extra={k: v for k, v in extra.items() if v is not None},
        )


# --- NHSBSA consolidated pharmaceutical list ------------------------------------------------------
PHARMACY_COLUMNS = {
    "PHARMACY_ODS_CODE_(F-CODE)": "ods_code",
    "HEALTH_AND_WELLBEING_BOARD": "health_and_wellbeing_board",
    "PHARMACY_TRADING_NAME": "trading_name",
    "ORGANISATION_NAME": "organisation",
    "ADDRESS_FIELD1": "address1",
    "ADDRESS_FIELD2": "address2",
    "ADDRESS_FIELD3": "address3",
    "ADDRESS_FIELD4": "address4",
    "POST_CODE": "postcode",
    "PHARMACY_OPENING_HOURS_MONDAY": "mon",
    "PHARMACY_OPENING_HOURS_TUESDAY": "tue",
    "PHARMACY_OPENING_HOURS_WEDNESDAY": "wed",
    "PHARMACY_OPENING_HOURS_THURSDAY": "thu",
    "PHARMACY_OPENING_HOURS_FRIDAY": "fri",
    "PHARMACY_OPENING_HOURS_SATURDAY": "sat",
    "PHARMACY_OPENING_HOURS_SUNDAY": "sun",
    "WEEKLY_TOTAL": "weekly_hours",
    "CONTRACT_TYPE": "contract_type",
}


def read_nhsbsa_pharmacies(path: Path, report: ImportReport) -> Iterator[AssetRow]:
    for line, rec in read_csv_rows(path, PHARMACY_COLUMNS, encoding="utf-8-sig"):
        report.read += 1
        code = clean(rec["ods_code"])
        if not code:
            report.problem(line, "no ODS code", "PHARMACY_ODS_CODE_(F-CODE)")
            continue
        hours, note = nhsbsa_hours(rec)
        organisation = clean(rec["organisation"])
        extra = {
            "ods_code": code,
            "contract_type": clean(rec["contract_type"]),
            "health_and_wellbeing_board": clean(rec["health_and_wellbeing_board"]),
            "weekly_hours": clean(rec["weekly_hours"]),
        }
        yield AssetRow(
            line=line,
            source_id=code,
            id_column="PHARMACY_ODS_CODE_(F-CODE)",
            name=clean(rec["trading_name"]) or organisation,
            postcode=clean(rec["postcode"]),
            postcode_column="POST_CODE",
            address=join_address(rec["address1"], rec["address2"], rec["address3"], rec["address4"]),
            opening_hours=hours,
            opening_hours_note=note,
            organisation=organisation,
            extra={k: v for k, v in extra.items() if v is not None},
        )


# --- NHS England ODS epraccur (GP practices): no header row, Latin-1 ------------------------------
# The published column order (ODS specification); the file itself has no header row.
EPRACCUR_NAMES = [
    "org_code", "name", "national_grouping", "high_level_health_geography",
    "address_1", "address_2", "address_3", "address_4", "address_5", "postcode",
    "open_date", "close_date", "status_code", "org_sub_type_code", "commissioner",
    "join_provider_date", "left_provider_date", "phone", "null_1", "null_2", "null_3",
    "amended_record_indicator", "null_4", "provider_purchaser", "null_5", "prescribing_setting", "null_6",
]
EPRACCUR_COLUMNS = {
    name: name
    for name in [
        "org_code", "name", "national_grouping", "high_level_health_geography",
        "address_1", "address_2", "address_3", "address_4", "address_5", "postcode",
        "open_date", "status_code", "commissioner", "phone", "prescribing_setting",
    ]
}
EPRACCUR_STATUS_SKIPS = {
    "C": "closed practice (status C)",
    "D": "dormant practice (status D)",
    "P": "proposed practice, not yet open (status P)",
}
GP_PRACTICE_SETTING = "4"
PRESCRIBING_SETTINGS = {  # ODS prescribing setting codes
    "0": "other", "1": "walk-in centre", "2": "out of hours", "3": "walk-in centre and out of hours",
    "8": "public health service", "9": "community health service", "10": "hospital service",
    "11": "optometry service", "12": "urgent and emergency care", "13": "hospice",
    "14": "care home or nursing home", "15": "border force", "16": "young offender institution",
    "17": "secure training centre", "18": "secure children's home", "19": "immigration removal centre",
    "20": "court", "21": "police custody", "22": "sexual assault referral centre",
    "24": "other justice estate", "25": "prison", "26": "primary care network",
}


def read_epraccur(path: Path, report: ImportReport) -> Iterator[AssetRow]:
    for line, rec in read_csv_rows(path, EPRACCUR_COLUMNS, encoding="latin-1", names=EPRACCUR_NAMES):
        report.read += 1
        if _width_problem(report, line, rec, len(EPRACCUR_NAMES)):
            continue
        status = clean(rec["status_code"])
        if status != "A":
            if status in EPRACCUR_STATUS_SKIPS:
                report.skip(EPRACCUR_STATUS_SKIPS[status])
            else:
                report.problem(line, "unknown status code", "status_code", status)
            continue
        setting = clean(rec["prescribing_setting"])
        if setting != GP_PRACTICE_SETTING:
            label = PRESCRIBING_SETTINGS.get(setting or "", "unknown")
            report.skip(f"not a GP practice (prescribing setting {setting}: {label})")
            continue
        code = clean(rec["org_code"])
        if not code:
            report.problem(line, "no organisation code", "org_code")
            continue
        extra = {
            "ods_code": code,
            "national_grouping": clean(rec["national_grouping"]),
            "high_level_health_geography": clean(rec["high_level_health_geography"]),
            "commissioner": clean(rec["commissioner"]),
            "open_date": clean(rec["open_date"]),
        }
        yield AssetRow(
            line=line,
            source_id=code,
            id_column="org_code",
            name=clean(rec["name"]),
            postcode=clean(rec["postcode"]),
            postcode_column="postcode",
            address=join_address(*(rec[f"address_{i}"] for i in range(1, 6))),
            phone=clean(rec["phone"]),
            # The practice is the organisation patients register with, known by its own ODS code;
            # its commissioner is only a code here (kept in extra), and funds rather than runs it.
            organisation=clean(rec["name"]),
            organisation_key=ods_key(code),
            extra={k: v for k, v in extra.items() if v is not None},
        )


# --- Give Food food banks --------------------------------------------------------------------------
GIVEFOOD_COLUMNS = {
    "name": "name",
    "slug": "slug",
    "url": "url",
    "address": "address",
    "postcode": "postcode",
    "ward": "ward",
    "district": "district",
    "charity_number": "charity_number",
    "closed": "closed",
    "latitude": "lat",
    "longitude": "lon",
    "network": "network",
}


def _float(text: str | None) -> float | None:
    try:
        value = float(text) if text is not None else None
    except ValueError:
        return None
    return value if value is not None and math.isfinite(value) else None


def food_bank_organisation(name: str | None) -> str | None:
    """The organisation running a Give Food food bank, which Give Food names by its place only.

    Its charity number (when it has one) keys it, so food banks of one charity are one organisation.

    >>> food_bank_organisation("Oswestry and Borders"), food_bank_organisation("Oldham Foodbank")
    ('Oswestry and Borders food bank', 'Oldham Foodbank')
    """
    if not name:
        return None
    return name if re.search(r"food|larder|pantry", name, re.I) else f"{name} food bank"


def read_givefood(path: Path, report: ImportReport) -> Iterator[AssetRow]:
    for line, rec in read_csv_rows(path, GIVEFOOD_COLUMNS, encoding="utf-8-sig"):
        report.read += 1
        closed = (clean(rec["closed"]) or "").lower()
        if closed == "true":
            report.skip("closed (Give Food)")
            continue
        if closed not in ("false", ""):
            report.problem(line, "closed is neither True nor False", "closed", rec["closed"])
            continue
        slug = clean(rec["slug"])
        if not slug:
            report.problem(line, "no slug", "slug")
            continue
        lat, lon = clean(rec["lat"]), clean(rec["lon"])
        name = clean(rec["name"])
        row = AssetRow(
            line=line,
            source_id=slug,
            id_column="slug",
            name=name,
            postcode=clean(rec["postcode"]),
            postcode_column="postcode",
            address=clean(rec["address"]),
            url=given(rec["url"]),
            organisation=food_bank_organisation(name),
            organisation_key=charity_key(clean(rec["charity_number"]) or ""),
            extra={k: v for k, v in {
                "network": clean(rec["network"]),
                "charity_number": clean(rec["charity_number"]),
                "ward": clean(rec["ward"]),
                "district": clean(rec["district"]),
            }.items() if v is not None},
        )
        if lat is None and lon is None:
            yield row  # located by its postcode
            continue
        row.lat, row.lon = _float(lat), _float(lon)
        if row.lat is None or row.lon is None:
            report.problem(line, "latitude/longitude not numbers", "latitude", f"{lat},{lon}")
            continue
        if not in_uk(row.lon, row.lat):  # a mistake, often swapped
            report.problem(line, "latitude/longitude outside the UK (swapped?)", "latitude", f"{lat},{lon}")
            continue
        row.coords_column = "latitude"
        yield row


# --- GeoJSON layers (Trafford Data Lab extracts and the like) --------------------------------------
# Property names that carry each field, in order of preference (as the publishers spell them).
GEOJSON_PROPERTIES = {
    "name": ["name", "Name", "NAME", "pharmacy_name", "site_name", "title", "DISTNAME"],
    "postcode": ["postcode", "Postcode", "POSTCODE", "post_code", "PostCode"],
    "address": ["address", "Address", "ADDRESS"],
    "phone": ["telephone", "Telephone", "phone", "Phone"],
    "email": ["email", "Email", "EMAIL", "Contact"],  # GM food banks: "Contact" is often just an email
    "url": ["website", "Website", "url", "URL"],
    "opening_times": ["Opening times", "opening_times", "opening_hours"],
    # Who runs it (GM Green Flag parks: "managed").
    "organisation": ["managed", "managed_by", "operator", "organisation", "organization", "run_by"],
}
# Identifiers unique across the whole file (OS feature GUIDs, ODS codes) ...
GEOJSON_GLOBAL_IDS = ["ID", "organisation_data_service_code", "ods_code"]
# ... and ones that each council numbers for itself (the GM polling stations reuse "4529" in Bury
# and in Trafford), kept apart by the council's code.
GEOJSON_LOCAL_IDS = ["id", "Id"]
GEOJSON_AUTHORITY = ["la_code", "area_code", "Area code", "lad_code"]
# Day-by-day NHSBSA-style hours (the GM pharmacies layer).
GEOJSON_DAY_PROPERTIES = {day: f"opening_hours_{full}" for day, full in zip(
    DAYS, ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"))}
# Map styling, not data.
GEOJSON_IGNORED = {"marker-color", "marker-size", "marker-symbol", "stroke", "fill", "fill-opacity"}
# When the name is missing or "Unknown", the feature's classification says what it is.
GEOJSON_CLASS_PROPERTIES = ["CLASSIFICA", "classification", "type", "Type"]


def _first(props: dict, keys: list[str]):
    for key in keys:
        value = props.get(key)
        if value is not None and given(value) is not None:
            return key, value
    return None, None


def _phone(value) -> str | None:
    """A phone number as text. Some layers store numbers as floats (1617903377.0): the leading
    zero of a UK number is restored."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        if not math.isfinite(value) or value != int(value):
            return None
        digits = str(int(value))
        return "0" + digits if len(digits) in (9, 10) and not digits.startswith("0") else digits
    return given(value)


def _sentence(text: str) -> str:
    return text[:1].upper() + text[1:].lower()


def _check_lonlat(path: Path, geoms: list) -> None:
    present = [g for g in geoms if g is not None and not g.is_empty]
    if not present:
        return
    minx, miny, maxx, maxy = shapely.total_bounds(present)
    if minx < -180 or maxx > 180 or miny < -90 or maxy > 90:
        hint = (" They look like British National Grid metres (EPSG:27700)"
                if looks_like_grid(minx, miny, maxx, maxy) else "")
        raise ImportFileError(
            f"{path.name}: coordinates such as ({minx:.0f}, {miny:.0f}) are not longitude/latitude, and the "
            f"file declares no other coordinate reference system.{hint} Re-export it as WGS84 (EPSG:4326), "
            "or add its crs member."
        )


def _geometry_point(geom):
    """A point for a feature: the point itself, or a point inside a polygon (point_on_surface)."""
    if geom.geom_type == "Point":
        return geom
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        if not geom.is_valid:
            geom = shapely.make_valid(geom)
        return geom.point_on_surface()
    if geom.geom_type == "MultiPoint" and len(geom.geoms) == 1:
        return geom.geoms[0]
    return None


def read_geojson(path: Path, report: ImportReport, category: str, default_name: str) -> Iterator[AssetRow]:
    """Features of a GeoJSON layer: points as they are, polygons by a point inside them.

    Source ids are scoped by ``category`` (``polling-station-venue/E08000002:4386``), so layers of
    different kinds never collide while a newer file of the same layer updates the same assets.
    ``default_name`` names features that carry no usable name (a greenspace access point).
    """
    try:
        collection = json.loads(_read_text(path, "utf-8-sig"))
    except json.JSONDecodeError as exc:
        raise ImportFileError(f"{path.name} is not valid JSON (line {exc.lineno}): {exc.msg}") from None
    if not isinstance(collection, dict) or collection.get("type") != "FeatureCollection":
        raise ImportFileError(f"{path.name} is not a GeoJSON FeatureCollection")
    features = collection.get("features")
    if not isinstance(features, list):
        raise ImportFileError(f"{path.name} has no features list")
    grid = check_crs(collection, what=path.name, error=ImportFileError)

    geoms: list = []
    errors: dict[int, str] = {}
    for number, feature in enumerate(features, start=1):
        geometry = feature.get("geometry") if isinstance(feature, dict) else None
        if not geometry:
            geoms.append(None)
            errors[number] = "no geometry"
            continue
        try:
            geom = shape(geometry)
        except (ValueError, TypeError, AttributeError, KeyError, IndexError, shapely.errors.GEOSException) as exc:
            geoms.append(None)
            errors[number] = f"invalid geometry ({str(exc).splitlines()[0][:80]})"
            continue
        geoms.append(geom)
    if grid is None:
        _check_lonlat(path, geoms)
    else:
        geoms = [None if g is None else shapely.transform(g, grid_to_lonlat_xy) for g in geoms]

    for number, (feature, geom) in enumerate(zip(features, geoms), start=1):
        report.read += 1
        if number in errors:
            report.problem(number, errors[number], "geometry")
            continue
        if geom.is_empty:
            report.problem(number, "empty geometry", "geometry")
            continue
        point = _geometry_point(geom)
        if point is None or point.is_empty or not (math.isfinite(point.x) and math.isfinite(point.y)):
            report.problem(number, f"{geom.geom_type} is not a point or polygon", "geometry")
            continue
        props = feature.get("properties") or {}
        _, name = _first(props, GEOJSON_PROPERTIES["name"])
        if name is not None and str(name).strip().lower() == "unknown":
            name = None
        if name is None:
            _, kind = _first(props, GEOJSON_CLASS_PROPERTIES)
            name = _sentence(clean(kind)) if kind else default_name
        name = clean(name)
        lon, lat = float(point.x), float(point.y)
        source_id = _geojson_id(feature, props)
        if source_id is None:
            digest = hashlib.sha1(f"{name}|{lon!r}|{lat!r}".encode()).hexdigest()[:16]
            source_id, id_column = f"{category}/h:{digest}", "name+coordinates"
        else:
            source_id, id_column = f"{category}/{source_id[0]}", source_id[1]
        _, postcode = _first(props, GEOJSON_PROPERTIES["postcode"])
        _, address = _first(props, GEOJSON_PROPERTIES["address"])
        _, phone = _first(props, GEOJSON_PROPERTIES["phone"])
        _, email = _first(props, GEOJSON_PROPERTIES["email"])
        _, url = _first(props, GEOJSON_PROPERTIES["url"])
        _, organisation = _first(props, GEOJSON_PROPERTIES["organisation"])
        hours, note = None, None
        if all(key in props for key in GEOJSON_DAY_PROPERTIES.values()):
            hours, note = nhsbsa_hours({d: clean(props[k]) for d, k in GEOJSON_DAY_PROPERTIES.items()})
        else:
            _, times = _first(props, GEOJSON_PROPERTIES["opening_times"])
            if times is not None:
                note = clean(times)
                schedule = parse_free_text(note)
                hours = schedule.to_json() if schedule is not None else None
        email = clean(email)
        yield AssetRow(
            line=number,
            source_id=source_id,
            id_column=id_column,
            name=name,
            postcode=clean(postcode),
            postcode_column="postcode",
            lon=lon,
            lat=lat,
            coords_column="geometry",
            address=clean(address),
            phone=_phone(phone),
            email=email if is_email(email) else None,
            url=given(url),
            opening_hours=hours,
            opening_hours_note=note,
            organisation=clean(organisation) if isinstance(organisation, str) else None,
            extra={k: v for k, v in props.items() if k not in GEOJSON_IGNORED and v is not None},
        )


def _geojson_id(feature: dict, props: dict) -> tuple[str, str] | None:
    key, value = _first(props, GEOJSON_GLOBAL_IDS)
    if value is not None:
        return str(value).strip(), key
    local_key, local = (None, feature.get("id")) if feature.get("id") is not None else _first(props, GEOJSON_LOCAL_IDS)
    if local is None:
        return None
    _, authority = _first(props, GEOJSON_AUTHORITY)
    ident = str(local).strip()
    return (f"{authority}:{ident}" if authority else ident), (local_key or "id")
