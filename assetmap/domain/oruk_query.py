"""The ORUK API's pages and query parameters: the page wrapper, ``page``/``per_page``, and the filters
of ``/services`` and ``/service_at_locations`` checked into a :class:`ServiceQuery`.

No Flask and no SQL here.
"""
from __future__ import annotations

import math
import re
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time

from assetmap.domain.opening_hours import HSDS_BYDAY
from assetmap.domain.oruk_common import clean_text
from assetmap.domain.postcodes import normalise_postcode
from assetmap.domain.validation import whole_number_arg
from assetmap.errors import BadInputError

__all__ = ["DEFAULT_PER_PAGE", "MAX_PER_PAGE", "ServiceQuery", "page", "parse_page", "parse_service_query"]


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


def parse_page(args: Mapping[str, str]) -> tuple[int, int]:
    """``(page, per_page)`` from the query; 400 for anything else than sensible whole numbers.

    Examples
    --------
    >>> parse_page({"page": "2", "per_page": "10"})
    (2, 10)
    >>> parse_page({})
    (1, 50)
    """
    return (whole_number_arg(args, "page", 1, 1, 1_000_000),
            whole_number_arg(args, "per_page", DEFAULT_PER_PAGE, 1, MAX_PER_PAGE))


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
    return value if value.tzinfo else value.replace(tzinfo=UTC)


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
