"""Weekly opening hours: read from the files we import, checked, and asked "is it open now?".

A :class:`WeeklySchedule` holds, for each day Monday to Sunday, either the periods that start that
day or ``None`` when the day's hours are not known. It is stored as JSON::

    {"mon": [["09:00", "13:00"], ["14:00", "17:30"]], "sun": []}

where a missing day means "not known" and an empty list means "closed". Times are the wall clock
in London; a period may run past midnight ("22:00"-"02:00" closes at 02:00 the next morning).
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import NamedTuple
from zoneinfo import ZoneInfo

from assetmap.errors import BadInputError

__all__ = [
    "BY_APPOINTMENT",
    "CLOSED",
    "DAYS",
    "DAY_LABELS",
    "HSDS_BYDAY",
    "LONDON",
    "OPEN",
    "UNKNOWN",
    "LibraryDay",
    "OpeningHoursError",
    "Period",
    "Status",
    "WeeklySchedule",
    "describe_status",
    "from_hsds_schedules",
    "is_open",
    "next_change",
    "parse_free_text",
    "parse_library_day",
    "parse_nhsbsa_day",
    "to_hsds_schedules",
    "week_table",
]

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_LABELS = dict(zip(DAYS, ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")))
#: RFC 5545 weekday codes, as HSDS / Open Referral UK ``schedule.byday`` uses them.
HSDS_BYDAY = dict(zip(DAYS, ("MO", "TU", "WE", "TH", "FR", "SA", "SU")))
LONDON = ZoneInfo("Europe/London")

OPEN, CLOSED, UNKNOWN = "open", "closed", "unknown"
BY_APPOINTMENT = "by appointment"

_DAY = 24 * 60  # minutes
_MIDDLE_DOT = "\u00b7"
_EN_DASH = "\u2013"


class OpeningHoursError(BadInputError, ValueError):
    """Opening hours that cannot be read, or that do not make sense."""

    default_message = "the opening hours are not valid"


# --------------------------------------------------------------------------------------------
# The model
# --------------------------------------------------------------------------------------------

_CLOCK = re.compile(r"([01]\d|2[0-4]):([0-5]\d)")


def _clock_minutes(text: object) -> int:
    """Minutes after midnight of an ``"HH:MM"`` time; ``"24:00"`` is 1440."""
    if not isinstance(text, str):
        raise OpeningHoursError(f"a time must be a string like '09:00', not {type(text).__name__} {text!r}")
    match = _CLOCK.fullmatch(text)
    if not match or (match.group(1) == "24" and match.group(2) != "00"):
        raise OpeningHoursError(f"{text!r} is not a time like '09:00' (00:00 to 24:00)")
    return int(match.group(1)) * 60 + int(match.group(2))


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


@dataclass(frozen=True, order=True)
class Period:
    """One spell of opening that starts on a given day.

    Both times are minutes after that day's midnight on the London wall clock.
    ``closes_minute`` is 1440 for "closes at midnight" and more than 1440 when the
    period runs past midnight into the next morning.

    Parameters
    ----------
    opens_minute : int
        0 to 1439.
    closes_minute : int
        After ``opens_minute`` and less than 24 hours after it (00:00 to 24:00 is
        the one whole-day period).

    Examples
    --------
    >>> Period.from_clock("22:00", "02:00")
    Period(opens_minute=1320, closes_minute=1560)
    >>> Period.from_clock("09:00", "00:00").as_pair()
    ('09:00', '24:00')
    """

    opens_minute: int
    closes_minute: int

    def __post_init__(self):
        opens, closes = self.opens_minute, self.closes_minute
        whole_day = (opens, closes) == (0, _DAY)
        if not (0 <= opens < _DAY and opens < closes and (closes < opens + _DAY or whole_day)):
            raise OpeningHoursError(
                f"not a period: opens at minute {opens} and closes at minute {closes} "
                "(it must close after it opens and within 24 hours)"
            )

    @classmethod
    def from_clock(cls, opens: str, closes: str) -> Period:
        """Read a period from two ``"HH:MM"`` times.

        A closing time of ``"00:00"`` or ``"24:00"`` means midnight at the end of the day;
        a closing time before the opening time means the next morning.

        Examples
        --------
        >>> Period.from_clock("09:00", "17:30")
        Period(opens_minute=540, closes_minute=1050)
        """
        opens_minute, closes_minute = _clock_minutes(opens), _clock_minutes(closes)
        if opens_minute == _DAY:
            raise OpeningHoursError("24:00 can only be a closing time; a day starts at 00:00")
        if closes_minute == 0:
            closes_minute = _DAY
        if closes_minute == opens_minute:
            raise OpeningHoursError(f"{opens}-{closes} closes when it opens; a whole day is 00:00-24:00")
        if closes_minute < opens_minute:
            closes_minute += _DAY
        return cls(opens_minute, closes_minute)

    @property
    def opens(self) -> str:
        """The opening time as ``"HH:MM"``."""
        return _clock(self.opens_minute)

    @property
    def closes(self) -> str:
        """The closing time as ``"HH:MM"``: ``"24:00"`` for midnight, the next morning's time past it."""
        return _clock(self.closes_minute - _DAY if self.runs_past_midnight else self.closes_minute)

    @property
    def runs_past_midnight(self) -> bool:
        return self.closes_minute > _DAY

    def as_pair(self) -> tuple[str, str]:
        return self.opens, self.closes


WHOLE_DAY = Period(0, _DAY)


def _merge_periods(periods: Iterable[Period]) -> tuple[Period, ...]:
    """Sort periods and join the ones that overlap or touch (13:00-14:00 and 14:00-17:00)."""
    periods = list(periods)
    for period in periods:
        if not isinstance(period, Period):
            raise OpeningHoursError(f"expected a Period, not {type(period).__name__} {period!r}")
    merged: list[Period] = []
    for period in sorted(periods):
        if merged and period.opens_minute <= merged[-1].closes_minute:
            last = merged[-1]
            closes = max(last.closes_minute, period.closes_minute)
            if closes >= last.opens_minute + _DAY and (last.opens_minute, closes) != (0, _DAY):
                raise OpeningHoursError(
                    f"periods {last.opens}-{last.closes} and {period.opens}-{period.closes} "
                    "overlap into more than 24 hours"
                )
            merged[-1] = Period(last.opens_minute, closes)
        else:
            merged.append(period)
    return tuple(merged)


def _day_index(day: str) -> int:
    try:
        return DAYS.index(day)
    except ValueError:
        raise OpeningHoursError(f"unknown day {day!r}; expected one of {', '.join(DAYS)}") from None


@dataclass(frozen=True)
class WeeklySchedule:
    """The opening hours of a place for each day of the week.

    Parameters
    ----------
    days : tuple
        Seven entries, Monday first. Each is ``None`` (hours not known) or the periods
        that start that day (empty: closed). They are sorted and overlapping periods
        are merged on construction, so equal schedules compare equal.

    See Also
    --------
    WeeklySchedule.from_json : build one from the stored JSON.

    Examples
    --------
    >>> s = WeeklySchedule.from_json({"mon": [["14:00", "17:30"], ["09:00", "13:00"], ["12:00", "13:30"]],
    ...                               "sun": []})
    >>> s.to_json()
    {'mon': [['09:00', '13:30'], ['14:00', '17:30']], 'sun': []}
    >>> s.periods("tue") is None
    True
    """

    days: tuple[tuple[Period, ...] | None, ...] = (None,) * 7

    def __post_init__(self):
        if len(self.days) != len(DAYS):
            raise OpeningHoursError(f"a weekly schedule has 7 days, not {len(self.days)}")
        normal = tuple(None if periods is None else _merge_periods(periods) for periods in self.days)
        object.__setattr__(self, "days", normal)

    @classmethod
    def from_json(cls, data: Mapping[str, Sequence[Sequence[str]] | None] | None) -> WeeklySchedule:
        """Read the stored JSON form (``None`` or ``{}``: nothing known).

        A day's value may be ``None`` as well as missing (not known), so parsers'
        results can be passed straight in.

        Raises
        ------
        OpeningHoursError
            On an unknown day key, a malformed period or a bad time.

        Examples
        --------
        >>> WeeklySchedule.from_json({"fri": [["22:00", "02:00"]], "sat": None}).to_json()
        {'fri': [['22:00', '02:00']]}
        """
        if data is None:
            data = {}
        if not isinstance(data, Mapping):
            raise OpeningHoursError(f"opening hours must be an object keyed by day, not {type(data).__name__}")
        unknown_keys = sorted(set(data) - set(DAYS), key=str)
        if unknown_keys:
            raise OpeningHoursError(f"unknown day keys {unknown_keys}; expected {', '.join(DAYS)}")
        return cls(tuple(_periods_from_json(day, data.get(day)) for day in DAYS))

    def to_json(self) -> dict[str, list[list[str]]]:
        """The stored JSON form: known days only, Monday first."""
        return {
            day: [list(period.as_pair()) for period in periods]
            for day, periods in zip(DAYS, self.days)
            if periods is not None
        }

    def periods(self, day: str) -> tuple[Period, ...] | None:
        """The periods starting on ``day`` (``"mon"`` ... ``"sun"``), or None if not known."""
        return self.days[_day_index(day)]

    @property
    def unknown_days(self) -> tuple[str, ...]:
        return tuple(day for day, periods in zip(DAYS, self.days) if periods is None)


def _periods_from_json(day: str, value: object) -> list[Period] | None:
    if value is None:
        return None
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise OpeningHoursError(f"{day}: expected a list of [opens, closes] pairs, not {value!r}")
    periods = []
    for item in value:
        if isinstance(item, (str, bytes)) or not isinstance(item, Sequence) or len(item) != 2:
            raise OpeningHoursError(f"{day}: each period must be a pair [opens, closes], not {item!r}")
        try:
            periods.append(Period.from_clock(item[0], item[1]))
        except OpeningHoursError as error:
            raise OpeningHoursError(f"{day}: {error.message}") from None
    return periods


# --------------------------------------------------------------------------------------------
# Open now?
# --------------------------------------------------------------------------------------------

class Status(NamedTuple):
    """Whether a place is open and when that changes (``changes_at`` is None when not known)."""

    state: str  # OPEN, CLOSED or UNKNOWN
    changes_at: datetime | None


def _to_london(at: datetime) -> datetime:
    if not isinstance(at, datetime):
        raise TypeError(f"at must be a datetime, not {type(at).__name__}")
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(
            f"at must be timezone-aware; got the naive datetime {at.isoformat()} "
            "(use datetime.now(timezone.utc) or attach ZoneInfo('Europe/London'))"
        )
    return at.astimezone(LONDON)


def _wall_clock(moment: datetime) -> datetime:
    return moment.astimezone(LONDON).replace(tzinfo=None)


def _instant(day: date, minute: int) -> datetime:
    """The UTC moment the London wall clock first shows ``minute`` minutes after ``day``'s midnight.

    When the clocks go back the first of the two times is taken; when they go forward over the
    time, the moment they jump. Results are in UTC because Python compares and subtracts two
    datetimes that share a tzinfo by their wall clocks, which is wrong across a clock change.
    """
    wall = datetime.combine(day, time()) + timedelta(minutes=minute)
    moment = wall.replace(tzinfo=LONDON).astimezone(timezone.utc)  # fold=0: the first of two
    if _wall_clock(moment) == wall:
        return moment
    return _clocks_jumped_over(wall)


def _clocks_jumped_over(wall: datetime) -> datetime:
    """The moment the clocks went forward, skipping the wall time ``wall``."""
    earlier, later = sorted(wall.replace(tzinfo=LONDON, fold=fold).astimezone(timezone.utc) for fold in (0, 1))
    low, high = 0, int((later - earlier) / timedelta(minutes=1))  # wall(low) < wall <= wall(high)
    while high - low > 1:
        middle = (low + high) // 2
        if _wall_clock(earlier + timedelta(minutes=middle)) >= wall:
            high = middle
        else:
            low = middle
    return earlier + timedelta(minutes=high)


def _day_key(day: date) -> str:
    return DAYS[day.weekday()]


def _spans(schedule: WeeklySchedule, first_day: date, n_days: int) -> list[tuple[datetime, datetime]]:
    """Each known period from ``first_day`` on, as (opens, closes) UTC moments, by opening."""
    spans = []
    for offset in range(n_days):
        day = first_day + timedelta(days=offset)
        for period in schedule.periods(_day_key(day)) or ():
            spans.append((_instant(day, period.opens_minute), _instant(day, period.closes_minute)))
    return sorted(spans)


# Looking from yesterday (its periods may run past midnight) to 8 days ahead is enough: a run of
# opening that is not round the clock ends within 7 days, and the next opening is within 7 days.
_HORIZON_DAYS = 8


def _open_until(schedule: WeeklySchedule, now: datetime, today: date) -> datetime | None:
    """When the run of opening that includes ``now`` ends (periods that touch join up), or None."""
    reach = now
    for opens, closes in _spans(schedule, today - timedelta(days=1), _HORIZON_DAYS + 2):
        if opens > reach:
            break
        reach = max(reach, closes)
    return reach if reach > now else None


def is_open(schedule: WeeklySchedule, at: datetime) -> bool | None:
    """Whether the place is open at ``at``, by the wall clock in London.

    Parameters
    ----------
    schedule : WeeklySchedule
    at : datetime
        Timezone-aware, in any zone; it is converted to Europe/London.

    Returns
    -------
    bool or None
        None when that day's hours are not known (and no period from the day
        before runs into it). A day that is not known is taken to add nothing
        to the next morning.

    Raises
    ------
    ValueError
        If ``at`` is naive: we would have to guess its zone.

    Examples
    --------
    >>> s = WeeklySchedule.from_json({"mon": [["09:00", "17:30"]]})
    >>> is_open(s, datetime(2026, 3, 30, 16, 0, tzinfo=timezone.utc))  # 17:00 BST
    True
    >>> is_open(s, datetime(2026, 3, 31, 10, 0, tzinfo=LONDON)) is None  # Tuesday: not known
    True
    """
    local = _to_london(at)
    if _open_until(schedule, local.astimezone(timezone.utc), local.date()) is not None:
        return True
    return None if schedule.periods(_day_key(local.date())) is None else False


def next_change(schedule: WeeklySchedule, at: datetime) -> Status:
    """Whether the place is open at ``at`` and when that next changes.

    Returns
    -------
    Status
        ``(OPEN, closes_at)``, ``(CLOSED, opens_at)`` or ``(UNKNOWN, None)``; the
        moment is in Europe/London. It is None when open round the clock, when the
        day it would close or open on is not known, or when the place never opens.

    Examples
    --------
    >>> s = WeeklySchedule.from_json({d: [["09:00", "17:30"]] for d in DAYS[:5]} | {"sat": [], "sun": []})
    >>> next_change(s, datetime(2026, 7, 1, 12, 0, tzinfo=LONDON)).changes_at.isoformat()
    '2026-07-01T17:30:00+01:00'
    >>> next_change(s, datetime(2026, 7, 3, 18, 0, tzinfo=LONDON))  # doctest: +NORMALIZE_WHITESPACE
    Status(state='closed',
           changes_at=datetime.datetime(2026, 7, 6, 9, 0, tzinfo=zoneinfo.ZoneInfo(key='Europe/London')))
    """
    local = _to_london(at)
    now, today = local.astimezone(timezone.utc), local.date()
    open_until = _open_until(schedule, now, today)
    if open_until is not None:
        return Status(OPEN, _closing_moment(schedule, open_until, today))
    if schedule.periods(_day_key(today)) is None:
        return Status(UNKNOWN, None)
    return Status(CLOSED, _next_opening(schedule, now, today))


def _closing_moment(schedule: WeeklySchedule, open_until: datetime, today: date) -> datetime | None:
    if open_until >= _instant(today + timedelta(days=_HORIZON_DAYS), 0):
        return None  # open round the clock
    closing = open_until.astimezone(LONDON)
    if schedule.periods(_day_key(closing.date())) is None:
        return None  # that day's own periods, not known, might carry on
    return closing


def _next_opening(schedule: WeeklySchedule, now: datetime, today: date) -> datetime | None:
    for offset in range(_HORIZON_DAYS):
        day = today + timedelta(days=offset)
        periods = schedule.periods(_day_key(day))
        if periods is None:
            return None  # it might open that day
        for period in periods:
            opens, closes = _instant(day, period.opens_minute), _instant(day, period.closes_minute)
            if opens > now and closes > opens:
                return opens.astimezone(LONDON)
    return None


def describe_status(schedule: WeeklySchedule, at: datetime) -> str:
    """A short status line for the UI.

    Examples
    --------
    >>> s = WeeklySchedule.from_json({d: [["09:00", "17:30"]] for d in DAYS[:5]} | {"sat": [], "sun": []})
    >>> describe_status(s, datetime(2026, 7, 1, 12, 0, tzinfo=LONDON))
    'Open now · closes 17:30'
    >>> describe_status(s, datetime(2026, 7, 1, 18, 0, tzinfo=LONDON))
    'Closed · opens tomorrow 09:00'
    >>> describe_status(s, datetime(2026, 7, 4, 12, 0, tzinfo=LONDON))
    'Closed · opens Monday 09:00'
    >>> describe_status(WeeklySchedule(), datetime(2026, 7, 4, 12, 0, tzinfo=LONDON))
    'Hours not known'
    """
    state, changes_at = next_change(schedule, at)
    today = _to_london(at).date()
    if state == UNKNOWN:
        return "Hours not known"
    if state == OPEN:
        if changes_at is not None:
            return f"Open now {_MIDDLE_DOT} closes {_when(changes_at, today, closing=True)}"
        if all(periods == (WHOLE_DAY,) for periods in schedule.days):
            return "Open 24 hours"
        return "Open now"
    if changes_at is not None:
        return f"Closed {_MIDDLE_DOT} opens {_when(changes_at, today, closing=False)}"
    if schedule.unknown_days:
        return f"Closed {_MIDDLE_DOT} next opening not known"
    return "Closed"


def _when(moment: datetime, today: date, *, closing: bool) -> str:
    """``"17:30"``, ``"tomorrow 09:00"``, ``"Monday 09:00"``, ``"next Monday 09:00"``, ``"midnight"``."""
    day, clock = moment.date(), moment.strftime("%H:%M")
    if closing and clock == "00:00":
        day, clock = day - timedelta(days=1), "midnight"
    days_ahead = (day - today).days
    if days_ahead <= 0:
        return clock
    if days_ahead == 1:
        return f"tomorrow {clock}"
    label = DAY_LABELS[_day_key(day)]
    return f"{label} {clock}" if days_ahead < 7 else f"next {label} {clock}"


def week_table(schedule: WeeklySchedule) -> list[tuple[str, str]]:
    """One (day, hours) row per day, Monday first, for an opening-hours table.

    Examples
    --------
    >>> week_table(WeeklySchedule.from_json({"mon": [["09:00", "13:00"], ["14:00", "17:30"]],
    ...                                      "sat": [["00:00", "24:00"]], "sun": []}))[5:]
    [('Saturday', 'Open 24 hours'), ('Sunday', 'Closed')]
    >>> week_table(WeeklySchedule.from_json({"mon": [["09:00", "13:00"], ["14:00", "17:30"]]}))[:2]
    [('Monday', '09:00–13:00, 14:00–17:30'), ('Tuesday', 'Not known')]
    """
    return [(DAY_LABELS[day], _day_text(periods)) for day, periods in zip(DAYS, schedule.days)]


def _day_text(periods: tuple[Period, ...] | None) -> str:
    if periods is None:
        return "Not known"
    if not periods:
        return "Closed"
    if periods == (WHOLE_DAY,):
        return "Open 24 hours"
    return ", ".join(f"{period.opens}{_EN_DASH}{period.closes}" for period in periods)


# --------------------------------------------------------------------------------------------
# NHSBSA pharmacy list (and Greater Manchester's pharmacy GeoJSON, which copies its cells)
# --------------------------------------------------------------------------------------------

# The file writes a time as 09:00, and now and then 9:00, 18.30 or 1700.
_NHSBSA_TIME = r"\d{1,2}[:.]\d{2}|\d{4}"
# Between times it mostly writes "-" and ",", but also "; ", ", ", " ", ":" and "-" between periods.
_NHSBSA_CELL = re.compile(rf"(?:{_NHSBSA_TIME})(?:(?:\s*[-,;:]\s*|\s+)(?:{_NHSBSA_TIME}))*")
_NHSBSA_CLOSED = re.compile(r"closed", re.IGNORECASE)
_ROUND_THE_CLOCK = re.compile(r"(?:open\s+)?(?:24\s*(?:hours?|hrs?|h)(?:\s+a\s+day)?|24\s*/\s*7)", re.IGNORECASE)


def parse_nhsbsa_day(cell: str | None) -> list[tuple[str, str]] | None:
    """Read one day's cell of the NHSBSA pharmacy list (``PHARMACY_OPENING_HOURS_MONDAY`` ...).

    The Greater Manchester pharmacy GeoJSON copies these cells (``opening_hours_monday`` ...).

    Parameters
    ----------
    cell : str or None
        ``"09:00-13:00,14:00-17:30"``, ``"CLOSED"``, blank, or a "24 hours" text.
        Times are read in pairs whatever stands between them, because the file
        separates periods with ",", "; ", " ", ":" and even "-"
        (``"09:00-13:00-14:00-18:00"``) and once writes one period as ``"09:00,18:00"``.
        ``18.30`` and ``1700`` are read as 18:30 and 17:00.

    Returns
    -------
    list of (str, str) or None
        The periods, sorted and merged, with midnight as ``"24:00"``; ``[]`` when
        closed; None when the cell is blank (not known). A closing time of 23:59 is
        read as 24:00: it is how the file writes "until midnight" (``"00:00-23:59"``
        for pharmacies open round the clock), and otherwise every one of them would
        show a closed minute each night.

    Raises
    ------
    OpeningHoursError
        When the cell is anything else (the message quotes it).

    Examples
    --------
    >>> parse_nhsbsa_day("09:00-13:00,14:00-17:30")
    [('09:00', '13:00'), ('14:00', '17:30')]
    >>> parse_nhsbsa_day("CLOSED"), parse_nhsbsa_day("  ") is None
    ([], True)
    >>> parse_nhsbsa_day("08:00-00:00")
    [('08:00', '24:00')]
    >>> parse_nhsbsa_day("09:00-13:00:14:00-18.00")
    [('09:00', '13:00'), ('14:00', '18:00')]
    """
    if cell is None or not cell.strip():
        return None
    text = " ".join(cell.split())
    if _NHSBSA_CLOSED.fullmatch(text):
        return []
    if _ROUND_THE_CLOCK.fullmatch(text):
        return [WHOLE_DAY.as_pair()]
    if not _NHSBSA_CELL.fullmatch(text):
        raise OpeningHoursError(
            f"cannot read the opening hours {cell!r}: {_unreadable_part(text)!r} is not a time; expected "
            "times like '09:00-13:00,14:00-17:30', 'CLOSED' or a blank cell"
        )
    times = [_nhsbsa_clock(token) for token in re.findall(_NHSBSA_TIME, text)]
    if len(times) % 2:
        raise OpeningHoursError(f"cannot read the opening hours {cell!r}: {len(times)} times do not make pairs")
    try:
        periods = [
            Period.from_clock(opens, "24:00" if closes == "23:59" else closes)
            for opens, closes in zip(times[::2], times[1::2])
        ]
        return [period.as_pair() for period in _merge_periods(periods)]
    except OpeningHoursError as error:
        raise OpeningHoursError(f"cannot read the opening hours {cell!r}: {error.message}") from None


def _unreadable_part(text: str) -> str:
    """What is left of a cell once its times and the separators around them are taken out."""
    leftovers = re.findall(r"[^\s,;]+", re.sub(_NHSBSA_TIME, " ", text))
    return " ".join(piece.strip("-:") for piece in leftovers if piece.strip("-:")) or text


def _nhsbsa_clock(token: str) -> str:
    digits = re.sub(r"\D", "", token)
    return f"{int(digits[:-2]):02d}:{digits[-2:]}"


# --------------------------------------------------------------------------------------------
# Free text ("Opening times" of the Greater Manchester food banks)
# --------------------------------------------------------------------------------------------

_DAY_WORDS = {
    "mon": ("mondays", "monday", "mon"),
    "tue": ("tuesdays", "tuesday", "tues", "tue"),
    "wed": ("wednesdays", "wednesday", "weds", "wed"),
    "thu": ("thursdays", "thursday", "thurs", "thur", "thu"),
    "fri": ("fridays", "friday", "fri"),
    "sat": ("saturdays", "saturday", "sat"),
    "sun": ("sundays", "sunday", "sun"),
}
_DAY_BY_WORD = {word: day for day, words in _DAY_WORDS.items() for word in words}
_DAY_GROUPS = {"weekday": DAYS[:5], "weekdays": DAYS[:5], "weekend": DAYS[5:], "weekends": DAYS[5:],
               "daily": DAYS, "everyday": DAYS, "every day": DAYS}
_SAID_TIME = r"\d{1,2}(?:[:.]\d{2})?\s*(?:am|pm|a\.m\.|p\.m\.|noon|midday|midnight)?|noon|midday|midnight"
_WORD_END = r"(?![a-z0-9])"
_FREE_TEXT_TOKEN = re.compile(
    rf"""\s*(?:
        (?P<group>every\s?day|daily|weekdays?|weekends?){_WORD_END}
      | (?P<day>{'|'.join(sorted(_DAY_BY_WORD, key=len, reverse=True))}){_WORD_END}
      | (?P<filler>open|from){_WORD_END}
      | (?P<time>{_SAID_TIME}){_WORD_END}
      | (?P<dash>-|(?:to|till|until){_WORD_END})
      | (?P<list>,|&|/|\+|and{_WORD_END})
      | (?P<stop>[;.\n])
    )""",
    re.VERBOSE,
)
_SAID_TIME_PARTS = re.compile(
    r"(?:(?P<hour>\d{1,2})(?:(?P<mark>[:.])(?P<minute>\d{2}))?)?"
    r"\s*(?P<meridiem>am|pm|a\.m\.|p\.m\.|noon|midday|midnight)?"
)


@dataclass(frozen=True)
class _SaidTime:
    """A time as written in free text: ``10am``, ``1.30``, ``12 noon``, ``14:00``."""

    hour: int
    minute: int
    meridiem: str | None  # "am", "pm", "noon", "midnight" or None
    twenty_four_hour: bool  # written 09:00 or 14:30 or 17: the 24-hour clock beyond doubt


class _NotSure(Exception):
    """Free text that does not say, beyond doubt, when a place is open."""


def parse_free_text(text: str | None) -> WeeklySchedule | None:
    """Best-effort reading of free-text opening times, such as food banks' "Opening times".

    Reads one or more "days times" clauses: ``"Wednesday 10am - 4pm"``,
    ``"Mon-Fri 9am-5pm; Sat 10:00-12:00"``, ``"Tuesdays & Fridays 12pm - 3pm"``,
    ``"Monday 6-7pm, Tuesday 12-1pm"``. Days may be names, short names, ranges and
    lists, or "weekdays", "weekends", "daily"; times take am/pm, "noon", "12 noon" and
    the 24-hour clock. A time without am/pm takes the one after it when that reads
    sensibly (``"1-3pm"``, ``"11-1pm"`` is 11:00-13:00).

    Returns
    -------
    WeeklySchedule or None
        The days named, open at the times given, and every other day closed (the
        text is taken as the whole timetable). None whenever any part of the text is
        not understood or is ambiguous (``"10 - 12"``, ``"8.30-4.30"``, ``"Tuesday from
        11am"``, ``"1st Saturday of month"``, notes after the times): a wrong
        answer is worse than none.

    Examples
    --------
    >>> parse_free_text("Mon-Fri 9am-5pm; Sat 10:00-12:00").to_json()["sat"]
    [['10:00', '12:00']]
    >>> parse_free_text("Wednesday 9:30am - 12noon").to_json()["wed"]
    [['09:30', '12:00']]
    >>> parse_free_text("Wednesday 10 - 12") is None
    True
    """
    if text is None or not text.strip():
        return None
    tokens = _free_text_tokens(text)
    if tokens is None:
        return None
    try:
        clauses = _FreeTextReader(tokens).clauses()
    except _NotSure:
        return None
    periods_by_day: dict[str, list[Period]] = {day: [] for day in DAYS}
    for days, periods in clauses:
        for day in days:
            periods_by_day[day].extend(periods)
    try:
        return WeeklySchedule(tuple(periods_by_day[day] for day in DAYS))
    except OpeningHoursError:
        return None


def _free_text_tokens(text: str) -> list[tuple[str, object]] | None:
    text = re.sub("[\u2010-\u2015\u2212]", "-", text.lower().replace("\u00a0", " ")).strip()
    tokens: list[tuple[str, object]] = []
    position = 0
    while position < len(text):
        match = _FREE_TEXT_TOKEN.match(text, position)
        if match is None:
            return None
        kind, value = match.lastgroup, match.group(match.lastgroup)
        if kind == "group":
            value = _DAY_GROUPS[" ".join(value.split())]
        elif kind == "day":
            value = _DAY_BY_WORD[value]
        elif kind == "time":
            value = _said_time(value)
            if value is None:
                return None
        tokens.append((kind, value))
        position = match.end()
    return tokens


def _said_time(raw: str) -> _SaidTime | None:
    parts = _SAID_TIME_PARTS.fullmatch(raw.strip())
    meridiem = (parts.group("meridiem") or "").replace(".", "") or None
    if meridiem == "midday":
        meridiem = "noon"
    if parts.group("hour") is None:  # "noon" or "midnight" on its own
        return _SaidTime(12, 0, meridiem, False)
    hour, minute = int(parts.group("hour")), int(parts.group("minute") or 0)
    if hour > 24 or minute > 59:
        return None
    twenty_four_hour = hour >= 13 or (parts.group("mark") == ":" and len(parts.group("hour")) == 2)
    return _SaidTime(hour, minute, meridiem, twenty_four_hour)


class _FreeTextReader:
    """Reads ``clause (separator? clause)*`` where ``clause = days ","? "from"? times``."""

    def __init__(self, tokens: list[tuple[str, object]]):
        self.tokens, self.position = tokens, 0

    def clauses(self) -> list[tuple[list[str], list[Period]]]:
        self._skip("filler")  # "Open Monday 1-3pm"
        found = [self._clause()]
        while True:
            while self._peek() in ("list", "stop"):
                self.position += 1
            if self._peek() is None:
                return found
            found.append(self._clause())

    def _clause(self) -> tuple[list[str], list[Period]]:
        days = self._days()
        if self._peek() == "list" and self._peek(1) == "time":  # "Thursday, 11am - 2pm"
            self.position += 1
        self._skip("filler")  # "Tuesday from 6:30pm to 8:30pm"
        periods = [self._period()]
        while self._peek() == "list" and self._peek(1) == "time":  # "Wednesday 2-3pm and 6-7pm"
            self.position += 1
            periods.append(self._period())
        return days, periods

    def _days(self) -> list[str]:
        days = self._day_item()
        while self._peek() == "list" and self._peek(1) in ("day", "group"):
            self.position += 1
            days += self._day_item()
        return days

    def _day_item(self) -> list[str]:
        kind, value = self._take()
        if kind == "group":
            return list(value)
        if kind != "day":
            raise _NotSure
        if self._peek() == "dash" and self._peek(1) == "day":
            self.position += 1
            _, last = self._take()
            first_index, count = DAYS.index(value), (DAYS.index(last) - DAYS.index(value)) % 7 + 1
            return [DAYS[(first_index + offset) % 7] for offset in range(count)]
        return [value]

    def _period(self) -> Period:
        opens = self._take_kind("time")
        self._take_kind("dash")
        closes = self._take_kind("time")
        minutes = _free_text_period(opens, closes)
        if minutes is None:
            raise _NotSure
        return Period(*minutes)

    def _peek(self, ahead: int = 0) -> str | None:
        index = self.position + ahead
        return self.tokens[index][0] if index < len(self.tokens) else None

    def _skip(self, kind: str) -> None:
        if self._peek() == kind:
            self.position += 1

    def _take(self) -> tuple[str, object]:
        if self._peek() is None:
            raise _NotSure
        self.position += 1
        return self.tokens[self.position - 1]

    def _take_kind(self, kind: str) -> object:
        found, value = self._take()
        if found != kind:
            raise _NotSure
        return value


def _free_text_period(opens: _SaidTime, closes: _SaidTime) -> tuple[int, int] | None:
    """Minutes (opens, closes) for two said times, or None if they could mean something else."""
    opens_minute, closes_minute = _said_minutes(opens, closing=False), _said_minutes(closes, closing=True)
    if opens_minute is None and closes_minute is not None and opens.meridiem is None:
        opens_minute = _opening_before(opens, closes_minute, closes.meridiem)
    if opens_minute is None or closes_minute is None or opens_minute == closes_minute:
        return None
    if closes_minute < opens_minute:
        if opens.meridiem not in ("am", "pm") or closes.meridiem not in ("am", "pm"):
            return None  # past midnight only when both say am/pm: "10pm - 2am"
        closes_minute += _DAY
    return opens_minute, closes_minute


def _said_minutes(said: _SaidTime, *, closing: bool) -> int | None:
    """Minutes after midnight when the time alone is beyond doubt (10am, noon, 14:00), else None."""
    if said.meridiem in ("am", "pm"):
        if not 1 <= said.hour <= 12:
            return None
        minutes = (said.hour % 12 + (12 if said.meridiem == "pm" else 0)) * 60 + said.minute
        return _DAY if closing and minutes == 0 else minutes
    if said.meridiem in ("noon", "midnight"):
        if (said.hour, said.minute) != (12, 0):
            return None
        return 12 * 60 if said.meridiem == "noon" else (_DAY if closing else 0)
    if said.twenty_four_hour and (said.hour < 24 or (closing and said.minute == 0)):
        return said.hour * 60 + said.minute
    return None


def _opening_before(opens: _SaidTime, closes_minute: int, closes_meridiem: str | None) -> int | None:
    """Read "1" in "1-3pm" as 13:00 and "11" in "11-1pm" as 11:00: the same half of the day as the
    closing time when that comes before it, else the morning."""
    if closes_meridiem is None or not 1 <= opens.hour <= 12:
        return None
    morning = (opens.hour % 12) * 60 + opens.minute
    afternoon = morning + 12 * 60
    candidates = (afternoon, morning) if closes_meridiem in ("pm", "midnight") else (morning,)
    for minutes in candidates:
        if minutes < closes_minute and not (closes_meridiem == "noon" and opens.hour == 12):
            return minutes
    return None


# --------------------------------------------------------------------------------------------
# Libraries in England 2023 (Arts Council basic dataset): sessions, not times
# --------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class LibraryDay:
    """What the libraries dataset says about one day: which parts of it, never the times.

    Parameters
    ----------
    state : str
        ``OPEN``, ``CLOSED``, ``BY_APPOINTMENT`` or ``UNKNOWN``.
    parts : tuple of str
        When open: some of ``"morning"``, ``"afternoon"``, ``"evening"`` in that order,
        or ``("all day",)`` or ``("24 hours",)``. Empty otherwise.
    closes_between : bool or None
        True for "(with closure)", False for "(continuous)", None when not said.
    note : str or None
        ``"library closed"`` (the file's "N/A Closed": the library itself has closed),
        ``"varies by schedule"``, ``"no regular opening"``.
    """

    state: str
    parts: tuple[str, ...] = ()
    closes_between: bool | None = None
    note: str | None = None

    def describe(self) -> str:
        """Text for the UI, e.g. ``"Open morning and afternoon (times not published)"``.

        Examples
        --------
        >>> parse_library_day("AM & PM (with closure)").describe()
        'Open morning and afternoon, with a break (times not published)'
        >>> parse_library_day("N/A Closed").describe()
        'Closed (the library has closed)'
        """
        if self.state == OPEN:
            if self.parts == ("24 hours",):
                return "Open 24 hours"
            if len(self.parts) == 1:
                said = "all day" if self.parts == ("all day",) else f"in the {self.parts[0]}"
            else:
                said = ", ".join(self.parts[:-1]) + " and " + self.parts[-1]
            between = ", with a break" if self.closes_between else ""
            return f"Open {said}{between} (times not published)"
        if self.state == CLOSED:
            return "Closed (the library has closed)" if self.note == "library closed" else "Closed"
        if self.state == BY_APPOINTMENT:
            return "By appointment only"
        return f"Not known ({self.note})" if self.note else "Not known"


_LIBRARY_PART = {"am": "morning", "pm": "afternoon", "eve": "evening", "all day": "all day"}
_LIBRARY_SESSIONS = re.compile(
    r"(?P<parts>(?:am|pm|eve|all day)(?: & (?:am|pm|eve))*)(?: only)?(?: \(?(?P<how>continuous|with closure)\)?)?"
)
_LIBRARY_WORDS = {
    "": LibraryDay(UNKNOWN),
    "[unknown]": LibraryDay(UNKNOWN),
    "unknown": LibraryDay(UNKNOWN),
    "closed": LibraryDay(CLOSED),
    "n/a closed": LibraryDay(CLOSED, note="library closed"),
    "appointment only": LibraryDay(BY_APPOINTMENT),
    "by appointment only": LibraryDay(BY_APPOINTMENT),
    "varied by schedule": LibraryDay(UNKNOWN, note="varies by schedule"),
    "no regular opening": LibraryDay(UNKNOWN, note="no regular opening"),
    "24 hours": LibraryDay(OPEN, ("24 hours",), closes_between=False),
}


def parse_library_day(cell: str | None) -> LibraryDay:
    """Read a weekday column (``monday`` ... ``sunday``) of the libraries 2023 file.

    The file gives sessions ("AM & PM (continuous)", "PM Only", "All Day (with
    closure)"), not times, so the result cannot go into a :class:`WeeklySchedule`
    (which needs times). The UI can still say "open Monday (times not published)",
    and a day the file calls closed is known to be closed. Case, spacing and "and"
    for "&" vary in the file and are ignored.

    Raises
    ------
    OpeningHoursError
        For a value the file is not known to use.

    Examples
    --------
    >>> parse_library_day("AM & PM (continuous)")
    LibraryDay(state='open', parts=('morning', 'afternoon'), closes_between=False, note=None)
    >>> parse_library_day("PM only").parts, parse_library_day("N/A Closed").state
    (('afternoon',), 'closed')
    >>> parse_library_day("").state
    'unknown'
    """
    text = " ".join((cell or "").lower().replace(" and ", " & ").split())
    if text in _LIBRARY_WORDS:
        return _LIBRARY_WORDS[text]
    sessions = _LIBRARY_SESSIONS.fullmatch(text)
    if sessions is None:
        raise OpeningHoursError(f"cannot read the library opening {cell!r}")
    parts = tuple(_LIBRARY_PART[part] for part in sessions.group("parts").split(" & "))
    how = sessions.group("how")
    closes_between = None if how is None else how == "with closure"
    return LibraryDay(OPEN, parts, closes_between)


# --------------------------------------------------------------------------------------------
# Open Referral UK / HSDS 3.0 schedules
# --------------------------------------------------------------------------------------------

_HSDS_DAY = {code: day for day, code in HSDS_BYDAY.items()}
_HSDS_TIME = re.compile(r"(\d{2}):(\d{2})(?::(\d{2})(?:\.0+)?)?")
_HSDS_OFFSET = re.compile(r"(?:Z|[+-]\d{2}(?::?\d{2})?)$")
_HSDS_END_OF_DAY = "23:59:59"


def to_hsds_schedules(schedule: WeeklySchedule) -> list[dict[str, str]]:
    """The schedule as HSDS 3.0 ``schedule`` objects, one per distinct period.

    Days with the same period share one object (``byday="MO,TU,WE,TH,FR"``).
    Times are London wall-clock times as ``"HH:MM:SS"`` with no UTC offset: the
    schema asks for one, but a fixed offset is wrong for half the year. Midnight
    at the end of a day is ``"23:59:59"`` (``24:00:00`` is not a valid time), and a
    ``closes_at`` before ``opens_at`` means the next morning. HSDS cannot tell a
    closed day from one we know nothing about: both are simply not listed.
    The caller adds ``id`` and ``service_id`` (or ``location_id``).

    Examples
    --------
    >>> to_hsds_schedules(WeeklySchedule.from_json({"mon": [["09:00", "17:30"]], "tue": [["09:00", "17:30"]],
    ...                                             "sat": [["22:00", "02:00"]]}))  # doctest: +NORMALIZE_WHITESPACE
    [{'freq': 'WEEKLY', 'byday': 'MO,TU', 'opens_at': '09:00:00', 'closes_at': '17:30:00'},
     {'freq': 'WEEKLY', 'byday': 'SA', 'opens_at': '22:00:00', 'closes_at': '02:00:00'}]
    """
    days_by_period: dict[Period, list[str]] = {}
    for day, periods in zip(DAYS, schedule.days):
        for period in periods or ():
            days_by_period.setdefault(period, []).append(day)
    ordered = sorted(days_by_period.items(), key=lambda item: (DAYS.index(item[1][0]), item[0]))
    return [
        {
            "freq": "WEEKLY",
            "byday": ",".join(HSDS_BYDAY[day] for day in days),
            "opens_at": f"{period.opens}:00",
            "closes_at": _HSDS_END_OF_DAY if period.closes_minute == _DAY else f"{period.closes}:00",
        }
        for period, days in ordered
    ]


def from_hsds_schedules(schedules: Iterable[Mapping[str, object]]) -> WeeklySchedule:
    """Read HSDS 3.0 ``schedule`` objects back into a weekly schedule.

    A day no schedule names is closed, unless there are no schedules at all
    (then nothing is known). ``valid_from``/``valid_to`` are not read: pick the
    schedules in force before calling.

    Raises
    ------
    OpeningHoursError
        For a schedule a weekly timetable cannot hold (``MONTHLY``, an ``interval``
        other than 1, ``2MO``-style days, ``bymonthday``), a missing time, or a time
        with a UTC offset (we cannot tell which London time it meant).

    Examples
    --------
    >>> from_hsds_schedules([{"freq": "WEEKLY", "byday": "MO,TU", "opens_at": "09:00:00",
    ...                       "closes_at": "23:59:59"}]).to_json()
    {'mon': [['09:00', '24:00']], 'tue': [['09:00', '24:00']], 'wed': [], 'thu': [], 'fri': [], 'sat': [], 'sun': []}
    """
    periods_by_day: dict[str, list[Period]] = {day: [] for day in DAYS}
    count = 0
    for count, row in enumerate(schedules, start=1):
        where = f"schedule {count}"
        days = _hsds_days(row, where)
        opens = _hsds_clock(row.get("opens_at"), where, "opens_at")
        closes = _hsds_clock(row.get("closes_at"), where, "closes_at", closing=True)
        try:
            period = Period.from_clock(opens, closes)
        except OpeningHoursError as error:
            raise OpeningHoursError(f"{where}: {error.message}") from None
        for day in days:
            periods_by_day[day].append(period)
    if count == 0:
        return WeeklySchedule()
    return WeeklySchedule(tuple(periods_by_day[day] for day in DAYS))


def _hsds_days(row: Mapping[str, object], where: str) -> list[str]:
    freq = str(row.get("freq") or "").upper()
    if freq != "WEEKLY":
        raise OpeningHoursError(f"{where}: freq {row.get('freq')!r} is not WEEKLY, so it is not a weekly timetable")
    if row.get("interval") not in (None, "", 1, "1"):
        raise OpeningHoursError(f"{where}: interval {row.get('interval')!r} (not every week) cannot be held")
    if row.get("bymonthday"):
        raise OpeningHoursError(f"{where}: bymonthday cannot be held in a weekly timetable")
    codes = [code.strip().upper() for code in str(row.get("byday") or "").split(",") if code.strip()]
    if not codes or any(code not in _HSDS_DAY for code in codes):
        raise OpeningHoursError(f"{where}: byday {row.get('byday')!r} is not a list of MO, TU, WE, TH, FR, SA, SU")
    return [_HSDS_DAY[code] for code in codes]


def _hsds_clock(value: object, where: str, field: str, *, closing: bool = False) -> str:
    if not isinstance(value, str) or not value:
        raise OpeningHoursError(f"{where}: {field} is missing")
    if closing and value == _HSDS_END_OF_DAY:
        return "24:00"
    match = _HSDS_TIME.fullmatch(value)
    if match is None:
        if _HSDS_TIME.match(value) and _HSDS_OFFSET.search(value):
            raise OpeningHoursError(
                f"{where}: {field} {value!r} has a UTC offset; London times change offset, so give local times"
            )
        raise OpeningHoursError(f"{where}: {field} {value!r} is not a time like '09:00:00'")
    if match.group(3) not in (None, "00"):
        raise OpeningHoursError(f"{where}: {field} {value!r} has seconds; opening hours are kept to the minute")
    return f"{match.group(1)}:{match.group(2)}"
