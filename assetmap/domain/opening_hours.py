"""Weekly opening hours: the model, checked, and asked "is it open now?".

A :class:`WeeklySchedule` holds, for each day Monday to Sunday, either the periods that start that
day or ``None`` when the day's hours are not known. It is stored as JSON::

    {"mon": [["09:00", "13:00"], ["14:00", "17:30"]], "sun": []}

where a missing day means "not known" and an empty list means "closed". Times are the wall clock
in London; a period may run past midnight ("22:00"-"02:00" closes at 02:00 the next morning).

The hours as the imported files write them are read by :mod:`assetmap.domain.opening_hours_text`
(NHSBSA cells, free text, library sessions); ORUK / HSDS schedules are
:mod:`assetmap.domain.opening_hours_hsds`.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

from assetmap.errors import BadInputError

__all__ = [
    "BY_APPOINTMENT",
    "CLOSED",
    "DAYS",
    "DAY_MINUTES",
    "DAY_LABELS",
    "HSDS_BYDAY",
    "LONDON",
    "OPEN",
    "UNKNOWN",
    "OpeningHoursError",
    "Period",
    "Status",
    "WHOLE_DAY",
    "WeeklySchedule",
    "describe_status",
    "is_open",
    "merge_periods",
    "next_change",
    "week_table",
]

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_LABELS = dict(zip(DAYS, ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")))
#: RFC 5545 weekday codes, as HSDS / Open Referral UK ``schedule.byday`` uses them.
HSDS_BYDAY = dict(zip(DAYS, ("MO", "TU", "WE", "TH", "FR", "SA", "SU")))
LONDON = ZoneInfo("Europe/London")

OPEN, CLOSED, UNKNOWN = "open", "closed", "unknown"
BY_APPOINTMENT = "by appointment"

#: Minutes in a day (a period of the whole day runs from 0 to this).
DAY_MINUTES = 24 * 60
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
        whole_day = (opens, closes) == (0, DAY_MINUTES)
        if not (0 <= opens < DAY_MINUTES and opens < closes and (closes < opens + DAY_MINUTES or whole_day)):
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
        if opens_minute == DAY_MINUTES:
            raise OpeningHoursError("24:00 can only be a closing time; a day starts at 00:00")
        if closes_minute == 0:
            closes_minute = DAY_MINUTES
        if closes_minute == opens_minute:
            raise OpeningHoursError(f"{opens}-{closes} closes when it opens; a whole day is 00:00-24:00")
        if closes_minute < opens_minute:
            closes_minute += DAY_MINUTES
        return cls(opens_minute, closes_minute)

    @property
    def opens(self) -> str:
        """The opening time as ``"HH:MM"``."""
        return _clock(self.opens_minute)

    @property
    def closes(self) -> str:
        """The closing time as ``"HH:MM"``: ``"24:00"`` for midnight, the next morning's time past it."""
        return _clock(self.closes_minute - DAY_MINUTES if self.runs_past_midnight else self.closes_minute)

    @property
    def runs_past_midnight(self) -> bool:
        return self.closes_minute > DAY_MINUTES

    def as_pair(self) -> tuple[str, str]:
        return self.opens, self.closes


WHOLE_DAY = Period(0, DAY_MINUTES)


def merge_periods(periods: Iterable[Period]) -> tuple[Period, ...]:
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
            if closes >= last.opens_minute + DAY_MINUTES and (last.opens_minute, closes) != (0, DAY_MINUTES):
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
        normal = tuple(None if periods is None else merge_periods(periods) for periods in self.days)
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
            "(use datetime.now(UTC) or attach ZoneInfo('Europe/London'))"
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
    moment = wall.replace(tzinfo=LONDON).astimezone(UTC)  # fold=0: the first of two
    if _wall_clock(moment) == wall:
        return moment
    return _clocks_jumped_over(wall)


def _clocks_jumped_over(wall: datetime) -> datetime:
    """The moment the clocks went forward, skipping the wall time ``wall``."""
    earlier, later = sorted(wall.replace(tzinfo=LONDON, fold=fold).astimezone(UTC) for fold in (0, 1))
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
    >>> is_open(s, datetime(2026, 3, 30, 16, 0, tzinfo=UTC))  # 17:00 BST
    True
    >>> is_open(s, datetime(2026, 3, 31, 10, 0, tzinfo=LONDON)) is None  # Tuesday: not known
    True
    """
    local = _to_london(at)
    if _open_until(schedule, local.astimezone(UTC), local.date()) is not None:
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
    now, today = local.astimezone(UTC), local.date()
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
