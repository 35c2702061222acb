"""Benchmark the queries behind the contribute form and the moderation pages.

Read-only (one READ ONLY transaction, rolled back), so it can run against any database at head
that holds assets and areas, e.g. a demo database::

    DATABASE_URL=$(.venv/bin/assetmap db url --database assetmap) .venv/bin/python benchmarks/bench_moderation.py

Prints, for random published assets' positions (median and p95 in ms, and ratios measured in
the same run):

(a) ``find_duplicates`` (similar name within 150 m): the query as written, a box on the geometry
    GiST index first and metres on geography after; baseline: the same without the box, metres
    on geography only (which no index on the geometry column can serve).
(b) ``is_inside_loaded_area`` (the "inside an area we cover" check of every submission);
    baseline: ``SELECT 1``, the round trip alone.
(c) the first page of ``queue`` and of ``stale_assets``.
"""
from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from pathlib import Path

from sqlalchemy import text

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

from assetmap.db import moderation  # noqa: E402
from assetmap.db.cluster import database_url  # noqa: E402
from assetmap.db.engine import make_session  # noqa: E402

_NO_BOX = """
    WITH p AS (SELECT ST_SetSRID(ST_MakePoint(:lon, :lat), 4326) AS pt)
    SELECT a.id FROM asset a, p
    WHERE a.status IN ('published', 'pending') AND a.location IS NOT NULL
      AND ST_DWithin(a.location::geography, p.pt::geography, 150)
      AND (similarity(lower(a.name), lower(:name)) >= 0.3
           OR strpos(lower(a.name), lower(:name)) > 0 OR strpos(lower(:name), lower(a.name)) > 0)
    ORDER BY a.id LIMIT 5
"""


def _time(fn, runs: int) -> tuple[float, float]:
    fn()  # warm the cache and the plan
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    samples.sort()
    return statistics.median(samples), samples[int(0.95 * (len(samples) - 1))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--seed", type=int, default=4)
    args = parser.parse_args()
    session = make_session(database_url())
    session.execute(text("SET TRANSACTION READ ONLY"))
    points = session.execute(text(
        "SELECT name, ST_X(location), ST_Y(location) FROM asset WHERE status = 'published' AND location IS NOT NULL"
    )).all()
    if not points:
        print("no published assets in this database: load some first (assetmap demo)")
        return 1
    n_assets = len(points)
    n_lsoas = session.execute(text("SELECT count(*) FROM area WHERE level = 'lsoa'")).scalar_one()
    rng = random.Random(args.seed)
    it = iter(())  # the positions of the measurement under way

    def duplicates():
        name, lon, lat = next(it)
        moderation.find_duplicates(session, name, lon, lat)

    def duplicates_no_box():
        name, lon, lat = next(it)
        session.execute(text(_NO_BOX), {"name": name, "lon": lon, "lat": lat}).all()

    def inside():
        _, lon, lat = next(it)
        moderation.is_inside_loaded_area(session, lon, lat)

    def round_trip():
        session.execute(text("SELECT 1")).scalar()

    print(f"database: {n_assets:,} published assets, {n_lsoas:,} LSOAs; {args.runs} runs each")
    results = {}
    for label, fn in [("(a) find_duplicates", duplicates), ("    baseline: no index box", duplicates_no_box),
                      ("(b) is_inside_loaded_area", inside), ("    baseline: SELECT 1", round_trip)]:
        it = iter(rng.choice(points) for _ in range(args.runs + 1))
        results[label] = _time(fn, args.runs)
        print(f"{label:30s} median {results[label][0]:8.2f} ms   p95 {results[label][1]:8.2f} ms")
    a, base_a = results["(a) find_duplicates"][0], results["    baseline: no index box"][0]
    b, base_b = results["(b) is_inside_loaded_area"][0], results["    baseline: SELECT 1"][0]
    print(f"(a) the index box makes the duplicate check {base_a / a:.0f}x faster than without it")
    print(f"(b) the area check costs {b / base_b:.1f}x a bare round trip")
    queue_ms = _time(lambda: moderation.queue(session, limit=50), max(args.runs // 10, 5))
    stale_ms = _time(lambda: moderation.stale_assets(session, 12, limit=50), max(args.runs // 10, 5))
    print(f"(c) queue, first 50          median {queue_ms[0]:8.2f} ms   p95 {queue_ms[1]:8.2f} ms")
    print(f"    stale list, first 50     median {stale_ms[0]:8.2f} ms   p95 {stale_ms[1]:8.2f} ms")
    session.rollback()
    session.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
