"""What the browser tests share: a committed clone of the reference-data template (a server
thread uses its own connections, which would not see a test's rolled-back transaction), the app
served from a thread on loopback, headless Chromium, and where screenshots go."""
from __future__ import annotations

import os
import threading
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from werkzeug.serving import make_server

from assetmap.db.engine import dispose_engines, drop_database

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def clone_template(db_url: str, suffix: str) -> str:
    """A new database ``<test db>_<suffix>`` cloned from the session's template; returns its URL."""
    target = make_url(db_url)
    name = f"{target.database}_{suffix}"
    url = target.set(database=name).render_as_string(hide_password=False)
    drop_database(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{target.database}_template"'))
    admin.dispose()
    return url


@contextmanager
def committed_clone(db_url: str, suffix: str):
    """:func:`clone_template` for the length of a ``with`` block, dropped afterwards."""
    url = clone_template(db_url, suffix)
    try:
        yield url
    finally:
        dispose_engines(url)
        drop_database(url)


@contextmanager
def live_server(config: dict):
    """The app (``create_app(config)``) served by a thread on 127.0.0.1; yields its base URL.
    No base map is loaded unless ``config`` names one: nothing is fetched from outside."""
    from assetmap.web import create_app

    app = create_app({"SECRET_KEY": "browser-test", "RATELIMIT_ENABLED": False, "TILE_URL": None,
                      "TILE_ATTRIBUTION": None, **config})
    httpd = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}"
    finally:
        httpd.shutdown()
        thread.join(timeout=10)


@contextmanager
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def screenshot_dir(fallback: Path) -> Path:
    """``ASSETMAP_SCREENSHOT_DIR`` when set (to keep them and look), else ``fallback``."""
    path = Path(os.environ.get("ASSETMAP_SCREENSHOT_DIR") or os.environ.get("ASSETMAP_SCREENSHOTS") or fallback)
    path.mkdir(parents=True, exist_ok=True)
    return path


def screenshot_widths(page, path: Path, name: str) -> None:
    """Full-page screenshots at a phone's and a desktop's width (the page is left at 1280)."""
    for width in (360, 1280):
        page.set_viewport_size({"width": width, "height": 900})
        page.wait_for_timeout(150)
        page.screenshot(path=str(path / f"{name}-{width}.png"), full_page=True)
    page.set_viewport_size({"width": 1280, "height": 900})
