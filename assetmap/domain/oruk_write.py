"""Assets to Open Referral UK JSON (HSDS 3.0 based, profile v3): services, service at locations,
locations and taxonomies (licence and attribution: :mod:`assetmap.domain.attribution`).

Assets that share a service id (one service run at several places, as imported from a feed) are
one ORUK ``service`` with several ``service_at_locations``. The functions take asset dicts as
:mod:`assetmap.db.oruk_queries` returns them; :func:`assetmap.domain.oruk_feed.parse_service` reads them
back, and writing then reading then writing gives the same JSON.

No Flask and no SQL here.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from assetmap.domain.opening_hours import OpeningHoursError, WeeklySchedule
from assetmap.domain.opening_hours_hsds import to_hsds_schedules
from assetmap.domain.oruk_common import (
    ACCESSIBILITY_LABELS,
    CHARGES_APPLY,
    ages_for_groups,
    checked_email,
    checked_url,
    clean_text,
    compact,
    derived_id,
    iso_timestamp,
)

__all__ = [
    "cost_options_json",
    "location_json",
    "service_at_location_json",
    "service_json",
    "service_summary_json",
    "taxonomy_json",
    "taxonomy_term_json",
]


def _sid(value: Any) -> str:
    return str(value)


# --------------------------------------------------------------------------------------------
# Writing: assets → ORUK JSON
# --------------------------------------------------------------------------------------------
# An asset dict (from assetmap.db.oruk_queries) has: uuid, service_id, sal_id, location_id, name,
# description, url, email, phone, address, town, postcode, lat, lon, opening_hours,
# opening_hours_note, cost, is_free, age_groups, eligibility_note, accessibility,
# last_verified_at, updated_at, organisation (dict or None), terms (list of dicts), kept (dict).


def _has_location(asset: Mapping) -> bool:
    return asset.get("lat") is not None or any(asset.get(k) for k in ("address", "postcode", "town"))


def _kept(asset: Mapping, part: str) -> dict:
    return ((asset.get("kept") or {}).get(part)) or {}


def organization_base_json(org: Mapping) -> dict:
    return compact({
        "id": _sid(org["uuid"]),
        "name": org["name"],
        "description": clean_text(org.get("description")) or org["name"],
        "email": checked_email(org.get("email")),
        "website": checked_url(org.get("url")),
    })


def _address_json(asset: Mapping, location_id: str) -> dict:
    kept = _kept(asset, "location").get("address") or {}
    return compact({
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
    loc = compact({
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


def cost_options_json(asset: Mapping, service_id: str) -> list[dict]:
    """The ORUK ``cost_options`` of an asset's ``cost`` and ``is_free`` (ids derived from ``service_id``)."""
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
    return compact({
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
    out = compact({
        "id": _sid(taxonomy["uuid"]),
        "name": taxonomy["name"],
        "description": clean_text(taxonomy.get("description")) or taxonomy["name"],
        "uri": checked_url(taxonomy.get("uri")),
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
    out = compact({
        "id": service_id,
        "organization_id": None if not org else _sid(org["uuid"]),
        "name": first["name"],
        "description": clean_text(first.get("description")),
        "url": checked_url(first.get("url")),
        "email": checked_email(first.get("email")),
        "status": kept.get("status") or "active",
        "fees": kept.get("fees"),
        "accreditations": kept.get("accreditations"),
        "eligibility_description": clean_text(first.get("eligibility_note")),
        "minimum_age": minimum,
        "maximum_age": maximum,
        "assured_date": verified.date().isoformat() if isinstance(verified, datetime) else None,
        "assurer_email": kept.get("assurer_email"),
        "alert": kept.get("alert"),
        "last_modified": iso_timestamp(updated),
    })
    if org:
        out["organization"] = organization_base_json(org)
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
        out["organization"] = organization_base_json(org)
    out.update({
        "funding": list(kept.get("funding") or ()),
        "cost_options": cost_options_json(first, service_id),
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
