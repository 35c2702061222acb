"""Headless Chromium: a volunteer adds a place by clicking the map, a moderator signs in and
approves it, and its marker is on the area map. The app runs in a thread against a committed copy
of the test database (the other tests' rolled-back transactions are invisible to a server).

Screenshots of the form, the queue and the review diff at 360 px and 1280 px go to
``ASSETMAP_SCREENSHOT_DIR`` when set (else the test's temporary directory)."""
from __future__ import annotations

import pytest
from sqlalchemy import text

from assetmap.db.engine import dispose_engines, drop_database, session_scope
from assetmap.db.users import create_user
from tests.live import clone_template, live_server, screenshot_widths, watch_problems

pytestmark = pytest.mark.browser

SHROPSHIRE = "E06000051"
MODERATOR, PASSWORD = "browser-mod@example.org", "a browser test password"
NAME = "Oswestry Singing for the Brain <b>"
EXISTING = "Oswestry Singing Group"
POSTCODE = "SY11 2AA"


@pytest.fixture(scope="module")
def browser_db(db_url):
    """A committed clone of the reference-data template, ``<test db>_browser_contribute``."""
    url = clone_template(db_url, "browser_contribute")
    with session_scope(url) as session:
        create_user(session, MODERATOR, PASSWORD, "moderator", "Browser Moderator")
        # Already on the map, 30 m or so from the postcode: the form should say so.
        session.execute(text(
            "INSERT INTO asset (uuid, name, location, status, source, access_modes, age_groups, accessibility, "
            "version) "
            "SELECT gen_random_uuid(), :name, ST_Translate(location, 0.0003, 0.0001), 'published', 'test', "
            "'{}', '{}', '{}', 1 FROM postcode WHERE postcode = :pc"), {"name": EXISTING, "pc": POSTCODE})
    yield url
    dispose_engines(url)
    drop_database(url)


@pytest.fixture(scope="module")
def server(browser_db):
    with live_server({"SQLALCHEMY_DATABASE_URI": browser_db, "SECRET_KEY": "browser-test", "RATELIMIT_ENABLED": False,
                      "TILE_URL": None}) as base:
        yield base


def test_add_by_map_click_approve_and_see_the_marker(server, browser, shots, browser_db):
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))

    # The volunteer: fill in the form, find the postcode, place the pin by clicking the map.
    page.goto(f"{server}/contribute?area={SHROPSHIRE}", wait_until="networkidle")
    page.fill("#name", NAME)
    page.fill("#description", "Singing together for people living with dementia and their carers.")
    page.get_by_label("Community group or activity").check()
    page.get_by_label("Connect", exact=True).check()
    page.select_option("#hours_wed_state", "open")
    page.fill("#hours_wed_times", "14:00-15:30")
    page.get_by_label("Drop in, no need to book").check()
    page.fill("#submitter_email", "volunteer@example.org")
    assert page.input_value("#lat") == ""
    page.fill("#postcode", POSTCODE.lower().replace(" ", ""))
    page.get_by_role("button", name="Show on the map").click()
    expect(page.locator("#lat")).not_to_have_value("")
    assert page.input_value("#postcode") == POSTCODE
    at_postcode = float(page.input_value("#lat")), float(page.input_value("#lon"))
    assert abs(at_postcode[0] - 52.855) < 0.01 and abs(at_postcode[1] + 3.058) < 0.01
    # The script warns about the group already there, with a link to change it instead.
    warning = page.locator("#duplicate-live")
    expect(warning).to_contain_text(EXISTING)
    expect(warning.get_by_role("link", name="Suggest a change to it instead")).to_have_count(1)

    pin_map = page.locator(".pin-map .folium-map")
    pin_map.scroll_into_view_if_needed()
    box = pin_map.bounding_box()
    pin_map.click(position={"x": box["width"] / 2 + 40, "y": box["height"] / 2 + 30})
    expect(page.locator("#lat")).not_to_have_value(f"{at_postcode[0]:.6f}")
    lat, lon = float(page.input_value("#lat")), float(page.input_value("#lon"))
    assert lat < at_postcode[0] and lon > at_postcode[1]  # below and right of the middle
    assert page.locator(".pin-map .leaflet-marker-icon").count() == 1
    assert "Pin placed at latitude" in page.inner_text("#pin-status")
    # Dragging the pin moves the position too.
    pin = page.locator(".pin-map .leaflet-marker-icon").bounding_box()
    page.mouse.move(pin["x"] + pin["width"] / 2, pin["y"] + pin["height"] - 4)
    page.mouse.down()
    page.mouse.move(pin["x"] + pin["width"] / 2 + 30, pin["y"] + pin["height"] - 4, steps=5)
    page.mouse.up()
    expect(page.locator("#lon")).not_to_have_value(f"{lon:.6f}")
    lat, lon = float(page.input_value("#lat")), float(page.input_value("#lon"))
    screenshot_widths(page, shots, "contribute-form")

    # Sent: the server finds the same likely duplicate and asks before accepting it.
    page.get_by_role("button", name="Send for review").last.click()
    expect(page.locator("#duplicates")).to_contain_text(EXISTING)
    page.get_by_label("It is not one of these: add it as a new place").check()
    page.locator("#duplicates").get_by_role("button", name="Send for review").click()
    page.wait_for_url("**/contribute/thanks?kind=new")
    assert "after a volunteer moderator has checked it" in page.inner_text("main")

    # The moderator: sign in, find it in the queue, look at the diff, approve.
    page.goto(f"{server}/login")
    page.fill("#email", MODERATOR)
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url("**/moderate")
    assert NAME in page.inner_text("main")
    screenshot_widths(page, shots, "moderate-queue")
    page.get_by_role("link", name=f"Review {NAME}").click()
    page.wait_for_selector("table.diff")
    assert "14:00–15:30" in page.inner_text("table.diff")
    assert page.locator(".review-map path.leaflet-interactive").count() == 1  # where they put it
    screenshot_widths(page, shots, "moderate-review")
    page.get_by_role("button", name="Approve and publish").click()
    page.wait_for_url("**/moderate")
    assert "is on the map now" in page.inner_text("main")

    # The public area page: in the list, and a marker on the map whose popup names it.
    page.goto(f"{server}/areas/{SHROPSHIRE}", wait_until="networkidle")
    assert NAME in page.inner_text(".asset-list")
    point = page.evaluate(
        """([lat, lon]) => {
             const map = Object.keys(window).filter(k => k.startsWith('map_')).map(k => window[k])
               .find(m => m && m.eachLayer);
             map.setView([lat, lon], 18, {animate: false});
             const p = map.latLngToContainerPoint([lat, lon]);
             return {x: p.x, y: p.y};
           }""",
        [lat, lon],
    )
    page.wait_for_timeout(600)  # the cluster layer redraws at the new zoom
    area_map = page.locator(".map-pane .folium-map").bounding_box()
    page.mouse.click(area_map["x"] + point["x"], area_map["y"] + point["y"])
    popup = page.locator(".leaflet-popup-content")
    popup.wait_for()
    assert NAME in popup.inner_text()  # its marker is where the pin was; "<b>" shows as text
    page.screenshot(path=str(shots / "area-after-approval-1280.png"))
    assert problems == []


@pytest.mark.parametrize("width", (390, 1280))
def test_hours_are_read_back_while_they_are_typed(server, browser, shots, width):
    """Typing hours "as you would say it" shows, after a pause, what the server's reader makes of
    them, in a live region (one request a pause, not one a key); "Read these hours" still fills
    in the days."""
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": width, "height": 900})
    problems = watch_problems(page)
    asked: list[str] = []
    page.on("request", lambda r: asked.append(r.url) if "/contribute/hours" in r.url else None)
    page.goto(f"{server}/contribute?area={SHROPSHIRE}", wait_until="networkidle")
    live = page.locator("#hours-live")
    assert live.get_attribute("aria-live") == "polite" and live.inner_text() == ""

    page.locator("#hours_text").press_sequentially("Mon-Fri 9-5", delay=40)
    expect(live).to_have_text("We read this as: Mon–Fri 09:00–17:00; Sat–Sun closed. "
                              "Press “Read these hours” to fill in the days below.")
    assert len(asked) == 1, asked
    page.locator("#hours_text").fill("")
    page.locator("#hours_text").press_sequentially("Tuesdays 10am - 12pm, term time only", delay=40)
    expect(live).to_contain_text("We read this as: Mon closed; Tue 10:00–12:00; Wed–Sun closed; "
                                 "note: term time only.")
    live.scroll_into_view_if_needed()
    page.screenshot(path=str(shots / f"contribute-hours-live-{width}.png"))
    page.locator("#hours_text").fill("whenever the kettle is on")
    expect(live).to_contain_text("We cannot read that as opening hours yet")
    expect(live).to_have_class("hours-live hours-live-unread")
    page.locator("#hours_text").fill("")
    expect(live).to_have_text("")

    # The button (and so the page without the script) reads the same way.
    page.locator("#hours_text").fill("Mon-Fri 9-5")
    page.get_by_role("button", name="Read these hours").click()
    expect(page.locator("#hours-reading")).to_contain_text("Mon–Fri 09:00–17:00; Sat–Sun closed")
    assert page.input_value("#hours_wed_times") == "09:00-17:00"
    assert problems == []
    page.close()
