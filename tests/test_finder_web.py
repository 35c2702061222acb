"""The finder's pages: search, asset page, printable shortlist; bad input never a 500."""
from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest
from sqlalchemy import text

from assetmap.domain.names import readable_name
from tests.factories import make_asset
from tests.finder_fixtures import SUNDAY_NOON, WEDNESDAY_NOON, fixed_clock, haversine_m, import_pharmacies

OSWESTRY = "SY11 1QD"
HOURS = {"mon": [["09:00", "17:30"]], "tue": [["09:00", "17:30"]], "wed": [["09:00", "13:00"], ["14:00", "17:30"]],
         "thu": [["09:00", "17:30"]], "fri": [["09:00", "17:30"]], "sat": [["10:00", "12:00"]], "sun": []}


def _result_names(html: str) -> list[str]:
    return re.findall(r'<h3 class="finder-result-name"><a href="/assets/\d+">([^<]*)(?:<span[^>]*>[^<]*</span>)?</a>',
                      html)


def test_search_page_lists_nearest_pharmacies_first_with_distances_and_a_local_map(client, wednesday, db_session,
                                                                                     data_dir):
    import_pharmacies(db_session, data_dir)
    origin = db_session.execute(text(
        "SELECT ST_Y(location), ST_X(location) FROM postcode WHERE postcode = :p"), {"p": OSWESTRY}).one()
    rows = db_session.execute(text(
        "SELECT name, ST_Y(location), ST_X(location) FROM asset WHERE status = 'published' ORDER BY id")).all()
    expected = sorted(rows, key=lambda r: haversine_m(origin[0], origin[1], r[1], r[2]))
    response = client.get("/find?where=sy11+1qd&radius_m=5000")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    names = _result_names(html)
    assert names and names[0] == readable_name(expected[0][0]).replace("&", "&amp;")
    assert re.search(r"\d+ places? within 5 km \(3.1 miles\) of SY11 1QD", html)
    assert "Open now · closes" in html  # Wednesday noon: most pharmacies are open
    assert html.count("L.divIcon(") == len(names)  # numbered markers, as many as the list
    assert not re.findall(r'<(?:script|link)[^>]+(?:src|href)="(https?://[^"]+)"', html)  # nothing from elsewhere
    assert 'src="/static/js/finder.js"' in html and 'id="use-location" hidden' in html
    assert 'name="ids"' in html and 'action="/shortlist"' in html


def test_open_now_differs_between_wednesday_and_sunday(app, client, db_session, data_dir):
    import_pharmacies(db_session, data_dir)
    counts = {}
    for label, moment in [("wednesday", WEDNESDAY_NOON), ("sunday", SUNDAY_NOON)]:
        app.config["FINDER_CLOCK"] = fixed_clock(moment)
        html = client.get(f"/find?where={OSWESTRY}&radius_m=25000&open_now=1&per_page=100").get_data(as_text=True)
        counts[label] = len(_result_names(html))
        assert "Closed ·" not in html
    assert counts["wednesday"] > counts["sunday"] > 0


def test_place_name_and_outward_code_searches(client, wednesday, db_session):
    make_asset(db_session, "Cae Glas park cafe", lon=-3.0490, lat=52.8560)
    town = client.get("/find?where=Oswestry").get_data(as_text=True)
    assert "Cae Glas park cafe" in town and "Oswestry (Shropshire)" in town
    district = client.get("/find?where=SY11").get_data(as_text=True)
    assert "Cae Glas park cafe" in district and "SY11 (postcode district)" in district


def test_use_my_location_coordinates_and_the_typed_place_wins(client, wednesday, db_session):
    make_asset(db_session, "Near the point", lon=-3.0540, lat=52.8600)
    html = client.get("/find?lat=52.860&lon=-3.054&where=").get_data(as_text=True)
    assert "Near the point" in html and "of your location" in html
    assert 'name="lat" value="52.860"' in html  # kept for changing filters
    typed = client.get("/find?lat=52.860&lon=-3.054&where=SY11").get_data(as_text=True)
    assert "SY11 (postcode district)" in typed and 'name="lat" value=""' in typed


@pytest.mark.parametrize("query, status, words", [
    ("where=SY11+1ZZ", 404, ["We do not know the postcode SY11 1ZZ", "/find?where=SY11"]),
    ("where=SY27", 404, ["nearest we know: SY25"]),
    ("where=SY11+1", 400, ["looks like a postcode but is not a whole one"]),
    ("where=Oswestrey", 404, ["Did you mean Oswestry (Shropshire)", "/find?where=Oswestry,+Shropshire"]),
    ("where=St", 400, ["Several places match"]),
    ("lat=48.85&lon=2.35", 400, ["outside the UK"]),
    ("lat=95&lon=0", 400, ["lat must be between -90 and 90"]),
    ("lat=52.8", 400, ["give both lat and lon"]),
    ("where=SY11&category=spaceport", 400, ["unknown category", "pharmacy", "library"]),
    ("where=SY11&age_group=teens", 400, ["children, adults, older"]),
    ("where=SY11&open_now=maybe", 400, ["open_now must be true or false"]),
    ("where=SY11&radius_m=-5", 400, ["radius_m must be at least 100"]),
    ("where=SY11&radius_m=lots", 400, ["radius_m must be a number"]),
    ("where=SY11&page=9999", 400, ["only the first 1000 results"]),
])
def test_bad_searches_explain_themselves_and_keep_the_form(client, wednesday, query, status, words):
    response = client.get(f"/find?{query}")
    html = response.get_data(as_text=True)
    assert response.status_code == status, html
    for word in words:
        assert word.replace("'", "&#39;") in html or word in html, word
    assert 'id="where"' in html and 'class="finder-problem"' in html


def test_a_nul_in_the_search_is_refused_before_the_finder(client):
    # every request with a NUL anywhere is a 400 naming the parameter (assetmap.web.params)
    response = client.get("/find?where=%00")
    assert response.status_code == 400 and "NUL" in response.get_data(as_text=True)
    assert "&#39;where&#39;" in response.get_data(as_text=True)


def test_huge_radius_is_reduced_and_said(client, wednesday, db_session):
    make_asset(db_session, "Somewhere")
    html = client.get("/find?where=SY11&radius_m=500000").get_data(as_text=True)
    assert "You asked for 500 km; we searched within 50 km, the furthest we look." in html


def test_paging_links_keep_the_filters(client, wednesday, db_session):
    for n in range(25):
        make_asset(db_session, f"Hall {n:02d}", lon=-3.054 + n * 0.0005, lat=52.86, is_free=True)
    first = client.get("/find?where=SY11&free=1").get_data(as_text=True)
    assert len(_result_names(first)) == 20 and "More than 20 places within 5 km" in first
    link = re.search(r'<a rel="next" href="([^"]+)"', first).group(1).replace("&amp;", "&")
    assert "free=1" in link and "page=2" in link
    second = client.get(link).get_data(as_text=True)
    assert len(_result_names(second)) == 5 and 'start="21"' in second and "Page 2 of 2" in second
    assert "Showing 21 to 25, nearest first." in second and 'rel="next"' not in second
    assert set(_result_names(first)).isdisjoint(_result_names(second))


def test_asset_page_shows_what_a_person_needs(client, wednesday, db_session):
    ward = db_session.execute(text("SELECT id FROM area WHERE name = 'Oswestry South' AND level = 'ward'")).scalar_one()
    asset = make_asset(
        db_session, "Oswestry Men's Shed", category="community-group", description="Woodwork and a cuppa.",
        address="Unit 3, Gasworks Lane", town="Oswestry", postcode="SY11 1QD", phone="01691 000000",
        email="shed@example.org", url="javascript:alert(1)", opening_hours=HOURS, cost="£2 a session",
        access_modes=["drop_in", "self_referral"], age_groups=["adults", "older"], eligibility_note="Anyone over 18",
        accessibility=["step_free"], accepting_referrals=True, service_area_id=ward,
        last_verified_at=datetime(2026, 5, 1, tzinfo=UTC),
    )
    html = client.get(f"/assets/{asset.id}").get_data(as_text=True)
    for text_ in ["Oswestry Men&#39;s Shed", "Woodwork and a cuppa.", "Unit 3, Gasworks Lane", "£2 a session",
                  "Drop in, no need to book", "Refer yourself", "Adults, Older people", "Anyone over 18",
                  "Step-free access", "Taking new people and referrals now.", "Serves everyone in Oswestry South",
                  'href="tel:01691000000"', 'href="mailto:shed@example.org"', "Last checked on 1 May 2026",
                  f'href="/contribute/change/{asset.id}"',
                  "https://www.openstreetmap.org/directions?to=52.860000,-3.054000",
                  "Open now · closes 13:00"]:
        assert text_ in html, text_
    assert 'href="javascript:' not in html  # a stored address that is not http(s) is never a link
    table = re.search(r'<table class="finder-hours">.*?</table>', html, re.S).group(0)
    assert re.search(r'aria-current="date">\s*<th scope="row">Wednesday \(today\)</th>\s*<td>09:00–13:00, 14:00–17:30',
                     table)
    assert "<td>Closed</td>" in table


def test_asset_page_of_an_unpublished_or_missing_asset_is_404(client, wednesday, db_session):
    pending = make_asset(db_session, "Waiting", status="pending")
    assert client.get(f"/assets/{pending.id}").status_code == 404
    assert client.get("/assets/99999999999").status_code == 404


def test_stale_entries_sink_and_say_when_they_were_last_checked(client, wednesday, db_session):
    old = make_asset(db_session, "Old news hall", last_verified_at=datetime(2024, 3, 2, tzinfo=UTC))
    db_session.execute(text("UPDATE asset SET created_at = '2023-01-01' WHERE id = :i"), {"i": old.id})
    make_asset(db_session, "Checked hall", lon=-3.040, lat=52.86, last_verified_at=datetime(2026, 6, 1, tzinfo=UTC))
    html = client.get("/find?where=SY11").get_data(as_text=True)
    assert _result_names(html) == ["Checked hall", "Old news hall"]
    assert "Not checked for over a year" in html and "Not checked since 2 March 2024" in html
    page = client.get(f"/assets/{old.id}").get_data(as_text=True)
    assert "Not checked since 2 March 2024" in page


def test_shortlist_is_printable_and_shareable(client, wednesday, db_session):
    a = make_asset(db_session, "Lunch club", phone="01691 111111", opening_hours=HOURS, address="Church Hall")
    b = make_asset(db_session, "Walking group", email="walk@example.org", opening_hours_note="Thursdays 10am")
    gone = make_asset(db_session, "Gone", status="archived")
    redirect = client.get(f"/shortlist?ids={b.id}&ids={a.id}&ids={gone.id}")
    assert redirect.status_code == 302
    assert redirect.headers["Location"].endswith(f"/shortlist?ids={b.id},{a.id},{gone.id}")
    html = client.get(redirect.headers["Location"]).get_data(as_text=True)
    assert html.index("Walking group") < html.index("Lunch club")
    for text_ in ["01691 111111", "walk@example.org", "Thursdays 10am", "Church Hall", "<td>09:00–17:30</td>",
                  "1 of the places asked for is no longer listed", f"/shortlist?ids={b.id},{a.id},{gone.id}",
                  'id="print-list" hidden']:
        assert text_ in html, text_
    assert "finder-map" not in html and "L.map(" not in html  # no map on the printout
    assert client.get("/shortlist?ids=1,x").status_code == 400
    assert client.get("/shortlist?ids=" + ",".join(str(i) for i in range(1, 60))).status_code == 400
    empty = client.get("/shortlist")
    assert empty.status_code == 200 and "No places in this list" in empty.get_data(as_text=True)


def test_nav_links_to_the_finder(client, wednesday):
    html = client.get("/find").get_data(as_text=True)
    assert '<a href="/find">Find near me</a>' in html
    assert "Type a postcode, a postcode district or a place name" in html


def test_names_with_script_are_inert_in_the_list_and_the_map(client, wednesday, db_session):
    make_asset(db_session, "<script>alert(1)</script> `${alert(2)}`")
    html = client.get("/find?where=SY11").get_data(as_text=True)
    assert "<script>alert(1)" not in html
    scripts = "".join(re.findall(r"<script(?: nonce=\"[^\"]*\")?>(.*?)</script>", html, flags=re.S))
    assert "L.marker(" in scripts
    assert "${alert(2)}" not in scripts and "&lt;script&gt;alert(1)&lt;/script&gt; &#96;&#36;{alert(2)}&#96;" in scripts


def test_without_a_fixed_clock_the_real_time_is_used(client, db_session):
    make_asset(db_session, "Any time", opening_hours=HOURS)
    html = client.get("/find?where=SY11").get_data(as_text=True)
    assert "Any time" in html and re.search(r"(Open now|Closed) ·", html)
