"""Reading an Open Referral UK feed: one service document into the asset fields it holds, with notes
on what could not be kept and the fields the profile does not know.

What is read is written back out by :mod:`assetmap.domain.oruk_write`; writing then reading then
writing gives the same JSON.

No Flask and no SQL here.
"""
from __future__ import annotations

import math
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from typing import Any

from assetmap.domain.opening_hours import OpeningHoursError, WeeklySchedule
from assetmap.domain.opening_hours_hsds import from_hsds_schedules, to_hsds_schedules
from assetmap.domain.oruk_common import (
    ACCESSIBILITY_LABELS,
    CHARGES_APPLY,
    ages_for_groups,
    checked_email,
    checked_url,
    clean_text,
    groups_for_ages,
)
from assetmap.domain.oruk_write import cost_options_json
from assetmap.domain.postcodes import normalise_postcode
from assetmap.domain.validation import MAX_LENGTHS
from assetmap.errors import BadInputError

__all__ = [
    "ParsedLocation",
    "ParsedService",
    "as_uuid",
    "keep_what_the_feed_cannot_say",
    "parse_organisation",
    "parse_service",
]

# How a feed's free-text accessibility entries name the features of ``ACCESSIBILITY_LABELS``.
_ACCESSIBILITY_WORDS = {
    "step_free": re.compile(r"step[- ]?free|wheelchair|level access|\bramps?\b", re.I),
    "hearing_loop": re.compile(r"hearing loop|induction loop|loop system", re.I),
    "accessible_toilet": re.compile(r"accessible (toilet|wc|loo)|disabled (toilet|wc)|changing places", re.I),
}
# How a feed says a service costs nothing.
_FREE_WORDS = {"free", "free of charge", "no charge"}


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
    # name, description, url, email, cost, is_free, age_groups, eligibility_note, last_verified_at
    fields: dict[str, Any]
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
    >>> keep_what_the_feed_cannot_say({"age_groups": ["children", "older"]},
    ...                               {"age_groups": ["children", "adults", "older"]})
    {'age_groups': ['children', 'older']}
    """
    out = dict(incoming)
    if "age_groups" in incoming and ages_for_groups(current.get("age_groups") or ()) == ages_for_groups(
            incoming["age_groups"] or ()):
        out["age_groups"] = list(current.get("age_groups") or ())
    if "cost" in incoming and cost_options_json(current, "") == cost_options_json(incoming, ""):
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
            return number[:MAX_LENGTHS["phone"]]
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
        "name": name[:MAX_LENGTHS["organisation"]],
        "description": None if description == name else description,
        "url": checked_url(org.get("website")),
        "email": checked_email(org.get("email")),
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
            verified = datetime.combine(date.fromisoformat(assured[:10]), time(), tzinfo=UTC)
        except ValueError:
            notes.append(f"assured_date {assured!r} is not a date")
    url_raw, email_raw = clean_text(doc.get("url")), clean_text(doc.get("email"))
    if url_raw and not checked_url(url_raw):
        notes.append(f"url {url_raw!r} is not a web address; left out")
    if email_raw and not checked_email(email_raw):
        notes.append(f"email {email_raw!r} is not an email address; left out")
    fields = {
        "name": name[:MAX_LENGTHS["name"]],
        "description": clean_text(doc.get("description")),
        "url": url_raw[:MAX_LENGTHS["url"]] if checked_url(url_raw) else None,
        "email": email_raw[:MAX_LENGTHS["email"]] if checked_email(email_raw) else None,
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

        def own(items: list[dict], sal_id: uuid.UUID | None = parsed.sal_id) -> list[dict]:
            return [x for x in items if sal_id is not None and as_uuid(x.get("service_at_location_id")) == sal_id]

        own_schedules = (own(schedules) + _dicts(sal.get("schedules"))
                         + _dicts((sal.get("location") or {}).get("schedules")))
        parsed.opening_hours, parsed.opening_hours_note = _hours(own_schedules or general_schedules, where, notes)
        parsed.phone = _phone(own(phones)) or parsed.phone or general_phone
        locations.append(parsed)
    if not locations:
        hours, note = _hours(general_schedules, "service", notes)
        locations.append(ParsedLocation(sal_id=None, location_id=None, opening_hours=hours, opening_hours_note=note,
                                        phone=general_phone))
    if not any(p.phone for p in locations):
        contact_phone = next((_phone(c.get("phones")) for c in _dicts(doc.get("contacts")) if _phone(c.get("phones"))),
                             None)
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
