"""A resident's and a link worker's journeys in headless Chromium at a phone's and a desktop's
width: search from the home page by postcode, village or "use my location"; a typo answered with
"did you mean"; an asset page with readable names and the links to fix it; a list kept across
searches, shared as a link and printed with distances; the finder embedded in another site."""
from __future__ import annotations

import threading
from contextlib import contextmanager

import pytest
from werkzeug.serving import make_server

from tests.finder_fixtures import WEDNESDAY_NOON, fixed_clock
from tests.live import live_server, watch_problems

pytestmark = pytest.mark.browser

WIDTHS = (390, 1280)


@pytest.fixture(scope="module")
def server(finder_db_url):
    with live_server({"TESTING": True, "SQLALCHEMY_DATABASE_URI": finder_db_url, "SECRET_KEY": "test",
                      "RATELIMIT_ENABLED": False, "FINDER_CLOCK": fixed_clock(WEDNESDAY_NOON),
                      "TILE_URL": None, "TILE_ATTRIBUTION": None}) as base:
        yield base


def _page(browser, width: int, **context):
    ctx = browser.new_context(viewport={"width": width, "height": 844 if width < 600 else 900}, **context)
    page = ctx.new_page()
    problems = watch_problems(page)
    return ctx, page, problems


def _no_sideways_scroll(page, width):
    assert page.evaluate("document.documentElement.scrollWidth") <= width


@pytest.mark.parametrize("width", WIDTHS)
def test_home_page_is_a_search_box_and_a_short_list(server, browser, shots, width):
    ctx, page, problems = _page(browser, width)
    page.goto(server + "/")
    box = page.get_by_label("Postcode, town or village")
    assert box.is_visible() and box.bounding_box()["y"] < 400  # the first thing on a phone's screen
    assert page.get_by_role("button", name="Use my location").is_visible()
    assert page.evaluate("document.documentElement.scrollHeight") < 4000  # not 15,000 px
    _no_sideways_scroll(page, width)
    page.screenshot(path=str(shots / f"residents_home_{width}.png"), full_page=True)
    box.fill("Craven Arms")
    page.get_by_role("button", name="Search", exact=True).click()
    page.wait_for_selector("#results-heading")
    assert "Craven Arms (Shropshire)" in page.locator("#results-heading").inner_text()
    assert page.locator(".finder-result").count() > 0
    _no_sideways_scroll(page, width)
    page.screenshot(path=str(shots / f"residents_village_{width}.png"), full_page=True)
    assert problems == []
    ctx.close()


def test_use_my_location_from_the_home_page(server, browser):
    ctx, page, problems = _page(browser, 390, geolocation={"latitude": 52.8607, "longitude": -3.0538},
                                permissions=["geolocation"])
    page.goto(server + "/")
    page.get_by_role("button", name="Use my location").click()
    page.wait_for_selector(".finder-result")
    assert "of your location" in page.locator("#results-heading").inner_text()
    assert problems == []
    ctx.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_a_typo_gets_did_you_mean_and_villages_in_another_area_work(server, browser, shots, width):
    ctx, page, problems = _page(browser, width)
    page.goto(server + "/find?where=Church+Stretten")
    alert = page.get_by_role("alert")
    assert "Did you mean Church Stretton (Shropshire)" in alert.inner_text()
    page.screenshot(path=str(shots / f"residents_did_you_mean_{width}.png"), full_page=True)
    problems.clear()  # the page itself is a 404 (not found), which the console reports
    page.get_by_role("link", name="Church Stretton, Shropshire").click()
    page.wait_for_selector("#results-heading")
    assert "Church Stretton (Shropshire)" in page.locator("#results-heading").inner_text()
    page.goto(server + "/find?where=Uppermill")
    assert "Uppermill (Oldham)" in page.locator("#results-heading").inner_text()
    assert problems == []
    ctx.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_asset_page_reads_well_and_links_to_fixing_it(server, browser, shots, width):
    ctx, page, problems = _page(browser, width)
    page.goto(server + "/find?where=SY11+1QD")
    page.locator(".finder-result-name a").first.click()
    page.wait_for_selector("h1")
    name = page.locator("h1").inner_text()
    assert name != name.upper()  # "Boots", not "BOOTS"
    assert "Not known" not in page.content()
    report = page.get_by_role("link", name="Report a problem")
    change = page.get_by_role("link", name="Suggest a change")
    assert "/contribute/problem/" in report.get_attribute("href")
    assert "/contribute/change/" in change.get_attribute("href")
    _no_sideways_scroll(page, width)
    page.screenshot(path=str(shots / f"residents_asset_{width}.png"), full_page=True)
    report.click()
    assert "/contribute/problem/" in page.url and page.locator("h1").count() == 1
    assert problems == []
    ctx.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_phone_map_credits_fold_and_clusters_look_unlike_list_numbers(server, browser, shots, width):
    ctx, page, problems = _page(browser, width)
    page.goto(server + "/find?where=SY11+1QD&radius_m=10000")
    page.wait_for_selector(".leaflet-control-attribution")
    credits = page.locator(".leaflet-control-attribution").bounding_box()
    map_box = page.locator(".finder-map .folium-map").bounding_box()
    if width < 600:
        assert credits["height"] <= 20  # one line until tapped
    assert credits["height"] < map_box["height"] * 0.15
    cluster = page.locator(".marker-cluster").first
    pin_style = page.evaluate("getComputedStyle(document.querySelector('.finder-pin')).borderRadius")
    if cluster.count():
        radius = cluster.evaluate("e => getComputedStyle(e).borderRadius")
        assert radius != pin_style and radius == "8px"  # squares, not round numbered pins
        assert cluster.bounding_box()["width"] >= 24  # WCAG 2.2 target size
    page.locator(".finder-map").screenshot(path=str(shots / f"residents_map_{width}.png"))
    assert problems == []
    ctx.close()


def test_a_list_kept_across_searches_shared_and_printed_with_distances(server, browser, shots):
    ctx, page, problems = _page(browser, 390)
    page.goto(server + "/find?where=SY11+1QD")
    first = page.locator(".finder-result-name a").first.inner_text()
    page.locator(".finder-pick input").first.check()
    page.goto(server + "/find?where=Church+Stretton")  # a second search
    page.locator(".finder-pick input").first.check()
    second = page.locator(".finder-result-name a").first.inner_text()
    assert "2 places" in page.locator("#my-list-link").inner_text()
    page.get_by_role("button", name="Make a printable list of my places").click()
    page.wait_for_selector(".finder-shortlist")
    shown = page.locator(".finder-shortlist h2").all_inner_texts()
    # both searches' picks (the street that told apart two of one chain in a search is not needed here)
    assert len(shown) == 2 and first.startswith(shown[0]) and second.startswith(shown[1])
    share = page.locator("#share-url").input_value()
    assert "/shortlist?ids=" in share and "@" not in share
    page.get_by_label("Show distances from a postcode or place").fill("SY11 1QD")
    page.get_by_role("button", name="Show distances").click()
    page.wait_for_selector(".finder-shortlist")
    assert "from=SY11" in page.url
    assert page.locator(".finder-shortlist li", has_text="from SY11 1QD").count() == 2
    page.screenshot(path=str(shots / "residents_shortlist_390.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.emulate_media(media="print")
    assert not page.locator(".finder-print-tools").is_visible()
    assert page.locator(".finder-shortlist", has_text="from SY11 1QD").is_visible()
    page.screenshot(path=str(shots / "residents_shortlist_print_1280.png"), full_page=True)
    # The shared link opens the same list in a browser that kept nothing.
    other, other_page, _ = _page(browser, 1280)
    other_page.goto(share)
    assert other_page.locator(".finder-shortlist h2").all_inner_texts() == shown
    assert other_page.get_by_role("button", name="Keep this list on this device").is_visible()
    other.close()
    page.emulate_media(media="screen")
    page.get_by_role("button", name="Empty my list").click()
    page.goto(server + "/find?where=SY11+1QD")
    assert page.locator(".finder-pick input:checked").count() == 0
    assert problems == []
    ctx.close()


@contextmanager
def _partner_site(server: str, attributes: str):
    """A page on another loopback port (another origin) that embeds the finder with its one line."""
    html = (f'<!doctype html><html lang="en"><head><title>Partner surgery</title></head><body>'
            f'<h1>Our surgery</h1><script src="{server}/static/embed.js" {attributes} async></script>'
            f'</body></html>').encode()

    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/html; charset=utf-8")])
        return [html]

    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}"
    finally:
        httpd.shutdown()
        thread.join(timeout=10)


@pytest.mark.parametrize("width", WIDTHS)
def test_the_finder_embedded_in_another_site(server, browser, shots, width):
    with _partner_site(server, 'data-postcode="SY11 1QD" data-category="pharmacy"') as partner:
        ctx, page, problems = _page(browser, width)
        page.goto(partner + "/", wait_until="networkidle")
        frame_el = page.wait_for_selector("iframe")
        frame = frame_el.content_frame()
        frame.wait_for_selector(".embed-results li")
        assert "SY11 1QD" in frame.locator(".embed-heading").inner_text()
        assert frame.locator(".embed-meta").first.inner_text().startswith("Pharmacy")
        assert frame.locator(".embed-results a").first.get_attribute("target") == "_blank"
        frame.get_by_label("Postcode, town or village").fill("Uppermill")
        frame.get_by_role("button", name="Search").click()
        frame.wait_for_url("**where=Uppermill**")
        assert "Uppermill (Oldham)" in frame.locator(".embed-heading").inner_text()
        assert ctx.cookies() == []  # neither origin set a cookie
        page.screenshot(path=str(shots / f"residents_embed_{width}.png"), full_page=True)
        assert problems == []
        ctx.close()
    ctx, page, problems = _page(browser, width)
    page.goto(server + "/embed")
    snippet = page.locator(".embed-snippet").inner_text()
    assert "/static/embed.js" in snippet and "<script" in snippet
    page.get_by_label("A postcode (your surgery's, say)").fill("TF9 3AL")
    page.get_by_role("button", name="Update the line to copy").click()
    assert 'data-postcode="TF9 3AL"' in page.locator(".embed-snippet").inner_text()
    page.screenshot(path=str(shots / f"residents_embed_demo_{width}.png"), full_page=True)
    assert problems == []
    ctx.close()
