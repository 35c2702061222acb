""""Open now" in SQL agrees with the opening-hours domain at every instant, clock changes included."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from assetmap.db import finder
from assetmap.domain.opening_hours import WeeklySchedule, is_open
from assetmap.domain.search import FinderQuery, OpenNowProbe, Where, open_now_probe
from tests.factories import make_asset
from tests.finder_fixtures import LONDON, SUNDAY_NOON, WEDNESDAY_NOON, import_pharmacies

# Timetables that exercise the edges: past midnight, midnight itself, round the clock, unknown
# days, and periods inside the hours the clocks skip or repeat (the last Sundays of March and October).
TRICKY = {
    "late bar": {"fri": [["22:00", "02:00"]], "sat": [["21:00", "24:00"]], "sun": []},
    "round the clock": {d: [["00:00", "24:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
    "weekdays only known": {"mon": [["09:00", "17:30"]], "tue": [["09:00", "13:00"], ["14:00", "17:30"]]},
    "night shelter": {"sat": [["23:00", "01:30"]], "sun": [["01:30", "02:30"], ["10:00", "12:00"]]},
    "early sunday": {"sun": [["00:30", "01:30"]], "sat": []},
    "until midnight": {"wed": [["18:00", "24:00"]], "thu": [["00:00", "00:30"]]},
}


def _instants() -> list[datetime]:
    """A week of July every 20 minutes, and every 5 minutes around both clock changes of 2026."""
    start = datetime(2026, 6, 29, 0, 7, tzinfo=UTC)  # a Monday
    moments = [start + timedelta(minutes=20 * i) for i in range(7 * 72)]
    for change in (datetime(2026, 3, 28, 22, 0, tzinfo=UTC), datetime(2026, 10, 24, 22, 0, tzinfo=UTC)):
        moments += [change + timedelta(minutes=5 * i) for i in range(7 * 12)]
    moments += [WEDNESDAY_NOON, SUNDAY_NOON, datetime(2026, 10, 25, 1, 0, tzinfo=UTC),
                datetime(2026, 10, 25, 0, 59, tzinfo=UTC), datetime(2026, 3, 29, 1, 0, tzinfo=UTC)]
    return moments


@pytest.fixture
def timetables(db_session, data_dir):
    import_pharmacies(db_session, data_dir)
    for name, hours in TRICKY.items():
        make_asset(db_session, name, category="other", opening_hours=WeeklySchedule.from_json(hours).to_json())
    rows = db_session.execute(text(
        "SELECT id, opening_hours FROM asset WHERE status = 'published' ORDER BY id")).all()
    return db_session, {i: WeeklySchedule.from_json(h) for i, h in rows if h is not None}


def test_sql_open_now_matches_is_open_at_every_instant(timetables):
    session, schedules = timetables
    assert len(schedules) > 30
    ids = list(schedules)
    disagreements = []
    for at in _instants():
        probe = open_now_probe(at)
        got = {a["id"]: a["open_now"] for a in finder.get_assets(session, ids, probe)}
        for asset_id, schedule in schedules.items():
            if got[asset_id] != is_open(schedule, at):
                disagreements.append((at.astimezone(LONDON).isoformat(), asset_id, got[asset_id]))
    assert disagreements == []


def test_open_now_filter_counts_the_same_places(timetables):
    session, schedules = timetables
    for at in (WEDNESDAY_NOON, SUNDAY_NOON, datetime(2026, 7, 4, 22, 30, tzinfo=LONDON)):
        probe = open_now_probe(at)
        query = FinderQuery(where=Where("point", lat=52.86, lon=-3.054), radius_m=50_000, per_page=100, open_now=True)
        found = finder.find(session, query, probe)
        in_reach = finder.find(session, FinderQuery(where=query.where, radius_m=50_000, per_page=100), probe)
        expected = [a["id"] for a in in_reach["items"] if is_open(schedules.get(a["id"], WeeklySchedule()), at)]
        assert [a["id"] for a in found["items"]] == expected
        assert found["total"] == len(expected)


def test_fewer_pharmacies_are_open_on_sunday_noon_than_wednesday_noon(timetables):
    session, _ = timetables
    query = FinderQuery(where=Where("point", lat=52.86, lon=-3.054), radius_m=30_000, per_page=100, open_now=True)
    wednesday = finder.find(session, query, open_now_probe(WEDNESDAY_NOON))["total"]
    sunday = finder.find(session, query, open_now_probe(SUNDAY_NOON))["total"]
    assert wednesday > 10 and 0 < sunday < wednesday


def test_the_probe_reads_the_london_wall_clock():
    assert open_now_probe(datetime(2026, 1, 7, 12, 0, tzinfo=UTC)) == OpenNowProbe("wed", "tue", "12:00")
    assert open_now_probe(datetime(2026, 7, 1, 23, 30, tzinfo=UTC)) == OpenNowProbe("thu", "wed", "00:30")
    # 00:59 UTC on 29 March is 00:59 GMT; a minute later it is 02:00 BST.
    assert open_now_probe(datetime(2026, 3, 29, 0, 59, tzinfo=UTC)).minute == "00:59"
    assert open_now_probe(datetime(2026, 3, 29, 1, 0, tzinfo=UTC)).minute == "02:00"
    # On 25 October 01:30 comes twice: first BST (00:30 UTC), then GMT (01:30 UTC).
    assert open_now_probe(datetime(2026, 10, 25, 0, 30, tzinfo=UTC)).minute == "01:30"
    assert open_now_probe(datetime(2026, 10, 25, 1, 30, tzinfo=UTC)).minute == "01:59"
    assert open_now_probe(datetime(2026, 10, 25, 2, 0, tzinfo=UTC)).minute == "02:00"
    with pytest.raises(ValueError):
        open_now_probe(datetime(2026, 10, 25, 2, 0))


def test_malformed_stored_hours_never_break_a_search(db_session):
    for n, junk in enumerate([{"wed": "09:00-17:00"}, {"wed": [["9am", "5pm"]]}, {"wed": None}, {"wed": [[]]},
                              {"wed": [["09:00"]]}, {"wed": 7}, [1, 2], "open"]):
        make_asset(db_session, f"Odd hours {n}", opening_hours=junk)
    make_asset(db_session, "Plain hours", opening_hours={"wed": [["09:00", "17:00"]]})
    query = FinderQuery(where=Where("point", lat=52.86, lon=-3.054), open_now=True)
    found = finder.find(db_session, query, open_now_probe(WEDNESDAY_NOON))
    assert [a["name"] for a in found["items"]] == ["Plain hours"]
    everything = finder.find(db_session, FinderQuery(where=query.where), open_now_probe(WEDNESDAY_NOON))
    assert {a["name"]: a["open_now"] for a in everything["items"]}["Plain hours"] is True
