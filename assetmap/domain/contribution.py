"""Checking what volunteers and moderators send about an asset, field by field.

The browser's own checks are not trusted: everything a form sends is checked here again, and
each problem is reported against the field it belongs to, in words a volunteer can act on.
Nothing here knows Flask or SQL: what needs the database (where a postcode is, whether a point
is inside an area the service covers) is passed in as callables through :class:`Checks`.

The values that come out are in the snapshot normal form of :mod:`assetmap.domain.revisions`.
"""
from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from assetmap.domain.opening_hours import DAY_LABELS, DAYS, OpeningHoursError, Period, WeeklySchedule
from assetmap.domain.opening_hours_text import parse_said_periods
from assetmap.domain.postcodes import normalise_postcode
from assetmap.domain.revisions import EDITABLE_FIELDS, normalise

# One vocabulary for what the finder filters on and what the form asks.
from assetmap.domain.search import ACCESS_MODES, ACCESSIBILITY, AGE_GROUPS
from assetmap.domain.validation import (
    MAX_LENGTHS,
    PHONE_MESSAGE,
    URL_MESSAGE,
    clean_text,
    clean_url,
    is_digits,
    is_phone,
    validate_email,
)

__all__ = [
    "ACCESS_MODES",
    "ACCESSIBILITY",
    "AGE_GROUPS",
    "HOURS_STATES",
    "PROBLEM_TYPES",
    "Checks",
    "format_day_periods",
    "parse_day_periods",
    "validate_asset",
    "organisation_key",
    "validate_organisation_name",
    "validate_problem",
    "validate_reason",
]

PROBLEM_TYPES = {
    "closed": "It has closed",
    "wrong_details": "Some details are wrong",
    "wrong_place": "It is in the wrong place on the map",
    "other": "Something else",
}
#: How a day of the opening-hours editor can be answered.
HOURS_STATES = {"unknown": "Not known", "closed": "Closed", "open": "Open"}

_PERIOD = re.compile(r"^\s*(\d{1,2})[:.](\d{2})\s*(?:-|–|—|to)\s*(\d{1,2})[:.](\d{2})\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class Checks:
    """What validation needs to know from outside.

    Parameters
    ----------
    asset_types, five_ways : the slugs of the two vocabularies
    service_areas : ids of the areas an asset may say it serves
    locate_postcode : ``f("SY1 1AA") -> (lon, lat)`` or None when the postcode is not known
    is_inside : ``f(lon, lat) -> bool``: inside an area the service covers
    """

    asset_types: frozenset[str]
    five_ways: frozenset[str] = frozenset()
    service_areas: frozenset[int] = frozenset()
    locate_postcode: Callable[[str], tuple[float, float] | None] = lambda postcode: None
    is_inside: Callable[[float, float], bool] = lambda lon, lat: True


def organisation_key(name: str | None) -> str:
    """How names of who runs a place are compared: ignoring case and spacing ("" for none).

    >>> organisation_key("  Oswestry   Town COUNCIL ") == organisation_key("oswestry town council")
    True
    """
    return " ".join((name or "").split()).lower()


def validate_organisation_name(value: Any) -> tuple[str | None, str | None]:
    """(who runs it, or None; error or None): one line, as long as an organisation's name may be.

    >>> validate_organisation_name("  Oswestry   Town Council ")
    ('Oswestry Town Council', None)
    >>> validate_organisation_name("x" * 301)[1]
    'Keep the name under 300 characters'
    """
    name = clean_text(value, MAX_LENGTHS["organisation"])
    if name is None:
        return None, None
    if len(name) > MAX_LENGTHS["organisation"]:
        return None, f"Keep the name under {MAX_LENGTHS['organisation']} characters"
    return " ".join(name.split()), None


def validate_reason(value: Any, *, required: bool, what: str = "a reason") -> tuple[str | None, str | None]:
    """(reason text or None, error or None).

    >>> validate_reason("", required=True)
    (None, 'Enter a reason')
    """
    reason = clean_text(value)
    if reason is None:
        return None, (f"Enter {what}" if required else None)
    if len(reason) > MAX_LENGTHS["reason"]:
        return None, f"Keep it under {MAX_LENGTHS['reason']} characters"
    return reason, None


def parse_day_periods(text: str) -> list[list[str]]:
    """Read one day's times as typed, like ``"9:00-12:30, 13:30 to 17:00"``, ``"10am - 12pm"``
    or ``"9.30am to 1pm"`` (the ways people write times, read by
    :func:`~assetmap.domain.opening_hours_text.parse_said_periods`).

    Raises
    ------
    OpeningHoursError
        When a part is not two times, or the times make no sense.

    Examples
    --------
    >>> parse_day_periods("9:00-12:30, 13.30 to 17:00")
    [['09:00', '12:30'], ['13:30', '17:00']]
    >>> parse_day_periods("9.30am to 1pm")
    [['09:30', '13:00']]
    """
    said = parse_said_periods(text)
    if said is not None and not all(_PERIOD.match(part) for part in re.split(r"[,;]|\band\b", text) if part.strip()):
        return [list(period.as_pair()) for period in said]
    periods = []
    for part in re.split(r"[,;]|\band\b", text):
        if not part.strip():
            continue
        match = _PERIOD.match(part)
        if not match:
            raise OpeningHoursError(f"cannot read {part.strip()!r}")
        h1, m1, h2, m2 = match.groups()
        pair = [f"{int(h1):02d}:{m1}", f"{int(h2):02d}:{m2}"]
        Period.from_clock(*pair)  # checks the times
        periods.append(pair)
    return periods


def format_day_periods(periods: list | None) -> str:
    """The inverse of :func:`parse_day_periods`, for filling in the editor.

    >>> format_day_periods([["09:00", "12:30"], ["13:30", "17:00"]])
    '09:00-12:30, 13:30-17:00'
    """
    return ", ".join(f"{opens}-{closes}" for opens, closes in periods or ())


def _opening_hours(raw: Mapping[str, Any] | None, errors: dict[str, str]) -> dict | None:
    """``raw`` is ``{day: {"state": unknown|closed|open, "times": "09:00-17:00"}}``."""
    schedule: dict[str, list] = {}
    for day in DAYS:
        entry = (raw or {}).get(day) or {}
        state = entry.get("state") or "unknown"
        times = clean_text(entry.get("times")) or ""
        key = f"hours_{day}"
        if state not in HOURS_STATES:
            errors[key] = f"{DAY_LABELS[day]}: choose not known, closed or open"
            continue
        if state == "unknown" and times:
            state = "open"  # typed times but left the choice alone: they meant open
        if state == "closed":
            if times:
                errors[key] = f"{DAY_LABELS[day]}: you chose closed but gave times; clear the times or choose open"
                continue
            schedule[day] = []
        elif state == "open":
            if not times:
                errors[key] = f"{DAY_LABELS[day]}: enter the opening times, like 09:00-12:30, 13:30-17:00"
                continue
            try:
                schedule[day] = parse_day_periods(times)
            except OpeningHoursError as error:
                errors[key] = (f"{DAY_LABELS[day]}: {error.message}; "
                               "write the times like 09:00-12:30, 13:30-17:00")
    if any(key.startswith("hours_") for key in errors):
        return None
    try:
        return WeeklySchedule.from_json(schedule).to_json() or None
    except OpeningHoursError as error:
        errors["hours_mon"] = error.message
        return None


def _location(raw: Mapping[str, Any], postcode: str | None, checks: Checks, errors: dict[str, str]):
    lat_text, lon_text = clean_text(raw.get("lat")), clean_text(raw.get("lon"))
    if lat_text is None and lon_text is None:
        if postcode is None:
            if "postcode" not in errors:
                errors["postcode"] = "Enter the postcode, or place a pin on the map"
            return None
        point = checks.locate_postcode(postcode)
        if point is None:
            errors["postcode"] = f"We could not find the postcode {postcode}; check it, or place a pin on the map"
            return None
        lon, lat = point
    else:
        try:
            lat, lon = float(lat_text or ""), float(lon_text or "")
        except ValueError:
            errors["location"] = "The position must be two numbers: latitude (like 52.7) and longitude (like -2.75)"
            return None
        if not (-90 <= lat <= 90 and -180 <= lon <= 180):
            errors["location"] = "Latitude must be between -90 and 90 and longitude between -180 and 180"
            return None
    if not checks.is_inside(lon, lat):
        where = "That postcode is" if lat_text is None and lon_text is None else "That position is"
        errors["postcode" if lat_text is None and lon_text is None else "location"] = (
            f"{where} outside the areas this map covers; check it, or move the pin"
        )
        return None
    return normalise("location", (lon, lat))


def _choices(raw: Any, allowed: Mapping[str, str] | frozenset[str], key: str, what: str,
             errors: dict[str, str]) -> list[str]:
    if isinstance(raw, str):
        raw = [raw]
    values = [v for v in (raw or []) if v not in (None, "")]
    unknown = sorted({str(v) for v in values} - set(allowed))
    if unknown:
        errors[key] = f"Choose {what} from the list ({', '.join(unknown)} is not one)"
    return normalise(key, [v for v in values if v in allowed])


def _tri_state(value: Any, key: str, errors: dict[str, str]) -> bool | None:
    if value in (None, "", "unknown"):
        return None
    if value in (True, "yes", "true", "1", "on"):
        return True
    if value in (False, "no", "false", "0"):
        return False
    errors[key] = "Choose yes, no or not sure"
    return None


def _url(value: Any, errors: dict[str, str]) -> str | None:
    text = clean_text(value)
    if text is None:
        return None
    url = clean_url(text)
    if url is None:
        errors["url"] = URL_MESSAGE
        return None
    if len(url) > MAX_LENGTHS["url"]:
        errors["url"] = f"The web address must be {MAX_LENGTHS['url']} characters or fewer"
        return None
    return url


def validate_asset(raw: Mapping[str, Any], checks: Checks) -> tuple[dict[str, Any], dict[str, str]]:
    """Check a proposed asset; return (values in snapshot normal form, errors by field).

    Parameters
    ----------
    raw : what the form sent, as strings and lists of strings: ``name``, ``description``,
        ``asset_types``, ``five_ways``, ``postcode``, ``address``, ``town``, ``lat``, ``lon``,
        ``service_area_id``, ``phone``, ``email``, ``url``, ``opening_hours``
        (``{day: {"state", "times"}}``), ``opening_hours_note``, ``cost``, ``is_free``,
        ``access_modes``, ``age_groups``, ``eligibility_note``, ``accessibility``,
        ``accepting_referrals``
    checks : vocabularies, areas and lookups; see :class:`Checks`

    Returns
    -------
    values : dict
        The editable fields (:data:`assetmap.domain.revisions.EDITABLE_FIELDS`), when there are
        no errors; fields in error are left ``None``.
    errors : dict
        ``{field: message}``; the opening hours report as ``hours_mon`` ... ``hours_sun``, the
        position as ``location`` (or ``postcode`` when it came from the postcode).

    Examples
    --------
    >>> checks = Checks(asset_types=frozenset({"community-venue"}),
    ...                 locate_postcode=lambda pc: (-2.75, 52.71) if pc == "SY1 1AA" else None)
    >>> values, errors = validate_asset({"name": " Hub ", "asset_types": ["community-venue"],
    ...                                  "postcode": "sy11aa"}, checks)
    >>> errors, values["name"], values["location"], values["postcode"]
    ({}, 'Hub', [-2.75, 52.71], 'SY1 1AA')
    >>> validate_asset({"name": "", "postcode": "XX"}, checks)[1]  # doctest: +NORMALIZE_WHITESPACE
    {'name': 'Enter the name of the place or group', 'asset_types': 'Choose at least one type',
     'postcode': 'Enter a real postcode, like SY1 1AA'}
    """
    errors: dict[str, str] = {}
    values: dict[str, Any] = {}

    for key in ("name", "description", "address", "town", "opening_hours_note", "cost", "eligibility_note"):
        text = clean_text(raw.get(key), MAX_LENGTHS[key])
        if text is not None and len(text) > MAX_LENGTHS[key]:
            errors[key] = f"This must be {MAX_LENGTHS[key]} characters or fewer"
            text = None
        values[key] = text
    for key in ("name", "town"):  # one line each (they go into email subjects and map tooltips)
        values[key] = " ".join(values[key].split()) if values[key] else values[key]
    if values["name"] is None and "name" not in errors:
        errors["name"] = "Enter the name of the place or group"

    values["asset_types"] = _choices(raw.get("asset_types"), checks.asset_types, "asset_types", "a type", errors)
    if not values["asset_types"] and "asset_types" not in errors:
        errors["asset_types"] = "Choose at least one type"
    values["five_ways"] = _choices(raw.get("five_ways"), checks.five_ways, "five_ways", "ways to wellbeing", errors)
    values["access_modes"] = _choices(raw.get("access_modes"), ACCESS_MODES, "access_modes", "how to get in", errors)
    values["age_groups"] = _choices(raw.get("age_groups"), AGE_GROUPS, "age_groups", "ages", errors)
    values["accessibility"] = _choices(raw.get("accessibility"), ACCESSIBILITY, "accessibility", "features", errors)

    postcode_text = clean_text(raw.get("postcode"))
    postcode = normalise_postcode(postcode_text)
    if postcode_text and postcode is None:
        errors["postcode"] = "Enter a real postcode, like SY1 1AA"
    values["postcode"] = postcode
    values["location"] = _location(raw, postcode, checks, errors)

    area = clean_text(raw.get("service_area_id"))
    values["service_area_id"] = None
    if area is not None:
        if not is_digits(area, 18) or int(area) not in checks.service_areas:
            errors["service_area_id"] = "Choose an area from the list, or 'Only people who come to this place'"
        else:
            values["service_area_id"] = int(area)

    phone = clean_text(raw.get("phone"))
    if phone is not None and not is_phone(phone):
        errors["phone"] = PHONE_MESSAGE
        phone = None
    values["phone"] = phone
    values["email"], email_error = validate_email(raw.get("email"))
    if email_error:
        errors["email"] = email_error
    values["url"] = _url(raw.get("url"), errors)

    values["opening_hours"] = _opening_hours(raw.get("opening_hours"), errors)
    values["is_free"] = _tri_state(raw.get("is_free"), "is_free", errors)
    values["accepting_referrals"] = _tri_state(raw.get("accepting_referrals"), "accepting_referrals", errors)

    return {key: values.get(key) for key in EDITABLE_FIELDS}, errors


def validate_problem(raw: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """Check a problem report: ``problem_type``, ``comment``, ``submitter_email``.

    Examples
    --------
    >>> validate_problem({"problem_type": "closed", "comment": " Shut in May "})
    ({'problem_type': 'closed', 'comment': 'Shut in May', 'submitter_email': None}, {})
    >>> validate_problem({"problem_type": "other"})[1]
    {'comment': 'Tell us what is wrong'}
    """
    errors: dict[str, str] = {}
    problem_type = raw.get("problem_type")
    if problem_type not in PROBLEM_TYPES:
        errors["problem_type"] = "Choose what is wrong"
        problem_type = None
    comment = clean_text(raw.get("comment"), MAX_LENGTHS["comment"])
    if comment is not None and len(comment) > MAX_LENGTHS["comment"]:
        errors["comment"] = f"Keep it under {MAX_LENGTHS['comment']} characters"
        comment = None
    elif comment is None and problem_type in ("other", "wrong_details"):
        errors["comment"] = "Tell us what is wrong"
    email, email_error = validate_email(raw.get("submitter_email"))
    if email_error:
        errors["submitter_email"] = email_error
    return {"problem_type": problem_type, "comment": comment, "submitter_email": email}, errors
