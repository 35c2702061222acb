"""Readable names of statistical areas: MSOAs by the House of Commons Library name, LSOAs as that
name with the LSOA's own ("Oswestry East (Shropshire 008A)"), wards and others by their name.

One rule, used by the importers when they store ``area.name`` (the publisher's own name stays in
``area.ons_name``).
"""
from __future__ import annotations

import re

__all__ = ["area_label", "msoa_name_of_lsoa"]

# An LSOA's ONS name is its MSOA's name plus one letter: "Shropshire 008A" is in "Shropshire 008".
_LSOA_NAME = re.compile(r"^(?P<msoa>.+ \d{3})[A-Z]$")


def msoa_name_of_lsoa(lsoa_name: str | None) -> str | None:
    """The ONS name of the MSOA an LSOA nests in, from the LSOA's ONS name.

    >>> msoa_name_of_lsoa("Shropshire 008A")
    'Shropshire 008'
    >>> msoa_name_of_lsoa("Oldham 024B")
    'Oldham 024'
    >>> msoa_name_of_lsoa("Abbey") is None
    True
    """
    m = _LSOA_NAME.match((lsoa_name or "").strip())
    return m.group("msoa") if m else None


def area_label(level: str, ons_name: str, msoa_label: str | None = None) -> str:
    """The name shown for an area.

    Parameters
    ----------
    level : str
        The area's level (``lsoa``, ``lsoa21``, ``msoa``, ``msoa21``, ``ward``...).
    ons_name : str
        The publisher's name ("Shropshire 008A"; for an MSOA "Shropshire 008").
    msoa_label : str, optional
        For an MSOA, its Commons Library name; for an LSOA, the Commons Library name of its MSOA.

    >>> area_label("lsoa21", "Shropshire 008A", "Oswestry East")
    'Oswestry East (Shropshire 008A)'
    >>> area_label("msoa", "Shropshire 008", "Oswestry East")
    'Oswestry East'
    >>> area_label("lsoa", "Shropshire 008A")
    'Shropshire 008A'
    >>> area_label("ward24", "Abbey", "ignored")
    'Abbey'
    """
    name = (ons_name or "").strip()
    named = (msoa_label or "").strip()
    if level.startswith("msoa") and named:
        return named
    if level.startswith("lsoa") and named and named != name:
        return f"{named} ({name})"
    return name
