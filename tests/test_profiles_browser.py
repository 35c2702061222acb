"""Area profiles in headless Chromium, against a server thread and a committed database with
Shropshire's real libraries, pharmacies and GP practices: the profile of Oswestry's LSOAs 2021 on
IoD 2025 at desktop and phone widths and as printed, the same area on IoD 2019, and a custom area
drawn with the map's polygon tool."""
from __future__ import annotations

import json
import re

import pytest

from tests.live import live_server, watch_problems
from tests.profile_fixtures import oswestry_lsoas

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(profile_db_url):
    with live_server({"TESTING": True, "SQLALCHEMY_DATABASE_URI": profile_db_url, "SECRET_KEY": "test",
                      "RATELIMIT_ENABLED": False, "TILE_URL": None, "TILE_ATTRIBUTION": None}) as base:
        yield base


def _page(browser, width: int):
    ctx = browser.new_context(viewport={"width": width, "height": 900})
    page = ctx.new_page()
    problems = watch_problems(page)
    return ctx, page, problems


@pytest.mark.parametrize("width", [1280, 390])
def test_profile_of_oswestrys_lsoas_on_screen_and_in_print(server, browser, data_dir, shots, width):
    codes = oswestry_lsoas(data_dir, 2025)
    ctx, page, problems = _page(browser, width)
    page.goto(f"{server}/profile/lsoas?codes={','.join(codes)}", wait_until="networkidle")

    assert page.get_by_role("heading", level=1).inner_text().startswith("9 LSOAs")
    assert "IoD 2025 on LSOA 2021" in page.locator(".profile-facts").inner_text()
    assert "Census 2021" in page.locator(".profile-facts").inner_text()
    imd = page.get_by_role("row", name=re.compile(r"^Index of Multiple Deprivation 2025 \(rank\)"))
    assert imd.is_visible() and "2025, LSOA 2021" in imd.inner_text()
    assert page.get_by_role("cell", name="Oswestry East (Shropshire 006C)").first.is_visible()
    assert page.get_by_role("heading", name="Need over time: IMD rank 2019 to 2025").is_visible()
    radar = page.get_by_role("img", name="Need in 9 LSOAs against the Shropshire average")
    assert radar.is_visible()
    assert radar.bounding_box()["width"] > min(300, width - 40)
    library = page.get_by_role("row", name=re.compile(r"^Library"))
    assert library.first.is_visible()
    assert page.locator(".map-pane .leaflet-container").is_visible()
    inside = page.locator("#assets-heading ~ .split .asset-list > li").count()
    assert inside >= 6
    assert page.locator(".leaflet-control-layers").get_by_text(f"Inside the area ({inside})").count() == 1
    assert page.locator(".leaflet-marker-icon, path.leaflet-interactive").count() >= 2  # clusters or markers
    assert page.get_by_role("button", name="Print this profile").is_visible()  # shown by the script
    # Nothing wider than the screen: tables scroll inside their own boxes.
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.screenshot(path=str(shots / f"profile_oswestry_lsoas_{width}.png"), full_page=True)

    page.emulate_media(media="print")
    # The map prints (redrawn for the page), and so does every place inside: no scrolling pane.
    printed_map = page.locator(".profile-map .leaflet-container")
    assert printed_map.is_visible() and printed_map.bounding_box()["height"] > 300
    assert page.locator(".profile-map .leaflet-control-zoom").is_hidden()
    assert page.evaluate("(() => { const p = document.querySelector('.list-pane');"
                         " return p.scrollHeight <= p.clientHeight + 1; })()")
    places = page.locator("#assets-heading ~ .split .asset-list > li")
    assert places.count() == inside and all(places.nth(i).is_visible() for i in range(inside))
    assert not page.locator(".site-header").is_visible()
    assert not page.get_by_role("button", name="Print this profile").is_visible()
    assert page.get_by_text(re.compile(r"^Printed from http")).is_visible()
    assert radar.is_visible()
    assert page.get_by_role("table", name="Need, provision and gap by type for 9 LSOAs").is_visible()
    page.screenshot(path=str(shots / f"profile_oswestry_lsoas_{width}_print.png"), full_page=True)
    assert problems == []
    ctx.close()


@pytest.mark.parametrize("width", [1280, 390])
def test_the_earlier_vintage_is_one_link_away_and_labelled(server, browser, shots, width):
    ctx, page, problems = _page(browser, width)
    page.goto(f"{server}/profile/town-oswestry", wait_until="networkidle")
    page.get_by_role("link", name="Earlier need data: IoD 2019 on LSOA 2011").click()
    page.wait_for_load_state("networkidle")
    assert page.url.endswith("/profile/town-oswestry?vintage=2019")
    facts = page.locator(".profile-facts").inner_text()
    assert "IoD 2019 on LSOA 2011" in facts and "an earlier vintage" in facts and "mid-2015" in facts
    imd = page.get_by_role("row", name=re.compile(r"^Index of Multiple Deprivation \(rank\)"))
    assert "2019, LSOA 2011" in imd.inner_text()
    assert page.get_by_role("row", name=re.compile(r"2025 \(rank\)")).count() == 0
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    page.screenshot(path=str(shots / f"profile_oswestry_town_2019_{width}.png"), full_page=True)
    page.get_by_role("link", name="Current need data: IoD 2025 on LSOA 2021").click()
    page.wait_for_load_state("networkidle")
    assert page.url.endswith("/profile/town-oswestry")
    page.screenshot(path=str(shots / f"profile_oswestry_town_2025_{width}.png"), full_page=True)
    assert problems == []
    ctx.close()


def test_an_area_drawn_on_the_map_is_profiled(server, browser, shots):
    ctx, page, problems = _page(browser, 1280)
    page.goto(f"{server}/profile/custom", wait_until="networkidle")
    page.locator(".leaflet-draw-draw-polygon").click()
    box = page.locator(".map-pane .leaflet-container").bounding_box()
    cx, cy = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    corners = [(cx - 60, cy - 50), (cx + 70, cy - 40), (cx + 50, cy + 60), (cx - 40, cy + 50)]
    for x, y in [*corners, corners[0]]:  # closing the ring finishes the shape
        page.mouse.move(x, y)
        page.mouse.down()
        page.mouse.up()
        page.wait_for_timeout(300)  # apart, so that Leaflet.draw does not take two clicks as a double click

    field = page.get_by_label("Outline as GeoJSON")
    geometry = json.loads(field.input_value())
    assert geometry["type"] == "Polygon" and len(geometry["coordinates"][0]) == 5
    assert "Area drawn (4 corners)" in page.locator("#draw-status").inner_text()
    page.get_by_label("Name of the area").fill("Drawn in the test")
    page.screenshot(path=str(shots / "profile_custom_drawn_1280.png"))
    page.get_by_role("button", name="Show the profile").click()
    page.wait_for_url(re.compile(r"/profile/custom-[0-9a-f]{12}$"))
    assert page.get_by_role("heading", level=1).inner_text().startswith("Drawn in the test")
    assert page.get_by_role("heading", name=re.compile("^Places inside Drawn in the test")).is_visible()
    assert problems == []
    ctx.close()


def test_a_bow_tie_is_refused_with_the_reason_on_the_form(server, browser, shots):
    ctx, page, problems = _page(browser, 360)
    page.goto(f"{server}/profile/custom", wait_until="networkidle")
    bow_tie = {"type": "Polygon",
               "coordinates": [[[-3.06, 52.85], [-3.04, 52.87], [-3.04, 52.85], [-3.06, 52.87], [-3.06, 52.85]]]}
    page.get_by_label("Outline as GeoJSON").fill(json.dumps(bow_tie))
    page.get_by_role("button", name="Show the profile").click()
    page.wait_for_load_state("networkidle")
    alert = page.get_by_role("alert")
    assert "Self-intersection at -3.05, 52.86" in alert.inner_text()
    assert page.get_by_label("Outline as GeoJSON").input_value() == json.dumps(bow_tie)  # kept for correcting
    # and shown on the map, which zooms to it
    map_name = page.locator("[data-draw-map]").get_attribute("data-draw-map")
    assert page.evaluate(f"window[{json.dumps(map_name)}].getZoom()") >= 13
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.screenshot(path=str(shots / "profile_custom_error_360.png"), full_page=True)
    # The 400 of the refused form is the only failure the console reports.
    assert [p for p in problems if "400" not in p] == []
    ctx.close()
