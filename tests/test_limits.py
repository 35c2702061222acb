"""Bounded expensive work: radii quantised, gap runs an anonymous client may start, the cap on
computations at once (503 with Retry-After), the statement timeout of each request, default runs
never pruned, the limited /api/v1/gaps, the client address behind trusted proxies, and the
friendly 429 page."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import text

from assetmap.db import engine, gap_runs
from assetmap.db.gap_options import gap_options
from assetmap.domain.gap_analysis import parse_gap_query
from tests.contribute_fixtures import csrf_token
from tests.gaps_fixtures import SHROPSHIRE
from tests.rollback import app_sharing

GAPS = f"/api/v1/gaps?lad={SHROPSHIRE}&category=library"


def _limited_app(gaps_db_url, gdb_conn, **config):
    return app_sharing(gaps_db_url, gdb_conn, RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://", **config)


def test_a_radius_in_the_query_is_rounded_to_100_m(gclient):
    body = gclient.get(GAPS + "&radius_m=1234.5").get_json()
    assert body["meta"]["parameters"]["radius_m"] == 1200.0
    assert gclient.get(GAPS + "&radius_m=49990").get_json()["meta"]["parameters"]["radius_m"] == 50000.0
    assert gclient.get(GAPS + "&radius_m=50001").status_code == 400


def test_an_anonymous_client_may_start_only_so_many_computations(gaps_db_url, gdb_conn):
    app = _limited_app(gaps_db_url, gdb_conn, ASSETMAP_ANON_COMPUTE_LIMIT="2 per hour")
    client = app.test_client()
    assert client.get(GAPS + "&radius_m=1100").status_code == 200
    assert client.get(GAPS + "&radius_m=1200").status_code == 200
    refused = client.get(GAPS + "&radius_m=1300")
    assert refused.status_code == 429
    body = refused.get_json()["error"]
    assert 3500 <= body["retry_after"] <= 3600 and int(refused.headers["Retry-After"]) == body["retry_after"]
    assert "new gap analyses" in body["message"]
    # runs already worked out are still served, and another client has its own allowance
    assert client.get(GAPS + "&radius_m=1100").status_code == 200
    other = client.get(GAPS + "&radius_m=1300", environ_base={"REMOTE_ADDR": "192.0.2.7"})
    assert other.status_code == 200
    # the page says it in words
    page = client.get(f"/plan?lad={SHROPSHIRE}&category=library&radius_m=1400")
    assert page.status_code == 429 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert "Please wait a moment" in html and "Please try again in an hour" in html


def test_computations_past_the_cap_get_503_with_retry_after(gaps_db_url, gdb_conn):
    app = _limited_app(gaps_db_url, gdb_conn, ASSETMAP_MAX_COMPUTATIONS=1, ASSETMAP_COMPUTE_RETRY_AFTER=7)
    client = app.test_client()
    assert client.get(GAPS).status_code == 200  # computed (or stored) before the slot is taken
    slots = app.extensions["assetmap.compute_slots"]
    held = slots.acquire()
    assert held is not None and slots.acquire() is None
    try:
        busy = client.get(GAPS + "&radius_m=2100")
        assert busy.status_code == 503 and busy.headers["Retry-After"] == "7"
        assert busy.get_json()["error"]["retry_after"] == 7
        page = client.get(f"/plan?lad={SHROPSHIRE}&category=library&radius_m=2100")
        assert page.status_code == 503 and "Please try again in 7 seconds" in page.get_data(as_text=True)
        assert client.get(GAPS).status_code == 200  # a stored run needs no slot
    finally:
        slots.release(held)
    assert client.get(GAPS + "&radius_m=2100").status_code == 200


def test_the_slots_are_shared_by_every_process_of_the_server(gaps_db_url, gdb_conn, tmp_path):
    import subprocess
    import sys

    from assetmap.web.limits import FileSlots

    slots = FileSlots(tmp_path / "slots", 1)
    held = slots.acquire()
    probe = ("import sys; from pathlib import Path; from assetmap.web.limits import FileSlots; "
             "print(FileSlots(Path(sys.argv[1]), 1).acquire() is None)")
    out = subprocess.run([sys.executable, "-c", probe, str(tmp_path / "slots")], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "True"
    slots.release(held)
    out = subprocess.run([sys.executable, "-c", probe, str(tmp_path / "slots")], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False"


def test_england_wide_geojson_and_new_england_wide_runs_are_for_signed_in_users(gclient):
    refused = gclient.get("/plan/gaps.geojson?lad=all&category=library")
    assert refused.status_code == 403 and "sign in" in refused.get_data(as_text=True)
    new = gclient.get("/api/v1/gaps?lad=all&category=library&radius_m=4200")
    assert new.status_code == 403 and "signed-in planners" in new.get_json()["error"]["message"]


def test_the_gap_api_is_rate_limited_but_the_rest_of_the_api_is_not(gaps_db_url, gdb_conn):
    app = _limited_app(gaps_db_url, gdb_conn, ASSETMAP_GAP_RATE_LIMIT="2 per minute")
    client = app.test_client()
    statuses = [client.get(GAPS).status_code for _ in range(3)]
    assert statuses == [200, 200, 429]
    refused = client.get(GAPS)
    body = refused.get_json()["error"]
    assert 1 <= body["retry_after"] <= 60 and refused.headers["Retry-After"] == str(body["retry_after"])
    assert all(client.get("/api/v1/categories").status_code == 200 for _ in range(5))


def test_x_forwarded_for_counts_only_through_the_trusted_proxies(gaps_db_url, gdb_conn):
    def statuses(app, forwarded):
        client = app.test_client()
        return [client.get(GAPS, headers={"X-Forwarded-For": f}).status_code for f in forwarded]

    trusting = _limited_app(gaps_db_url, gdb_conn, ASSETMAP_GAP_RATE_LIMIT="1 per minute",
                            ASSETMAP_TRUSTED_PROXIES=1)
    # behind one proxy: each forwarded client has its own count; a client's own header is ignored
    assert statuses(trusting, ["198.51.100.1", "198.51.100.2", "6.6.6.6, 198.51.100.1"]) == [200, 200, 429]
    direct = _limited_app(gaps_db_url, gdb_conn, ASSETMAP_GAP_RATE_LIMIT="1 per minute")
    # no trusted proxy: the header is not believed at all
    assert statuses(direct, ["198.51.100.3", "198.51.100.4"]) == [200, 429]


@pytest.mark.app_config(RATELIMIT_ENABLED=True, RATELIMIT_STORAGE_URI="memory://")
def test_a_rate_limited_sign_in_says_when_to_try_again(client):
    token = csrf_token(client, "/login")
    responses = [client.post("/login", data={"email": "x@example.org", "password": "nope", "csrf_token": token})
                 for _ in range(6)]
    last = responses[-1]
    assert last.status_code == 429
    html = last.get_data(as_text=True)
    assert "Please wait a moment" in html and "5 a minute" in html
    assert re.search(r"Please try again in (a minute|\d\d? seconds)\.", html)
    assert "Too Many Requests" not in html and int(last.headers["Retry-After"]) <= 60


def test_default_runs_are_never_pruned(gdb, monkeypatch):
    monkeypatch.setattr(gap_runs, "MAX_RUNS", 2)
    options = gap_options(gdb)
    categories = {r["slug"]: r["catchment_m"] for r in options["categories"]}
    indicators = {r["key"]: r["label"] for r in options["indicators"]}

    def params(**query):
        return parse_gap_query({"lad": SHROPSHIRE, "category": "library", **query}, lads={SHROPSHIRE: "x"},
                               categories=categories, indicators=indicators)

    default = gap_runs.ensure_run(gdb, params())
    assert gap_runs.is_default_run(params(), options) and not gap_runs.is_default_run(params(radius_m="900"), options)
    for radius in ("900", "1000", "1100", "1200"):
        gap_runs.ensure_run(gdb, params(radius_m=radius))
    kept = {r["params"]["radius_m"] for r in gap_runs.current_runs(gdb, lads=[SHROPSHIRE], categories=["library"])}
    assert gap_runs.current_run(gdb, default["id"]) is not None
    assert kept == {default["params"]["radius_m"], 1100.0, 1200.0}


def test_connections_carry_the_statement_timeout_of_their_context(db_url):
    def timeout():
        with engine.get_engine(db_url).connect() as conn:
            return conn.execute(text("SHOW statement_timeout")).scalar()

    assert timeout() == "0"
    token = engine.statement_timeout_ms.set(1500)
    try:
        assert timeout() == "1500ms"
        with engine.get_read_engine(db_url).connect() as conn:
            assert conn.execute(text("SHOW statement_timeout")).scalar() == "1500ms"
    finally:
        engine.statement_timeout_ms.reset(token)
    assert timeout() == "0"  # the command line's connections have none


@pytest.fixture
def timed_app(db_url):
    """The app with its own connections (not the test's transaction), and two views to probe them."""
    from assetmap.web import create_app
    from assetmap.web.db import get_reader, get_session

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": db_url, "SECRET_KEY": "test",
                      "RATELIMIT_ENABLED": False, "ASSETMAP_STATEMENT_TIMEOUT_MS": 400})
    app.add_url_rule("/_timeout", "timeout", lambda: get_session().execute(text("SHOW statement_timeout")).scalar())
    app.add_url_rule("/api/_timeout", "api_timeout",
                     lambda: str(get_reader().execute(text("SHOW statement_timeout")).scalar()))
    app.add_url_rule("/_sleep", "sleep", lambda: str(get_session().execute(text("SELECT pg_sleep(2)")).scalar()))
    return app


def test_each_request_has_a_statement_timeout_and_one_that_runs_out_is_a_503(timed_app):
    client = timed_app.test_client()
    assert client.get("/_timeout").get_data(as_text=True) == "400ms"
    assert client.get("/api/_timeout").get_data(as_text=True) == "400ms"
    slow = client.get("/_sleep")
    assert slow.status_code == 503 and slow.headers["Retry-After"] == "30"
    assert "took too long" in slow.get_data(as_text=True)


def test_redis_slots_are_shared_by_servers_and_released_by_their_holder(tmp_path):
    from assetmap.web.limits import FileSlots, RedisSlots
    from tests.live import redis_url

    with redis_url(tmp_path / "redis") as url:
        prefix = f"test:{tmp_path.name}"
        one = RedisSlots(url, prefix, 1, FileSlots(tmp_path / "a", 1))
        two = RedisSlots(url, prefix, 1, FileSlots(tmp_path / "b", 1))
        held = one.acquire()
        assert held[0] == "redis" and two.acquire() is None
        two.release(("redis", held[1], "not its token"))  # only the holder's release counts
        assert two.acquire() is None
        one.release(held)
        again = two.acquire()
        assert again is not None
        two.release(again)
    # Redis gone: each server falls back to its own machine's slots
    down = RedisSlots("redis://127.0.0.1:9/0", prefix, 1, FileSlots(tmp_path / "c", 1))
    fallback = down.acquire()
    assert fallback[0] == "file" and down.acquire() is None
    down.release(fallback)
