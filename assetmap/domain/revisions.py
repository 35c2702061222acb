"""An asset's editable fields as plain data: a normal form, field-by-field differences, restoring.

A *snapshot* is a dict of the fields a person can edit, in one normal form, so that two snapshots
of the same asset compare equal exactly when nothing a person would see has changed: strings are
stripped (empty means ``None``), lists are sorted sets of slugs, the location is ``[lon, lat]``
rounded to 6 decimal places (about 0.1 m), opening hours are in the canonical JSON of
:class:`~assetmap.domain.opening_hours.WeeklySchedule`.

Revision rows keep such a snapshot after every change, with the same keys whoever wrote it
(:data:`SNAPSHOT_KEYS`: the editable fields plus ``status``, ``version``, ``uuid``, ``source`` and
``source_id``; :func:`assetmap.db.assets.snapshot_sql` builds it), and the ``changes`` of a
revision are :func:`diff` of the snapshot before and after. :func:`restorable_values` takes the
editable fields a snapshot has and leaves the others alone, so older revisions with fewer keys
can be restored too.

No Flask and no SQL here.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from assetmap.domain.opening_hours import DAYS, OpeningHoursError, WeeklySchedule, week_table

__all__ = [
    "EDITABLE_FIELDS",
    "FIELD_LABELS",
    "LIST_FIELDS",
    "RESTORABLE_STATUSES",
    "SNAPSHOT_KEYS",
    "diff",
    "display_value",
    "normalise",
    "restorable_values",
    "snapshot",
]

#: The fields of an asset that volunteers propose and moderators edit, in the order forms show them.
EDITABLE_FIELDS: tuple[str, ...] = (
    "name",
    "description",
    "asset_types",
    "five_ways",
    "location",
    "postcode",
    "address",
    "town",
    "service_area_id",
    "phone",
    "email",
    "url",
    "opening_hours",
    "opening_hours_note",
    "cost",
    "is_free",
    "access_modes",
    "age_groups",
    "eligibility_note",
    "accessibility",
    "accepting_referrals",
)

#: The keys of a revision's snapshot, whichever code wrote the revision.
SNAPSHOT_KEYS: tuple[str, ...] = (*EDITABLE_FIELDS, "status", "version", "uuid", "source", "source_id")

#: Fields holding a set of slugs (kept sorted, never ``None``).
LIST_FIELDS = frozenset({"asset_types", "five_ways", "access_modes", "age_groups", "accessibility"})
_BOOL_FIELDS = frozenset({"is_free", "accepting_referrals"})

FIELD_LABELS: dict[str, str] = {
    "name": "Name",
    "description": "What it offers",
    "asset_types": "Type",
    "five_ways": "Five Ways to Wellbeing",
    "location": "Position on the map",
    "postcode": "Postcode",
    "address": "Address",
    "town": "Town",
    "service_area_id": "Area it serves",
    "phone": "Phone",
    "email": "Email",
    "url": "Website",
    "opening_hours": "Opening hours",
    "opening_hours_note": "Notes on opening",
    "cost": "Cost",
    "is_free": "Free",
    "access_modes": "How to get in",
    "age_groups": "Who it is for (ages)",
    "eligibility_note": "Who can use it",
    "accessibility": "Accessibility",
    "accepting_referrals": "Taking new people",
    "status": "Status",
}

#: A restored snapshot brings its status back only when it was one of these: restoring the
#: "submitted" revision of a published asset gives back its fields, not the moderation queue.
RESTORABLE_STATUSES = frozenset({"published", "archived"})


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _location(value: Any) -> list[float] | None:
    if value is None:
        return None
    if isinstance(value, Mapping):
        value = [value.get("lon"), value.get("lat")]
    lon, lat = value
    if lon is None or lat is None:
        return None
    return [round(float(lon), 6), round(float(lat), 6)]


def _opening_hours(value: Any) -> dict | None:
    if not value:
        return None
    try:
        canonical = WeeklySchedule.from_json(value).to_json()
    except OpeningHoursError:
        return dict(value)  # kept as stored: a snapshot records, it does not judge
    return canonical or None


def normalise(field: str, value: Any) -> Any:
    """One field's value in the snapshot's normal form.

    Examples
    --------
    >>> normalise("name", "  Ludlow Library ")
    'Ludlow Library'
    >>> normalise("access_modes", ["referral", "drop_in", "drop_in"])
    ['drop_in', 'referral']
    >>> normalise("location", (-2.7180001, 52.3680004))
    [-2.718, 52.368]
    >>> normalise("phone", "  ") is None
    True
    """
    if field in LIST_FIELDS:
        return sorted({str(v) for v in value or () if v not in (None, "")})
    if field == "location":
        return _location(value)
    if field == "opening_hours":
        return _opening_hours(value)
    if field in _BOOL_FIELDS:
        return None if value is None else bool(value)
    if field == "service_area_id":
        return None if value in (None, "") else int(value)
    return _text(value)


def snapshot(values: Mapping[str, Any]) -> dict[str, Any]:
    """The editable fields of ``values`` (an asset as a dict) in normal form; missing ones are empty.

    ``status`` and ``version`` are carried over when present.

    Examples
    --------
    >>> s = snapshot({"name": "Hub ", "asset_types": ["community-venue"], "status": "pending"})
    >>> s["name"], s["asset_types"], s["phone"], s["status"]
    ('Hub', ['community-venue'], None, 'pending')
    """
    out = {field: normalise(field, values.get(field)) for field in EDITABLE_FIELDS}
    for extra in ("status", "version"):
        if extra in values:
            out[extra] = values[extra]
    return out


def diff(before: Mapping[str, Any] | None, after: Mapping[str, Any]) -> dict[str, list]:
    """What changed from ``before`` to ``after``, as ``{field: [old, new]}`` in form order.

    Only the editable fields and ``status`` are compared (not ``version``), each in normal form;
    ``before=None`` (a new asset) lists every field that has a value.

    Examples
    --------
    >>> diff({"name": "Hub", "phone": None}, {"name": "The Hub", "phone": None})
    {'name': ['Hub', 'The Hub']}
    >>> diff(None, {"name": "Hub", "five_ways": []})
    {'name': [None, 'Hub']}
    """
    before = before or {}
    changes: dict[str, list] = {}
    for field in (*EDITABLE_FIELDS, "status"):
        if field == "status" and "status" not in after:
            continue
        old = normalise(field, before.get(field)) if field != "status" else before.get("status")
        new = normalise(field, after.get(field)) if field != "status" else after.get("status")
        if old != new and not (old in (None, []) and new in (None, [])):
            changes[field] = [old, new]
    return changes


def restorable_values(revision_snapshot: Mapping[str, Any]) -> tuple[dict[str, Any], str | None]:
    """The values to write back when restoring a revision, and the status to restore (or None).

    Only the editable fields the snapshot holds are returned (an import's snapshot has fewer), so
    restoring never blanks a field the old revision did not record.

    Examples
    --------
    >>> values, status = restorable_values({"name": "Old name", "location": [-2.7, 52.4],
    ...                                     "uuid": "x", "status": "pending"})
    >>> sorted(values), status
    (['location', 'name'], None)
    >>> restorable_values({"name": "A", "status": "archived"})[1]
    'archived'
    """
    values = {f: normalise(f, revision_snapshot[f]) for f in EDITABLE_FIELDS if f in revision_snapshot}
    status = revision_snapshot.get("status")
    return values, (status if status in RESTORABLE_STATUSES else None)


def display_value(field: str, value: Any, labels: Mapping[str, Mapping[str, str]] | None = None) -> str:
    """A field's value as text for the history and the review diff (escaping is the template's job).

    ``labels`` maps a list field (or ``service_area_id``) to ``{slug: label}``.

    Examples
    --------
    >>> display_value("is_free", True)
    'Yes'
    >>> display_value("location", [-2.718, 52.368])
    '52.368000, -2.718000'
    >>> display_value("access_modes", ["drop_in"], {"access_modes": {"drop_in": "Drop in"}})
    'Drop in'
    >>> display_value("opening_hours", {"mon": [["09:00", "13:00"]], "tue": []})
    'Monday 09:00–13:00; Tuesday closed'
    """
    if value is None or value == []:
        return "(none)"
    labels = labels or {}
    if field in LIST_FIELDS:
        names = labels.get(field, {})
        return ", ".join(names.get(v, v) for v in value)
    if field == "service_area_id":
        return labels.get(field, {}).get(value) or labels.get(field, {}).get(str(value)) or f"area {value}"
    if field == "location":
        lon, lat = value
        return f"{lat:.6f}, {lon:.6f}"
    if field in _BOOL_FIELDS:
        return "Yes" if value else "No"
    if field == "opening_hours":
        try:
            schedule = WeeklySchedule.from_json(value)
        except OpeningHoursError:
            return str(value)
        rows = [row for row, day in zip(week_table(schedule), DAYS) if day not in schedule.unknown_days]
        return "; ".join(f"{label} {text if text[0].isdigit() else text.lower()}" for label, text in rows) or "(none)"
    return str(value)
