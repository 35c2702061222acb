"""The finder in headless Chromium, against a server thread and a committed database with
Shropshire's real pharmacies: type a postcode, see the nearest pharmacy first; use my location,
refused and allowed; tick places into a printable list; phone and desktop screenshots."""
from __future__ import annotations

import pytest
from sqlalchemy import text

from assetmap.db.engine import session_scope
from assetmap.domain.names import readable_name
from tests.finder_fixtures import WEDNESDAY_NOON, fixed_clock, haversine_m
from tests.live import live_server, watch_problems

pytestmark = pytest.mark.browser

POSTCODE = "SY11 1QD"


@pytest.fixture(scope="module")
def server(finder_db_url):
    with live_server({"TESTING": True, "SQLALCHEMY_DATABASE_URI": finder_db_url, "SECRET_KEY": "test",
                      "RATELIMIT_ENABLED": False, "FINDER_CLOCK": fixed_clock(WEDNESDAY_NOON),
                      "TILE_URL": None, "TILE_ATTRIBUTION": None}) as base:
        yield base


def _nearest_pharmacy(url: str) -> str:
    """Worked out here from the raw positions, not by the finder's SQL."""
    with session_scope(url) as s:
        lat, lon = s.execute(text("SELECT ST_Y(location), ST_X(location) FROM postcode WHERE postcode = :p"),
                             {"p": POSTCODE}).one()
        rows = s.execute(text("SELECT name, ST_Y(location), ST_X(location) FROM asset "
                              "WHERE status = 'published' AND location IS NOT NULL")).all()
    return min(rows, key=lambda r: haversine_m(lat, lon, r[1], r[2]))[0]


def _page(browser, width: int, **context):
    ctx = browser.new_context(viewport={"width": width, "height": 900}, **context)
    page = ctx.new_page()
    problems = watch_problems(page)
    return ctx, page, problems


@pytest.mark.parametrize("width", [360, 1280])
def test_typing_a_postcode_lists_the_nearest_pharmacy_first(server, browser, finder_db_url, shots, width):
    expected = _nearest_pharmacy(finder_db_url)
    ctx, page, problems = _page(browser, width)
    page.goto(f"{server}/find")
    page.get_by_label("Postcode or place").fill(POSTCODE)
    page.get_by_role("button", name="Search", exact=True).click()
    page.wait_for_selector(".finder-result-name a")
    assert page.locator(".finder-result-name a").first.inner_text().startswith(readable_name(expected))
    assert POSTCODE in page.locator("#results-heading").inner_text()
    # The map holds as many markers as the list has places (Folium's cluster layer is a global).
    on_map = page.evaluate("Object.keys(window).filter(k => k.startsWith('marker_cluster_'))"
                           ".reduce((n, k) => n + window[k].getLayers().length, 0)")
    assert on_map == page.locator(".finder-result").count()
    assert page.evaluate("document.documentElement.scrollWidth") <= width  # no sideways scrolling
    page.screenshot(path=str(shots / f"finder_results_{width}.png"), full_page=True)
    assert problems == []
    ctx.close()


def test_keyboard_only_search_and_printable_list(server, browser, shots):
    ctx, page, problems = _page(browser, 1280)
    page.goto(f"{server}/find")
    page.keyboard.press("Tab")  # the skip link first
    assert page.evaluate("document.activeElement.textContent") == "Skip to main content"
    page.focus("#where")
    page.keyboard.type(POSTCODE)
    page.keyboard.press("Enter")
    page.wait_for_selector(".finder-result")
    first, second = page.locator(".finder-pick input").nth(0), page.locator(".finder-pick input").nth(1)
    first.focus()
    page.keyboard.press("Space")
    second.check()
    names = [page.locator(".finder-result-name a").nth(i).inner_text() for i in (0, 1)]
    page.get_by_role("button", name="Make a printable list of my places").click()
    page.wait_for_selector(".finder-shortlist")
    assert "/shortlist?ids=" in page.url and "," in page.url  # one short address to share
    # (a street that told apart two of one chain among the results is not needed in a list of two)
    assert all(n.startswith(page.locator(".finder-shortlist h2").nth(i).inner_text()) for i, n in enumerate(names))
    assert page.locator("#print-list").is_visible()  # the script shows the print button
    assert page.locator(".finder-shortlist .finder-hours").count() == 2  # pharmacies' week tables
    page.emulate_media(media="print")
    assert not page.locator(".site-header").is_visible() and not page.locator(".finder-print-tools").is_visible()
    page.screenshot(path=str(shots / "finder_shortlist_print.png"), full_page=True)
    assert problems == []
    ctx.close()


def test_use_my_location_refused_then_allowed(server, browser, shots):
    ctx, page, _ = _page(browser, 360)  # no permission granted: the browser refuses
    page.goto(f"{server}/find")
    page.get_by_role("button", name="Use my location").click()
    status = page.locator("#location-status")
    status.filter(has_text="Type a postcode or place name instead").wait_for()
    assert page.evaluate("document.activeElement.id") == "where"  # back to the box to type in
    page.screenshot(path=str(shots / "finder_location_refused_360.png"))
    ctx.close()

    ctx, page, problems = _page(browser, 360, geolocation={"latitude": 52.8607, "longitude": -3.0538},
                                permissions=["geolocation"])
    page.goto(f"{server}/find")
    page.get_by_role("button", name="Use my location").click()
    page.wait_for_selector(".finder-result")
    assert "of your location" in page.locator("#results-heading").inner_text()
    assert "lat=52.861" in page.url and "lon=-3.054" in page.url  # rounded to about 100 m
    assert problems == []
    ctx.close()


def test_the_form_works_without_javascript(server, browser):
    ctx, page, _ = _page(browser, 360, java_script_enabled=False)
    page.goto(f"{server}/find?where=Oswestry&radius_m=2000")
    assert page.locator(".finder-result").count() > 0
    assert not page.locator("#use-location").is_visible()  # needs the script, so hidden without it
    ctx.close()
