"""Opening hours: the model, the parsers on real cells, "open now" across clock changes, HSDS."""
import csv
import doctest
import json
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import jsonschema
import pytest

import assetmap.domain.opening_hours as opening_hours
import assetmap.domain.opening_hours_hsds as opening_hours_hsds
import assetmap.domain.opening_hours_text as opening_hours_text
from assetmap.domain.opening_hours import (
    BY_APPOINTMENT,
    CLOSED,
    DAYS,
    LONDON,
    OPEN,
    UNKNOWN,
    OpeningHoursError,
    Period,
    Status,
    WeeklySchedule,
    describe_status,
    is_open,
    next_change,
    week_table,
)
from assetmap.domain.opening_hours_hsds import from_hsds_schedules, to_hsds_schedules
from assetmap.domain.opening_hours_text import parse_free_text, parse_library_day, parse_nhsbsa_day

UTC = UTC
NHSBSA_DAY_COLUMNS = {
    "mon": ("PHARMACY_OPENING_HOURS_MONDAY", "MON_TOTAL"),
    "tue": ("PHARMACY_OPENING_HOURS_TUESDAY", "TUES_TOTAL"),
    "wed": ("PHARMACY_OPENING_HOURS_WEDNESDAY", "WED_TOTAL"),
    "thu": ("PHARMACY_OPENING_HOURS_THURSDAY", "THURS_TOTAL"),
    "fri": ("PHARMACY_OPENING_HOURS_FRIDAY", "FRI_TOTAL"),
    "sat": ("PHARMACY_OPENING_HOURS_SATURDAY", "SAT_TOTAL"),
    "sun": ("PHARMACY_OPENING_HOURS_SUNDAY", "SUN_TOTAL"),
}
LIBRARY_DAY_COLUMNS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")

# A typical community pharmacy from the NHSBSA list (FA002, Stockport).
PHARMACY = WeeklySchedule.from_json(
    {day: [["09:00", "13:00"], ["14:00", "17:30"]] for day in DAYS[:5]} | {"sat": [["09:00", "12:00"]], "sun": []}
)
# Open late on Friday, into Saturday morning; Sunday not known.
LATE_FRIDAY = WeeklySchedule.from_json(
    {"mon": [], "tue": [], "wed": [], "thu": [], "fri": [["22:00", "02:00"]], "sat": []}
)


def london(*args) -> datetime:
    return datetime(*args, tzinfo=LONDON)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_doctests():
    for module in (opening_hours, opening_hours_text, opening_hours_hsds):
        assert doctest.testmod(module).failed == 0


# --- the model -----------------------------------------------------------------------------

def test_json_round_trip_sorts_and_merges():
    schedule = WeeklySchedule.from_json({
        "mon": [["14:00", "17:30"], ["09:00", "13:00"], ["12:30", "13:30"]],  # overlap
        "tue": [["09:00", "13:30"], ["13:30", "18:00"]],  # touching
        "wed": [],
        "fri": [["22:00", "02:00"], ["23:00", "01:00"]],  # inside an overnight period
    })
    assert schedule.to_json() == {
        "mon": [["09:00", "13:30"], ["14:00", "17:30"]],
        "tue": [["09:00", "18:00"]],
        "wed": [],
        "fri": [["22:00", "02:00"]],
    }
    assert WeeklySchedule.from_json(schedule.to_json()) == schedule
    assert schedule.unknown_days == ("thu", "sat", "sun")
    assert hash(schedule) == hash(WeeklySchedule.from_json(schedule.to_json()))


def test_midnight_closing_is_stored_as_24_00():
    assert WeeklySchedule.from_json({"mon": [["09:00", "00:00"]]}).to_json() == {"mon": [["09:00", "24:00"]]}
    assert WeeklySchedule.from_json({"mon": [["00:00", "00:00"]]}).to_json() == {"mon": [["00:00", "24:00"]]}
    assert Period.from_clock("22:00", "02:00").runs_past_midnight


def test_empty_and_null_mean_nothing_known():
    assert WeeklySchedule.from_json(None) == WeeklySchedule.from_json({}) == WeeklySchedule()
    assert WeeklySchedule().to_json() == {}


@pytest.mark.parametrize("data, message", [
    ({"monday": []}, "unknown day keys"),
    ({"mon": "09:00-17:00"}, r"mon: expected a list of \[opens, closes\] pairs"),
    ({"mon": [["09:00"]]}, r"mon: each period must be a pair \[opens, closes\]"),
    ({"mon": [["9:00", "17:00"]]}, "'9:00' is not a time"),
    ({"mon": [["09:00", "24:30"]]}, "'24:30' is not a time"),
    ({"mon": [["24:00", "02:00"]]}, "24:00 can only be a closing time"),
    ({"mon": [["09:00", "09:00"]]}, "closes when it opens"),
    ({"mon": [[900, 1700]]}, "must be a string"),
    ({"mon": [["00:00", "24:00"], ["23:00", "22:00"]]}, "more than 24 hours"),
    (["mon"], "object keyed by day"),
])
def test_invalid_json_is_refused_with_a_clear_message(data, message):
    with pytest.raises(OpeningHoursError, match=message) as raised:
        WeeklySchedule.from_json(data)
    assert isinstance(raised.value, ValueError)
    assert raised.value.http_status == 400


# --- NHSBSA pharmacy list ------------------------------------------------------------------

@pytest.mark.parametrize("cell, expected", [
    ("09:00-13:00,14:00-17:30", [("09:00", "13:00"), ("14:00", "17:30")]),
    ("09:00-12:00", [("09:00", "12:00")]),
    ("09:00-12:30,13:00-16:30,17:00-21:00", [("09:00", "12:30"), ("13:00", "16:30"), ("17:00", "21:00")]),
    ("CLOSED", []),
    ("closed", []),
    ("", None),
    ("   ", None),
    (None, None),
    # the odd formats that really occur in consol_pharmacy_list_202324q3.csv
    ("08:30-12:30; 14:00-21:00", [("08:30", "12:30"), ("14:00", "21:00")]),
    ("09:00-13:00, 14:00-18:30", [("09:00", "13:00"), ("14:00", "18:30")]),
    ("09:00-13:00 14:00-18:00", [("09:00", "13:00"), ("14:00", "18:00")]),
    ("09:00-13:00:14:00-18:00", [("09:00", "13:00"), ("14:00", "18:00")]),
    ("09:00-13:00-14:00-18:00", [("09:00", "13:00"), ("14:00", "18:00")]),
    ("09:00,18:00", [("09:00", "18:00")]),  # its MON_TOTAL is 9
    ("09:00-18.30", [("09:00", "18:30")]),
    ("09:00-1700", [("09:00", "17:00")]),
    ("0900-1730", [("09:00", "17:30")]),
    ("09:00-13:30,13:30-18:00", [("09:00", "18:00")]),
    ("08:00-00:00", [("08:00", "24:00")]),
    ("08:00-13:30,13:50-00:00", [("08:00", "13:30"), ("13:50", "24:00")]),
    ("09:00-23:59", [("09:00", "24:00")]),
    ("00:00-23:59", [("00:00", "24:00")]),
    ("09:00-24:00", [("09:00", "24:00")]),
    ("24 HOURS", [("00:00", "24:00")]),
    ("Open 24 hours", [("00:00", "24:00")]),
    ("24hrs", [("00:00", "24:00")]),
])
def test_parse_nhsbsa_day(cell, expected):
    assert parse_nhsbsa_day(cell) == expected


@pytest.mark.parametrize("cell, message", [
    ("11:00-13:30,14-30-16:00", "'14-30' is not a time"),  # FL798's Sunday, in the real file
    ("09:00-13:00,14:00", "3 times do not make pairs"),
    ("25:00-26:00", "'25:00' is not a time"),
    ("09:00-09:00", "closes when it opens"),
    ("By appointment", "'By appointment' is not a time"),
])
def test_parse_nhsbsa_day_refuses_what_it_cannot_read(cell, message):
    with pytest.raises(OpeningHoursError, match=message) as raised:
        parse_nhsbsa_day(cell)
    assert repr(cell) in str(raised.value)


@pytest.fixture(scope="module")
def pharmacy_rows(data_dir):
    with open(data_dir / "assets" / "consol_pharmacy_list_202324q3.csv", encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def test_every_distinct_nhsbsa_cell_parses_or_raises_clearly(pharmacy_rows):
    cells = Counter(row[column] for row in pharmacy_rows for column, _ in NHSBSA_DAY_COLUMNS.values())
    refused = {}
    for cell in cells:
        try:
            parse_nhsbsa_day(cell)
        except OpeningHoursError as error:
            refused[cell] = str(error)
    assert len(cells) == 870
    assert list(refused) == ["11:00-13:30,14-30-16:00"]
    assert len(cells) - len(refused) == 869


def test_nhsbsa_hours_agree_with_the_files_own_daily_totals(pharmacy_rows):
    """The file's *_TOTAL columns give each day's hours; ours disagree only where the file does."""
    disagreements = set()
    for row in pharmacy_rows:
        for column, total_column in NHSBSA_DAY_COLUMNS.values():
            try:
                periods = [Period.from_clock(*pair) for pair in parse_nhsbsa_day(row[column]) or []]
            except OpeningHoursError:
                continue
            hours = sum(period.closes_minute - period.opens_minute for period in periods) / 60
            if abs(hours - float(row[total_column] or 0)) > 0.02:  # reading 23:59 as 24:00 adds 0.017 h
                disagreements.add((row["PHARMACY_ODS_CODE_(F-CODE)"], row[column], row[total_column]))
    assert disagreements == {
        ("FMV20", "09:00-1700", "0"),  # Saturday: the total says closed
        ("FTX34", "09:00-18.30", "10"),  # every weekday: 9.5 hours, total 10
        ("FGQ24", "07:30-23:00", "12.5"),  # 15.5 hours
        ("FRP26", "08:00-21:00", "11"),  # 13 hours
    }


def test_whole_pharmacy_schedules_build(pharmacy_rows):
    built = 0
    for row in pharmacy_rows:
        try:
            WeeklySchedule.from_json({day: parse_nhsbsa_day(row[column])
                                      for day, (column, _) in NHSBSA_DAY_COLUMNS.items()})
            built += 1
        except OpeningHoursError:
            pass
    assert built == len(pharmacy_rows) - 1


def test_greater_manchester_pharmacy_geojson_uses_the_same_cells(data_dir):
    with open(data_dir / "assets" / "greater_manchester" / "gm_pharmacies.geojson", encoding="utf-8") as f:
        features = json.load(f)["features"]
    cells = {value for feature in features for key, value in feature["properties"].items()
             if key.startswith("opening_hours_")}
    assert len(cells) > 100
    for cell in cells:
        parse_nhsbsa_day(cell)  # raises if any cannot be read
    assert parse_nhsbsa_day("09:00-13:00:14:00-18:00") == [("09:00", "13:00"), ("14:00", "18:00")]


# --- free text -----------------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("Wednesday 10am - 4pm", {"wed": [["10:00", "16:00"]]}),
    ("Mon-Fri 9am-5pm; Sat 10:00-12:00",
     {day: [["09:00", "17:00"]] for day in DAYS[:5]} | {"sat": [["10:00", "12:00"]]}),
    ("Wednesday 9:30am - 12noon", {"wed": [["09:30", "12:00"]]}),
    ("Saturday 10am - 12 noon", {"sat": [["10:00", "12:00"]]}),
    ("Thursday 1.30 - 3.30pm", {"thu": [["13:30", "15:30"]]}),
    ("Weds 12-2pm", {"wed": [["12:00", "14:00"]]}),
    ("Friday 10 - 11.30am", {"fri": [["10:00", "11:30"]]}),
    ("Monday - Wednesday 12 - 2pm", {"mon": [["12:00", "14:00"]], "tue": [["12:00", "14:00"]],
                                     "wed": [["12:00", "14:00"]]}),
    ("Tuesday 6pm - 8pm and Sunday 3pm - 5pm", {"tue": [["18:00", "20:00"]], "sun": [["15:00", "17:00"]]}),
    ("Tues/Weds 10am - 12pm. Thurs 10am - 2pm",
     {"tue": [["10:00", "12:00"]], "wed": [["10:00", "12:00"]], "thu": [["10:00", "14:00"]]}),
    ("Fri 4.30 - 5.30pm Sat 10 - 11am", {"fri": [["16:30", "17:30"]], "sat": [["10:00", "11:00"]]}),
    ("Tues , Wed, Thursday, 11am - 2pm and Friday 11am - 4pm",
     {"tue": [["11:00", "14:00"]], "wed": [["11:00", "14:00"]], "thu": [["11:00", "14:00"]],
      "fri": [["11:00", "16:00"]]}),
    ("Monday - Thursday 11:30am - 2pm and Monday - Thursday 5pm - 8pm",
     {day: [["11:30", "14:00"], ["17:00", "20:00"]] for day in DAYS[:4]}),
    ("Wednesday 2-3pm and 6-7pm", {"wed": [["14:00", "15:00"], ["18:00", "19:00"]]}),
    ("Tuesday and Thursday 9:30am \u2013 12:30pm", {"tue": [["09:30", "12:30"]], "thu": [["09:30", "12:30"]]}),
    ("Mon 1-2pm Thurs 10-11am Sat 12- 1pm",
     {"mon": [["13:00", "14:00"]], "thu": [["10:00", "11:00"]], "sat": [["12:00", "13:00"]]}),
    ("Tuesday 6:30pm to 8:30pm", {"tue": [["18:30", "20:30"]]}),
    ("Friday 10pm - 2am", {"fri": [["22:00", "02:00"]]}),
    ("Weekdays 10am-4pm", {day: [["10:00", "16:00"]] for day in DAYS[:5]}),
    ("Daily 9am - midnight", {day: [["09:00", "24:00"]] for day in DAYS}),
])
def test_parse_free_text(text, expected):
    schedule = parse_free_text(text)
    assert schedule is not None
    assert schedule.to_json() == {day: expected.get(day, []) for day in DAYS}  # other days closed


@pytest.mark.parametrize("text", [
    None, "", "Not known", "N/A", "By appointment", "One morning per week", "Contact for details",
    "Wednesday 10 - 12",  # no am/pm: 10:00-12:00 or 22:00-00:00?
    "Mon - Sat 10.00 - 4.00",  # 12-hour clock without am/pm
    "Monday-Friday 8.30-4.30 (Office) Tuesday-Thursday 10am-1pm (community Shop)",
    "Tuesday from 11am",  # no closing time
    "Wednesday 7:30pm",
    "Monday & Friday 12noon",
    "Monday - Saturday 7.30am = 4.30pm",
    "Tuesdays & Fridays 12pm - 3pm; 1st Saturday of month 10am - 12noon",
    "Daily (except Tues & Sat) 10:30am - 12pm",
    "9 - 4 weekdays except Wed 9 - 2",
    "Monday - Friday 8am - 4pm. Please ring.",
    "Mon 9:30-12:30",  # 9:30 in the morning or the evening?
    "24/7 upon request (need to arrange for one of our team to meet you there)",
])
def test_parse_free_text_gives_up_rather_than_guess(text):
    assert parse_free_text(text) is None


def test_free_text_of_the_gm_food_banks_never_reads_nonsense(data_dir):
    with open(data_dir / "assets" / "greater_manchester" / "gm_food_banks.geojson", encoding="utf-8") as f:
        texts = [feature["properties"]["Opening times"] for feature in json.load(f)["features"]]
    read = [schedule for schedule in map(parse_free_text, texts) if schedule is not None]
    assert len(read) >= 100
    for schedule in read:
        periods = [period for day in schedule.days for period in day]
        assert periods and all(6 * 60 <= p.opens_minute and p.closes_minute <= 22 * 60 for p in periods)


# --- libraries -----------------------------------------------------------------------------

@pytest.mark.parametrize("cell, state, parts, closes_between", [
    ("All Day (continuous)", OPEN, ("all day",), False),
    ("ALl Day (continuous)", OPEN, ("all day",), False),
    ("AM & PM (continuous)", OPEN, ("morning", "afternoon"), False),
    ("AM and PM with Closure", OPEN, ("morning", "afternoon"), True),
    ("AM & PM", OPEN, ("morning", "afternoon"), None),
    ("AM Only", OPEN, ("morning",), None),
    ("PM only", OPEN, ("afternoon",), None),
    ("PM & EVE (with closure)", OPEN, ("afternoon", "evening"), True),
    ("Eve Only", OPEN, ("evening",), None),
    ("24 Hours", OPEN, ("24 hours",), False),
    ("Closed", CLOSED, (), None),
    ("N/A Closed", CLOSED, (), None),
    ("Appointment Only", BY_APPOINTMENT, (), None),
    ("Varied by Schedule", UNKNOWN, (), None),
    ("No regular opening", UNKNOWN, (), None),
    ("[Unknown]", UNKNOWN, (), None),
    ("", UNKNOWN, (), None),
    (None, UNKNOWN, (), None),
])
def test_parse_library_day(cell, state, parts, closes_between):
    day = parse_library_day(cell)
    assert (day.state, day.parts, day.closes_between) == (state, parts, closes_between)


def test_library_day_texts_for_the_ui():
    assert parse_library_day("AM & PM (continuous)").describe() == "Open morning and afternoon (times not published)"
    assert parse_library_day("PM Only").describe() == "Open in the afternoon (times not published)"
    assert parse_library_day("All Day (with closure)").describe() == "Open all day, with a break (times not published)"
    assert parse_library_day("N/A Closed").describe() == "Closed (the library has closed)"
    assert parse_library_day("Closed").describe() == "Closed"
    assert parse_library_day("Appointment Only").describe() == "By appointment only"
    assert parse_library_day("Varied by Schedule").describe() == "Not known (varies by schedule)"
    assert parse_library_day("").describe() == "Not known"


def test_every_value_in_the_libraries_file_is_read(data_dir):
    with open(data_dir / "assets" / "libraries_england_2023.csv", encoding="utf-8-sig", newline="") as f:
        values = {row[column] for row in csv.DictReader(f) for column in LIBRARY_DAY_COLUMNS}
    assert len(values) >= 25
    for value in values:
        parse_library_day(value)


def test_unknown_library_value_raises():
    with pytest.raises(OpeningHoursError, match="'Mornings, mostly'"):
        parse_library_day("Mornings, mostly")


# --- open now? -----------------------------------------------------------------------------

@pytest.mark.parametrize("at, expected", [
    (london(2026, 7, 1, 8, 59), False),  # Wednesday, before opening
    (london(2026, 7, 1, 9, 0), True),
    (london(2026, 7, 1, 12, 59), True),
    (london(2026, 7, 1, 13, 30), False),  # lunch
    (london(2026, 7, 1, 17, 29), True),
    (london(2026, 7, 1, 17, 30), False),  # closes at 17:30 sharp
    (london(2026, 7, 4, 11, 0), True),  # Saturday morning
    (london(2026, 7, 4, 12, 0), False),
    (london(2026, 7, 5, 11, 0), False),  # Sunday: closed
    (utc(2026, 7, 1, 16, 15), True),  # 17:15 BST
    (utc(2026, 1, 7, 17, 15), True),  # 17:15 GMT, a winter Wednesday
    (utc(2026, 7, 1, 16, 45), False),  # 17:45 BST
    (datetime(2026, 7, 1, 12, 15, tzinfo=ZoneInfo("America/New_York")), True),  # 17:15 BST
])
def test_is_open_on_a_weekday_and_a_sunday(at, expected):
    assert is_open(PHARMACY, at) is expected


@pytest.mark.parametrize("at, expected", [
    (london(2026, 7, 3, 21, 59), False),  # Friday
    (london(2026, 7, 3, 22, 0), True),
    (london(2026, 7, 3, 23, 59), True),
    (london(2026, 7, 4, 0, 0), True),  # Saturday: still Friday night
    (london(2026, 7, 4, 1, 59), True),
    (london(2026, 7, 4, 2, 0), False),
    (london(2026, 7, 5, 12, 0), None),  # Sunday: not known
    (london(2026, 7, 6, 1, 0), False),  # Monday: an unknown Sunday is not taken to run into it
])
def test_is_open_across_midnight(at, expected):
    assert is_open(LATE_FRIDAY, at) is expected


def test_a_period_running_into_an_unknown_day_is_still_open():
    schedule = WeeklySchedule.from_json({"sat": [["20:00", "03:00"]]})
    assert is_open(schedule, london(2026, 7, 5, 2, 0)) is True  # Sunday, not known, 02:00
    assert is_open(schedule, london(2026, 7, 5, 4, 0)) is None


# 29 March 2026: at 01:00 GMT the clocks go forward to 02:00 BST. 25 October 2026: at 02:00 BST
# they go back to 01:00 GMT. The period 00:30-03:00 lasts 1.5 hours on the first, 3.5 on the second.
SMALL_HOURS = WeeklySchedule.from_json({day: [["00:30", "03:00"]] for day in DAYS})


@pytest.mark.parametrize("at, expected", [
    (utc(2026, 3, 29, 0, 29), False),  # 00:29 GMT
    (utc(2026, 3, 29, 0, 30), True),  # 00:30 GMT
    (utc(2026, 3, 29, 0, 59), True),  # 00:59 GMT, a minute before the jump
    (utc(2026, 3, 29, 1, 0), True),  # 02:00 BST
    (utc(2026, 3, 29, 1, 59), True),  # 02:59 BST
    (utc(2026, 3, 29, 2, 0), False),  # 03:00 BST
    (utc(2026, 10, 24, 23, 30), True),  # 00:30 BST
    (utc(2026, 10, 25, 0, 30), True),  # 01:30 BST
    (utc(2026, 10, 25, 1, 30), True),  # 01:30 GMT, the second time round
    (utc(2026, 10, 25, 2, 59), True),  # 02:59 GMT
    (utc(2026, 10, 25, 3, 0), False),  # 03:00 GMT
])
def test_is_open_on_clock_change_days(at, expected):
    assert is_open(SMALL_HOURS, at) is expected


def test_closing_times_on_clock_change_days():
    spring = next_change(SMALL_HOURS, utc(2026, 3, 29, 0, 45))
    assert spring == Status(OPEN, london(2026, 3, 29, 3, 0))
    assert spring.changes_at - utc(2026, 3, 29, 0, 45) == timedelta(hours=1, minutes=15)
    autumn = next_change(SMALL_HOURS, utc(2026, 10, 24, 23, 45))  # 00:45 BST
    assert autumn.changes_at == utc(2026, 10, 25, 3, 0)
    assert autumn.changes_at.utcoffset() == timedelta(0)  # GMT by then
    assert describe_status(SMALL_HOURS, utc(2026, 10, 25, 1, 30)) == "Open now \u00b7 closes 03:00"


def test_an_opening_time_the_clocks_skip_opens_when_they_jump():
    schedule = WeeklySchedule.from_json({"sat": [], "sun": [["01:30", "05:00"]]})
    assert next_change(schedule, utc(2026, 3, 29, 0, 10)).changes_at == utc(2026, 3, 29, 1, 0)  # 02:00 BST
    assert is_open(schedule, utc(2026, 3, 29, 0, 59)) is False
    assert is_open(schedule, utc(2026, 3, 29, 1, 0)) is True


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        is_open(PHARMACY, datetime(2026, 7, 1, 12, 0))
    with pytest.raises(ValueError, match="timezone-aware"):
        describe_status(PHARMACY, datetime(2026, 7, 1, 12, 0))
    with pytest.raises(TypeError, match="not date"):
        is_open(PHARMACY, date(2026, 7, 1))


# --- status lines and the week table -------------------------------------------------------

@pytest.mark.parametrize("schedule, at, expected", [
    (PHARMACY, london(2026, 7, 1, 15, 0), "Open now · closes 17:30"),
    (PHARMACY, london(2026, 7, 1, 12, 0), "Open now · closes 13:00"),
    (PHARMACY, london(2026, 7, 1, 13, 15), "Closed · opens 14:00"),
    (PHARMACY, london(2026, 7, 1, 18, 0), "Closed · opens tomorrow 09:00"),
    (PHARMACY, london(2026, 7, 1, 7, 0), "Closed · opens 09:00"),
    (PHARMACY, london(2026, 7, 4, 12, 0), "Closed · opens Monday 09:00"),  # Saturday
    (PHARMACY, london(2026, 7, 5, 12, 0), "Closed · opens tomorrow 09:00"),  # Sunday
    (WeeklySchedule(), london(2026, 7, 1, 12, 0), "Hours not known"),
    (LATE_FRIDAY, london(2026, 7, 5, 12, 0), "Hours not known"),
    (LATE_FRIDAY, london(2026, 7, 3, 23, 0), "Open now · closes tomorrow 02:00"),
    (LATE_FRIDAY, london(2026, 7, 4, 1, 0), "Open now · closes 02:00"),
    (LATE_FRIDAY, london(2026, 7, 4, 12, 0), "Closed · next opening not known"),  # Sunday unknown
    (LATE_FRIDAY, london(2026, 7, 6, 12, 0), "Closed · opens Friday 22:00"),
    (WeeklySchedule.from_json({"mon": [["09:00", "17:00"]]} | {day: [] for day in DAYS[1:]}),
     london(2026, 7, 6, 18, 0), "Closed · opens next Monday 09:00"),
    (WeeklySchedule.from_json({day: [] for day in DAYS}), london(2026, 7, 6, 18, 0), "Closed"),
    (WeeklySchedule.from_json({day: [["09:00", "24:00"]] for day in DAYS}),
     london(2026, 7, 6, 18, 0), "Open now · closes midnight"),
    (WeeklySchedule.from_json({day: [["00:00", "24:00"]] for day in DAYS[:6]} | {"sun": []}),
     london(2026, 7, 6, 18, 0), "Open now · closes Saturday midnight"),
    (WeeklySchedule.from_json({day: [["00:00", "24:00"]] for day in DAYS}),
     london(2026, 7, 6, 18, 0), "Open 24 hours"),
    (WeeklySchedule.from_json({"mon": [["00:00", "24:00"]]}), london(2026, 7, 6, 18, 0), "Open now"),
])
def test_describe_status(schedule, at, expected):
    assert describe_status(schedule, at) == expected


def test_next_change_returns_london_times():
    state, changes_at = next_change(PHARMACY, utc(2026, 7, 1, 15, 0))
    assert state == OPEN
    assert changes_at == london(2026, 7, 1, 17, 30)
    assert changes_at.tzinfo == LONDON
    assert next_change(WeeklySchedule(), utc(2026, 7, 1, 15, 0)) == Status(UNKNOWN, None)


def test_week_table():
    schedule = WeeklySchedule.from_json(PHARMACY.to_json() | {"tue": None, "fri": [["09:00", "00:00"]],
                                                              "sat": [["00:00", "24:00"]]})
    assert week_table(schedule) == [
        ("Monday", "09:00–13:00, 14:00–17:30"),
        ("Tuesday", "Not known"),
        ("Wednesday", "09:00–13:00, 14:00–17:30"),
        ("Thursday", "09:00–13:00, 14:00–17:30"),
        ("Friday", "09:00–24:00"),
        ("Saturday", "Open 24 hours"),
        ("Sunday", "Closed"),
    ]


# --- Open Referral UK / HSDS 3.0 -----------------------------------------------------------

def test_to_hsds_groups_days_with_the_same_period():
    assert to_hsds_schedules(PHARMACY) == [
        {"freq": "WEEKLY", "byday": "MO,TU,WE,TH,FR", "opens_at": "09:00:00", "closes_at": "13:00:00"},
        {"freq": "WEEKLY", "byday": "MO,TU,WE,TH,FR", "opens_at": "14:00:00", "closes_at": "17:30:00"},
        {"freq": "WEEKLY", "byday": "SA", "opens_at": "09:00:00", "closes_at": "12:00:00"},
    ]


def test_hsds_schedules_are_valid_against_the_oruk_schema(data_dir):
    schema_path = data_dir.parent / "specs" / "oruk-v3" / "schema" / "schedule.json"
    with open(schema_path, encoding="utf-8") as f:
        schema = json.load(f)
    rows = to_hsds_schedules(WeeklySchedule.from_json({"mon": [["00:00", "24:00"]], "fri": [["22:00", "02:00"]],
                                                       "sat": [["09:00", "00:00"]]}))
    for number, row in enumerate(rows):
        jsonschema.validate({"id": f"48102e86-bb50-41c4-8f1e-e269368c41d{number}"} | row, schema)
        for field in ("opens_at", "closes_at"):
            datetime.strptime(row[field], "%H:%M:%S")  # a real time of day: no 24:00:00
    assert [(row["byday"], row["opens_at"], row["closes_at"]) for row in rows] == [
        ("MO", "00:00:00", "23:59:59"), ("FR", "22:00:00", "02:00:00"), ("SA", "09:00:00", "23:59:59"),
    ]


@pytest.mark.parametrize("schedule", [
    PHARMACY,
    WeeklySchedule.from_json({day: [["00:00", "24:00"]] for day in DAYS}),
    WeeklySchedule.from_json({"mon": [["09:00", "00:00"]], "fri": [["22:00", "02:00"], ["10:00", "12:00"]]}
                             | {day: [] for day in ("tue", "wed", "thu", "sat", "sun")}),
])
def test_hsds_round_trip_of_a_fully_known_week(schedule):
    rows = to_hsds_schedules(schedule)
    assert from_hsds_schedules(rows) == schedule
    assert to_hsds_schedules(from_hsds_schedules(rows)) == rows


def test_hsds_round_trip_is_stable_when_days_are_not_known():
    """HSDS lists open times only, so an unknown day comes back closed; after that it is stable."""
    rows = to_hsds_schedules(LATE_FRIDAY)
    back = from_hsds_schedules(rows)
    assert back.periods("sun") == ()
    assert to_hsds_schedules(back) == rows
    assert from_hsds_schedules(to_hsds_schedules(back)) == back
    assert from_hsds_schedules([]) == WeeklySchedule()


def test_from_hsds_reads_other_publishers_forms():
    schedule = from_hsds_schedules([
        {"id": "x", "freq": "weekly", "interval": 1, "byday": "MO, WE", "opens_at": "09:00", "closes_at": "00:00:00",
         "description": "Drop in", "valid_from": "2024-01-01"},
        {"freq": "WEEKLY", "byday": "MO", "opens_at": "08:00:00", "closes_at": "10:00:00"},
    ])
    assert schedule.to_json() == {"mon": [["08:00", "24:00"]], "tue": [], "wed": [["09:00", "24:00"]],
                                  "thu": [], "fri": [], "sat": [], "sun": []}


@pytest.mark.parametrize("row, message", [
    ({"freq": "MONTHLY", "byday": "1SA", "opens_at": "10:00:00", "closes_at": "12:00:00"}, "not WEEKLY"),
    ({"freq": "WEEKLY", "interval": 2, "byday": "MO", "opens_at": "10:00:00", "closes_at": "12:00:00"},
     "interval 2"),
    ({"freq": "WEEKLY", "byday": "2MO", "opens_at": "10:00:00", "closes_at": "12:00:00"}, "byday '2MO'"),
    ({"freq": "WEEKLY", "byday": "", "opens_at": "10:00:00", "closes_at": "12:00:00"}, "byday ''"),
    ({"freq": "WEEKLY", "byday": "MO", "opens_at": "10:00:00Z", "closes_at": "12:00:00Z"}, "UTC offset"),
    ({"freq": "WEEKLY", "byday": "MO", "opens_at": "10:00:00+01:00", "closes_at": "12:00:00"}, "UTC offset"),
    ({"freq": "WEEKLY", "byday": "MO", "opens_at": "10:00:30", "closes_at": "12:00:00"}, "has seconds"),
    ({"freq": "WEEKLY", "byday": "MO", "closes_at": "12:00:00"}, "opens_at is missing"),
    ({"freq": "WEEKLY", "byday": "MO", "opens_at": "10am", "closes_at": "12:00:00"}, "not a time"),
    ({"freq": "WEEKLY", "byday": "MO", "opens_at": "10:00:00", "closes_at": "10:00:00"}, "closes when it opens"),
])
def test_from_hsds_refuses_what_a_weekly_timetable_cannot_hold(row, message):
    with pytest.raises(OpeningHoursError, match=message):
        from_hsds_schedules([row])


def test_the_oruk_example_schedule_is_refused(data_dir):
    """The spec's own example says WEEKLY on TH,FR but also bymonthday 2,3,4: not a weekly timetable."""
    with open(data_dir.parent / "specs" / "oruk-v3" / "examples" / "service_full.json", encoding="utf-8") as f:
        example = json.load(f)
    with pytest.raises(OpeningHoursError, match="bymonthday"):
        from_hsds_schedules(example["schedules"])
    without_monthdays = [{key: value for key, value in row.items() if key != "bymonthday"}
                         for row in example["schedules"]]
    assert from_hsds_schedules(without_monthdays).periods("thu") == (Period.from_clock("10:00", "18:00"),)
