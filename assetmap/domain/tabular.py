"""Rows of a planner's spreadsheet as assets: which column is which field, and each row checked.

A bulk upload has a header and rows of text cells. :func:`suggest_mapping` guesses which column
holds each field from the header; :func:`check_row` turns one row into asset values, with the
errors that stop it from being imported and the warnings that do not (a value left out, latitude
and longitude the wrong way round and put right, eastings and northings converted). Postcodes are
looked up afterwards, in the database.

No Flask and no SQL here.
"""
from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from assetmap.domain.geojson_crs import grid_to_lonlat
from assetmap.domain.opening_hours import DAYS, OpeningHoursError, WeeklySchedule
from assetmap.domain.opening_hours_text import parse_free_text
from assetmap.domain.postcodes import normalise_postcode
from assetmap.domain.validation import MAX_LENGTHS, clean_url, in_gb_grid, in_uk, is_email

__all__ = [
    "FIELDS",
    "CheckedRow",
    "Field",
    "check_row",
    "hours_text",
    "normalise_header",
    "parse_hours_text",
    "suggest_mapping",
]


@dataclass(frozen=True)
class Field:
    key: str
    label: str
    help: str
    synonyms: tuple[str, ...]


#: The fields a column can be mapped to, in the order the mapping form shows them.
FIELDS: tuple[Field, ...] = (
    Field("id", "Your reference", "Identifies the row, so that uploading a newer file updates it rather "
          "than adding it again.", ("id", "ref", "reference", "uid", "identifier", "asset_id", "site_id", "code")),
    Field("name", "Name", "Required.", ("name", "title", "site_name", "venue", "venue_name", "asset_name",
                                         "place", "place_name", "organisation_name")),
    Field("category", "Type of place", "A type's name or short name; rows without one take the type chosen below.",
          ("category", "type", "asset_type", "kind", "category_slug")),
    Field("description", "Description", "", ("description", "details", "about", "summary", "notes")),
    Field("organisation", "Run by", "", ("organisation", "organization", "provider", "run_by", "operator", "owner")),
    Field("address", "Address", "", ("address", "address1", "address_1", "address_line_1", "street",
                                     "street_address")),
    Field("town", "Town", "", ("town", "city", "locality", "village")),
    Field("postcode", "Postcode", "Used to place a row that has no coordinates.",
          ("postcode", "post_code", "postal_code", "zip", "pcode")),
    Field("latitude", "Latitude", "Decimal degrees, e.g. 52.86.",
          ("latitude", "lat", "y_lat", "wgs84_lat", "latitude_from_geometry")),
    Field("longitude", "Longitude", "Decimal degrees, e.g. -3.05.",
          ("longitude", "lon", "lng", "long", "x_lon", "wgs84_long", "longitude_from_geometry")),
    Field("easting", "Easting", "British National Grid metres, e.g. 332150.",
          ("easting", "eastings", "east", "x", "x_coordinate", "os_x", "grid_ref_easting")),
    Field("northing", "Northing", "British National Grid metres, e.g. 329870.",
          ("northing", "northings", "north", "y", "y_coordinate", "os_y", "grid_ref_northing")),
    Field("phone", "Phone", "", ("phone", "telephone", "tel", "phone_number", "telephone_number", "contact_number")),
    Field("email", "Email", "", ("email", "e_mail", "email_address", "contact_email")),
    Field("website", "Website", "", ("website", "url", "web", "web_address", "link", "homepage")),
    Field("opening_hours", "Opening hours", "E.g. \"Mon-Fri 9am-5pm\" or \"Mon 09:00-17:00; Sat 10:00-12:00\".",
          ("opening_hours", "opening_times", "hours", "open", "times")),
    Field("opening_hours_note", "Notes on opening", "", ("opening_hours_note", "opening_notes", "hours_note")),
    Field("cost", "Cost", "", ("cost", "price", "fees", "charges")),
)
FIELD_KEYS = tuple(f.key for f in FIELDS)

# The cells whose length is checked, and the field of :data:`assetmap.domain.validation.MAX_LENGTHS`
# each is stored as ("id" is the row's own reference, kept after the upload's key).
_LIMITED = {"name": "name", "phone": "phone", "email": "email", "website": "url", "address": "address",
            "town": "town", "id": "reference", "organisation": "organisation"}


def normalise_header(name: str) -> str:
    """A header cell as a comparable key: ``" Post Code "`` → ``"post_code"``.

    Examples
    --------
    >>> normalise_header("E-mail Address")
    'e_mail_address'
    """
    return re.sub(r"[^a-z0-9]+", "_", str(name).strip().lower()).strip("_")


def suggest_mapping(header: Sequence[str]) -> dict[str, str]:
    """Field → column for the columns whose names say what they hold (each column used once).

    Examples
    --------
    >>> suggest_mapping(["Site Name", "Post Code", "Lat", "Long", "Extra"])
    {'name': 'Site Name', 'postcode': 'Post Code', 'latitude': 'Lat', 'longitude': 'Long'}
    """
    keys = {normalise_header(h): h for h in reversed(header)}  # the first of equal names wins
    mapping: dict[str, str] = {}
    used: set[str] = set()
    for f in FIELDS:
        for synonym in f.synonyms:
            column = keys.get(synonym)
            if column is not None and column not in used:
                mapping[f.key] = column
                used.add(column)
                break
    return mapping


# --- opening hours as text ---------------------------------------------------------------------
_DAY_SHORT = dict(zip(DAYS, ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")))
_DAY_BY_SHORT = {v.lower(): k for k, v in _DAY_SHORT.items()}
_HOURS_CLAUSE = re.compile(r"^(mon|tue|wed|thu|fri|sat|sun)\s+"
                           r"(closed|\d{2}:\d{2}-\d{2}:\d{2}(?:\s*,\s*\d{2}:\d{2}-\d{2}:\d{2})*)$")


def hours_text(hours: Mapping | None) -> str:
    """Weekly hours as compact text, known days only: ``"Mon 09:00-13:00, 14:00-17:00; Sun closed"``.

    :func:`parse_hours_text` reads it back exactly. Hours that cannot be read give ``""``.

    Examples
    --------
    >>> hours_text({"mon": [["09:00", "13:00"], ["14:00", "17:00"]], "sun": []})
    'Mon 09:00-13:00, 14:00-17:00; Sun closed'
    """
    try:
        week = WeeklySchedule.from_json(hours).to_json() if hours else {}
    except OpeningHoursError:
        return ""
    return "; ".join(
        f"{_DAY_SHORT[day]} " + (", ".join(f"{o}-{c}" for o, c in periods) if periods else "closed")
        for day, periods in week.items()
    )


def parse_hours_text(text: str) -> dict | None:
    """Read :func:`hours_text`'s form (days not named are not known); None if it is not that form.

    Examples
    --------
    >>> parse_hours_text("Mon 09:00-13:00, 14:00-17:00; Sun closed")
    {'mon': [['09:00', '13:00'], ['14:00', '17:00']], 'sun': []}
    >>> parse_hours_text("Mon-Fri 9am-5pm") is None
    True
    """
    days: dict[str, list] = {}
    for clause in (c.strip() for c in text.strip().rstrip(";").split(";")):
        match = _HOURS_CLAUSE.match(clause.lower())
        if not match:
            return None
        day = _DAY_BY_SHORT[match.group(1)]
        if day in days:
            return None
        periods = [] if match.group(2) == "closed" else [
            [p.strip()[:5], p.strip()[6:]] for p in match.group(2).split(",")]
        days[day] = periods
    try:
        return WeeklySchedule.from_json(days).to_json()
    except OpeningHoursError:
        return None


def read_hours(text: str | None) -> tuple[dict | None, bool]:
    """(hours, understood) from an opening-hours cell: the exact form, else free text."""
    if not text:
        return None, True
    known, understood = _read_hours(text)
    return (None if known is None else json.loads(known)), understood


@lru_cache(maxsize=4096)
def _read_hours(text: str) -> tuple[str | None, bool]:
    # Lists repeat the same few timetables on many rows: each is read once (kept as JSON text,
    # so no caller can change the cached value).
    exact = parse_hours_text(text)
    if exact is not None:
        return json.dumps(exact), True
    schedule = parse_free_text(text)
    return (json.dumps(schedule.to_json()), True) if schedule is not None else (None, False)


# --- coordinates ---------------------------------------------------------------------------------

def _number(text: str | None) -> float | None:
    if text is None:
        return None
    cleaned = text.strip().replace("\u2212", "-")
    if re.fullmatch(r"-?\d+,\d+", cleaned):  # a decimal comma
        cleaned = cleaned.replace(",", ".")
    try:
        value = float(cleaned.replace(",", ""))
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _from_grid(easting: float, northing: float) -> tuple[float, float] | None:
    lon, lat = grid_to_lonlat().transform(easting, northing)
    return (round(lon, 7), round(lat, 7)) if math.isfinite(lon) and in_uk(lon, lat) else None


# Warnings that say how coordinates were read, counted per file by the importer.
SWAPPED_LATLON = "latitude and longitude were the wrong way round; swapped back"
GRID_IN_LATLON = "the latitude/longitude columns hold British National Grid eastings/northings; converted"
LATLON_IN_GRID = "the easting/northing columns hold latitude/longitude; used as such"
SWAPPED_GRID = "easting and northing were the wrong way round; swapped back"


def _position(values: Mapping[str, str | None]) -> tuple[tuple[float, float] | None, str | None, str | None, str]:
    """``(point, warning, error, column)`` from the row's coordinate cells (point None: use the postcode)."""
    lat_text, lon_text = values.get("latitude"), values.get("longitude")
    east_text, north_text = values.get("easting"), values.get("northing")
    if lat_text or lon_text:
        lat, lon = _number(lat_text), _number(lon_text)
        if lat is None or lon is None:
            return (None, None,
                    f"latitude/longitude {lat_text or '(empty)'}, {lon_text or '(empty)'} are not two numbers",
                    "latitude")
        if in_uk(lon, lat):
            return (round(lon, 7), round(lat, 7)), None, None, "latitude"
        if in_uk(lat, lon):
            return (round(lat, 7), round(lon, 7)), SWAPPED_LATLON, None, "latitude"
        for easting, northing in ((lon, lat), (lat, lon)):
            if abs(lat) > 180 or abs(lon) > 180:
                point = _from_grid(easting, northing) if in_gb_grid(easting, northing) else None
                if point:
                    return point, GRID_IN_LATLON, None, "latitude"
        return None, None, f"latitude {lat_text}, longitude {lon_text} is not a place in the UK", "latitude"
    if east_text or north_text:
        easting, northing = _number(east_text), _number(north_text)
        if easting is None or northing is None:
            return (None, None,
                    f"easting/northing {east_text or '(empty)'}, {north_text or '(empty)'} are not two numbers",
                    "easting")
        if abs(easting) <= 180 and abs(northing) <= 180:
            for lon, lat in ((easting, northing), (northing, easting)):
                if in_uk(lon, lat):
                    return (round(lon, 7), round(lat, 7)), LATLON_IN_GRID, None, "easting"
        if in_gb_grid(easting, northing) and (point := _from_grid(easting, northing)):
            return point, None, None, "easting"
        if in_gb_grid(northing, easting) and (point := _from_grid(northing, easting)):
            return point, SWAPPED_GRID, None, "easting"
        return None, None, f"easting {east_text}, northing {north_text} is not a place in Great Britain", "easting"
    return None, None, None, ""


# --- one row --------------------------------------------------------------------------------------

@dataclass
class CheckedRow:
    """One row, checked: the asset's values, or why it cannot be imported."""

    line: int
    source_id: str | None = None
    values: dict = field(default_factory=dict)
    category: str | None = None
    point: tuple[float, float] | None = None
    postcode: str | None = None  # normalised; to look up when there is no point
    errors: list[tuple[str | None, str, str | None]] = field(default_factory=list)  # (field, reason, value)
    warnings: list[tuple[str | None, str, str | None]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def _clean(value: object) -> str | None:
    if value is None:
        return None
    text = str(value).replace("\u00a0", " ").strip()
    return text or None


def check_row(line: int, cells: Mapping[str, str | None], categories: Mapping[str, str],
              default_category: str | None) -> CheckedRow:
    """Check one row whose cells are already keyed by field (``{"name": ..., "postcode": ...}``).

    Parameters
    ----------
    line : int
        Where the row is in the file, for the report.
    cells : mapping
        Field key → cell text (fields not mapped are absent).
    categories : mapping
        Every accepted way of writing a type (slug and label, lower-cased) → its slug.
    default_category : str or None
        The slug given to rows whose type cell is empty.

    Examples
    --------
    >>> r = check_row(2, {"name": "Hall", "latitude": "-2.7", "longitude": "52.7"}, {"library": "library"}, "library")
    >>> r.ok, r.point, r.warnings[0][1]
    (True, (-2.7, 52.7), 'latitude and longitude were the wrong way round; swapped back')
    """
    values = {k: _clean(v) for k, v in cells.items()}
    row = CheckedRow(line=line)

    name = values.get("name")
    if not name:
        row.errors.append(("name", "no name", None))
    for key, stored_as in _LIMITED.items():
        limit = MAX_LENGTHS[stored_as]
        if values.get(key) and len(values[key]) > limit:
            row.errors.append((key, f"longer than {limit} characters", values[key][:40] + "…"))

    raw_category = values.get("category")
    if raw_category:
        row.category = categories.get(raw_category.lower()) or categories.get(raw_category.lower().replace(" ", "-"))
        if row.category is None:
            row.errors.append(("category", "not a known type of place", raw_category))
    else:
        row.category = default_category
        if default_category is None:
            row.errors.append(("category", "no type given, and no type chosen for such rows", None))

    point, warning, error, column = _position(values)
    if error:
        row.errors.append((column, error, None))
    elif warning:
        row.warnings.append((column, warning, None))
    row.point = point
    raw_postcode = values.get("postcode")
    row.postcode = normalise_postcode(raw_postcode)
    if raw_postcode and row.postcode is None:
        if point is None and not error:
            row.errors.append(("postcode", "not a UK postcode", raw_postcode))
        else:
            row.warnings.append(("postcode", "not a UK postcode; left out", raw_postcode))
    if point is None and not error and not raw_postcode:
        row.errors.append((None, "no position: give a postcode, or latitude/longitude, or easting/northing", None))

    email = values.get("email")
    if email and not is_email(email):
        row.warnings.append(("email", "not an email address; left out", email))
        email = None
    website = values.get("website")
    if website:
        url = clean_url(website)
        if url is None:
            row.warnings.append(("website", "not a web address; left out", website))
        website = url
    hours, understood = read_hours(values.get("opening_hours"))
    note = values.get("opening_hours_note")
    if not understood:
        row.warnings.append(("opening_hours", "opening hours not understood; kept as a note", values["opening_hours"]))
        note = "; ".join(x for x in (values["opening_hours"], note) if x)

    row.values = {
        "name": name,
        "description": values.get("description"),
        "organisation": values.get("organisation"),
        "address": values.get("address"),
        "town": values.get("town"),
        "postcode": row.postcode,
        "phone": values.get("phone"),
        "email": email,
        "url": website,
        "opening_hours": hours,
        "opening_hours_note": note,
        "cost": values.get("cost"),
    }
    ident = values.get("id")
    if ident:
        row.source_id = ident
    else:
        where = f"{point[0]:.5f},{point[1]:.5f}" if point else (row.postcode or "")
        row.source_id = "h:" + hashlib.sha1(f"{(name or '').lower()}|{where}".encode()).hexdigest()[:16]
    return row
