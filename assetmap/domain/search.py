"""Finder queries: read and check what someone asked for, before any SQL runs.

One table, :data:`PARAMETERS`, says which query parameters the finder takes, what each means and
which values it allows; the parser, the error messages and the OpenAPI description all read it.
:func:`parse_finder_query` turns a request's arguments (a plain mapping of name to list of
strings, no Flask) into a :class:`FinderQuery`, or raises :class:`~assetmap.errors.BadInputError`
naming the parameter and, for a list of choices, the values allowed.

The wall clock for "open now" is worked out here too (:func:`open_now_probe`), so the database can
filter on it and still agree with :func:`assetmap.domain.opening_hours.is_open` at every instant,
clock changes included.
"""
from __future__ import annotations

import difflib
import math
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from assetmap.domain.opening_hours import (
    DAYS,
    LONDON,
    OpeningHoursError,
    WeeklySchedule,
    describe_status,
    week_table,
)
from assetmap.domain.postcodes import normalise_outward, normalise_postcode
from assetmap.domain.validation import in_uk, is_digits
from assetmap.errors import BadInputError

__all__ = [
    "ACCESSIBILITY",
    "ACCESS_MODES",
    "AGE_GROUPS",
    "DEFAULT_RADIUS_M",
    "FALLBACK_MAX_M",
    "FALLBACK_MIN",
    "FALLBACK_N",
    "FinderQuery",
    "MAX_RADIUS_M",
    "MAX_RESULTS",
    "OpenNowProbe",
    "PARAMETERS",
    "Parameter",
    "Where",
    "classify_where",
    "describe_distance",
    "opening_status",
    "opening_week",
    "open_now_probe",
    "parse_finder_query",
    "parse_ids",
    "postcode_where",
    "rank_outward_suggestions",
]

#: How someone can start going: the values of ``asset.access_modes``.
ACCESS_MODES = {
    "drop_in": "Drop in, no need to book",
    "booking": "Booking needed",
    "referral": "Referral needed (for example from a GP or link worker)",
    "self_referral": "Refer yourself",
}
#: "No referral needed" means any of these.
NO_REFERRAL_MODES = ("drop_in", "self_referral")
AGE_GROUPS = {"children": "Children and young people", "adults": "Adults", "older": "Older people"}
ACCESSIBILITY = {
    "step_free": "Step-free access",
    "hearing_loop": "Hearing loop",
    "accessible_toilet": "Accessible toilet",
}

DEFAULT_RADIUS_M = 5_000
MAX_RADIUS_M = 50_000
MIN_RADIUS_M = 100
DEFAULT_PER_PAGE = 20
MAX_PER_PAGE = 100
#: No page reaches past this many results: beyond it, a narrower search serves better.
MAX_RESULTS = 1_000
#: With fewer than FALLBACK_MIN results within the radius, show the nearest FALLBACK_N anyway,
#: out to FALLBACK_MAX_M (rural areas).
FALLBACK_MIN = 5
FALLBACK_N = 10
FALLBACK_MAX_M = 100_000
MAX_TEXT = 100

_TRUE = {"1", "true", "yes", "on", "y"}
_FALSE = {"0", "false", "no", "off", "n"}
_AREA_CODE = re.compile(r"^[EWSN]\d{8}$")
# Starts like a postcode (letters then a digit) but is not a whole one: a typo, not a place name.
_POSTCODE_LIKE = re.compile(r"^[A-Z]{1,2}\d[A-Z\d]?\s*\d?[A-Z]{0,2}$")


@dataclass(frozen=True)
class Parameter:
    """One query parameter of the finder (the page and ``GET /api/v1/assets``).

    ``kind`` is ``text``, ``number``, ``integer``, ``boolean`` or ``choices`` (several values,
    repeated or comma-separated). ``choices`` holds the allowed values and their labels when they
    are fixed; ``vocabulary`` names the taxonomy whose slugs are allowed when they are data.
    """

    name: str
    kind: str
    description: str
    choices: Mapping[str, str] | None = None
    vocabulary: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    default: object = None
    page_only: bool = False  # the search page's single "postcode or place" box


PARAMETERS: tuple[Parameter, ...] = (
    Parameter("where", "text", "A postcode (SY11 1QD), a postcode district (SY11), a place or ward name "
              "(Oswestry), or an area code (E05009283).", page_only=True),
    Parameter("postcode", "text", "A full postcode (SY11 1QD) or a postcode district (SY11): search around it."),
    Parameter("place", "text", "A town, village, suburb, ward or council name (\"Craven Arms\"; \"Newtown, "
              "SY4\" picks one of several of a name), or an area code: search around it."),
    Parameter("lat", "number", "Latitude (WGS84) to search around; needs lon. Must be in the UK.",
              minimum=-90, maximum=90),
    Parameter("lon", "number", "Longitude (WGS84) to search around; needs lat. Must be in the UK.",
              minimum=-180, maximum=180),
    Parameter("radius_m", "integer", f"Search radius in metres (default {DEFAULT_RADIUS_M}). Larger values are "
              f"reduced to {MAX_RADIUS_M} and the response says so.", minimum=MIN_RADIUS_M, maximum=MAX_RADIUS_M,
              default=DEFAULT_RADIUS_M),
    Parameter("category", "choices", "Type of place or service (any of these).", vocabulary="asset-type"),
    Parameter("wellbeing", "choices", "Five Ways to Wellbeing (any of these).", vocabulary="five-ways"),
    Parameter("open_now", "boolean", "Only places open now (Europe/London); places whose hours are not known "
              "are left out.", default=False),
    Parameter("free", "boolean", "Only places that are free to use.", default=False),
    Parameter("no_referral", "boolean", "Only places you can go to without a referral (drop in or refer "
              "yourself).", default=False),
    Parameter("access", "choices", "How you can start going (any of these).", choices=ACCESS_MODES),
    Parameter("age_group", "choices", "Places that say they welcome this age group (any of these).",
              choices=AGE_GROUPS),
    Parameter("accessibility", "choices", "Accessibility features the place must have (all of these).",
              choices=ACCESSIBILITY),
    Parameter("q", "text", "Words in the name or description."),
    Parameter("page", "integer", "Page number, from 1.", minimum=1, default=1),
    Parameter("per_page", "integer", f"Results per page (default {DEFAULT_PER_PAGE}; at most {MAX_PER_PAGE}).",
              minimum=1, maximum=MAX_PER_PAGE, default=DEFAULT_PER_PAGE),
)
_BY_NAME = {p.name: p for p in PARAMETERS}


@dataclass(frozen=True)
class Where:
    """Where to search around, as asked: ``kind`` is postcode, outward, area, place or point."""

    kind: str
    text: str | None = None
    lat: float | None = None
    lon: float | None = None


@dataclass(frozen=True)
class FinderQuery:
    """A checked finder query. ``notices`` are things the person should be told (a radius reduced)."""

    where: Where | None = None
    radius_m: int = DEFAULT_RADIUS_M
    categories: tuple[str, ...] = ()
    wellbeing: tuple[str, ...] = ()
    open_now: bool = False
    free: bool = False
    no_referral: bool = False
    access: tuple[str, ...] = ()
    age_groups: tuple[str, ...] = ()
    accessibility: tuple[str, ...] = ()
    q: str | None = None
    page: int = 1
    per_page: int = DEFAULT_PER_PAGE
    notices: tuple[str, ...] = field(default=(), compare=False)

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.per_page

    def filters(self) -> dict:
        """The filters as plain values, for :func:`assetmap.db.finder.filter_clause`."""
        return {
            "categories": list(self.categories),
            "wellbeing": list(self.wellbeing),
            "free": self.free,
            "no_referral": self.no_referral,
            "access": list(self.access),
            "age_groups": list(self.age_groups),
            "accessibility": list(self.accessibility),
            "q": self.q,
        }

    @property
    def has_filters(self) -> bool:
        return any(v for v in self.filters().values()) or self.open_now

    def to_args(self, *, page: int | None = None, api: bool = False) -> dict[str, str | list[str]]:
        """The query as URL arguments, defaults left out: links to other pages of the same search."""
        args: dict[str, str | list[str]] = {}
        w = self.where
        if w is not None:
            if w.kind == "point":
                args["lat"], args["lon"] = f"{w.lat:.6f}", f"{w.lon:.6f}"
            elif not api and _reads_back(w):
                args["where"] = w.text or ""
            elif w.kind in ("postcode", "outward"):
                args["postcode"] = w.text or ""
            else:
                args["place"] = w.text or ""
        if self.radius_m != DEFAULT_RADIUS_M:
            args["radius_m"] = str(self.radius_m)
        for name, values in [("category", self.categories), ("wellbeing", self.wellbeing), ("access", self.access),
                             ("age_group", self.age_groups), ("accessibility", self.accessibility)]:
            if values:
                args[name] = list(values)
        for name in ("open_now", "free", "no_referral"):
            if getattr(self, name):
                args[name] = "1"
        if self.q:
            args["q"] = self.q
        page = self.page if page is None else page
        if page != 1:
            args["page"] = str(page)
        if self.per_page != DEFAULT_PER_PAGE:
            args["per_page"] = str(self.per_page)
        return args


def _reads_back(where: Where) -> bool:
    """Whether the search box reads ``where.text`` as ``where``: ``place=a0`` is a place, but
    ``a0`` typed in the box is the postcode district A0, so such a link keeps ``place=``."""
    try:
        return classify_where(where.text or "") == where
    except BadInputError:
        return False


Vocabularies = Callable[[str], Mapping[str, str]]


def parse_finder_query(args: Mapping[str, Sequence[str]], vocabularies: Vocabularies, *,
                       api: bool = False) -> FinderQuery:
    """Check a finder request's arguments and build a :class:`FinderQuery`.

    Parameters
    ----------
    args : mapping of str to list of str
        The query string as ``{name: [values]}`` (werkzeug's ``to_dict(flat=False)``).
    vocabularies : callable
        ``vocabularies("asset-type")`` returns ``{slug: label}`` of the allowed values; called
        only when a filter on that vocabulary is given.
    api : bool
        The JSON API: unknown parameters are refused (a typo should not silently widen a search)
        and only one way of giving the location is allowed. The page ignores unknown parameters,
        and a typed postcode or place wins over coordinates left from "use my location".

    Returns
    -------
    FinderQuery

    Raises
    ------
    BadInputError
        With ``details`` naming the ``parameter`` and, for choices, the ``allowed`` values.

    Examples
    --------
    >>> q = parse_finder_query({"postcode": ["sy11 1pw"], "radius_m": ["200000"], "free": ["true"]},
    ...                        lambda v: {}, api=True)
    >>> q.where, q.radius_m, q.free
    (Where(kind='postcode', text='SY11 1PW', lat=None, lon=None), 50000, True)
    >>> q.notices[0]
    'You asked for 200 km; we searched within 50 km, the furthest we look.'
    """
    for name, values in args.items():
        for value in values:
            if "\x00" in value:
                raise BadInputError(f"{name} contains a NUL character", details={"parameter": name})
    known = {p.name for p in PARAMETERS if api is False or not p.page_only}
    if api:
        unknown = sorted(set(args) - known)
        if unknown:
            raise BadInputError(
                f"unknown parameter {', '.join(unknown)}; allowed: {', '.join(sorted(known))}",
                details={"parameter": unknown[0], "allowed": sorted(known)},
            )
    notices: list[str] = []
    query = FinderQuery(
        where=_parse_where(args, api),
        radius_m=_parse_radius(args, notices),
        categories=_choices(args, "category", vocabularies),
        wellbeing=_choices(args, "wellbeing", vocabularies),
        open_now=_boolean(args, "open_now"),
        free=_boolean(args, "free"),
        no_referral=_boolean(args, "no_referral"),
        access=_choices(args, "access", vocabularies),
        age_groups=_choices(args, "age_group", vocabularies),
        accessibility=_choices(args, "accessibility", vocabularies),
        q=_text(args, "q"),
        page=int(_integer(args, "page")),
        per_page=_per_page(args, notices),
    )
    if query.page * query.per_page > MAX_RESULTS:
        raise BadInputError(
            f"only the first {MAX_RESULTS} results are served in pages (page {query.page} of {query.per_page} "
            "goes past them); narrow the search with a smaller radius or a filter",
            details={"parameter": "page"},
        )
    return replace(query, notices=tuple(notices))


def _first(args: Mapping[str, Sequence[str]], name: str) -> str | None:
    for value in args.get(name, ()):
        if value.strip():
            return value.strip()
    return None


def _text(args, name: str) -> str | None:
    value = _first(args, name)
    if value is None:
        return None
    value = " ".join(value.split())
    if len(value) > MAX_TEXT:
        raise BadInputError(f"{name} is too long ({len(value)} characters; at most {MAX_TEXT})",
                            details={"parameter": name})
    return value


def _number(args, name: str) -> float | None:
    raw = _first(args, name)
    if raw is None:
        return None
    try:
        value = float(raw)
    except ValueError:
        raise BadInputError(f"{name} must be a number, not {raw[:40]!r}", details={"parameter": name}) from None
    if not math.isfinite(value):
        raise BadInputError(f"{name} must be a finite number, not {raw[:40]!r}", details={"parameter": name})
    return value


def _integer(args, name: str) -> int:
    spec = _BY_NAME[name]
    value = _number(args, name)
    if value is None:
        return int(spec.default)
    if value != int(value):
        raise BadInputError(f"{name} must be a whole number, not {value}", details={"parameter": name})
    if spec.minimum is not None and value < spec.minimum:
        raise BadInputError(f"{name} must be at least {spec.minimum:g}, not {value:g}", details={"parameter": name})
    # Bounded so that no arithmetic on it overflows a database integer.
    return int(min(value, 10**9))


def _boolean(args, name: str) -> bool:
    raw = _first(args, name)
    if raw is None:
        return False
    if raw.lower() in _TRUE:
        return True
    if raw.lower() in _FALSE:
        return False
    raise BadInputError(f"{name} must be true or false, not {raw[:40]!r}",
                        details={"parameter": name, "allowed": ["true", "false"]})


def _choices(args, name: str, vocabularies: Vocabularies) -> tuple[str, ...]:
    raw = [part.strip() for value in args.get(name, ()) for part in value.split(",")]
    values = list(dict.fromkeys(v for v in raw if v))
    if not values:
        return ()
    spec = _BY_NAME[name]
    allowed = spec.choices if spec.choices is not None else vocabularies(spec.vocabulary)
    unknown = [v for v in values if v not in allowed]
    if unknown:
        shown = ", ".join(repr(v[:40]) for v in unknown[:5])
        raise BadInputError(
            f"unknown {name} {shown}; allowed values: {', '.join(allowed)}",
            details={"parameter": name, "allowed": list(allowed)},
        )
    return tuple(values)


def _parse_radius(args, notices: list[str]) -> int:
    value = _number(args, "radius_m")
    if value is None:
        return DEFAULT_RADIUS_M
    if value < MIN_RADIUS_M:
        raise BadInputError(f"radius_m must be at least {MIN_RADIUS_M} metres, not {value:g}",
                            details={"parameter": "radius_m"})
    if value > MAX_RADIUS_M:
        notices.append(f"You asked for {describe_distance(value, miles=False)}; we searched within "
                       f"{describe_distance(MAX_RADIUS_M, miles=False)}, the furthest we look.")
        return MAX_RADIUS_M
    return int(round(value))


def _per_page(args, notices: list[str]) -> int:
    value = _integer(args, "per_page")
    if value > MAX_PER_PAGE:
        notices.append(f"You asked for {value} results a page; pages hold at most {MAX_PER_PAGE}.")
        return MAX_PER_PAGE
    return value


def _parse_where(args, api: bool) -> Where | None:
    lat, lon = _number(args, "lat"), _number(args, "lon")
    given = {name: _text(args, name) for name in ("postcode", "place", "where")}
    if not api and given["where"]:
        lat = lon = None  # the typed text wins over coordinates left from "use my location"
    if (lat is None) != (lon is None):
        missing = "lon" if lon is None else "lat"
        raise BadInputError(f"give both lat and lon ({missing} is missing)", details={"parameter": missing})
    ways = [name for name, value in given.items() if value] + (["lat/lon"] if lat is not None else [])
    if len(ways) > 1:
        raise BadInputError(f"give one location, not {' and '.join(ways)}", details={"parameter": ways[1]})
    if lat is not None:
        lat, lon = _check_lat_lon(lat, lon)
        return Where("point", lat=lat, lon=lon)
    if given["postcode"]:
        return postcode_where(given["postcode"])
    if given["place"]:
        return _place_where(given["place"])
    if given["where"]:
        return classify_where(given["where"])
    return None


def _check_lat_lon(lat: float, lon: float) -> tuple[float, float]:
    if not -90 <= lat <= 90:
        raise BadInputError(f"lat must be between -90 and 90, not {lat:g}", details={"parameter": "lat"})
    if not -180 <= lon <= 180:
        raise BadInputError(f"lon must be between -180 and 180, not {lon:g}", details={"parameter": "lon"})
    if not in_uk(lon, lat):
        raise BadInputError(
            f"{lat:g}, {lon:g} is outside the UK; this service covers places in the UK "
            "(check that latitude and longitude are not swapped)",
            details={"parameter": "lat"},
        )
    return lat, lon


def postcode_where(text: str) -> Where:
    """A full postcode or a postcode district, normalised; BadInputError for anything else.

    Examples
    --------
    >>> postcode_where("sy111qd"), postcode_where(" sy11 ").kind
    (Where(kind='postcode', text='SY11 1QD', lat=None, lon=None), 'outward')
    """
    full = normalise_postcode(text)
    if full:
        return Where("postcode", full)
    outward = normalise_outward(text)
    if outward:
        return Where("outward", outward)
    raise BadInputError(
        f"{text[:40]!r} is not a postcode; a postcode looks like SY11 1QD, and a postcode district like SY11",
        details={"parameter": "postcode"},
    )


def _place_where(text: str) -> Where:
    compact = text.strip()
    if _AREA_CODE.match(compact.upper()):
        return Where("area", compact.upper())
    if len(compact) < 2 or not re.search(r"[^\W\d_]", compact):
        raise BadInputError(f"{compact[:40]!r} is not a place name", details={"parameter": "place"})
    return Where("place", compact)


def classify_where(text: str) -> Where:
    """Read the search box: a postcode, a postcode district, an area code or a place name.

    Raises
    ------
    BadInputError
        For text that starts like a postcode but is not a whole one.

    Examples
    --------
    >>> classify_where("sy11 1pw"), classify_where("SY11").kind, classify_where("Oswestry").kind
    (Where(kind='postcode', text='SY11 1PW', lat=None, lon=None), 'outward', 'place')
    >>> classify_where("E05009283").kind
    'area'
    """
    compact = " ".join(text.split())
    for attempt in (normalise_postcode(compact), normalise_outward(compact)):
        if attempt:
            return postcode_where(attempt)
    if _POSTCODE_LIKE.match(compact.upper()):
        raise BadInputError(
            f"{compact[:40]!r} looks like a postcode but is not a whole one; a postcode looks like SY11 1QD, "
            "and a postcode district like SY11",
            details={"parameter": "where"},
        )
    if _AREA_CODE.match(compact.upper()):
        return Where("area", compact.upper())
    try:
        return _place_where(compact)
    except BadInputError as error:
        raise BadInputError(error.message, details={"parameter": "where"}) from None


def rank_outward_suggestions(code: str, known: Sequence[str], limit: int = 3) -> list[str]:
    """The known postcode districts nearest to an unknown one, by how they are written.

    The same area letters with the nearest district number come first (SY99 → SY9, SY10...), then
    codes that are spelt alike (typos such as SU11 for SY11).

    Examples
    --------
    >>> rank_outward_suggestions("SY25", ["SY1", "SY10", "SY23", "SY24", "TF1"])
    ['SY24', 'SY23', 'SY10']
    >>> rank_outward_suggestions("SU11", ["SY11", "SY1", "TF1"])
    ['SY11', 'SY1']
    """
    code = code.upper()
    area, number = _outward_parts(code)
    same_area = [k for k in known if _outward_parts(k)[0] == area]
    ranked = sorted(same_area, key=lambda k: (abs(_outward_parts(k)[1] - number), k))
    alike = difflib.get_close_matches(code, [k for k in known if k not in same_area], n=limit, cutoff=0.5)
    return list(dict.fromkeys(ranked + alike))[:limit]


def _outward_parts(code: str) -> tuple[str, int]:
    match = re.match(r"([A-Z]+)(\d+)", code)
    return (match.group(1), int(match.group(2))) if match else (code, 0)


def describe_distance(metres: float, *, miles: bool = True) -> str:
    """A distance for people: metres under 1 km, else km; with miles beside it.

    Examples
    --------
    >>> (describe_distance(348.2), describe_distance(1234), describe_distance(5000),
    ...  describe_distance(23456, miles=False))
    ('350 m (0.2 miles)', '1.2 km (0.8 miles)', '5 km (3.1 miles)', '23 km')
    """
    if metres < 1000:
        text = f"{max(10, round(metres, -1)):.0f} m"
    elif metres < 10_000:
        text = f"{metres / 1000:.1f} km".replace(".0 km", " km")
    else:
        text = f"{metres / 1000:.0f} km"
    if not miles:
        return text
    mi = metres / 1609.344
    return f"{text} ({mi:.1f} miles)" if mi < 10 else f"{text} ({mi:.0f} miles)"


def parse_ids(values: Sequence[str], *, limit: int = 50) -> list[int]:
    """Asset ids from ``?ids=3,1,2`` or ``?ids=3&ids=1``, in the order given, without repeats.

    Examples
    --------
    >>> parse_ids(["3,1", "2", "1"])
    [3, 1, 2]
    >>> parse_ids(["¹"])
    Traceback (most recent call last):
    ...
    assetmap.errors.BadInputError: ids must be numbers separated by commas, not '¹'
    """
    ids: list[int] = []
    for value in values:
        for part in value.split(","):
            part = part.strip()
            if not part:
                continue
            if not is_digits(part, 9):
                raise BadInputError(f"ids must be numbers separated by commas, not {part[:20]!r}",
                                    details={"parameter": "ids"})
            if int(part) not in ids:
                ids.append(int(part))
    if len(ids) > limit:
        raise BadInputError(f"a list holds at most {limit} places, not {len(ids)}", details={"parameter": "ids"})
    return ids


# --------------------------------------------------------------------------------------------
# Open now
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class OpenNowProbe:
    """The London wall clock to test stored opening hours against, as the database does.

    A place is open when one of ``today``'s periods has ``opens <= minute`` and either
    ``minute < closes`` or ``closes < opens`` (it runs past midnight), or one of
    ``yesterday``'s periods runs past midnight (``closes < opens``) and ``minute < closes``.
    Times are compared as "HH:MM" strings ("24:00" is midnight at the end of the day).
    """

    today: str
    yesterday: str
    minute: str


def open_now_probe(at: datetime) -> OpenNowProbe:
    """The probe for the moment ``at`` (timezone-aware).

    The wall clock to the minute gives the same answer as
    :func:`~assetmap.domain.opening_hours.is_open` at every instant, with one adjustment: in the
    hour the clocks go back, the wall times repeat, and ``is_open`` takes a time in that hour to
    mean its first occurrence. So during the second occurrence every boundary in the repeated hour
    has already passed, which is what comparing against the last minute of that hour gives.

    Examples
    --------
    >>> from datetime import UTC
    >>> open_now_probe(datetime(2026, 7, 5, 11, 30, tzinfo=UTC))  # a Sunday, 12:30 BST
    OpenNowProbe(today='sun', yesterday='sat', minute='12:30')
    >>> open_now_probe(datetime(2026, 10, 25, 1, 15, tzinfo=UTC)).minute  # 01:15 GMT, again
    '01:59'
    """
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("at must be timezone-aware")
    local = at.astimezone(LONDON)
    wall = local.replace(tzinfo=None, second=0, microsecond=0)
    if local.fold == 1:
        while _ambiguous(wall + timedelta(minutes=1)):
            wall += timedelta(minutes=1)
    day = DAYS[wall.weekday()]
    return OpenNowProbe(today=day, yesterday=DAYS[(wall.weekday() - 1) % 7], minute=wall.strftime("%H:%M"))


def _ambiguous(wall: datetime) -> bool:
    return wall.replace(tzinfo=LONDON, fold=0).utcoffset() != wall.replace(tzinfo=LONDON, fold=1).utcoffset()


def opening_status(opening_hours: Mapping | None, at: datetime) -> str | None:
    """The status line ("Open now · closes 17:30") of stored hours, or None when none are stored
    or they cannot be read (the page then shows the published note instead)."""
    if not opening_hours:
        return None
    try:
        return describe_status(WeeklySchedule.from_json(opening_hours), at)
    except OpeningHoursError:
        return None


def opening_week(opening_hours: Mapping | None) -> list[tuple[str, str]] | None:
    """The week table (day, hours) of stored hours; None when none are stored or they cannot be read."""
    if not opening_hours:
        return None
    try:
        return week_table(WeeklySchedule.from_json(opening_hours))
    except OpeningHoursError:
        return None
