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
    base = f"http://127.0.0.1:{httpd.server_port}"
    # Absolute links (a shortlist's share link, API paging) are built on the public address, as in
    # production: here, the server's own.
    app.config.setdefault("ASSETMAP_BASE_URL", None)
    if not app.config["ASSETMAP_BASE_URL"]:
        app.config["ASSETMAP_BASE_URL"] = base
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield base
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


@contextmanager
def redis_url(folder: Path):
    """A real Redis: ``ASSETMAP_TEST_REDIS_URL`` when set (``make test`` starts the project-local
    one), else a throwaway one under ``folder``, stopped afterwards."""
    given = os.environ.get("ASSETMAP_TEST_REDIS_URL")
    if given:
        yield given
        return
    from assetmap.db.redis_server import LocalRedis

    server = LocalRedis(Path(folder))
    url = server.up(echo=lambda *_: None)
    try:
        yield url
    finally:
        server.down(echo=lambda *_: None)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def gunicorn_server(env: dict, workers: int = 2, log: Path | None = None):
    """``assetmap.web:create_app()`` under gunicorn (the production config) on a free loopback
    port, with ``env`` added to the environment; yields its base URL; stopped afterwards."""
    import subprocess
    import sys
    import time
    import urllib.request

    port = free_port()
    gunicorn = Path(sys.executable).with_name("gunicorn")
    out = open(log, "ab") if log else subprocess.DEVNULL
    process = subprocess.Popen(
        [str(gunicorn), "--config", "python:assetmap.gunicorn_conf", "assetmap.web:create_app()"],
        env={**os.environ, "ASSETMAP_BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": str(workers), **env},
        cwd=Path(__file__).resolve().parent.parent, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=2):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"gunicorn did not start (exit {process.returncode})") from None
                time.sleep(0.2)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if log:
            out.close()


def watch_problems(page) -> list[str]:
    """The page's script errors and failed requests, collected as they happen.

    A request the browser cancels itself (``net::ERR_ABORTED``: the page navigated away while the
    favicon or an image was still loading, as "Use my location" does at once) is not a fault of the
    server or the page, so it is not counted; refused connections, resets and DNS failures are."""
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.on("requestfailed", lambda r: None if r.failure == "net::ERR_ABORTED"
            else problems.append(f"failed: {r.url} ({r.failure})"))
    return problems
