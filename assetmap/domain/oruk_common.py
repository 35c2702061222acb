"""What the ORUK modules share: the profile's version, the namespace of derived ids, the age groups
and accessibility features an asset records, and the small conversions both directions use.

An asset is one HSDS *service at a location*, flattened. Assets made in this service have no
stored ORUK ids: their service id is ``asset.uuid`` and their other ids are derived from it with
:func:`derived_id`, so the same asset always gets the same ids. Writing is
:mod:`assetmap.domain.oruk_write`, reading a feed :mod:`assetmap.domain.oruk_feed`, the API's
pages and query parameters :mod:`assetmap.domain.oruk_query`.

No Flask and no SQL here.
"""
from __future__ import annotations

import math
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from assetmap.domain.validation import clean_url, is_email

__all__ = [
    "ACCESSIBILITY_LABELS",
    "AGE_GROUPS",
    "CHARGES_APPLY",
    "HSDS_VERSION",
    "NAMESPACE",
    "ages_for_groups",
    "checked_email",
    "checked_url",
    "clean_text",
    "compact",
    "derived_id",
    "groups_for_ages",
    "iso_timestamp",
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

#: The option of a cost we know applies but not how much.
CHARGES_APPLY = "Charges apply"



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


# --------------------------------------------------------------------------------------------
# Small conversions shared by both directions
# --------------------------------------------------------------------------------------------

def clean_text(value: Any) -> str | None:
    """A value as stripped text (non-breaking spaces too); None when empty or not a scalar."""
    if value is None or isinstance(value, (dict, list)):
        return None
    text = str(value).replace("\u00a0", " ").strip()
    return text or None


def checked_url(value: Any) -> str | None:
    """The value as text if it is a whole http(s) URL (ORUK's ``format: uri``; a bare domain is
    not one), else None."""
    text = clean_text(value)
    return text if text and "://" in text and clean_url(text) else None


def checked_email(value: Any) -> str | None:
    """The value as text if it is one email address, else None."""
    text = clean_text(value)
    return text if is_email(text) else None


def iso_timestamp(value: datetime | None) -> str | None:
    """A datetime as ISO 8601 in UTC with a ``Z`` (naive: taken as UTC); None stays None."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def compact(obj: dict) -> dict:
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
