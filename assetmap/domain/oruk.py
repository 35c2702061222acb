"""Open Referral UK (HSDS 3.0 based, profile v3): assets to services and back.

An asset is one HSDS *service at a location*, flattened. Assets that share a service id (one
service run at several places, as imported from a feed) are one ORUK ``service`` with several
``service_at_locations``. Assets made in this service have no stored ORUK ids: their service id is
``asset.uuid`` and their other ids are derived from it with :func:`derived_id`, so the same asset
always gets the same ids.

Writing (:func:`service_json` and friends) takes asset dicts as :mod:`assetmap.db.oruk` returns
them; reading (:func:`parse_service`) turns one service document of a feed into the asset fields it
holds, with notes on what could not be kept and the fields the profile does not know.
Writing then reading then writing gives the same JSON.

No Flask and no SQL here.
"""
from __future__ import annotations

import math
import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timezone
from typing import Any

from assetmap.domain.opening_hours import (
    HSDS_BYDAY,
    OpeningHoursError,
    WeeklySchedule,
    from_hsds_schedules,
    to_hsds_schedules,
)
from assetmap.domain.postcodes import normalise_postcode
from assetmap.errors import BadInputError

__all__ = [
    "ACCESSIBILITY_LABELS",
    "as_uuid",
    "attribution",
    "clean_text",
    "AGE_GROUPS",
    "HSDS_VERSION",
    "NAMESPACE",
    "ParsedLocation",
    "ParsedService",
    "ServiceQuery",
    "ages_for_groups",
    "derived_id",
    "groups_for_ages",
    "keep_what_the_feed_cannot_say",
    "location_json",
    "page",
    "parse_organisation",
    "parse_page",
    "parse_service",
    "parse_service_query",
    "service_at_location_json",
    "service_json",
    "service_summary_json",
    "taxonomy_json",
    "taxonomy_term_json",
]

HSDS_VERSION = "3.0"
#: Namespace of every id derived here (uuid3 of "<kind>:<parent id>"). Never change it: the ids
#: published from it would all change.
NAMESPACE = uuid.UUID("73122229-d505-4e9b-bd99-2fa936ae8276")

#: Age groups of an asset and the ages they cover (inclusive; None: no upper limit).
AGE_GROUPS: dict[str, tuple[int, int | None]] = {"children": (0, 15), "adults": (16, 59), "older": (60, None)}

#: Accessibility features an asset records, as ORUK ``accessibility.description``.
ACCESSIBILITY_LABELS: dict[str, str] = {
    "step_free": "Step-free access",
    "hearing_loop": "Hearing loop",
    "accessible_toilet": "Accessible toilet",
}
# How a feed's free-text accessibility entries name those features.
_ACCESSIBILITY_WORDS = {
    "step_free": re.compile(r"step[- ]?free|wheelchair|level access|\bramps?\b", re.I),
    "hearing_loop": re.compile(r"hearing loop|induction loop|loop system", re.I),
    "accessible_toilet": re.compile(r"accessible (toilet|wc|loo)|disabled (toilet|wc)|changing places", re.I),
}

#: The option of a cost we know applies but not how much.
CHARGES_APPLY = "Charges apply"
_FREE_WORDS = {"free", "free of charge", "no charge"}

_URL = re.compile(r"^https?://[^\s/$.?#][^\s]*$", re.I)
_EMAIL = re.compile(r"^[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+$")


# --------------------------------------------------------------------------------------------
# Ids
# --------------------------------------------------------------------------------------------

def derived_id(kind: str, parent: uuid.UUID | str) -> uuid.UUID:
    """A stable id for an ORUK object that the database does not store.

    Parameters
    ----------
    kind : str
        What the id is for: ``service_at_location``, ``location``, ``schedule:...``.
    parent : UUID or str
        The id it belongs to (an asset's uuid, a location id, ...).

    Examples
    --------
    >>> a = "3f2b5c1e-0000-4000-8000-000000000001"
    >>> derived_id("location", a) == derived_id("location", uuid.UUID(a))
    True
    >>> derived_id("location", a) != derived_id("service_at_location", a)
    True
    """
    return uuid.uuid3(NAMESPACE, f"{kind}:{str(parent).lower()}")


def _sid(value: Any) -> str:
    return str(value)


# --------------------------------------------------------------------------------------------
# Small conversions shared by both directions
# --------------------------------------------------------------------------------------------

def clean_text(value: Any) -> str | None:
    """A value as stripped text (non-breaking spaces too); None when empty or not a scalar."""
    if value is None or isinstance(value, (dict, list)):
        return None
    text = str(value).replace("\u00a0", " ").strip()
    return text or None


def _url(value: Any) -> str | None:
    text = clean_text(value)
    return text if text and _URL.match(text) else None


def _email(value: Any) -> str | None:
    text = clean_text(value)
    return text if text and _EMAIL.match(text) else None


def _timestamp(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def _compact(obj: dict) -> dict:
    """Drop keys whose value is None: the schemas type every field, and null is not one."""
    return {k: v for k, v in obj.items() if v is not None}


def ages_for_groups(groups: Iterable[str]) -> tuple[int | None, int | None]:
    """``(minimum_age, maximum_age)`` covering the asset's age groups; (None, None) if none.

    Examples
    --------
    >>> ages_for_groups(["adults", "children"])
    (0, 59)
    >>> ages_for_groups(["older"])
    (60, None)
    >>> ages_for_groups([])
    (None, None)
    """
    known = [AGE_GROUPS[g] for g in groups if g in AGE_GROUPS]
    if not known:
        return None, None
    lowest = min(lo for lo, _ in known)
    highest = None if any(hi is None for _, hi in known) else max(hi for _, hi in known)
    return lowest, highest


def groups_for_ages(minimum: float | None, maximum: float | None) -> list[str]:
    """The age groups a service for ages ``minimum`` to ``maximum`` serves (any overlap).

    Examples
    --------
    >>> groups_for_ages(12, 100)
    ['children', 'adults', 'older']
    >>> groups_for_ages(16, 59)
    ['adults']
    >>> groups_for_ages(None, None)
    []
    """
    if minimum is None and maximum is None:
        return []
    lo = 0 if minimum is None else minimum
    hi = math.inf if maximum is None else maximum
    return [g for g, (g_lo, g_hi) in AGE_GROUPS.items() if g_lo <= hi and (g_hi is None or g_hi >= lo)]


# --------------------------------------------------------------------------------------------
# Writing: assets → ORUK JSON
# --------------------------------------------------------------------------------------------
# An asset dict (from assetmap.db.oruk) has: uuid, service_id, sal_id, location_id, name,
# description, url, email, phone, address, town, postcode, lat, lon, opening_hours,
# opening_hours_note, cost, is_free, age_groups, eligibility_note, accessibility,
# last_verified_at, updated_at, organisation (dict or None), terms (list of dicts), kept (dict).


def _has_location(asset: Mapping) -> bool:
    return asset.get("lat") is not None or any(asset.get(k) for k in ("address", "postcode", "town"))


def _kept(asset: Mapping, part: str) -> dict:
    return ((asset.get("kept") or {}).get(part)) or {}


def _organization_json(org: Mapping) -> dict:
    return _compact({
        "id": _sid(org["uuid"]),
        "name": org["name"],
        "description": clean_text(org.get("description")) or org["name"],
        "email": _email(org.get("email")),
        "website": _url(org.get("url")),
    })


def _address_json(asset: Mapping, location_id: str) -> dict:
    kept = _kept(asset, "location").get("address") or {}
    return _compact({
        "id": _sid(derived_id("address", location_id)),
        "location_id": location_id,
        "attention": kept.get("attention"),
        "address_1": asset.get("address") or "",
        "city": asset.get("town") or "",
        "region": kept.get("region"),
        "state_province": kept.get("state_province") or "",
        "postal_code": asset.get("postcode") or "",
        "country": kept.get("country") or "GB",
        "address_type": "physical",
    })


def _accessibility_json(asset: Mapping, location_id: str) -> list[dict]:
    out = [
        {
            "id": _sid(derived_id(f"accessibility:{code}", location_id)),
            "location_id": location_id,
            "description": ACCESSIBILITY_LABELS.get(code) or code.replace("_", " ").capitalize(),
        }
        for code in sorted(asset.get("accessibility") or ())
    ]
    out.extend(dict(entry, location_id=location_id) for entry in _kept(asset, "location").get("accessibility") or ())
    return out


def location_json(asset: Mapping, full: bool = True) -> dict:
    """The ORUK ``location`` of an asset (``full``: with addresses and accessibility)."""
    location_id = _sid(asset["location_id"])
    kept = _kept(asset, "location")
    loc = _compact({
        "id": location_id,
        "location_type": "physical",
        "name": kept.get("name") or asset["name"],
        "description": kept.get("description"),
        "latitude": None if asset.get("lat") is None else round(float(asset["lat"]), 6),
        "longitude": None if asset.get("lon") is None else round(float(asset["lon"]), 6),
        "external_identifier": kept.get("external_identifier"),
        "external_identifier_type": kept.get("external_identifier_type"),
    })
    if full:
        has_address = any(asset.get(k) for k in ("address", "postcode", "town"))
        loc["addresses"] = [_address_json(asset, location_id)] if has_address else []
        loc["accessibility"] = _accessibility_json(asset, location_id)
    return loc


def _schedules_json(hours: Mapping | None, note: str | None, owner: dict[str, str]) -> list[dict]:
    """HSDS schedules of one asset's hours (and its note, as a schedule with a description only).

    ``owner`` holds ``service_id`` and, for hours of one location, ``service_at_location_id``.
    """
    key = owner.get("service_at_location_id") or owner["service_id"]
    out = []
    try:
        rows = to_hsds_schedules(WeeklySchedule.from_json(hours)) if hours else []
    except OpeningHoursError:
        rows = []  # hours stored in a form we cannot read are not published
    for row in rows:
        ident = derived_id(f"schedule:{row['byday']}:{row['opens_at']}:{row['closes_at']}", key)
        out.append({"id": _sid(ident), **owner, **row})
    if note:
        out.append({"id": _sid(derived_id("schedule-note", key)), **owner, "description": note})
    return out


def _phones_json(number: str | None, owner: dict[str, str]) -> list[dict]:
    if not number:
        return []
    key = owner.get("service_at_location_id") or owner["service_id"]
    return [{"id": _sid(derived_id("phone", key)), **owner, "number": number}]


def _cost_options_json(asset: Mapping, service_id: str) -> list[dict]:
    cost, is_free = clean_text(asset.get("cost")), asset.get("is_free")
    ident = _sid(derived_id("cost_option", service_id))
    if is_free:
        return [{"id": ident, "service_id": service_id, "option": cost or "Free", "amount": 0}]
    if cost:
        return [{"id": ident, "service_id": service_id, "option": cost}]
    if is_free is False:
        return [{"id": ident, "service_id": service_id, "option": CHARGES_APPLY}]
    return []


def taxonomy_term_json(term: Mapping) -> dict:
    """An ORUK ``taxonomy_term`` from a term dict (uuid, label, description, vocabulary, slug,
    parent_uuid, taxonomy_uuid)."""
    return _compact({
        "id": _sid(term["uuid"]),
        "name": term["label"],
        "description": clean_text(term.get("description")) or term["label"],
        "parent_id": None if term.get("parent_uuid") is None else _sid(term["parent_uuid"]),
        "taxonomy": term["vocabulary"],
        "taxonomy_id": _sid(term["taxonomy_uuid"]),
        "term": term["slug"],
    })


def taxonomy_json(taxonomy: Mapping, terms: Sequence[Mapping] | None = None) -> dict:
    """An ORUK ``taxonomy`` (a vocabulary), with its terms when given."""
    out = _compact({
        "id": _sid(taxonomy["uuid"]),
        "name": taxonomy["name"],
        "description": clean_text(taxonomy.get("description")) or taxonomy["name"],
        "uri": _url(taxonomy.get("uri")),
        "version": clean_text(taxonomy.get("version")),
    })
    if terms is not None:
        out["taxonomy_terms"] = [taxonomy_term_json(t) for t in terms]
    return out


def _attributes_json(terms: Sequence[Mapping], service_id: str) -> list[dict]:
    return [
        {
            "id": _sid(derived_id(f"attribute:{t['uuid']}", service_id)),
            "link_id": service_id,
            "link_type": "service",
            "link_entity": "service",
            "taxonomy_term_id": _sid(t["uuid"]),
            "taxonomy_term": taxonomy_term_json(t),
        }
        for t in terms
    ]


def service_summary_json(assets: Sequence[Mapping]) -> dict:
    """The one-to-one fields of the service these assets make (a ``/services`` list item).

    ``assets`` share one service id and come in a stable order; the first speaks for the service.
    """
    first = assets[0]
    service_id = _sid(first["service_id"])
    kept = _kept(first, "service")
    minimum, maximum = ages_for_groups(first.get("age_groups") or ())
    org = first.get("organisation")
    verified = first.get("last_verified_at")
    updated = max((a["updated_at"] for a in assets if a.get("updated_at") is not None), default=None)
    out = _compact({
        "id": service_id,
        "organization_id": None if not org else _sid(org["uuid"]),
        "name": first["name"],
        "description": clean_text(first.get("description")),
        "url": _url(first.get("url")),
        "email": _email(first.get("email")),
        "status": kept.get("status") or "active",
        "fees": kept.get("fees"),
        "accreditations": kept.get("accreditations"),
        "eligibility_description": clean_text(first.get("eligibility_note")),
        "minimum_age": minimum,
        "maximum_age": maximum,
        "assured_date": verified.date().isoformat() if isinstance(verified, datetime) else None,
        "assurer_email": kept.get("assurer_email"),
        "alert": kept.get("alert"),
        "last_modified": _timestamp(updated),
    })
    if org:
        out["organization"] = _organization_json(org)
    return out


def _same(values: Sequence[Any]) -> bool:
    return all(v == values[0] for v in values[1:])


def service_json(assets: Sequence[Mapping]) -> dict:
    """The full ORUK ``service`` these assets make (``GET /services/{id}``).

    Hours and phone numbers that every location shares are the service's; where they differ each
    schedule or phone names its ``service_at_location_id``.
    """
    first = assets[0]
    service_id = _sid(first["service_id"])
    kept = _kept(first, "service")
    located = [a for a in assets if _has_location(a)]
    shared_hours = _same([(a.get("opening_hours") or None, clean_text(a.get("opening_hours_note"))) for a in assets])
    shared_phone = _same([clean_text(a.get("phone")) for a in assets])

    schedules: list[dict] = []
    phones: list[dict] = []
    if shared_hours:
        schedules = _schedules_json(first.get("opening_hours"), clean_text(first.get("opening_hours_note")),
                                    {"service_id": service_id})
    if shared_phone:
        phones = _phones_json(clean_text(first.get("phone")), {"service_id": service_id})
    for a in located:
        owner = {"service_id": service_id, "service_at_location_id": _sid(a["sal_id"])}
        if not shared_hours:
            schedules.extend(_schedules_json(a.get("opening_hours"), clean_text(a.get("opening_hours_note")), owner))
        if not shared_phone:
            phones.extend(_phones_json(clean_text(a.get("phone")), owner))

    out = service_summary_json(assets)
    out.pop("organization", None)
    out.update({
        "schedules": schedules,
        "service_areas": list(kept.get("service_areas") or ()),
        "service_at_locations": [
            {"id": _sid(a["sal_id"]), "service_id": service_id, "location_id": _sid(a["location_id"]),
             "location": location_json(a)}
            for a in located
        ],
        "languages": list(kept.get("languages") or ()),
    })
    org = first.get("organisation")
    if org:
        out["organization"] = _organization_json(org)
    out.update({
        "funding": list(kept.get("funding") or ()),
        "cost_options": _cost_options_json(first, service_id),
        "contacts": list(kept.get("contacts") or ()),
        "phones": phones,
        "attributes": _attributes_json(first.get("terms") or (), service_id),
    })
    return out


def service_at_location_json(asset: Mapping, service_assets: Sequence[Mapping], full: bool = True) -> dict:
    """An ORUK ``service_at_location``: the asset's location and its service.

    ``full`` nests the whole service (without its other locations; schedules and phones of this
    location only) and the location's addresses; otherwise the one-to-one fields.
    """
    sal_id = _sid(asset["sal_id"])
    if full:
        service = service_json(service_assets)
        service.pop("service_at_locations")
        for key in ("schedules", "phones"):
            service[key] = [s for s in service[key] if s.get("service_at_location_id") in (None, sal_id)]
    else:
        service = service_summary_json(service_assets)
    return {
        "id": sal_id,
        "service_id": _sid(asset["service_id"]),
        "location_id": _sid(asset["location_id"]),
        "location": location_json(asset, full=full),
        "service": service,
    }


# --------------------------------------------------------------------------------------------
# Attribution
# --------------------------------------------------------------------------------------------

def attribution(sources: Sequence[Mapping]) -> dict:
    """Licence and attribution of the data published, from the data sources loaded
    (``title``, ``publisher``, ``licence``, ``attribution``, ``last_imported_at``).

    Examples
    --------
    >>> attribution([{"title": "Food banks", "publisher": "Give Food", "licence": "Credit Give Food",
    ...               "attribution": "Food bank data from Give Food.", "last_imported_at": None}])["attribution"]
    'Food bank data from Give Food.'
    """
    licences = sorted({s["licence"] for s in sources if s.get("licence")})
    return {
        "licence": "; ".join(licences) or "Open Government Licence v3.0",
        "attribution": " ".join(s["attribution"] for s in sources if s.get("attribution")),
        "sources": [
            _compact({"title": s["title"], "publisher": s.get("publisher"), "licence": s.get("licence"),
                      "updated": _timestamp(s.get("last_imported_at"))})
            for s in sources
        ],
    }


# --------------------------------------------------------------------------------------------
# Pages and query parameters
# --------------------------------------------------------------------------------------------

DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 500


def page(contents: list, total: int, page_number: int, per_page: int) -> dict:
    """The ORUK page wrapper.

    Examples
    --------
    >>> p = page(["a", "b"], total=5, page_number=3, per_page=2)
    >>> p["total_pages"], p["size"], p["first_page"], p["last_page"], p["empty"]
    (3, 2, False, True, False)
    """
    total_pages = math.ceil(total / per_page) if total else 0
    return {
        "total_items": total,
        "total_pages": total_pages,
        "page_number": page_number,
        "size": len(contents),
        "first_page": page_number == 1,
        "last_page": page_number >= total_pages,
        "empty": total == 0,
        "contents": contents,
    }


def _int_arg(args: Mapping[str, str], name: str, default: int, lo: int, hi: int) -> int:
    raw = args.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(str(raw).strip())
    except ValueError:
        raise BadInputError(f"{name} must be a whole number, not {raw!r}") from None
    if not lo <= value <= hi:
        raise BadInputError(f"{name} must be between {lo} and {hi}, not {value}")
    return value


def parse_page(args: Mapping[str, str]) -> tuple[int, int]:
    """``(page, per_page)`` from the query; 400 for anything else than sensible whole numbers.

    Examples
    --------
    >>> parse_page({"page": "2", "per_page": "10"})
    (2, 10)
    >>> parse_page({})
    (1, 50)
    """
    return (_int_arg(args, "page", 1, 1, 1_000_000),
            _int_arg(args, "per_page", DEFAULT_PER_PAGE, 1, MAX_PER_PAGE))


_DAY_NAMES = {**{code: day for day, code in HSDS_BYDAY.items()},
              **{name: day for day, name in zip(HSDS_BYDAY, ("MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY",
                                                             "FRIDAY", "SATURDAY", "SUNDAY"))},
              **{day.upper(): day for day in HSDS_BYDAY}}
_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?$")


@dataclass(frozen=True)
class ServiceQuery:
    """The filters of ``/services`` and ``/service_at_locations``, checked."""

    search: str | None = None
    taxonomy_term_id: uuid.UUID | None = None
    taxonomy_id: uuid.UUID | None = None
    postcode: str | None = None
    proximity: float | None = None
    minimum_age: float | None = None
    maximum_age: float | None = None
    day: str | None = None  # mon ... sun
    start_minute: int | None = None
    end_minute: int | None = None
    modified_after: datetime | None = None


def _uuid_arg(args: Mapping[str, str], name: str) -> uuid.UUID | None:
    raw = args.get(name)
    if raw in (None, ""):
        return None
    try:
        return uuid.UUID(str(raw).strip())
    except ValueError:
        raise BadInputError(f"{name} must be a UUID, not {raw!r}") from None


def _number_arg(args: Mapping[str, str], name: str, lo: float, hi: float) -> float | None:
    raw = args.get(name)
    if raw in (None, ""):
        return None
    try:
        value = float(str(raw).strip())
    except ValueError:
        raise BadInputError(f"{name} must be a number, not {raw!r}") from None
    if not math.isfinite(value) or not lo <= value <= hi:
        raise BadInputError(f"{name} must be between {lo:g} and {hi:g}, not {raw}")
    return value


def _time_arg(args: Mapping[str, str], name: str) -> int | None:
    raw = args.get(name)
    if raw in (None, ""):
        return None
    match = _TIME.match(str(raw).strip())
    if not match:
        raise BadInputError(f"{name} must be a time like 09:30 or 09:30:00, not {raw!r}")
    return int(match.group(1)) * 60 + int(match.group(2))


def _datetime_arg(args: Mapping[str, str], name: str) -> datetime | None:
    raw = args.get(name)
    if raw in (None, ""):
        return None
    text = str(raw).strip()
    try:
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            value = datetime.combine(date.fromisoformat(text), time())
        else:
            value = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise BadInputError(f"{name} must be a date or date and time like 2024-05-01T09:00:00Z, not {raw!r}") from None
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def parse_service_query(args: Mapping[str, str]) -> ServiceQuery:
    """Check the query parameters of a services listing.

    Raises
    ------
    BadInputError
        For a malformed value, a proximity without a postcode, or a postcode that is not one.

    Examples
    --------
    >>> q = parse_service_query({"day": "MO", "start_time": "09:00", "postcode": "sy11 1pw", "proximity": "2000"})
    >>> q.day, q.start_minute, q.postcode, q.proximity
    ('mon', 540, 'SY11 1PW', 2000.0)
    """
    if any("\x00" in str(value) for value in args.values()):
        raise BadInputError("query parameters cannot contain NUL characters")
    search = clean_text(args.get("search"))
    if search is not None and len(search) > 200:
        raise BadInputError("search must be at most 200 characters")
    postcode_raw = clean_text(args.get("postcode"))
    postcode = normalise_postcode(postcode_raw) if postcode_raw else None
    if postcode_raw and postcode is None:
        raise BadInputError(f"{postcode_raw!r} is not a UK postcode")
    proximity = _number_arg(args, "proximity", 1, 200_000)
    if proximity is not None and postcode is None:
        raise BadInputError("proximity needs a postcode to measure from")
    day_raw = clean_text(args.get("day"))
    day = None
    if day_raw is not None:
        day = _DAY_NAMES.get(day_raw.upper())
        if day is None:
            raise BadInputError(f"day must be one of MO, TU, WE, TH, FR, SA, SU (or the day's name), not {day_raw!r}")
    minimum = _number_arg(args, "minimum_age", 0, 150)
    maximum = _number_arg(args, "maximum_age", 0, 150)
    return ServiceQuery(
        search=search,
        taxonomy_term_id=_uuid_arg(args, "taxonomy_term_id"),
        taxonomy_id=_uuid_arg(args, "taxonomy_id"),
        postcode=postcode,
        proximity=proximity,
        minimum_age=minimum,
        maximum_age=maximum,
        day=day,
        start_minute=_time_arg(args, "start_time"),
        end_minute=_time_arg(args, "end_time"),
        modified_after=_datetime_arg(args, "modified_after"),
    )


# --------------------------------------------------------------------------------------------
# Reading: one ORUK service document → asset fields
# --------------------------------------------------------------------------------------------

# Fields of the profile's objects (plus the HSDS 3.0 ones read here). Others are reported.
_SERVICE_FIELDS = {
    "id", "organization_id", "name", "description", "url", "email", "status", "fees", "accreditations",
    "minimum_age", "maximum_age", "assured_date", "assurer_email", "alert", "last_modified", "schedules",
    "service_areas", "service_at_locations", "languages", "organization", "funding", "cost_options", "contacts",
    "attributes", "phones", "eligibility_description",
}
_SAL_FIELDS = {"id", "service_id", "location_id", "location", "service", "schedules", "phones"}
_LOCATION_FIELDS = {
    "id", "location_type", "name", "description", "latitude", "longitude", "external_identifier",
    "external_identifier_type", "addresses", "accessibility", "attributes", "schedules", "phones",
}
_ADDRESS_FIELDS = {"id", "location_id", "attention", "address_1", "address_2", "city", "region", "state_province",
                   "postal_code", "country", "address_type", "attributes"}
_SCHEDULE_FIELDS = {
    "id", "service_id", "service_at_location_id", "location_id", "valid_from", "valid_to", "dtstart", "freq",
    "interval", "byday", "bymonthday", "description", "opens_at", "closes_at", "schedule_link", "attending_type",
    "notes", "until", "count", "wkst", "byweekno", "byyearday", "timezone",
}
_ORGANIZATION_FIELDS = {"id", "name", "description", "email", "website", "logo", "uri", "parent_organization_id",
                        "organization_identifiers", "attributes", "phones", "services"}
_ATTRIBUTE_FIELDS = {"id", "link_id", "taxonomy_term_id", "link_type", "link_entity", "taxonomy_term", "value",
                     "label"}
_TERM_FIELDS = {"id", "name", "description", "parent_id", "taxonomy", "taxonomy_id", "term_uri", "term",
                "code", "language", "taxonomy_detail"}
# Service fields kept as published and written back out (the asset has no column for them).
_KEPT_SERVICE_LISTS = ("service_areas", "languages", "funding", "contacts")
_KEPT_SERVICE_TEXT = ("fees", "accreditations", "assurer_email", "alert")


@dataclass
class ParsedLocation:
    """One service at one location, as the asset it becomes."""

    sal_id: uuid.UUID | None
    location_id: uuid.UUID | None
    lat: float | None = None
    lon: float | None = None
    address: str | None = None
    town: str | None = None
    postcode: str | None = None
    postcode_as_published: str | None = None
    accessibility: list[str] = field(default_factory=list)
    phone: str | None = None
    opening_hours: dict | None = None
    opening_hours_note: str | None = None
    kept: dict = field(default_factory=dict)


@dataclass
class ParsedService:
    """The asset fields of one ORUK service, and what reading it had to say."""

    service_id: uuid.UUID
    status: str
    fields: dict[str, Any]  # name, description, url, email, cost, is_free, age_groups, eligibility_note, last_verified_at
    locations: list[ParsedLocation]
    organisation: dict | None
    terms: list[dict]
    kept: dict
    unknown_fields: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def _unknown(obj: Mapping, known: set[str], where: str, out: list[str]) -> None:
    out.extend(f"{where}.{key}" for key in obj if key not in known)


def as_uuid(value: Any) -> uuid.UUID | None:
    """A UUID from text, or None when it is not one."""
    try:
        return uuid.UUID(str(value).strip()) if value not in (None, "") else None
    except (ValueError, AttributeError):
        return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value) if math.isfinite(value) else None
    try:
        number = float(str(value).strip()) if value not in (None, "") else None
    except ValueError:
        return None
    return number if number is not None and math.isfinite(number) else None


def _dicts(value: Any) -> list[dict]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _with_ids(items: list[dict], where: str, notes: list[str]) -> list[dict]:
    """Kept objects must carry a UUID id to be published again."""
    good = [item for item in items if as_uuid(item.get("id")) is not None]
    if len(good) < len(items):
        notes.append(f"{where}: {len(items) - len(good)} entries without a UUID id were left out")
    return good


def _cost_fields(options: list[dict], fees: str | None) -> tuple[str | None, bool | None]:
    """(cost, is_free) from ``cost_options`` (or the deprecated ``fees`` text)."""
    if not options:
        return (fees, None) if fees else (None, None)
    texts, amounts = [], []
    for option in options:
        label = clean_text(option.get("option"))
        amount = _number(option.get("amount"))
        free_word = label is not None and label.lower() in _FREE_WORDS
        amounts.append(0.0 if amount is None and free_word else amount)
        if free_word or label == CHARGES_APPLY:
            label = None
        price = f"£{amount:,.2f}".removesuffix(".00") if amount else None
        text = f"{label}: {price}" if label and price else (label or price)
        description = clean_text(option.get("amount_description"))
        text = f"{text} {description}" if text and description else (text or description)
        if text:
            texts.append(text)
    cost = "; ".join(texts) or None
    if all(a == 0 for a in amounts):
        return cost, True
    if any(a for a in amounts) or any(clean_text(o.get("option")) == CHARGES_APPLY for o in options):
        return cost, False
    return cost, None


def _hours(schedules: list[dict], where: str, notes: list[str]) -> tuple[dict | None, str | None]:
    """Weekly hours and a note from HSDS schedules; what cannot be held goes into the note."""
    timed = [s for s in schedules if s.get("freq") or s.get("opens_at") or s.get("byday")]
    texts = []
    for s in schedules:
        for key in ("description", "notes"):
            text = clean_text(s.get(key))
            if text and text not in texts:
                texts.append(text)
    hours = None
    if timed:
        try:
            hours = from_hsds_schedules(timed).to_json() or None
        except OpeningHoursError as error:
            notes.append(f"{where}: opening hours not kept as a timetable ({error.message}); kept as a note")
            for s in timed:
                if not clean_text(s.get("description")):
                    texts.append(f"{s.get('byday') or '?'} {s.get('opens_at') or '?'}-{s.get('closes_at') or '?'}")
    return hours, "\n".join(texts) or None


def _published_hours(hours: Mapping | None) -> list[dict] | None:
    try:
        return to_hsds_schedules(WeeklySchedule.from_json(hours)) if hours else []
    except OpeningHoursError:
        return None


def keep_what_the_feed_cannot_say(current: Mapping[str, Any], incoming: dict[str, Any]) -> dict[str, Any]:
    """``incoming`` asset values, except where the standard cannot tell them from ``current``.

    ORUK has no "charges, amount not known" apart from "not known", no age groups, and no way to
    tell a closed day from one not known: when the current and incoming values would be published
    the same, the current one (which a moderator may have set more precisely) is kept.

    Examples
    --------
    >>> keep_what_the_feed_cannot_say({"age_groups": ["children", "older"]}, {"age_groups": ["children", "adults", "older"]})
    {'age_groups': ['children', 'older']}
    """
    out = dict(incoming)
    if "age_groups" in incoming and ages_for_groups(current.get("age_groups") or ()) == ages_for_groups(
            incoming["age_groups"] or ()):
        out["age_groups"] = list(current.get("age_groups") or ())
    if "cost" in incoming and _cost_options_json(current, "") == _cost_options_json(incoming, ""):
        out["cost"], out["is_free"] = current.get("cost"), current.get("is_free")
    if "opening_hours" in incoming:
        published = _published_hours(current.get("opening_hours"))
        if published is not None and published == _published_hours(incoming["opening_hours"]):
            out["opening_hours"] = current.get("opening_hours")
    return out


def _phone(items: Any) -> str | None:
    for phone in _dicts(items):
        number = clean_text(phone.get("number"))
        if number:
            return number[:50]
    return None


def _parse_location(sal: Mapping, where: str, unknown: list[str], notes: list[str]) -> ParsedLocation:
    loc = sal.get("location") if isinstance(sal.get("location"), dict) else {}
    _unknown(sal, _SAL_FIELDS, "service_at_location", unknown)
    _unknown(loc, _LOCATION_FIELDS, "location", unknown)
    sal_id = as_uuid(sal.get("id"))
    location_id = as_uuid(loc.get("id")) or as_uuid(sal.get("location_id"))
    if sal_id is None:
        notes.append(f"{where}: no UUID id; one was made from the service and location")
    parsed = ParsedLocation(sal_id=sal_id, location_id=location_id)
    lat, lon = _number(loc.get("latitude")), _number(loc.get("longitude"))
    if lat is not None and lon is not None:
        if -90 <= lat <= 90 and -180 <= lon <= 180:
            parsed.lat, parsed.lon = lat, lon
        else:
            notes.append(f"{where}: latitude {loc.get('latitude')} / longitude {loc.get('longitude')} "
                         "are not a position on Earth; located by postcode instead if it has one")
    elif loc.get("latitude") is not None or loc.get("longitude") is not None:
        notes.append(f"{where}: latitude/longitude incomplete or not numbers; located by postcode instead")
    kept_loc: dict = {k: clean_text(loc.get(k)) for k in ("name", "description", "external_identifier",
                                                     "external_identifier_type")}
    kept_loc = {k: v for k, v in kept_loc.items() if v}
    addresses = _dicts(loc.get("addresses"))
    if addresses:
        physical = [a for a in addresses if a.get("address_type") in (None, "physical")] or addresses
        address = physical[0]
        _unknown(address, _ADDRESS_FIELDS, "address", unknown)
        lines = [clean_text(address.get(k)) for k in ("address_1", "address_2")]
        parsed.address = ", ".join(x for x in lines if x) or None
        parsed.town = clean_text(address.get("city"))
        raw = clean_text(address.get("postal_code"))
        parsed.postcode = normalise_postcode(raw)
        if raw and parsed.postcode is None:
            parsed.postcode_as_published = raw
            notes.append(f"{where}: postal_code {raw!r} is not a UK postcode")
        kept_address = {k: clean_text(address.get(k)) for k in ("attention", "region", "state_province", "country")}
        kept_address = {k: v for k, v in kept_address.items() if v and not (k == "country" and v == "GB")}
        if kept_address:
            kept_loc["address"] = kept_address
        if len(addresses) > 1:
            notes.append(f"{where}: {len(addresses)} addresses; the first physical one was kept")
    codes: set[str] = set()
    kept_access = []
    labels = set(ACCESSIBILITY_LABELS.values())
    for entry in _dicts(loc.get("accessibility")):
        text = " ".join(t for t in (clean_text(entry.get(k)) for k in ("description", "accessibility", "details")) if t)
        codes.update(code for code, words in _ACCESSIBILITY_WORDS.items() if words.search(text))
        if clean_text(entry.get("description")) not in labels:
            kept_access.append({k: v for k, v in entry.items() if k != "location_id"})
    parsed.accessibility = sorted(codes)
    kept_access = _with_ids(kept_access, f"{where} accessibility", notes)
    if kept_access:
        kept_loc["accessibility"] = kept_access
    if loc.get("location_type") not in (None, "physical"):
        notes.append(f"{where}: location_type {loc.get('location_type')!r} published as physical")
    parsed.kept = kept_loc
    parsed.phone = _phone(sal.get("phones")) or _phone(loc.get("phones"))
    return parsed


def _parse_terms(attributes: list[dict], unknown: list[str], notes: list[str]) -> list[dict]:
    terms, seen = [], set()
    for attribute in attributes:
        _unknown(attribute, _ATTRIBUTE_FIELDS, "attribute", unknown)
        term = attribute.get("taxonomy_term") if isinstance(attribute.get("taxonomy_term"), dict) else {}
        _unknown(term, _TERM_FIELDS, "taxonomy_term", unknown)
        term_id = as_uuid(term.get("id")) or as_uuid(attribute.get("taxonomy_term_id"))
        name = clean_text(term.get("name")) or clean_text(term.get("term"))
        if term_id is None:
            notes.append("an attribute without a taxonomy term id was left out")
            continue
        if term_id in seen:
            continue
        seen.add(term_id)
        terms.append({
            "uuid": term_id,
            "name": name,
            "description": clean_text(term.get("description")),
            "taxonomy": clean_text(term.get("taxonomy")),
            "taxonomy_id": as_uuid(term.get("taxonomy_id")),
            "parent_id": as_uuid(term.get("parent_id")),
            "term": clean_text(term.get("term")),
            "term_uri": clean_text(term.get("term_uri")),
        })
    return terms


def parse_organisation(org: Any, unknown: list[str] | None = None, notes: list[str] | None = None) -> dict | None:
    """An ORUK organization as Organisation fields (uuid, name, description, url, email, phone), or
    None when it has no UUID id or no name (said in ``notes``)."""
    unknown = [] if unknown is None else unknown
    notes = [] if notes is None else notes
    if not isinstance(org, dict):
        return None
    _unknown(org, _ORGANIZATION_FIELDS, "organization", unknown)
    org_id, name = as_uuid(org.get("id")), clean_text(org.get("name"))
    if org_id is None or name is None:
        notes.append("organization without a UUID id or a name was left out")
        return None
    description = clean_text(org.get("description"))
    return {
        "uuid": org_id,
        "name": name[:300],
        "description": None if description == name else description,
        "url": _url(org.get("website")),
        "email": _email(org.get("email")),
        "phone": _phone(org.get("phones")),
    }


def parse_service(doc: Mapping) -> ParsedService:
    """Read one ORUK service (full, or a list item) into asset fields.

    Hours that a weekly timetable cannot hold become a note; fields the asset has no column for
    are kept (``kept``) and written back out; fields the profile does not define are listed in
    ``unknown_fields`` (as ``object.field``).

    Raises
    ------
    BadInputError
        When the service has no UUID id or no name: it cannot be imported.

    Examples
    --------
    >>> s = parse_service({"id": "ac148810-d857-441c-9679-408f346de14b", "name": "Counselling",
    ...                    "status": "active", "minimum_age": 16, "colour": "blue"})
    >>> s.fields["age_groups"], s.unknown_fields
    (['adults', 'older'], ['service.colour'])
    """
    service_id = as_uuid(doc.get("id"))
    if service_id is None:
        raise BadInputError(f"service id {doc.get('id')!r} is not a UUID")
    name = clean_text(doc.get("name"))
    if name is None:
        raise BadInputError("service has no name")
    unknown: list[str] = []
    notes: list[str] = []
    _unknown(doc, _SERVICE_FIELDS, "service", unknown)

    minimum, maximum = _number(doc.get("minimum_age")), _number(doc.get("maximum_age"))
    if minimum is not None and maximum is not None and minimum > maximum:
        notes.append(f"minimum_age {minimum:g} is above maximum_age {maximum:g}; ages left out")
        minimum = maximum = None
    cost, is_free = _cost_fields(_dicts(doc.get("cost_options")), clean_text(doc.get("fees")))
    verified = None
    assured = clean_text(doc.get("assured_date"))
    if assured:
        try:
            verified = datetime.combine(date.fromisoformat(assured[:10]), time(), tzinfo=timezone.utc)
        except ValueError:
            notes.append(f"assured_date {assured!r} is not a date")
    url_raw, email_raw = clean_text(doc.get("url")), clean_text(doc.get("email"))
    if url_raw and not _url(url_raw):
        notes.append(f"url {url_raw!r} is not a web address; left out")
    if email_raw and not _email(email_raw):
        notes.append(f"email {email_raw!r} is not an email address; left out")
    fields = {
        "name": name[:300],
        "description": clean_text(doc.get("description")),
        "url": url_raw[:500] if _url(url_raw) else None,
        "email": email_raw[:254] if _email(email_raw) else None,
        "cost": cost,
        "is_free": is_free,
        "age_groups": groups_for_ages(minimum, maximum),
        "eligibility_note": clean_text(doc.get("eligibility_description")),
        "last_verified_at": verified,
    }

    kept: dict = {}
    status = clean_text(doc.get("status")) or "active"
    if status == "temporarily closed":
        kept["status"] = status
    for key in _KEPT_SERVICE_TEXT:
        value = clean_text(doc.get(key))
        if value and not (key == "fees" and cost == value):
            kept[key] = value
    for key in _KEPT_SERVICE_LISTS:
        items = [{k: v for k, v in item.items() if k != "service_id"} for item in _dicts(doc.get(key))]
        items = _with_ids(items, key, notes)
        if items:
            kept[key] = items

    schedules = _dicts(doc.get("schedules"))
    for s in schedules:
        _unknown(s, _SCHEDULE_FIELDS, "schedule", unknown)
    phones = _dicts(doc.get("phones"))
    general_schedules = [s for s in schedules if s.get("service_at_location_id") in (None, "")]
    general_phone = _phone([p for p in phones if p.get("service_at_location_id") in (None, "")])
    locations = []
    for number, sal in enumerate(_dicts(doc.get("service_at_locations")), start=1):
        where = f"service_at_location {number}"
        parsed = _parse_location(sal, where, unknown, notes)

        def own(items: list[dict]) -> list[dict]:
            return [x for x in items if parsed.sal_id is not None
                    and as_uuid(x.get("service_at_location_id")) == parsed.sal_id]

        own_schedules = own(schedules) + _dicts(sal.get("schedules")) + _dicts((sal.get("location") or {}).get("schedules"))
        parsed.opening_hours, parsed.opening_hours_note = _hours(own_schedules or general_schedules, where, notes)
        parsed.phone = _phone(own(phones)) or parsed.phone or general_phone
        locations.append(parsed)
    if not locations:
        hours, note = _hours(general_schedules, "service", notes)
        locations.append(ParsedLocation(sal_id=None, location_id=None, opening_hours=hours, opening_hours_note=note,
                                        phone=general_phone))
    if not any(p.phone for p in locations):
        contact_phone = next((_phone(c.get("phones")) for c in _dicts(doc.get("contacts")) if _phone(c.get("phones"))), None)
        for p in locations:
            p.phone = contact_phone
    organisation = parse_organisation(doc.get("organization"), unknown, notes)
    return ParsedService(
        service_id=service_id,
        status=status,
        fields=fields,
        locations=locations,
        organisation=organisation,
        terms=_parse_terms(_dicts(doc.get("attributes")), unknown, notes),
        kept=kept,
        unknown_fields=unknown,
        notes=notes,
    )
