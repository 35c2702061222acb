"""The home page in headless Chromium: the list, and a map whose markers draw from the app's own
scripts under the Content-Security-Policy, with nothing loaded from outside."""
import pytest

from tests.factories import make_asset
from tests.live import committed_clone, live_server, watch_problems

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server(db_url):
    from assetmap.db.engine import session_scope

    with committed_clone(db_url, "browser_area") as url:
        with session_scope(url) as session:
            make_asset(session, "Oswestry Library", lon=-3.0540, lat=52.8600, category="library")
            make_asset(session, "Ludlow Library", lon=-2.7180, lat=52.3680, category="library")
            make_asset(session, "Market Drayton Food Bank", lon=-2.4852, lat=52.9026, category="food-bank")
        with live_server({"SQLALCHEMY_DATABASE_URI": url}) as base:
            yield base


def _watch(page) -> tuple[list[str], list[str]]:
    """The page's script errors and failed requests, and every URL it requests, as they happen."""
    problems = watch_problems(page)
    requested: list[str] = []
    page.on("request", lambda r: requested.append(r.url))
    return problems, requested


def test_home_page_shows_the_list_and_the_markers(server, browser, shots):
    for width in (360, 1280):
        page = browser.new_page(viewport={"width": width, "height": 900})
        problems, requested = _watch(page)
        page.goto(server + "/areas/E06000051", wait_until="networkidle")
        assert page.locator("h1").inner_text() == "Community assets in Shropshire"
        assert page.locator(".asset-list li").count() == 3
        # Three markers drawn (singly or in clusters) by Leaflet on the map.
        page.wait_for_selector(".leaflet-interactive, .marker-cluster")
        drawn = page.locator("path.leaflet-interactive").count() + page.locator(".marker-cluster").count()
        assert drawn >= 1
        page.screenshot(path=str(shots / f"home-{width}.png"), full_page=True)
        assert problems == []  # no CSP refusals, no failed vendor files, no script errors
        assert all(u.startswith(server) or u.startswith("data:") for u in requested)
        page.close()
