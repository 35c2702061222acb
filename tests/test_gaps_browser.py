"""Headless Chromium on the gap map: the tiles draw, the legend follows the layer, a tooltip
shows an area's figures, and the page works at a phone's width. The app runs in a thread against
the committed database with real Shropshire assets (``<test db>_browser_gaps``).

Screenshots go to ``ASSETMAP_SCREENSHOT_DIR`` when set (else the test's temporary directory)."""
from __future__ import annotations

import re

import pytest

from tests.gaps_fixtures import SHROPSHIRE
from tests.live import live_server, watch_problems

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(gaps_db_url):
    with live_server({"SQLALCHEMY_DATABASE_URI": gaps_db_url, "SECRET_KEY": "browser-test",
                      "RATELIMIT_ENABLED": False, "TILE_URL": None}) as base:
        yield base


def open_page(browser, url, width=1280):
    page = browser.new_page(viewport={"width": width, "height": 900})
    problems = watch_problems(page)
    page.goto(url, wait_until="load")
    page.wait_for_selector("body[data-gap-map-ready]", timeout=20_000)
    return page, problems


def test_gap_map_draws_tiles_legend_and_tooltips(server, browser, shots):
    page, problems = open_page(browser, f"{server}/plan?lad={SHROPSHIRE}&category=library&level=lsoa")
    assert page.locator(".gap-table tbody tr").count() == 20
    assert page.locator(".leaflet-tile-container canvas").count() > 0
    assert page.locator(".gap-legend").inner_text().startswith("Gap (need minus provision)")
    assert page.locator(".leaflet-marker-icon, path.leaflet-interactive").count() > 0  # the libraries

    # a tooltip with the area's figures, as text
    box = page.locator(".map-pane .folium-map").bounding_box()
    tooltip = page.locator(".gap-tooltip")
    for dx, dy in [(0.5, 0.5), (0.45, 0.55), (0.55, 0.45), (0.4, 0.6), (0.6, 0.4)]:
        page.mouse.move(box["x"] + box["width"] * dx, box["y"] + box["height"] * dy)
        page.wait_for_timeout(200)
        if tooltip.count():
            break
    assert tooltip.count() == 1
    text_ = tooltip.inner_text()
    assert "Shropshire" in text_ and "Provision" in text_ and "Gap" in text_
    assert "per 1,000 people" in text_ or "none within reach; percentile 0" in text_
    page.screenshot(path=str(shots / "gaps-shropshire-1280.png"))

    # switch to the bivariate layer: the legend becomes the 3x3 grid
    page.mouse.move(box["x"] + box["width"] - 20, box["y"] + 20)
    page.locator(".leaflet-control-layers").hover()
    page.get_by_label("Need and provision together").check()
    page.wait_for_timeout(300)
    assert page.locator(".gap-legend .gap-bivariate-grid .gap-swatch").count() == 9
    page.mouse.move(box["x"] + 5, box["y"] + box["height"] - 5)
    page.wait_for_timeout(300)
    page.screenshot(path=str(shots / "gaps-shropshire-bivariate-1280.png"))
    assert problems == []
    page.close()


def _click_the_map_until_an_area_opens(page):
    """Click near the map's centre until a click lands on an area and its popup offers the profile
    link (the centre itself may fall between areas); returns that link's locator."""
    the_map = page.locator(".map-pane .folium-map")
    the_map.scroll_into_view_if_needed()  # below the table on a phone
    box = the_map.bounding_box()
    link = page.locator(".gap-profile-link")
    for dx, dy in [(0.5, 0.5), (0.45, 0.55), (0.55, 0.45), (0.4, 0.6), (0.6, 0.4)]:
        page.mouse.click(box["x"] + box["width"] * dx, box["y"] + box["height"] * dy)
        page.wait_for_timeout(300)
        if link.count():
            break
    return link


@pytest.mark.parametrize("indicator, args, need", [("imd_rank_2025", "", "IoD 2025 on LSOA 2021"),
                                                   ("imd_rank", "?vintage=2019", "IoD 2019 on LSOA 2011")])
def test_a_click_on_the_map_leads_to_the_area_profile_at_the_tables_level(server, browser, shots, indicator, args,
                                                                          need):
    """The popup's link opens the area's profile on the run's vintage (IoD 2019 for a run on it)."""
    for width in (390, 1280):
        page, problems = open_page(
            browser, f"{server}/plan?lad={SHROPSHIRE}&category=library&indicator={indicator}&level=msoa", width=width)
        legend = page.locator(".gap-legend details")
        assert legend.evaluate("d => d.open") == (width > 640)  # folded on a phone
        link = _click_the_map_until_an_area_opens(page)
        assert link.count() == 1 and re.fullmatch(rf"/profile/E02\d{{6}}{re.escape(args)}", link.get_attribute("href"))
        page.screenshot(path=str(shots / f"gaps-msoa-popup-{indicator}-{width}.png"))
        link.click()
        page.wait_for_load_state("load")
        assert re.search(rf"/profile/E02\d{{6}}{re.escape(args)}$", page.url) and page.title().startswith("Profile of")
        assert need in page.locator(".profile-facts").inner_text()
        assert problems == []
        page.close()


def test_gap_page_on_a_phone_and_with_missing_need_data(server, browser, shots):
    page, problems = open_page(browser, f"{server}/plan?lad={SHROPSHIRE}&category=youth&layer=need", width=360)
    assert page.locator(".gap-empty").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 360  # no sideways scrolling
    # every form control has a label
    for control in page.locator(".gap-form select, .gap-form input").all():
        assert page.locator(f"label[for={control.get_attribute('id')}]").count() == 1
    page.screenshot(path=str(shots / "gaps-empty-360.png"), full_page=True)
    assert problems == []
    page.close()


@pytest.mark.parametrize("level, tiles, profile", [("ward", "/tiles/gaps/ward24/", r"/profile/E05\d{6}"),
                                                  ("lsoa", "/tiles/lsoa/", r"/profile/E01\d{6}")])
def test_the_default_view_is_drawn_on_2021_geography(server, browser, shots, level, tiles, profile):
    """IMD 2025 (the default) by 2024 ward and by LSOA 2021: the tiles are of that geography, and a
    click on the map names an area of the table, by its name."""
    for width in (390, 1280):
        page = browser.new_page(viewport={"width": width, "height": 900})
        problems = watch_problems(page)
        fetched = []
        page.on("response", lambda r, fetched=fetched: fetched.append(r.url) if ".pbf" in r.url else None)
        page.goto(f"{server}/plan?lad={SHROPSHIRE}&category=library&level={level}", wait_until="load")
        page.wait_for_selector("body[data-gap-map-ready]", timeout=20_000)
        assert fetched and all(tiles in url for url in fetched)
        heading = page.locator("#by-area-heading").inner_text()
        assert heading == ("By ward (2024)" if level == "ward" else "By LSOA 2021 (every area)")
        names = set(page.locator(".gap-area-table .area-name").all_inner_texts())
        if level == "lsoa":
            assert all(re.fullmatch(r".+ \(Shropshire \d{3}[A-Z]\)", n) for n in names) and len(names) == 198
        link = _click_the_map_until_an_area_opens(page)
        assert link.count() == 1 and re.fullmatch(profile, link.get_attribute("href"))
        assert link.inner_text().removeprefix("Open the profile of ") in names
        page.screenshot(path=str(shots / f"gaps-2021-{level}-{width}.png"))
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        assert problems == []
        page.close()
