"""Accessibility as a test: axe-core (WCAG 2.2 AA rules) on every page template at a phone's and
a desktop's width, and keyboard-only journeys through the finder, the contribute form and the
moderation queue. Headless Chromium against a committed clone of the reference data with
Shropshire's libraries, pharmacies and GP practices, a moderator (an admin, to see every page),
and one of each thing that waits for review.

axe-core comes from the npm registry with the other front-end files (static/package.json, put in
static/node_modules by scripts/setup.sh); ``ASSETMAP_AXE_JS`` may name another copy of axe.min.js.
Screenshots go to ``ASSETMAP_SCREENSHOT_DIR`` when set."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from sqlalchemy import text

from assetmap.config import PROJECT_DIR
from assetmap.db.engine import dispose_engines, drop_database, session_scope
from assetmap.db.models import BulkUpload
from assetmap.db.users import create_user
from assetmap.domain import tabular
from assetmap.importers import tabular as upload_importer
from assetmap.importers import upload_files
from tests.live import clone_template, live_server
from tests.profile_fixtures import import_shropshire_assets, load_project_towns, oswestry_lsoas

pytestmark = pytest.mark.browser

ADMIN, PASSWORD = "a11y-admin@example.org", "an accessibility test password"
MESSY = PROJECT_DIR / "tests" / "data" / "upload" / "messy_warm_spaces.csv"
SHROPSHIRE = "E06000051"
WIDTHS = (390, 1280)
WCAG_22_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]

# GET pages that are not HTML pages of their own (JSON, files, tiles, redirects, health checks).
NOT_PAGES = {
    "static", "vendor.vendor_file", "health.healthz", "health.readyz", "plan.lsoa_tile", "plan.gaps_csv",
    "plan.gaps_geojson", "openapi.spec", "contribute.duplicates", "contribute.organisations",
    "contribute.postcode_lookup", "contribute.hours_reading", "upload.progress", "profiles.pick", "plan.gaps_meta",
    "plan.level_tile",
}


def axe_source() -> str:
    path = Path(os.environ.get("ASSETMAP_AXE_JS") or PROJECT_DIR / "static" / "node_modules" / "axe-core" /
                "axe.min.js")
    if not path.exists():
        pytest.fail(f"axe-core is not installed at {path}: run scripts/setup.sh (npm install in static/)")
    return path.read_text(encoding="utf-8")


def upload_at(session, user_id: int, state: str) -> int:
    """An upload of the messy warm-spaces CSV taken as far as ``state`` (uploaded: its columns to
    map; checked: its row-by-row report; committed: its import report) the way the upload pages
    take it, with the columns as guessed; its id."""
    data = MESSY.read_bytes()
    parsed = upload_files.read_upload(MESSY.name, data)
    upload = BulkUpload(user_id=user_id, file_name=MESSY.name, file_format=parsed.file_format, file_size=len(data),
                        encoding=parsed.encoding, source_key=f"a11y-{state}", header=parsed.header, rows=parsed.rows,
                        file_notes=parsed.notes, mapping=tabular.suggest_mapping(parsed.header), options={},
                        state="uploaded")
    session.add(upload)
    session.flush()
    if state in ("checked", "committed"):
        upload.check_report = upload_importer.check_upload(session, upload).report
        upload.state = "checked"
    if state == "committed":
        report, run = upload_importer.commit_upload(session, upload, user_id, publish=False)
        upload.import_run_id, upload.state = run.id, "committed"
        upload.check_report = {**upload.check_report, "committed": report.to_dict()}
    session.flush()
    return upload.id


@pytest.fixture(scope="module")
def a11y_db(db_url, data_dir):
    url = clone_template(db_url, "browser_a11y")
    with session_scope(url) as session:
        import_shropshire_assets(session, data_dir)
        load_project_towns(session)
        admin = create_user(session, ADMIN, PASSWORD, "admin", "Accessibility Admin")
        uploads = {state: upload_at(session, admin["id"], state) for state in ("uploaded", "checked", "committed")}
        ids = dict(session.execute(text(
            "SELECT 'asset', min(id) FROM asset WHERE status = 'published' AND name ILIKE 'oswestry%'")).all())
        asset_id = ids["asset"]
        pending = session.execute(text(
            "INSERT INTO asset (uuid, name, location, status, source, access_modes, age_groups, accessibility, "
            "version) SELECT gen_random_uuid(), 'Oswestry Knit and Natter', location, 'pending', 'web', '{}', '{}', "
            "'{}', 1 FROM asset WHERE id = :id RETURNING id"), {"id": asset_id}).scalar_one()
        session.execute(text(
            "INSERT INTO change_request (asset_id, kind, payload, status, base_version) "
            "VALUES (:p, 'new', '{}', 'pending', 1)"), {"p": pending})
        request_id = session.execute(text(
            "INSERT INTO change_request (asset_id, kind, payload, status, base_version, problem_type, comment) "
            "VALUES (:a, 'problem', '{}', 'pending', 1, 'wrong_details', 'The phone number is wrong') "
            "RETURNING id"), {"a": asset_id}).scalar_one()
    yield {"url": url, "asset_id": asset_id, "pending_id": pending, "request_id": request_id, "uploads": uploads}
    dispose_engines(url)
    drop_database(url)


@pytest.fixture(scope="module")
def server(a11y_db):
    with live_server({"SQLALCHEMY_DATABASE_URI": a11y_db["url"], "SECRET_KEY": "browser-test",
                      "RATELIMIT_ENABLED": False, "TILE_URL": None}) as base:
        yield base


@pytest.fixture(scope="module")
def signed_in(browser, server):
    """A browser context with the admin signed in (cookies), for the moderators' pages."""
    ctx = browser.new_context()
    page = ctx.new_page()
    page.goto(f"{server}/login")
    page.fill("#email", ADMIN)
    page.fill("#password", PASSWORD)
    page.locator("form button[type=submit]").last.click()
    page.wait_for_load_state()
    state = ctx.storage_state()
    ctx.close()
    return state


def pages(a11y_db, data_dir) -> dict[str, tuple[str, bool]]:
    """Every page template, as ``{endpoint: (path, signed in)}``."""
    asset_id, codes, uploads = a11y_db["asset_id"], oswestry_lsoas(data_dir), a11y_db["uploads"]
    return {
        "public.home": ("/", False),
        "public.pick_area": ("/areas", False),
        "public.area": (f"/areas/{SHROPSHIRE}", False),
        "finder.find": ("/find?where=SY11+1JN", False),
        "finder.asset": (f"/assets/{asset_id}", False),
        "finder.shortlist": (f"/shortlist?ids={asset_id}", False),
        "contribute.add": ("/contribute", False),
        "contribute.change": (f"/contribute/change/{asset_id}", False),
        "contribute.problem": (f"/contribute/problem/{asset_id}", False),
        "contribute.thanks": ("/contribute/thanks?kind=new", False),
        "auth.login": ("/login", False),
        "openapi.docs": ("/api/docs", False),
        "profiles.index": ("/profile", False),
        "profiles.area_profile": (f"/profile/{SHROPSHIRE}", False),
        "profiles.lsoas": (f"/profile/lsoas?codes={','.join(codes)}", False),
        "profiles.custom": ("/profile/custom", False),
        "plan.gap_map": (f"/plan?area={SHROPSHIRE}", True),
        "plan.indicators": ("/plan/indicators", True),
        "upload.index": ("/upload/", True),
        "upload.mapping": (f"/upload/{uploads['uploaded']}/map", True),
        "upload.check": (f"/upload/{uploads['checked']}/check", True),
        "upload.report": (f"/upload/{uploads['committed']}", True),
        "moderate.queue": ("/moderate", True),
        "moderate.search": ("/moderate/search?q=oswestry", True),
        "moderate.asset": (f"/moderate/assets/{asset_id}", True),
        "moderate.edit": (f"/moderate/assets/{asset_id}/edit", True),
        "moderate.review_new": (f"/moderate/new/{a11y_db['pending_id']}", True),
        "moderate.review_request": (f"/moderate/requests/{a11y_db['request_id']}", True),
        "moderate.stale": ("/moderate/stale", True),
        "moderate.users_page": ("/moderate/users", True),
        "embed.demo": ("/embed", False),
        "embed.find": ("/embed/find?where=SY11+1JN", False),
        "error": ("/no-such-page", False),
    }


def test_every_html_page_is_in_the_list(a11y_db, data_dir, server):
    from assetmap.web import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": a11y_db["url"], "SECRET_KEY": "x"})
    html_pages = {rule.endpoint for rule in app.url_map.iter_rules()
                  if "GET" in rule.methods and rule.endpoint not in NOT_PAGES and not rule.endpoint.startswith(
                      ("api.", "api_gaps.", "oruk.", "exports."))}
    missing = html_pages - set(pages(a11y_db, data_dir))
    assert missing == set()


def violations_of(page) -> list[dict]:
    """axe's WCAG 2.2 AA violations on the page (axe is added to the context by add_init_script,
    which the pages' Content Security Policy does not block).

    Map markers and clusters are left out of the target-size rule: WCAG 2.5.8 excepts a target
    whose function another control on the page offers at full size, and every map here has the
    list or table of the same places beside it (the map is the enhancement)."""
    found = page.evaluate(
        "async (tags) => (await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']}))"
        ".violations.map(v => ({id: v.id, impact: v.impact, help: v.help,"
        " nodes: v.nodes.slice(0, 40).map(n => n.target.join(' ') + ' :: ' + n.failureSummary.split('\\n')[1])}))",
        WCAG_22_AA)
    kept = []
    for violation in found:
        if violation["id"] == "target-size":
            violation["nodes"] = [n for n in violation["nodes"] if "leaflet-marker-icon" not in n.split(" :: ")[0]]
        if violation["nodes"]:
            kept.append(violation)
    return kept


@pytest.mark.parametrize("width", WIDTHS)
def test_axe_finds_no_wcag_22_aa_violation_on_any_page(browser, server, signed_in, a11y_db, data_dir, shots, width):
    source = axe_source()
    found: dict[str, list] = {}
    for endpoint, (path, needs_sign_in) in pages(a11y_db, data_dir).items():
        ctx = browser.new_context(viewport={"width": width, "height": 900},
                                  storage_state=signed_in if needs_sign_in else None)
        ctx.add_init_script(source)
        page = ctx.new_page()
        response = page.goto(f"{server}{path}", wait_until="networkidle")
        assert response.status == (404 if endpoint == "error" else 200), (endpoint, response.status)
        assert endpoint == "auth.login" or "/login" not in page.url, f"{endpoint}: not signed in"
        violations = violations_of(page)
        if violations:
            found[f"{endpoint} {path}"] = violations
        page.screenshot(path=str(shots / f"a11y-{endpoint}-{width}.png"), full_page=True)
        ctx.close()
    assert found == {}, json.dumps(found, indent=1)


# --- keyboard only ----------------------------------------------------------------------------

_FOCUSED = """() => {
  const e = document.activeElement;
  if (!e || e === document.body) { return null; }
  const style = getComputedStyle(e);
  return {key: e.id || e.name || (e.tagName + ':' + (e.textContent || '').trim().slice(0, 40)),
          id: e.id, name: e.getAttribute('name'), type: e.getAttribute('type'), tag: e.tagName,
          visible: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2
                   || (style.boxShadow && style.boxShadow !== 'none')};
}"""


def tab_through(page, within: str, limit: int = 400) -> list[dict]:
    """Press Tab from the top of the page until focus leaves ``within`` after entering it (or comes
    round again); every control focused inside it, in order."""
    # Start from the top: a focus point before everything (Tab goes on from where focus last was).
    page.evaluate("""() => {
      let start = document.getElementById('keyboard-start');
      if (!start) { start = document.createElement('span'); start.id = 'keyboard-start'; start.tabIndex = -1;
                    document.body.prepend(start); }
      start.focus(); window.scrollTo(0, 0);
    }""")
    seen, entered = [], False
    for _ in range(limit):
        page.keyboard.press("Tab")
        focused = page.evaluate(_FOCUSED)
        inside = page.evaluate(f"() => !!document.activeElement.closest({json.dumps(within)})")
        if inside:
            entered = True
            if seen and focused["key"] == seen[0]["key"]:
                break
            seen.append(focused)
        elif entered:
            break
    return seen


def controls_of(page, within: str) -> set[str]:
    """The controls a keyboard user must reach in ``within``: visible, enabled, not taken out of the
    tab order; one per radio group (arrow keys move inside a group)."""
    return set(page.evaluate("""(within) => {
      const found = new Set();
      for (const e of document.querySelectorAll(within + ' input, ' + within + ' select, ' + within + ' textarea, '
                                                  + within + ' button, ' + within + ' a[href]')) {
        if (e.disabled || e.type === 'hidden' || e.tabIndex < 0) continue;
        if (e.closest('[hidden], .hp, .leaflet-container')) continue;
        if (e.closest('details:not([open])')) continue;  // reached once its summary opens it
        const box = e.getBoundingClientRect();
        if (!box.width && !box.height) continue;
        const key = e.id || e.name || (e.tagName + ':' + e.textContent.trim().slice(0, 40));
        found.add(e.type === 'radio' ? 'radio:' + e.name : key);
      }
      return [...found];
    }""", within))


def _keys(focused: list[dict]) -> set[str]:
    return {("radio:" + f["name"]) if f["type"] == "radio" else f["key"] for f in focused}


@pytest.mark.parametrize("width", WIDTHS)
def test_the_finder_by_keyboard_alone(browser, server, shots, width):
    ctx = browser.new_context(viewport={"width": width, "height": 900})
    page = ctx.new_page()
    page.goto(f"{server}/find", wait_until="networkidle")
    focused = tab_through(page, ".finder-form")
    assert controls_of(page, ".finder-form") <= _keys(focused)
    # Enter on "Filters" opens them, and Tab then reaches every filter.
    page.focus(".finder-filters summary")
    page.keyboard.press("Enter")
    assert page.evaluate("document.querySelector('details.finder-filters').open")
    focused = tab_through(page, ".finder-form")
    assert "BUTTON:Apply filters" in _keys(focused)
    assert controls_of(page, ".finder-form") <= _keys(focused)
    assert all(f["visible"] for f in focused), [f["key"] for f in focused if not f["visible"]]
    # Type a postcode and press Enter: the search runs.
    page.focus("#where")
    page.keyboard.type("SY11 1JN")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_load_state("networkidle")
    assert "where=SY11" in page.url
    assert page.locator(".finder-result").count() >= 1, page.locator("main").inner_text()[:600]
    page.screenshot(path=str(shots / f"keyboard-finder-{width}.png"), full_page=True)
    ctx.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_the_contribute_form_by_keyboard_alone(browser, server, shots, width):
    ctx = browser.new_context(viewport={"width": width, "height": 900})
    page = ctx.new_page()
    page.goto(f"{server}/contribute", wait_until="networkidle")
    focused = tab_through(page, "#asset-form")
    missing = controls_of(page, "#asset-form") - _keys(focused)
    assert missing == set()
    assert all(f["visible"] for f in focused), [f["key"] for f in focused if not f["visible"]]
    assert "website" not in _keys(focused)  # the honeypot stays out of the way
    # Hours as said, read back on Enter in the name field? No: Enter in a field sends the form.
    page.focus("#name")
    page.keyboard.type("Oswestry Knit and Natter")
    page.focus("#hours_text")
    page.keyboard.type("Mon-Fri 9-5")
    page.focus("#postcode")
    page.keyboard.type("SY11 1PW")
    page.focus("#town")  # Enter in a field sends the form: "Read these hours" is its first button
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_load_state("networkidle")
    assert page.locator("#hours-reading").is_visible()
    assert "Mon–Fri 09:00–17:00" in page.locator("#hours-reading").inner_text()
    assert page.input_value("#hours_wed_times") == "09:00-17:00"
    page.screenshot(path=str(shots / f"keyboard-contribute-read-{width}.png"), full_page=True)
    # Sent again without a type: the error summary takes the focus, and its links lead to the fields.
    page.focus("#name")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_load_state("networkidle")
    assert page.evaluate("document.activeElement.id") == "error-summary"
    ctx.close()


@pytest.mark.parametrize("width", WIDTHS)
def test_the_moderation_queue_by_keyboard_alone(browser, server, signed_in, shots, width):
    ctx = browser.new_context(viewport={"width": width, "height": 900}, storage_state=signed_in)
    page = ctx.new_page()
    page.goto(f"{server}/moderate", wait_until="networkidle")
    focused = tab_through(page, "main")
    assert controls_of(page, "main") <= _keys(focused)
    assert all(f["visible"] for f in focused), [f["key"] for f in focused if not f["visible"]]
    # Search by keyboard: type, Enter.
    page.focus("#moderate-q")
    page.keyboard.type("Knit and Natter")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_load_state("networkidle")
    assert page.get_by_role("link", name="Oswestry Knit and Natter", exact=True).count() == 1
    page.go_back()
    page.wait_for_load_state("networkidle")
    # Tab to the first "Review" link and press Enter: the review page opens.
    page.evaluate("() => document.getElementById('moderate-q').focus()")
    for _ in range(80):
        page.keyboard.press("Tab")
        if page.evaluate("() => (document.activeElement.textContent || '').trim().startsWith('Review')"):
            break
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_load_state("networkidle")
    assert "/moderate/new/" in page.url or "/moderate/requests/" in page.url
    page.screenshot(path=str(shots / f"keyboard-review-{width}.png"), full_page=True)
    ctx.close()
