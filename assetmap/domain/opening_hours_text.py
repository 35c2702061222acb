"""Opening hours as the imported files write them: the NHSBSA pharmacy cells, free text (the food
banks' "Opening times"), and the library sessions of the Arts Council dataset, each read into the
:mod:`assetmap.domain.opening_hours` model.

No Flask and no SQL here.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from assetmap.domain.opening_hours import (
    BY_APPOINTMENT,
    CLOSED,
    DAY_MINUTES,
    DAYS,
    OPEN,
    UNKNOWN,
    WHOLE_DAY,
    OpeningHoursError,
    Period,
    WeeklySchedule,
    merge_periods,
)

__all__ = [
    "HoursReading",
    "LibraryDay",
    "describe_week",
    "parse_free_text",
    "parse_library_day",
    "parse_nhsbsa_day",
    "parse_said_periods",
    "read_free_text",
]


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
        return [period.as_pair() for period in merge_periods(periods)]
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
      | (?P<closed>closed|shut){_WORD_END}
      | (?P<filler>open|from|on|:){_WORD_END}
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
    ``"Monday 6-7pm, Tuesday 12-1pm"``, and "closed" clauses (``"closed Mondays"``). Days may
    be names, short names, ranges and lists, or "weekdays", "weekends", "daily"; times take
    am/pm, "noon", "12 noon" and the 24-hour clock. A time without am/pm takes the one after it
    when that reads sensibly (``"1-3pm"``, ``"11-1pm"`` is 11:00-13:00).

    This is the importers' reading, where nobody checks the answer; the contribute form reads
    with :func:`read_free_text` and shows its reading back to the person who wrote it.

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
    reading = read_free_text(text, guess_clock=False)
    return None if reading.notes else reading.schedule


@dataclass(frozen=True)
class HoursReading:
    """What :func:`read_free_text` made of opening hours as a person wrote them.

    Parameters
    ----------
    schedule : WeeklySchedule or None
        The weekly hours read; None when the text could not be read.
    notes : tuple of str
        The parts the weekly model cannot hold ("first Tuesday of the month 10am-12pm",
        "term time only"), as written, for the opening-hours note.
    """

    schedule: WeeklySchedule | None
    notes: tuple[str, ...] = ()

    def describe(self) -> str:
        """The reading in a line, to show back: ``"Mon–Fri 09:00–17:00; Sat–Sun closed"``."""
        said = describe_week(self.schedule) if self.schedule is not None else "nothing we could read as hours"
        return said + "".join(f"; note: {note}" for note in self.notes)


_ORDINAL = r"(?:first|second|third|fourth|last|1st|2nd|3rd|4th)"
_SAID_PERIOD = rf"(?:(?:from\s+)?(?:{_SAID_TIME})\s*(?:-|to|till|until)\s*(?:{_SAID_TIME}))"
_DAY_NAME = "|".join(sorted(_DAY_BY_WORD, key=len, reverse=True))
_MONTHLY = re.compile(
    rf"(?:(?:on|every)\s+)?(?:the\s+)?(?P<ordinal>{_ORDINAL}(?:\s*(?:and|&|,)\s*{_ORDINAL})*)\s+"
    rf"(?P<day>{_DAY_NAME}){_WORD_END}\s*(?:(?:of|in)\s+(?:the|each|every)\s+month|(?:of|in)\s+month|monthly)?"
    rf"(?:\s*,?\s*{_SAID_PERIOD}(?:\s*(?:,|and|&)\s*{_SAID_PERIOD})*)?"
)
_NOTE_PHRASES = re.compile(
    r"\(?\s*(?:(?:during|in)\s+)?term[\s-]?times?(?:\s+only)?\s*\)?"
    r"|\(?\s*(?:closed|not)\s+(?:during|in|over)\s+(?:the\s+)?(?:school|bank)\s+holidays?\s*\)?"
    r"|\(?\s*(?:except|excluding|not\s+on)\s+(?:school\s+|bank\s+)?holidays?\s*\)?"
    r"|\(?\s*(?:closed\s+(?:on\s+)?)?bank\s+holidays?(?:\s+closed)?\s*\)?"
)


def read_free_text(text: str | None, *, guess_clock: bool = True) -> HoursReading:
    """Read opening hours as people write them on the contribute form, to show the reading back.

    Everything :func:`parse_free_text` reads, and also: times without am/pm read as a day's
    opening would be (``"Mon-Fri 9-5"`` is 09:00-17:00, ``"10 - 12"`` is 10:00-12:00, an hour
    from 1 to 6 is the afternoon) when ``guess_clock`` is true; ``"closed Mondays"``; and the
    parts a weekly timetable cannot hold, kept as notes: ``"first Tuesday of the month"``
    (with its times; that day is then "not known" in the week), ``"term time only"``, school
    and bank holidays.

    Parameters
    ----------
    text : str or None
        The hours as written.
    guess_clock : bool
        Read times without am/pm the usual way. The form can, because the person confirms the
        reading; the importers cannot (:func:`parse_free_text` passes False).

    Returns
    -------
    HoursReading
        ``schedule`` None when the text (after the notes are taken out) cannot be read.

    Examples
    --------
    >>> read_free_text("Mon-Fri 9-5").describe()
    'Mon–Fri 09:00–17:00; Sat–Sun closed'
    >>> read_free_text("Daily 10am - 4pm, closed Mondays").describe()
    'Mon closed; Tue–Sun 10:00–16:00'
    >>> reading = read_free_text("Wednesdays 9.30am to 1pm, term time only")
    >>> reading.schedule.to_json()["wed"], reading.notes
    ([['09:30', '13:00']], ('term time only',))
    >>> read_free_text("closed Mondays").describe()
    'Mon closed; Tue–Sun not known'
    >>> read_free_text("First Tuesday of the month 10am-12pm").describe()
    'Mon closed; Tue not known; Wed–Sun closed; note: First Tuesday of the month 10am-12pm'
    """
    if text is None or not text.strip():
        return HoursReading(None)
    text = re.sub("[\u2010-\u2015\u2212]", "-", text.replace("\u00a0", " ")).strip()
    notes: list[str] = []
    monthly_days: set[str] = set()

    def _note(match: re.Match, day: str | None = None) -> str:
        notes.append(" ".join(match.group(0).strip(" ,;.()").split()))
        if day:
            monthly_days.add(_DAY_BY_WORD[day.lower()])
        return " ; "

    rest = re.sub(_MONTHLY.pattern, lambda m: _note(m, m.group("day")), text, flags=re.IGNORECASE)
    rest = re.sub(_NOTE_PHRASES.pattern, lambda m: _note(m), rest, flags=re.IGNORECASE)
    rest = re.sub(r"^[\s,;.]*only[\s,;.]*$", "", rest)
    notes = [note for note in notes if note]
    if not rest.strip(" ,;.\n"):
        if not monthly_days:
            return HoursReading(None, tuple(notes))
        return HoursReading(WeeklySchedule(tuple(None if day in monthly_days else [] for day in DAYS)), tuple(notes))
    tokens = _free_text_tokens(rest)
    if tokens is None:
        return HoursReading(None, tuple(notes))
    try:
        clauses = _FreeTextReader(tokens, guess_clock=guess_clock).clauses()
    except _NotSure:
        return HoursReading(None, tuple(notes))
    # The text is the whole timetable, so days it does not name are closed; unless it only says
    # when the place is closed ("closed Mondays"), which says nothing about the other days.
    unnamed = [] if any(periods is not None for _, periods in clauses) else None
    periods_by_day: dict[str, list[Period] | None] = {day: unnamed for day in DAYS}
    for days, periods in clauses:
        for day in days:
            if periods is not None:
                periods_by_day[day] = [*(periods_by_day[day] or []), *periods]
    for days, periods in clauses:
        if periods is None:  # "closed Mondays" wins over "daily 10am-4pm"
            for day in days:
                periods_by_day[day] = []
    for day in monthly_days:
        if not periods_by_day[day]:
            periods_by_day[day] = None
    try:
        return HoursReading(WeeklySchedule(tuple(periods_by_day[day] for day in DAYS)), tuple(notes))
    except OpeningHoursError:
        return HoursReading(None, tuple(notes))


def parse_said_periods(text: str, *, guess_clock: bool = True) -> list[Period] | None:
    """One day's times as people write them: ``"10am - 12pm"``, ``"9.30am to 1pm, 2-4pm"``.

    Returns
    -------
    list of Period or None
        None when the text is not only times (or a time is not beyond doubt and
        ``guess_clock`` is false).

    Examples
    --------
    >>> [p.as_pair() for p in parse_said_periods("9.30am to 1pm and 2-4.30pm")]
    [('09:30', '13:00'), ('14:00', '16:30')]
    >>> parse_said_periods("Monday 10am-2pm") is None
    True
    """
    tokens = _free_text_tokens(text)
    if not tokens:
        return None
    reader = _FreeTextReader(tokens, guess_clock=guess_clock)
    try:
        reader._skip("filler")
        periods = [reader._period()]
        while reader._peek() in ("list", "stop") and reader._peek(1) in ("time", "filler"):
            reader.position += 1
            reader._skip("filler")
            periods.append(reader._period())
        while reader._peek() == "stop":
            reader.position += 1
        if reader._peek() is not None:
            return None
    except _NotSure:
        return None
    return periods


def describe_week(schedule: WeeklySchedule) -> str:
    """A week in one line, days with the same hours run together: ``"Mon–Fri 09:00–17:00; Sat closed"``.

    Examples
    --------
    >>> describe_week(WeeklySchedule.from_json({"mon": [["09:00", "13:00"]], "tue": [["09:00", "13:00"]],
    ...                                         "sat": []}))
    'Mon–Tue 09:00–13:00; Wed–Fri not known; Sat closed; Sun not known'
    """
    def said(periods):
        if periods is None:
            return "not known"
        if not periods:
            return "closed"
        return ", ".join(f"{p.opens}\u2013{p.closes}" for p in periods)

    runs: list[tuple[int, int, str]] = []
    for index, periods in enumerate(schedule.days):
        text = said(periods)
        if runs and runs[-1][2] == text:
            runs[-1] = (runs[-1][0], index, text)
        else:
            runs.append((index, index, text))
    short = [day.capitalize() for day in DAYS]
    return "; ".join((short[a] if a == b else f"{short[a]}\u2013{short[b]}") + " " + text for a, b, text in runs)


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

    def __init__(self, tokens: list[tuple[str, object]], *, guess_clock: bool = False):
        self.tokens, self.position, self.guess_clock = tokens, 0, guess_clock

    def clauses(self) -> list[tuple[list[str], list[Period] | None]]:
        self._skip("filler")  # "Open Monday 1-3pm"
        found = [self._clause()]
        while True:
            while self._peek() in ("list", "stop"):
                self.position += 1
            if self._peek() is None:
                return found
            found.append(self._clause())

    def _clause(self) -> tuple[list[str], list[Period] | None]:
        if self._peek() == "closed":  # "closed (on) Mondays"
            self.position += 1
            self._skip("filler")
            return self._days(), None
        days = self._days()
        self._skip("filler")
        if self._peek() == "closed":  # "Sundays closed", "Sunday: closed"
            self.position += 1
            return days, None
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
        if minutes is None and self.guess_clock:
            minutes = _guessed_period(opens, closes)
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
        closes_minute += DAY_MINUTES
    return opens_minute, closes_minute


def _guessed_period(opens: _SaidTime, closes: _SaidTime) -> tuple[int, int] | None:
    """Times without am/pm read as a day's opening: an hour from 7 to 11 is the morning, 12 is
    noon, 1 to 6 the afternoon; the closing time is the first reading after the opening."""
    opens_minute = _said_minutes(opens, closing=False)
    if opens_minute is None:
        if opens.meridiem is not None or not 1 <= opens.hour <= 12:
            return None
        opens_minute = (opens.hour % 12 + (12 if 1 <= opens.hour <= 6 else 0)) * 60 + opens.minute
    closes_minute = _said_minutes(closes, closing=True)
    if closes_minute is None:
        if closes.meridiem is not None or not 1 <= closes.hour <= 12:
            return None
        closes_minute = closes.hour * 60 + closes.minute
        while closes_minute <= opens_minute and closes_minute < 12 * 60:
            closes_minute += 12 * 60
    if closes_minute <= opens_minute:
        return None
    return opens_minute, closes_minute


def _said_minutes(said: _SaidTime, *, closing: bool) -> int | None:
    """Minutes after midnight when the time alone is beyond doubt (10am, noon, 14:00), else None."""
    if said.meridiem in ("am", "pm"):
        if not 1 <= said.hour <= 12:
            return None
        minutes = (said.hour % 12 + (12 if said.meridiem == "pm" else 0)) * 60 + said.minute
        return DAY_MINUTES if closing and minutes == 0 else minutes
    if said.meridiem in ("noon", "midnight"):
        if (said.hour, said.minute) != (12, 0):
            return None
        return 12 * 60 if said.meridiem == "noon" else (DAY_MINUTES if closing else 0)
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
    closure)"), not times, so the result cannot go into a
    :class:`~assetmap.domain.opening_hours.WeeklySchedule` (which needs times). The UI can still
    say "open Monday (times not published)", and a day the file calls closed is known to be
    closed. Case, spacing and "and" for "&" vary in the file and are ignored.

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
