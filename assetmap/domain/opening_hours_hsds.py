"""Opening hours as Open Referral UK / HSDS 3.0 ``schedule`` rows, both ways.

No Flask and no SQL here.
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from assetmap.domain.opening_hours import (
    DAY_MINUTES,
    DAYS,
    HSDS_BYDAY,
    OpeningHoursError,
    Period,
    WeeklySchedule,
)

__all__ = ["from_hsds_schedules", "to_hsds_schedules"]


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
            "closes_at": _HSDS_END_OF_DAY if period.closes_minute == DAY_MINUTES else f"{period.closes}:00",
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
