"""Headless Chromium: an administrator uploads a messy CSV, sees its first rows and the columns
guessed, reads the row-by-row error report, and adds the good rows while a progress bar moves.
A 50 MB file is refused before it is sent. The app runs in a thread against a committed copy of
the test database.

Screenshots of the error report and the import report at 360 px and 1280 px go to
``ASSETMAP_SCREENSHOT_DIR`` when set (else the test's temporary directory)."""
from __future__ import annotations

import pytest
from sqlalchemy import text

from assetmap.db.engine import dispose_engines, drop_database, get_engine, session_scope
from assetmap.db.users import create_user
from tests.live import clone_template, live_server, screenshot_widths
from tests.oruk_fixtures import PROJECT

pytestmark = pytest.mark.browser

ADMIN, PASSWORD = "browser-admin@example.org", "a browser test password"
MESSY = PROJECT / "tests" / "data" / "upload" / "messy_warm_spaces.csv"


@pytest.fixture(scope="module")
def browser_db(db_url):
    """A committed clone of the reference-data template, ``<test db>_browser_oruk``."""
    url = clone_template(db_url, "browser_oruk")
    with session_scope(url) as session:
        create_user(session, ADMIN, PASSWORD, "admin", "Browser Admin")
    yield url
    dispose_engines(url)
    drop_database(url)


@pytest.fixture(scope="module")
def server(browser_db):
    with live_server({"SQLALCHEMY_DATABASE_URI": browser_db, "SECRET_KEY": "browser-test", "RATELIMIT_ENABLED": False,
                      "TILE_URL": None, "ASSETMAP_UPLOAD_IN_BACKGROUND": True}) as base:
        yield base


def test_upload_messy_csv_read_the_errors_and_add_the_good_rows(server, browser, shots, browser_db, tmp_path):
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1280, "height": 900})
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))

    page.goto(f"{server}/login")
    page.fill("#email", ADMIN)
    page.fill("#password", PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Upload a list").click()
    expect(page.get_by_role("heading", name="Upload a list of places")).to_be_visible()

    # A 50 MB file is refused before a byte is sent.
    huge = tmp_path / "huge.csv"
    with huge.open("wb") as f:
        f.truncate(50 * 1024 * 1024)
    page.set_input_files("#file", str(huge))
    page.get_by_role("button", name="Upload and preview").click()
    expect(page.locator("#error-summary")).to_contain_text("The file is too large (50.0 MB)")
    expect(page.locator("#error-summary")).to_contain_text("The largest file you can upload is 20 MB")
    expect(page).to_have_url(f"{server}/upload/")

    page.set_input_files("#file", str(MESSY))
    page.fill("#source_name", "Warm spaces winter 2024")
    page.get_by_role("button", name="Upload and preview").click()
    expect(page.get_by_role("heading", name="Which column is which?")).to_be_visible()
    expect(page.locator("table.preview")).to_contain_text("Café Nood")
    expect(page.locator(".notice")).to_contain_text("read as Windows-1252")
    expect(page.get_by_label("Name", exact=True)).to_have_value("Site Name")
    expect(page.get_by_label("Latitude", exact=True)).to_have_value("Lat")
    page.get_by_label("Publish them at once").check()
    screenshot_widths(page, shots, "upload-map")
    page.get_by_role("button", name="Check every row").click()

    expect(page.get_by_role("heading", name="Check before adding")).to_be_visible()
    summary = page.locator(".upload-counts")
    expect(summary).to_contain_text("5 of 10 rows can be added")
    expect(summary).to_contain_text("5 rows with errors will be left out")
    problems_table = page.locator("table.problems")
    expect(problems_table).to_contain_text("the same id as line 4")
    expect(problems_table).to_contain_text("postcode not known here")
    expect(problems_table).to_contain_text("latitude and longitude were the wrong way round; swapped back")
    expect(problems_table).to_contain_text("13 values but the header has 11 columns")
    expect(problems_table.locator("tr.problem-error")).to_have_count(5)
    screenshot_widths(page, shots, "upload-check")
    page.set_viewport_size({"width": 360, "height": 900})
    problems_table.screenshot(path=str(shots / "upload-check-problems-360.png"))
    page.set_viewport_size({"width": 1280, "height": 900})

    page.get_by_role("button", name="Add 5 rows").click()
    expect(page.get_by_role("heading", name="Import report")).to_be_visible(timeout=30_000)
    expect(page.locator(".upload-counts")).to_contain_text("5 added")
    expect(page.get_by_role("table")).to_contain_text("no name")
    screenshot_widths(page, shots, "upload-report")
    assert not problems, problems

    engine = get_engine(browser_db)
    with engine.connect() as conn:
        statuses = conn.execute(text(
            "SELECT status::text, count(*) FROM asset WHERE source = 'upload' GROUP BY 1"
        )).all()
        run = conn.execute(text("SELECT report FROM import_run WHERE kind = 'assets:upload'")).scalar_one()
    assert statuses == [("published", 5)]
    assert run["inserted"] == 5 and run["problem_count"] == 5
