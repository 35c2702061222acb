"""Fuzzing the form validators and the public forms: whatever arrives, never a server error.

Two layers. The pure validators in :mod:`assetmap.domain` get arbitrary text, Unicode, huge and
oddly shaped values, and may only fail with the error their module documents (``BadInputError``,
or its subclass ``OpeningHoursError``); what they accept reads back the same. Then the public
pages get arbitrary form fields and query parameters through the Flask test client, and must
answer below 500 every time.
"""
from __future__ import annotations

import json
import math
import string
from datetime import UTC, datetime
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st

from assetmap.domain import (
    area_profile,
    contribution,
    opening_hours,
    opening_hours_hsds,
    opening_hours_text,
    postcodes,
    search,
    tabular,
    validation,
)
from assetmap.domain.opening_hours import (
    DAYS,
    OpeningHoursError,
    Period,
    WeeklySchedule,
)
from assetmap.errors import BadInputError
from tests.contribute_fixtures import asset_form, csrf_token
from tests.factories import make_asset

DOMAIN = settings(max_examples=100, deadline=None)
HTTP = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

# Text as a browser can send it: any character but a lone surrogate (not encodable as UTF-8).
CHARS = st.characters(blacklist_categories=("Cs",))
TEXT = st.text(CHARS, max_size=60)
# Text from the alphabets the validators look for, so that examples get past the first check.
FORMISH = st.text(string.ascii_letters + string.digits + " :.,;-–/&+@()#%'\"\t\n\x00\x7f", max_size=40)
HUGE = st.builds(lambda piece, n: piece * n, st.text(CHARS, min_size=1, max_size=3), st.integers(1_000, 20_000))
ANY_TEXT = st.one_of(TEXT, FORMISH, HUGE)
# JSON-like values of any shape, for validators that take parsed data.
JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(TEXT, inner, max_size=4),
    max_leaves=12,
)

CLOCK = st.builds(lambda h, m: f"{h:02d}:{m:02d}", st.integers(0, 23), st.integers(0, 59))


@st.composite
def periods(draw) -> Period:
    opens = draw(st.integers(0, 24 * 60 - 1))
    closes = draw(st.integers(opens + 1, opens + 24 * 60 - 1))
    return Period(opens, closes)


def _schedule_or_none(days):
    try:
        return WeeklySchedule(tuple(days))
    except OpeningHoursError:  # periods that overlap into more than 24 hours
        return None


SAFE_SCHEDULES = st.builds(
    _schedule_or_none, st.lists(st.none() | st.lists(periods(), max_size=3), min_size=7, max_size=7)
).filter(lambda s: s is not None)
AWARE_TIMES = st.datetimes(min_value=datetime(1990, 1, 1), max_value=datetime(2090, 1, 1),
                           timezones=st.just(UTC))

POSTCODES = st.from_regex(r"\A[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}\Z")


# --------------------------------------------------------------------------------------------
# Postcodes
# --------------------------------------------------------------------------------------------

@DOMAIN
@given(ANY_TEXT)
def test_postcode_normalising_takes_any_text(value):
    full, outward = postcodes.normalise_postcode(value), postcodes.normalise_outward(value)
    if full is not None:
        assert postcodes.normalise_postcode(full) == full
        assert full.isascii() and full == full.upper()
        assert postcodes.postcode_area(full).isalpha()
    if outward is not None:
        assert postcodes.normalise_outward(outward) == outward


@DOMAIN
@given(POSTCODES, st.sampled_from([str.lower, str.upper, lambda s: s.replace(" ", ""), lambda s: f"  {s}\t"]))
def test_real_postcodes_round_trip(postcode, spelling):
    canonical = postcodes.normalise_postcode(postcode)
    assert canonical is not None and canonical.count(" ") == 1
    assert postcodes.normalise_postcode(spelling(canonical)) == canonical


# --------------------------------------------------------------------------------------------
# Contributions
# --------------------------------------------------------------------------------------------

CHECKS = contribution.Checks(
    asset_types=frozenset({"community-venue", "library"}),
    five_ways=frozenset({"connect"}),
    service_areas=frozenset({1, 2}),
    locate_postcode=lambda pc: (-2.75, 52.71) if pc.startswith("SY") else None,
    is_inside=lambda lon, lat: -8.9 <= lon <= 2 and 49.8 <= lat <= 61,
)
# What a form sends (validate_asset's documented input): strings, lists of strings, nothing.
FIELD_VALUE = st.one_of(ANY_TEXT, st.none(), st.lists(ANY_TEXT, max_size=3))
HOURS_RAW = st.one_of(
    st.none(),
    st.dictionaries(st.sampled_from(DAYS), st.fixed_dictionaries({}, optional={
        "state": st.sampled_from(["open", "closed", "unknown", "", "maybe"]) | TEXT,
        "times": ANY_TEXT | st.none(),
    }), max_size=7),
)


@DOMAIN
@given(st.dictionaries(st.sampled_from(["name", "description", "asset_types", "five_ways", "postcode",
                                        "address", "town", "lat", "lon", "service_area_id", "phone", "email",
                                        "url", "opening_hours_note", "cost", "is_free", "access_modes",
                                        "age_groups", "eligibility_note", "accessibility",
                                        "accepting_referrals"]), FIELD_VALUE), HOURS_RAW)
def test_validate_asset_reports_rather_than_raises(raw, hours):
    values, errors = contribution.validate_asset({**raw, "opening_hours": hours}, CHECKS)
    assert all(isinstance(k, str) and isinstance(v, str) and v for k, v in errors.items())
    if not errors:
        assert values["name"] and values["asset_types"] and values["location"]
        for key in ("name", "description", "address", "town", "phone", "email", "url"):
            text = values[key]
            assert text is None or not validation._CONTROL.search(text)
        if values["opening_hours"] is not None:
            assert WeeklySchedule.from_json(values["opening_hours"]).to_json() == values["opening_hours"]


@DOMAIN
@given(st.dictionaries(st.sampled_from(["problem_type", "comment", "submitter_email"]), ANY_TEXT | st.none()))
def test_validate_problem_reports_rather_than_raises(raw):
    values, errors = contribution.validate_problem(raw)
    assert set(values) == {"problem_type", "comment", "submitter_email"}
    if not errors:
        assert values["problem_type"] in contribution.PROBLEM_TYPES


@DOMAIN
@given(FIELD_VALUE, st.booleans())
def test_email_and_reason_take_anything(value, required):
    email, error = validation.validate_email(value, required=required)
    assert (email is None) or (error is None and validation.validate_email(email) == (email, None))
    reason, error = contribution.validate_reason(value, required=required)
    assert reason is None or (error is None and len(reason) <= validation.MAX_LENGTHS["reason"])


@pytest.mark.parametrize("url", ["[x]", "https://[::1", "http://[not-an-ip]/page", "www.[example].org"])
def test_web_address_with_a_bad_bracketed_host_is_an_error_not_a_crash(url):
    """Found by fuzzing: urlsplit raised ValueError on these (a 500 from /contribute)."""
    values, errors = contribution.validate_asset({"name": "Hub", "asset_types": ["library"], "postcode": "SY1 1AA",
                                                  "url": url}, CHECKS)
    assert values["url"] is None and errors == {"url": "Enter a web address like https://www.example.org"}


@pytest.mark.parametrize("area", ["¹", "²3", "١", "1" * 5_000])
def test_service_area_in_other_digits_is_an_error_not_a_crash(area):
    """Found by fuzzing: "¹".isdigit() is true but int("¹") raises ValueError, as does int() of more
    than 4,300 digits (a 500 from /contribute)."""
    values, errors = contribution.validate_asset({"name": "Hub", "asset_types": ["library"], "postcode": "SY1 1AA",
                                                  "service_area_id": area}, CHECKS)
    assert values["service_area_id"] is None and "service_area_id" in errors


@DOMAIN
@given(ANY_TEXT)
def test_day_periods_raise_only_opening_hours_errors(text):
    try:
        parsed = contribution.parse_day_periods(text)
    except OpeningHoursError:
        return
    for opens, closes in parsed:
        assert Period.from_clock(opens, closes).as_pair()[0] == opens
    assert contribution.parse_day_periods(contribution.format_day_periods(parsed)) == parsed


@DOMAIN
@given(st.lists(st.tuples(CLOCK, CLOCK), max_size=4))
def test_day_periods_round_trip(pairs):
    typed = [[o, c] for o, c in pairs if _period_ok(o, c)]
    assert contribution.parse_day_periods(contribution.format_day_periods(typed)) == typed


def _period_ok(opens: str, closes: str) -> bool:
    try:
        Period.from_clock(opens, closes)
    except OpeningHoursError:
        return False
    return True


# --------------------------------------------------------------------------------------------
# Finder queries
# --------------------------------------------------------------------------------------------

PARAM_NAMES = st.sampled_from([p.name for p in search.PARAMETERS] + ["ids", "bogus", ""])
PARAM_VALUE = st.one_of(
    ANY_TEXT,
    st.sampled_from(["1", "0", "true", "nan", "inf", "-inf", "1e308", "-1e308", "1e-320", "52.86", "-3.05",
                     "SY11 1PW", "SY11", "E05009283", "Oswestry", "drop_in", "children", "step_free", "library",
                     "1000", "100", "50000", "999999999999999999999", "0x10", "1_000", "١٢", "²"]),
)
FINDER_ARGS = st.dictionaries(PARAM_NAMES, st.lists(PARAM_VALUE, min_size=1, max_size=3), max_size=6)
VOCAB = {"asset-type": {"library": "Library", "food-bank": "Food bank"}, "five-ways": {"connect": "Connect"}}


@DOMAIN
@given(FINDER_ARGS, st.booleans())
def test_finder_query_raises_only_bad_input(args, api):
    try:
        query = search.parse_finder_query(args, VOCAB.__getitem__, api=api)
    except BadInputError as error:
        assert error.http_status == 400 and error.message
        return
    assert search.MIN_RADIUS_M <= query.radius_m <= search.MAX_RADIUS_M
    assert 1 <= query.per_page <= search.MAX_PER_PAGE and query.page * query.per_page <= search.MAX_RESULTS
    # The links to other pages of the same search read back to the same search.
    again = search.parse_finder_query({k: [v] if isinstance(v, str) else v for k, v in query.to_args(api=api).items()},
                                      VOCAB.__getitem__, api=api)
    assert again.to_args(api=api) == query.to_args(api=api)


@pytest.mark.parametrize("args, link", [({"place": ["a0"]}, {"place": "a0"}),
                                        ({"place": ["Oswestry"]}, {"where": "Oswestry"}),
                                        ({"where": ["sy11"]}, {"where": "SY11"})])
def test_page_links_keep_the_search(args, link):
    """Found by fuzzing: the page's links wrote place=a0 as where=a0, which reads as the postcode
    district A0, so page 2 was of another search."""
    query = search.parse_finder_query(args, VOCAB.__getitem__)
    assert query.to_args() == link
    assert search.parse_finder_query({k: [v] for k, v in link.items()}, VOCAB.__getitem__).where == query.where


@DOMAIN
@given(ANY_TEXT)
def test_search_box_raises_only_bad_input(text):
    try:
        where = search.classify_where(text)
    except BadInputError:
        return
    assert where.kind in ("postcode", "outward", "area", "place") and where.text


@DOMAIN
@given(st.lists(ANY_TEXT | st.from_regex(r"\A[0-9, ]{0,30}\Z"), max_size=4))
def test_shortlist_ids_raise_only_bad_input(values):
    try:
        ids = search.parse_ids(values)
    except BadInputError:
        return
    assert search.parse_ids([",".join(map(str, ids))]) == ids


@pytest.mark.parametrize("name", ["00\x00", "Cabin\x00 Lane", "\x00\x00\x00\x00"])
def test_duplicate_check_with_nul_in_the_name(client, published_asset, name):
    """Found by fuzzing: a NUL in the name reached PostgreSQL, which refuses it (a 500). Every
    request with a NUL in a parameter is now a 400 naming it (assetmap.web.params)."""
    response = client.get("/contribute/duplicates", query_string={"name": name, "lat": "52.8641", "lon": "-3.0475"})
    assert response.status_code == 400 and "name" in response.get_data(as_text=True)


def test_shortlist_with_superscript_digits_is_a_bad_request(client):
    """Found by fuzzing: /shortlist?ids=¹ was a ValueError (a 500)."""
    assert client.get("/shortlist", query_string={"ids": "¹"}).status_code == 400


@DOMAIN
@given(st.lists(st.integers(0, 999_999_999), max_size=50))
def test_shortlist_ids_round_trip(ids):
    unique = list(dict.fromkeys(ids))
    assert search.parse_ids([",".join(map(str, ids))]) == unique


# --------------------------------------------------------------------------------------------
# Opening hours
# --------------------------------------------------------------------------------------------

@DOMAIN
@given(ANY_TEXT | st.none())
def test_opening_hours_parsers_raise_only_their_error(cell):
    for parse in (opening_hours_text.parse_nhsbsa_day, opening_hours_text.parse_library_day):
        try:
            parse(cell)
        except OpeningHoursError:
            pass
    schedule = opening_hours_text.parse_free_text(cell)  # never raises: None when unsure
    assert schedule is None or WeeklySchedule.from_json(schedule.to_json()) == schedule


@DOMAIN
@given(JSONISH)
def test_stored_hours_raise_only_their_error(data):
    try:
        schedule = WeeklySchedule.from_json(data)
    except OpeningHoursError:
        return
    assert WeeklySchedule.from_json(schedule.to_json()) == schedule


@DOMAIN
@given(st.lists(st.dictionaries(st.sampled_from(["freq", "byday", "opens_at", "closes_at", "interval",
                                                 "bymonthday"]), JSONISH | st.sampled_from(
    ["WEEKLY", "MO,TU", "09:00:00", "23:59:59", "17:30", "25:00:00", "09:00:00Z"])), max_size=3))
def test_hsds_schedules_raise_only_their_error(rows):
    try:
        opening_hours_hsds.from_hsds_schedules(rows)
    except OpeningHoursError:
        pass


@DOMAIN
@given(SAFE_SCHEDULES, AWARE_TIMES)
def test_schedules_round_trip_and_answer_at_any_time(schedule, at):
    assert WeeklySchedule.from_json(schedule.to_json()) == schedule
    if all(day is not None for day in schedule.days) and any(schedule.days):
        assert opening_hours_hsds.from_hsds_schedules(opening_hours_hsds.to_hsds_schedules(schedule)) == schedule
    known = schedule.to_json()
    if known:
        assert tabular.parse_hours_text(tabular.hours_text(known)) == known
    assert opening_hours.describe_status(schedule, at)
    assert opening_hours.is_open(schedule, at) in (True, False, None)


@DOMAIN
@given(st.lists(st.tuples(CLOCK, CLOCK), min_size=1, max_size=3))
def test_pharmacy_cells_round_trip(pairs):
    pairs = [(o, c) for o, c in pairs if c != "23:59" and _period_ok(o, c)]
    assume(pairs)
    try:
        expected = [p.as_pair() for p in opening_hours.merge_periods(Period.from_clock(o, c) for o, c in pairs)]
    except OpeningHoursError:
        return
    cell = ",".join(f"{o}-{c}" for o, c in pairs)
    assert opening_hours_text.parse_nhsbsa_day(cell) == [(o, "24:00" if c == "00:00" else c) for o, c in expected]


# --------------------------------------------------------------------------------------------
# Upload rows
# --------------------------------------------------------------------------------------------

CELL = st.one_of(st.none(), ANY_TEXT, st.sampled_from(["52.86", "-3.05", "332150", "329870", "nan", "inf",
                                                       "1e400", "-0", "52,86", "\u22123.05", "SY11 1PW"]))


@DOMAIN
@given(st.dictionaries(st.sampled_from(tabular.FIELD_KEYS), CELL), st.sampled_from([None, "library"]),
       st.integers(1, 10**6))
def test_upload_rows_report_rather_than_raise(cells, default_category, line):
    row = tabular.check_row(line, cells, {"library": "library", "food bank": "food-bank"}, default_category)
    assert row.source_id
    if row.ok:
        assert row.values["name"] and row.category
        assert row.point is not None or row.postcode is not None
    if row.point is not None:
        lon, lat = row.point
        assert math.isfinite(lon) and math.isfinite(lat)


@DOMAIN
@given(st.lists(ANY_TEXT, max_size=8))
def test_column_mapping_takes_any_header(header):
    mapping = tabular.suggest_mapping(header)
    assert set(mapping) <= set(tabular.FIELD_KEYS)
    assert len(set(mapping.values())) == len(mapping)


@DOMAIN
@given(ANY_TEXT)
def test_hours_cells_take_any_text(text):
    hours, understood = tabular.read_hours(text)
    assert hours is None or WeeklySchedule.from_json(hours).to_json() == hours
    assert understood or hours is None


# --------------------------------------------------------------------------------------------
# Custom areas (GeoJSON)
# --------------------------------------------------------------------------------------------

COORD = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-(10**400), 10**400),
                  st.floats(-3.2, -2.2), st.floats(52.3, 53.0), TEXT, st.none())
POSITION = st.lists(COORD, min_size=0, max_size=4)
GEOMETRY = st.fixed_dictionaries({
    "type": st.sampled_from(["Polygon", "MultiPolygon", "Point", "LineString"]) | JSONISH,
    "coordinates": st.one_of(JSONISH, st.lists(st.lists(POSITION, max_size=6), max_size=2),
                             st.lists(st.lists(st.lists(POSITION, max_size=6), max_size=2), max_size=2)),
}, optional={"crs": JSONISH | st.fixed_dictionaries({"type": st.just("name"), "properties": JSONISH})})
GEOJSON_DOC = st.one_of(
    GEOMETRY,
    st.fixed_dictionaries({"type": st.just("Feature"), "geometry": GEOMETRY | JSONISH}),
    st.fixed_dictionaries({"type": st.just("FeatureCollection"),
                           "features": st.lists(st.fixed_dictionaries({"type": st.just("Feature"),
                                                                       "geometry": GEOMETRY}), max_size=3) | JSONISH}),
)


def _only_bad_input(text) -> None:
    try:
        area = area_profile.parse_custom_area(text)
    except BadInputError as error:
        assert error.http_status == 400 and error.message
        return
    assert area.geom_type == "MultiPolygon" and area.is_valid and area.area > 0


@DOMAIN
@given(ANY_TEXT | st.binary(max_size=60) | st.builds(lambda n: "[" * n, st.integers(1, 200_000)))
def test_custom_area_takes_any_text(text):
    _only_bad_input(text)


@DOMAIN
@given(GEOJSON_DOC)
def test_custom_area_takes_any_geojson_shape(doc):
    _only_bad_input(json.dumps(doc))


@DOMAIN
@given(st.floats(-3.2, -2.2), st.floats(52.3, 53.0), st.floats(0.001, 0.2), st.floats(0.001, 0.2))
def test_custom_area_keeps_a_valid_rectangle(west, south, width, height):
    ring = [[west, south], [west + width, south], [west + width, south + height], [west, south + height],
            [west, south]]
    area = area_profile.parse_custom_area(json.dumps({"type": "Feature", "geometry": {"type": "Polygon",
                                                                                 "coordinates": [ring]}}))
    assert area.bounds == pytest.approx((west, south, west + width, south + height))


@pytest.mark.parametrize("text, says", [
    ("[" * 100_000, "not valid GeoJSON"),
    ('{"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 0]]], "crs": {"properties": [1]}}',
     "coordinate system"),
    ('{"type": "Polygon", "coordinates": [[[1' + "0" * 400 + ', 0], [1, 1], [1, 0], [0, 0]]]}',
     "unreadable coordinates"),
    ('{"type": "Polygon", "coordinates": []}\ud800', "not UTF-8"),
    ("1" * 5_000, "number too long"),
])
def test_custom_area_regressions(text, says):
    """Found by fuzzing: each of these used to escape as a RecursionError, AttributeError,
    OverflowError, UnicodeEncodeError or ValueError (a 500 from /profile/custom)."""
    with pytest.raises(BadInputError, match=says):
        area_profile.parse_custom_area(text)


# --------------------------------------------------------------------------------------------
# The public pages, through the test client
# --------------------------------------------------------------------------------------------

FORM_TEXT = st.one_of(TEXT, FORMISH, st.builds(lambda piece, n: piece * n, st.text(CHARS, min_size=1, max_size=3),
                                              st.integers(500, 6_000)))
ASSET_FIELDS = sorted(set(asset_form()) | {f"hours_{d}_{k}" for d in DAYS for k in ("state", "times")}
                      | {"service_area_id", "not_duplicate", "opening_hours_note", "eligibility_note"})


def _assert_no_server_error(response, what) -> None:
    event(f"HTTP {response.status_code}")  # --hypothesis-show-statistics: how deep the examples reach
    assert response.status_code < 500, f"{what}: {response.status_code}\n{response.get_data(as_text=True)[:2000]}"


@pytest.fixture
def published_asset(db_session) -> int:
    asset = make_asset(db_session, "Cabin Lane Community Hall", -3.0475, 52.8641, "community-venue",
                       postcode="SY11 1HT", opening_hours={"mon": [["09:00", "17:00"]]})
    db_session.flush()
    return asset.id


@HTTP
@given(overrides=st.dictionaries(st.sampled_from(ASSET_FIELDS),
                                 FORM_TEXT | st.lists(FORM_TEXT, min_size=1, max_size=3), max_size=6),
       drop=st.sets(st.sampled_from(ASSET_FIELDS), max_size=4))
def test_contribute_form_never_a_server_error(client, overrides, drop):
    token = csrf_token(client, "/contribute")
    data = {k: v for k, v in {**asset_form(), **overrides}.items() if k not in drop}
    data.pop("website", None)  # the honeypot would skip the checks
    response = client.post("/contribute", data={**data, "csrf_token": token})
    _assert_no_server_error(response, data)
    assert response.status_code in (200, 302, 400)


@HTTP
@given(overrides=st.dictionaries(st.sampled_from([*ASSET_FIELDS, "comment"]),
                                 FORM_TEXT | st.lists(FORM_TEXT, min_size=1, max_size=3), max_size=6),
       drop=st.sets(st.sampled_from(ASSET_FIELDS), max_size=4))
def test_suggest_a_change_form_never_a_server_error(client, published_asset, overrides, drop):
    url = f"/contribute/change/{published_asset}"
    token = csrf_token(client, url)
    data = {k: v for k, v in {**asset_form(), **overrides}.items() if k not in drop}
    data.pop("website", None)
    response = client.post(url, data={**data, "csrf_token": token})
    _assert_no_server_error(response, data)
    assert response.status_code in (302, 400)


@HTTP
@given(data=st.fixed_dictionaries(
    {"problem_type": st.sampled_from(sorted(contribution.PROBLEM_TYPES)) | FORM_TEXT},
    optional={"comment": FORM_TEXT, "submitter_email": st.sampled_from(["", "someone@example.org"]) | FORM_TEXT},
))
def test_problem_form_never_a_server_error(client, published_asset, data):
    url = f"/contribute/problem/{published_asset}"
    response = client.post(url, data={**data, "csrf_token": csrf_token(client, url)})
    _assert_no_server_error(response, data)
    assert response.status_code in (302, 400)


@HTTP
@given(args=st.dictionaries(st.sampled_from([p.name for p in search.PARAMETERS] + ["bogus"]),
                            st.lists(PARAM_VALUE, min_size=1, max_size=2), max_size=5))
def test_finder_page_never_a_server_error(client, published_asset, args):
    response = client.get("/find", query_string=args)
    _assert_no_server_error(response, args)


@HTTP
@given(args=st.dictionaries(st.sampled_from([p.name for p in search.PARAMETERS if not p.page_only] + ["bogus"]),
                            st.lists(PARAM_VALUE, min_size=1, max_size=2), max_size=5),
       path=st.sampled_from(["/api/v1/assets", "/api/v1/categories", "/api/v1/gaps", "/api/v1/indicators"]))
def test_api_never_a_server_error(client, published_asset, args, path):
    response = client.get(path, query_string=args)
    _assert_no_server_error(response, (path, args))
    assert response.is_json


@HTTP
@given(postcode=ANY_TEXT.filter(lambda s: s.strip("/")) | POSTCODES,
       asset_id=st.integers(0, 2**40).map(str) | TEXT)
def test_api_paths_never_a_server_error(client, postcode, asset_id):
    for path in (f"/api/v1/postcodes/{postcode.strip('/')}", f"/api/v1/assets/{asset_id}"):
        _assert_no_server_error(client.get(path), path)


SMALL_GETS = {
    "/shortlist": ["ids"],
    "/contribute/duplicates": ["name", "lat", "lon", "exclude"],
    "/contribute/postcode": ["postcode"],
    "/contribute/thanks": ["kind"],
    "/areas": ["code"],
    "/oruk/services": ["search", "postcode", "proximity", "day", "start_time", "end_time", "minimum_age",
                       "maximum_age", "page", "per_page", "taxonomy_id", "modified_after"],
}


@HTTP
@given(path=st.sampled_from(sorted(SMALL_GETS)), data=st.data())
def test_other_public_queries_never_a_server_error(client, published_asset, path, data):
    args = data.draw(st.dictionaries(st.sampled_from(SMALL_GETS[path]), PARAM_VALUE | st.just(str(published_asset)),
                                     max_size=4))
    _assert_no_server_error(client.get(path, query_string=args), (path, args))


GAP_PARAMS = st.dictionaries(
    st.sampled_from(["lad", "category", "indicator", "group", "radius_m", "decay", "layer", "level", "top",
                     "bogus"]),
    FORM_TEXT | st.sampled_from(["E06000051", "E08000004", "all", "library", "imd_rank", "60+", "gaussian",
                                 "nan", "1e308", "-5", "100", "50000", "ward", "msoa", "lsoa", "need"]),
    max_size=4,
)


@HTTP
@given(args=GAP_PARAMS)
def test_gap_map_and_api_never_a_server_error(client, args):
    for path in ("/plan", "/plan/gaps.csv", "/api/v1/gaps"):
        _assert_no_server_error(client.get(path, query_string=args), (path, args))


AREA_CODES = st.sampled_from(["E06000051", "E08000004", "E01028595", "E05009283", "nope", "\x00",
                              "E06000051\x00", "E01028595,\x00"]) | TEXT.filter(lambda s: s.strip("/"))


@HTTP
@given(code=AREA_CODES, categories=st.lists(FORM_TEXT | st.just("community-venue"), max_size=3))
def test_area_page_never_a_server_error(client, code, categories):
    response = client.get(f"/areas/{quote(code.strip('/'), safe='')}", query_string={"category": categories})
    _assert_no_server_error(response, (code, categories))


@HTTP
@given(code=AREA_CODES, codes=st.lists(AREA_CODES, max_size=3))
def test_profile_pages_never_a_server_error(client, code, codes):
    for response in (client.get(f"/profile/{quote(code.strip('/'), safe='')}"),
                     client.get("/profile/lsoas", query_string={"codes": ",".join(codes)}),
                     client.get("/profile/pick", query_string={"code": code})):
        _assert_no_server_error(response, (code, codes))


def test_custom_area_named_with_a_nul_is_refused(client):
    """Found by fuzzing: a NUL in the custom area's name reached PostgreSQL (a 500). Every form
    field with a NUL is now a 400 naming it (assetmap.web.params)."""
    square = [[-3.06, 52.86], [-3.055, 52.86], [-3.055, 52.865], [-3.06, 52.865], [-3.06, 52.86]]
    response = client.post("/profile/custom", data={
        "geojson": json.dumps({"type": "Polygon", "coordinates": [square]}), "name": "Hall\x00 field",
        "csrf_token": csrf_token(client, "/profile/custom")})
    assert response.status_code == 400 and "&#39;name&#39;" in response.get_data(as_text=True)


@pytest.mark.parametrize("path, status", [("/find?where=&radius_m=INF", 400), ("/find?where=SY11&radius_m=1e400", 400),
                                          ("/profile/pick?code=,", 302), ("/profile/pick?code=%3B%20", 302)])
def test_fuzzed_queries_that_were_server_errors(client, path, status):
    """Found by fuzzing: the finder's error page read radius_m=inf into int() (OverflowError), and
    the profile picker took the first of no codes (IndexError)."""
    assert client.get(path).status_code == status


@pytest.mark.parametrize("path", ["/areas/%00", "/areas/E06000051%00", "/exports/areas/E06000051%00/assets.csv",
                                  "/profile/%00", "/profile/E06000051%00", "/profile/lsoas?codes=E01028595,%00"])
def test_nul_in_an_area_code_is_not_found(client, path):
    """Found by fuzzing: a NUL in an area code reached PostgreSQL, which refuses it (a 500)."""
    assert client.get(path).status_code in (400, 404)


# A few hundred metres across, in Oswestry (inside the loaded areas): these are saved.
OSWESTRY_SQUARES = st.builds(
    lambda x, y, d: json.dumps({"type": "Polygon", "coordinates": [
        [[x, y], [x + d, y], [x + d, y + d], [x, y + d], [x, y]]]}),
    st.floats(-3.07, -3.04), st.floats(52.85, 52.87), st.floats(0.001, 0.01),
)


@HTTP
@given(geojson=st.one_of(FORM_TEXT, GEOJSON_DOC.map(json.dumps),
                         st.builds(lambda n: "[" * n, st.integers(900, 100_000)),
                         OSWESTRY_SQUARES),
       name=FORM_TEXT)
def test_custom_area_form_never_a_server_error(client, geojson, name):
    response = client.post("/profile/custom", data={"geojson": geojson, "name": name,
                                                    "csrf_token": csrf_token(client, "/profile/custom")})
    _assert_no_server_error(response, geojson[:200])
    assert response.status_code in (303, 400)
