"""The checks every way in shares: email addresses, web addresses, phone numbers, field lengths
and where the UK is.

The volunteer's form, the bulk upload, the command-line importers and the Open Referral UK import
all ask these, so that a value one of them accepts the others accept too. What a caller does with
a value that fails (an error on the form, a warning and the value left out of an upload row, a
problem in an import report) is the caller's own business; the rule is here. Postcodes have their
own module, :mod:`assetmap.domain.postcodes`.

No Flask and no SQL here.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from assetmap.errors import BadInputError

__all__ = [
    "EMAIL_MESSAGE",
    "GB_GRID",
    "MAX_LENGTHS",
    "PHONE_MESSAGE",
    "UK_BOUNDS",
    "URL_MESSAGE",
    "clean_text",
    "clean_url",
    "in_gb_grid",
    "in_uk",
    "is_digits",
    "is_email",
    "is_phone",
    "too_long",
    "validate_email",
    "whole_number_arg",
]

#: Longest text kept for each field. Where the database column has a length (``String(n)`` in
#: :mod:`assetmap.db.models`) this is it; the free-text columns have none, and their limits keep a
#: page readable. ``reference`` is an uploaded row's own id, stored after the upload's key in
#: ``source_id``.
MAX_LENGTHS: dict[str, int] = {
    "name": 300,
    "description": 5000,
    "organisation": 300,
    "address": 1000,
    "town": 100,
    "postcode": 10,
    "phone": 50,
    "email": 254,
    "url": 500,
    "opening_hours_note": 1000,
    "cost": 500,
    "eligibility_note": 1000,
    "source_id": 200,
    "reference": 150,
    "comment": 2000,
    "reason": 1000,
}

#: Great Britain and Northern Ireland with a margin, as (west, south, east, north) in degrees of
#: longitude and latitude; north far enough for Shetland (Muckle Flugga is at 60.86).
UK_BOUNDS = (-8.9, 49.8, 2.0, 61.0)
#: The extent of the British National Grid (EPSG:27700), as (min easting, min northing, max easting,
#: max northing) in metres.
GB_GRID = (0.0, 0.0, 700_000.0, 1_300_000.0)

EMAIL_MESSAGE = "Enter an email address in the right format, like name@example.com"
URL_MESSAGE = "Enter a web address like https://www.example.org"
PHONE_MESSAGE = "Enter a phone number, like 01743 123456 or +44 1743 123456"

# C0 control characters other than tab and newlines (PostgreSQL refuses NUL in text outright).
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
# One address, not a list: no spaces, commas or semicolons anywhere; a domain of two or more
# labels, none of them empty ("a@b..c" and "a@b." are typing slips, not addresses).
_EMAIL = re.compile(r"^[^@\s,;]+@[^@\s.,;]+(?:\.[^@\s.,;]+)+$")
# As people write UK numbers: digits, spaces, brackets and dashes, an optional +44, an extension.
_PHONE = re.compile(r"^\+?[0-9 ()\-]+(?:\s*(?:ext\.?|x)\s*[0-9]+)?$", re.IGNORECASE)
# A web address written without its scheme: a domain of two or more labels, then a path, query or
# fragment (a port too); anything else without "://" is not taken for a web address.
_BARE_DOMAIN = re.compile(r"^(?:[^\W_]|-)+(?:\.(?:[^\W_]|-)+)+\.?(?::\d+)?(?:[/?#]\S*)?$")


def clean_text(value: Any, limit: int | None = None) -> str | None:
    """Stripped text without control characters (tabs and newlines stay); None when empty.

    With ``limit``, text is cut one character past it, so that a length check still sees that
    it was too long.

    >>> clean_text("  Hub\\x00 of\\tthings ")
    'Hub of\\tthings'
    >>> clean_text("   ") is None
    True
    """
    if value is None:
        return None
    text = _CONTROL.sub("", str(value)).strip()
    if limit is not None:
        text = text[: limit + 1]
    return text or None


def is_email(text: str | None) -> bool:
    """Whether ``text`` (already stripped) is one email address.

    Examples
    --------
    >>> [is_email(t) for t in ("jo@example.org", "a@b..c", "a,b@c.org", "jo@localhost", "")]
    [True, False, False, False, False]
    """
    return bool(text) and _EMAIL.match(text) is not None


def validate_email(value: Any, *, required: bool = False,
                   what: str = "an email address") -> tuple[str | None, str | None]:
    """(the email address stripped, or None; an error for the person, or None).

    Parameters
    ----------
    value : what was typed (anything: it is turned into text, stripped, control characters removed)
    required : whether leaving it empty is an error
    what : how the error for an empty value names what is missing

    Examples
    --------
    >>> validate_email("Someone@Example.org ")
    ('Someone@Example.org', None)
    >>> validate_email("not an email")[1]
    'Enter an email address in the right format, like name@example.com'
    >>> validate_email("", required=True)
    (None, 'Enter an email address')
    """
    email = clean_text(value)
    if email is None:
        return None, (f"Enter {what}" if required else None)
    if len(email) > MAX_LENGTHS["email"] or not is_email(email):
        return None, EMAIL_MESSAGE
    return email, None


def clean_url(value: Any) -> str | None:
    """A web address as it should be stored (``https://`` put before a bare domain), or None
    when ``value`` is not an http or https address with a host name of two or more labels.

    The length is the caller's to check (:data:`MAX_LENGTHS`), so that it can say so.

    Examples
    --------
    >>> clean_url("www.example.org/x")
    'https://www.example.org/x'
    >>> clean_url(" http://example.org ")
    'http://example.org'
    >>> [clean_url(t) for t in ("javascript:alert(1)", "ftp://example.org", "https://localhost",
    ...                         "https://[::1", "example dot org", "mailto:jo@example.org", "")]
    [None, None, None, None, None, None, None]
    """
    url = None if value is None else str(value).strip()
    if not url or any(c.isspace() for c in url):
        return None
    if "://" not in url:
        if not _BARE_DOMAIN.match(url):
            return None
        url = "https://" + url
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:  # a bracketed host that is not an IP address: "https://[x]"
        return None
    if parts.scheme not in ("http", "https") or "." not in host.strip(".") or host.startswith("."):
        return None
    return url


def is_phone(text: str | None) -> bool:
    """Whether ``text`` (already stripped) reads as a phone number: digits (three at least),
    spaces, brackets and dashes, an optional leading ``+``, an optional extension.

    Examples
    --------
    >>> [is_phone(t) for t in ("01743 123456", "+44 (0)1743 123456", "0300 123 4567 ext 12", "call me", "12")]
    [True, True, True, False, False]
    """
    return (bool(text) and len(text) <= MAX_LENGTHS["phone"] and _PHONE.match(text) is not None
            and sum(c.isdigit() for c in text) >= 3)


def too_long(field: str, text: str | None) -> bool:
    """Whether ``text`` is longer than :data:`MAX_LENGTHS` allows for ``field``.

    >>> too_long("postcode", "SY1 1AA"), too_long("postcode", "SY1 1AA 1AA"), too_long("name", None)
    (False, True, False)
    """
    return text is not None and len(text) > MAX_LENGTHS[field]


def in_uk(lon: float, lat: float) -> bool:
    """Whether a longitude and latitude lie within :data:`UK_BOUNDS`.

    >>> in_uk(-2.75, 52.71), in_uk(52.71, -2.75), in_uk(-0.85, 60.85)  # Shrewsbury, swapped, Unst
    (True, False, True)
    """
    west, south, east, north = UK_BOUNDS
    return west <= lon <= east and south <= lat <= north


def in_gb_grid(easting: float, northing: float) -> bool:
    """Whether a point lies within the extent of the British National Grid (:data:`GB_GRID`).

    >>> in_gb_grid(349_300, 312_600), in_gb_grid(-2.75, -52.71)
    (True, False)
    """
    min_e, min_n, max_e, max_n = GB_GRID
    return min_e <= easting <= max_e and min_n <= northing <= max_n


def is_digits(text: str, max_length: int) -> bool:
    """Whether ``text`` is 1 to ``max_length`` of the ASCII digits 0-9, so ``int(text)`` reads it
    and the number fits what ``max_length`` allows. ``str.isdigit`` alone also passes "¹" (which
    ``int`` refuses) and "١" (which it reads as 1).

    >>> is_digits("2019", 4), is_digits("²⁰¹⁹", 4), is_digits("١", 4), is_digits("12345", 4), is_digits("", 4)
    (True, False, False, False, False)
    """
    return 0 < len(text) <= max_length and text.isascii() and text.isdigit()


def whole_number_arg(args: Mapping[str, str], name: str, default: int, lo: int, hi: int) -> int:
    """A whole-number query parameter between ``lo`` and ``hi``; ``default`` when absent or empty.

    Every page and API reads its whole-number parameters through this, so that a value out of range
    (one too big for a database integer, say) is a 400 naming the parameter, never a 500.

    Raises
    ------
    BadInputError
        For anything but a whole number within the range; ``details["parameter"]`` names it.

    Examples
    --------
    >>> whole_number_arg({"page": "2"}, "page", 1, 1, 1000)
    2
    >>> whole_number_arg({}, "page", 1, 1, 1000)
    1
    >>> whole_number_arg({"page": "99999999999999999999"}, "page", 1, 1, 1000)
    Traceback (most recent call last):
    ...
    assetmap.errors.BadInputError: page must be between 1 and 1000, not 99999999999999999999
    """
    raw = args.get(name)
    if raw in (None, ""):
        return default
    text = str(raw).strip()
    try:
        value = int(text) if len(text) <= 40 else None
    except ValueError:
        value = None
    if value is None:
        raise BadInputError(f"{name} must be a whole number, not {text[:40]!r}", details={"parameter": name})
    if not lo <= value <= hi:
        raise BadInputError(f"{name} must be between {lo} and {hi}, not {value}", details={"parameter": name})
    return value
