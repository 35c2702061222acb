"""UK postcodes: normalising and validating their format (no lookup; that is the database's)."""
from __future__ import annotations

import re

# Outward code: area (1-2 letters) + district (digit, then digit or letter); inward: digit + 2 letters.
_POSTCODE = re.compile(r"^([A-Z]{1,2}[0-9][A-Z0-9]?)([0-9][A-Z]{2})$")
_OUTWARD = re.compile(r"^[A-Z]{1,2}[0-9][A-Z0-9]?$")


def normalise_postcode(value: str | None) -> str | None:
    """Upper-case a postcode with one space before the inward code; None if it is not one.

    >>> normalise_postcode(" sy11  1pw ")
    'SY11 1PW'
    >>> normalise_postcode("B1  1AA")
    'B1 1AA'
    >>> normalise_postcode("not a postcode") is None
    True
    """
    if not value:
        return None
    compact = re.sub(r"\s+", "", str(value)).upper()
    m = _POSTCODE.match(compact)
    return f"{m.group(1)} {m.group(2)}" if m else None


def normalise_outward(value: str | None) -> str | None:
    """An outward code such as ``"SY11"``, or None.

    >>> normalise_outward(" sy11 ")
    'SY11'
    """
    if not value:
        return None
    compact = re.sub(r"\s+", "", str(value)).upper()
    return compact if _OUTWARD.match(compact) else None


def postcode_area(value: str) -> str:
    """The letters that start a postcode: ``"SY11 1PW"`` → ``"SY"``.

    >>> postcode_area("SY11 1PW")
    'SY'
    """
    return re.match(r"[A-Z]+", value.upper()).group(0)
