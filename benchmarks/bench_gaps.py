"""Benchmark the gap analysis on the England demo data: figures, and ratios against a baseline
measured in the same run. Everything runs on the default geography, IoD 2025 on LSOA 2021.

1. England, 33,755 LSOAs 2021 x 100,000 assets, 3 km: ``two_step_fca`` end to end (neighbour
   search included) against KD-tree pairs + PySAL ``access`` (``benchmarks/bench_access.py``'s
   baseline, reused), on the real LSOA population points (``ST_PointOnSurface`` in EPSG:27700)
   and the real published assets, topped up to 100,000 with points scattered around real ones.
   The first call is a web worker's first, after the start-up step that loads the compiled
   loop (``access.warm_up``); that step's time is printed too. Also the whole England run from
   the database (load, compute, no store).
2. The recompute after one approval in Shropshire (``recompute_for_asset_change``), with the
   Shropshire runs of the category alone (one of them with a 6 km rural radius) and with an
   England-wide run as well; in a transaction that is rolled back.
3. The gap pages in headless Chromium: bytes transferred (HTML, the app's scripts and styles,
   vector tiles; body and headers as Chromium counts them), first paint, first contentful paint,
   and the moment the map's first layer has drawn all its tiles, for Shropshire and for England,
   by 2024 ward (the page's default) and by LSOA 2021; against the same pages on IoD 2019 and
   LSOA 2011, and against the same pages uncompressed (Chromium takes zstd from a loopback server).

Needs a database with the demo (``assetmap demo``; ``--scope england`` for the England figures,
``--scope local`` gives Shropshire and Oldham only, and the England pages then cover those).
Parts 2 and 3 write (part 3 commits the runs it computes), so by default it uses
``assetmap_bench_gaps``, a copy of the demo database, or one loaded for the benchmark; it refuses
to run on ``assetmap`` itself::

    createdb -T assetmap assetmap_bench_gaps   # or pg_dump | pg_restore while the demo is in use
    DATABASE_URL=$(.venv/bin/assetmap db url --database assetmap_bench_gaps) .venv/bin/assetmap db upgrade
    .venv/bin/python benchmarks/bench_gaps.py [--database assetmap_bench_gaps] [--parts 1,2,3] [--skip-browser]
"""
from __future__ import annotations

import argparse
import logging
import statistics
import sys
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import text
from sqlalchemy.engine import make_url

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_access import baseline_kdtree_pysal, timed  # reused, not duplicated

from assetmap.db import area_geometry, gap_options, gap_refresh, gap_runs
from assetmap.db.cluster import database_url
from assetmap.db.engine import get_engine, make_session, session_scope
from assetmap.domain.access import two_step_fca, warm_up
from assetmap.domain.gap_analysis import DEFAULT_INDICATOR, EARLIER_DEFAULT_INDICATOR, GapParams

SHROPSHIRE = "E06000051"
#: The default geography and need (IoD 2025 on LSOA 2021), and the earlier one as the baseline.
LSOA_LEVEL, INDICATOR, HEALTH = "lsoa21", DEFAULT_INDICATOR, "health_rank_2025"
EARLIER_INDICATOR = EARLIER_DEFAULT_INDICATOR
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def england_frames(session, n_supply: int, seed: int = 27700, level: str = LSOA_LEVEL):
    """Real LSOA points and populations; real published assets topped up to ``n_supply``."""
    area_geometry.refresh_area_geometry(session, check_changed=False, tiles=False)
    demand = pd.DataFrame(session.execute(text(
        "SELECT a.code AS id, p.x, p.y, COALESCE(a.population, 0) AS population "
        "FROM area a JOIN area_point p ON p.area_id = a.id WHERE a.level = :level ORDER BY a.code"
    ), {"level": level}).mappings().all())
    real = pd.DataFrame(session.execute(text(
        "SELECT id, ST_X(ST_Transform(location, 27700)) AS x, ST_Y(ST_Transform(location, 27700)) AS y, capacity "
        "FROM asset WHERE status = 'published' AND location IS NOT NULL ORDER BY id"
    )).mappings().all())
    rng = np.random.default_rng(seed)
    extra = max(0, n_supply - len(real))
    around = real.iloc[rng.integers(0, len(real), extra)]
    synthetic = pd.DataFrame({
        "id": np.arange(10**8, 10**8 + extra),
        "x": around["x"].to_numpy() + rng.normal(0, 1500, extra),
        "y": around["y"].to_numpy() + rng.normal(0, 1500, extra),
        "capacity": rng.integers(1, 10, extra).astype(float),
    })
    supply = pd.concat([real.assign(capacity=pd.to_numeric(real["capacity"], errors="coerce")), synthetic],
                       ignore_index=True)
    return demand, supply, len(real)


def bench_england(url: str, radius: float, repeat: int) -> None:
    print(f"\n1. England end to end, radius {radius:,.0f} m")
    with session_scope(url) as session:
        demand, supply, n_real = england_frames(session, 100_000)
    print(f"   {len(demand):,} LSOAs, {len(supply):,} assets ({n_real:,} real, the rest scattered around them)")
    # What a web worker does as it starts (gunicorn_conf.post_worker_init), so the first call
    # below is a planner's first request to a worker; without it, that request pays this too.
    _, t_warm = timed(warm_up)
    t_ours, t_base = [], []
    for _ in range(repeat):
        ours, seconds = timed(two_step_fca, demand, supply, radius)
        t_ours.append(seconds)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            (theirs, n_pairs), seconds = timed(baseline_kdtree_pysal, demand, supply, radius)
        t_base.append(seconds)
    theirs = theirs.fillna(0.0).to_numpy()
    reached = ours.to_numpy() > 0
    rel = float(np.max(np.abs(ours.to_numpy()[reached] - theirs[reached]) / theirs[reached]))
    same_zero = bool(np.array_equal(reached, theirs > 0))
    print(f"   {n_pairs:,} in-reach pairs; best of {repeat}: two_step_fca {min(t_ours):.2f} s "
          f"(a worker's first call {t_ours[0]:.2f} s: {min(t_base) / t_ours[0]:.1f}x; in a process that did not "
          f"load the compiled loop at start-up, {t_warm:.2f} s more: {min(t_base) / (t_warm + t_ours[0]):.1f}x), "
          f"KD-tree + PySAL access {min(t_base):.2f} s: {min(t_base) / min(t_ours):.1f}x; "
          f"max relative difference {rel:.1e}; same areas with nothing in reach: {same_zero}")

    params = GapParams("all", "pharmacy", INDICATOR, "all", 2000.0, "gaussian")
    session = make_session(url)
    try:
        started = time.perf_counter()
        computed = gap_runs.compute_run(session, params)
        print(f"   whole England run from the database (pharmacies, 2 km, E2SFCA; load + compute, no store): "
              f"{time.perf_counter() - started:.2f} s for {len(computed['frame']):,} LSOAs, "
              f"{len(computed['supply']):,} pharmacies")
    finally:
        session.rollback()
        session.close()


def bench_recompute(url: str, repeat: int) -> None:
    print("\n2. Recompute after one approval in Shropshire")
    for label, lads in [("Shropshire runs only", [SHROPSHIRE]),
                        ("Shropshire runs and an England run", [SHROPSHIRE, "all"])]:
        session = make_session(url)
        try:
            runs = [GapParams(lad, "pharmacy", indicator, group, 2000.0, decay, rural)
                    for lad in lads
                    for indicator, group, decay, rural in [(INDICATOR, "all", "gaussian", None),
                                                           (INDICATOR, "all", "none", None),
                                                           (HEALTH, "60+", "gaussian", None),
                                                           (INDICATOR, "all", "gaussian", 6000.0)]]
            if "all" not in lads:  # England runs stored earlier would be updated too
                session.execute(text("DELETE FROM gap_run WHERE lad_code = 'all'"))
            for p in runs:
                gap_runs.ensure_run(session, p)
            times = []
            for i in range(repeat):
                lon, lat = -2.7553 + 0.002 * i, 52.7077  # Shrewsbury town centre, a little further each time
                asset_id = session.execute(text(
                    """
                    INSERT INTO asset (uuid, name, location, status, source, access_modes, age_groups,
                                       accessibility, version)
                    VALUES (gen_random_uuid(), 'Benchmark pharmacy', ST_SetSRID(ST_MakePoint(:lon, :lat), 4326),
                            'published', 'bench', '{}', '{}', '{}', 1)
                    RETURNING id
                    """
                ), {"lon": lon, "lat": lat}).scalar_one()
                session.execute(text(
                    "INSERT INTO asset_term (asset_id, term_id) SELECT :a, id FROM taxonomy_term "
                    "WHERE vocabulary = 'asset-type' AND slug = 'pharmacy'"), {"a": asset_id})
                started = time.perf_counter()
                result = gap_refresh.recompute_for_asset_change(session, asset_id)
                times.append(time.perf_counter() - started)
            print(f"   {label} ({len(result['runs'])} runs updated, {result['areas']} LSOAs in reach): "
                  f"median {statistics.median(times) * 1000:.0f} ms, max {max(times) * 1000:.0f} ms "
                  f"over {repeat} approvals (target < 1 s)")
        finally:
            session.rollback()
            session.close()


def _kind(url: str) -> str:
    if "/tiles/" in url and ".pbf" in url:
        return "tiles"
    if "/plan?" in url:
        return "html"
    return "other"


def measure_page(browser, base: str, path: str) -> dict:
    """One visit: bytes transferred by kind (body and headers as Chromium counts them, every
    response until the network is idle), first paint, first contentful paint, map drawn (ms)."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    finished = []
    page.on("requestfinished", lambda request: finished.append(request))
    page.goto(base + path, wait_until="load")
    page.wait_for_selector("body[data-gap-map-ready]", timeout=120_000)
    page.wait_for_load_state("networkidle")
    paints = page.evaluate(
        "Object.fromEntries(performance.getEntriesByType('paint').map(e => [e.name, e.startTime]))")
    ready = int(page.get_attribute("body", "data-gap-map-ready"))
    sizes = {"html": 0, "other": 0, "tiles": 0, "n_tiles": 0}
    for request in finished:
        got = request.sizes()
        sizes[_kind(request.url)] += got["responseBodySize"] + got["responseHeadersSize"]
        sizes["n_tiles"] += _kind(request.url) == "tiles"
    page.close()
    return {"fp": paints.get("first-paint"), "fcp": paints.get("first-contentful-paint"), "ready": ready,
            "total": sizes["html"] + sizes["other"] + sizes["tiles"], **sizes}


def bench_pages(url: str, repeat: int = 3) -> None:
    from playwright.sync_api import sync_playwright
    from werkzeug.serving import make_server

    from assetmap.web import create_app

    print("\n3. Gap pages in headless Chromium, 1280 x 900 (runs computed first; base-map tiles not loaded; "
          "IoD 2025 on LSOA 2021 against IoD 2019 on LSOA 2011 and against no compression, taking turns)")
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    settings = {"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "RATELIMIT_ENABLED": False, "TILE_URL": None}
    # The same app with compression off (nothing's type is compressible): the baseline for bytes.
    servers = [make_server("127.0.0.1", 0, create_app(settings), threaded=True),
               make_server("127.0.0.1", 0, create_app({**settings, "COMPRESS_MIMETYPES": []}), threaded=True)]
    for httpd in servers:
        threading.Thread(target=httpd.serve_forever, daemon=True).start()
    base, plain_base = (f"http://127.0.0.1:{httpd.server_port}" for httpd in servers)
    pages = [(f"{place}, pharmacies, by {by}", f"/plan?lad={lad}&category=pharmacy{level}", budget)
             for place, lad, budget in [("Shropshire", SHROPSHIRE, 2_000_000), ("England", "all", 2_000_000)]
             for by, level in [("ward (the default)", ""), ("LSOA", "&level=lsoa")]]
    try:
        # Compute and store the runs before timing the pages (here, not through the app: an
        # anonymous visitor may not start an England-wide run).
        for lad in (SHROPSHIRE, "all"):
            for indicator in (INDICATOR, EARLIER_INDICATOR):
                with session_scope(url) as session:
                    query = {"lad": lad, "category": "pharmacy", "indicator": indicator}
                    gap_runs.ensure_run(session, gap_options.parse_query(session, query)[0])
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            for label, path, budget in pages:
                results = {INDICATOR: [], EARLIER_INDICATOR: [], "uncompressed": []}
                for _ in range(repeat):
                    for key in results:
                        indicator = INDICATOR if key == "uncompressed" else key
                        results[key].append(measure_page(browser, plain_base if key == "uncompressed" else base,
                                                         f"{path}&indicator={indicator}"))
                med = {ind: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for ind, rs in results.items()}
                now, then, first = med[INDICATOR], med[EARLIER_INDICATOR], results[INDICATOR][0]
                print(f"   {label}, IoD 2025 on LSOA 2021: {now['total'] / 1024:,.0f} KB transferred "
                      f"(budget {budget / 1024:,.0f} KB: {'within' if now['total'] <= budget else 'OVER'}; "
                      f"page {now['html'] / 1024:,.0f} KB, scripts and styles {now['other'] / 1024:,.0f} KB, "
                      f"{now['n_tiles']:.0f} tiles {now['tiles'] / 1024:,.0f} KB); median of {repeat}: "
                      f"first paint {now['fp'] / 1000:.2f} s, first contentful paint {now['fcp'] / 1000:.2f} s, "
                      f"map drawn {now['ready'] / 1000:.2f} s; the first visit (nothing kept yet): first paint "
                      f"{first['fp'] / 1000:.2f} s, map drawn {first['ready'] / 1000:.2f} s")
                print(f"      against IoD 2019 on LSOA 2011: {then['total'] / 1024:,.0f} KB "
                      f"({now['total'] / then['total']:.2f}x), first contentful paint {then['fcp'] / 1000:.2f} s "
                      f"({now['fcp'] / then['fcp']:.2f}x), map drawn {then['ready'] / 1000:.2f} s "
                      f"({now['ready'] / then['ready']:.2f}x)")
                plain = med["uncompressed"]
                print(f"      against the same page uncompressed: {plain['total'] / 1024:,.0f} KB "
                      f"({now['total'] / plain['total']:.2f}x; page {plain['html'] / 1024:,.0f} KB, scripts and "
                      f"styles {plain['other'] / 1024:,.0f} KB, tiles {plain['tiles'] / 1024:,.0f} KB), first paint "
                      f"{plain['fp'] / 1000:.2f} s ({now['fp'] / plain['fp']:.2f}x)")
            browser.close()
    finally:
        for httpd in servers:
            httpd.shutdown()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", default="assetmap_bench_gaps", help="a copy of the demo database")
    parser.add_argument("--radius", type=float, default=3000.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--parts", default="1,2,3", help="which parts to run, e.g. 3 or 2,3")
    parser.add_argument("--skip-browser", action="store_true", help="leave out part 3")
    args = parser.parse_args(argv)
    url = database_url(args.database)
    if make_url(url).database == "assetmap":
        raise SystemExit("refusing to write to the demo database 'assetmap': benchmark a copy (see the docstring)")
    parts = {p.strip() for p in args.parts.split(",")} - ({"3"} if args.skip_browser else set())
    with get_engine(url).connect() as conn:
        n = dict(conn.execute(text(
            "SELECT level, count(*) FROM area WHERE level IN ('lsoa', 'lsoa21') GROUP BY level")).all())
    print(f"database {make_url(url).database}: {n.get('lsoa21', 0):,} LSOAs 2021, {n.get('lsoa', 0):,} LSOAs 2011")
    if "1" in parts:
        bench_england(url, args.radius, args.repeat)
    if "2" in parts:
        bench_recompute(url, max(5, args.repeat))
    if "3" in parts:
        bench_pages(url, args.repeat)


if __name__ == "__main__":
    main()
