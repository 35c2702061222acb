"""Mixed load against the production server (gunicorn) on loopback: 70% finder API, 20% asset
pages, 10% gap map, for 60 s. Prints requests per second with p50/p95/p99 and errors, and a
baseline measured in the same run (/healthz: the server with no database work), so the figures
read as ratios on this noisy 2-core machine.

    DATABASE_URL=... python benchmarks/bench_load.py [--seconds 60] [--clients N]

Default database: the local demo (`make run` loads it). Read-only apart from the gap runs the
gap map stores.
"""
from __future__ import annotations

import argparse
import os
import random
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parent))
import loadgen

from assetmap.db.cluster import database_url

AREAS = ("E06000051", "E08000004")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(url: str, port: int, workers: int | None, log: Path | None = None) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "bench-" + "x" * 32, "ASSETMAP_ENV": "production",
           "ASSETMAP_BASE_URL": os.environ.get("ASSETMAP_BASE_URL", "https://bench.example.org")}
    if workers:
        env["WEB_CONCURRENCY"] = str(workers)
    exe = Path(sys.executable).with_name("assetmap")
    out = open(log, "w") if log else subprocess.DEVNULL
    proc = subprocess.Popen([str(exe), "serve", "--production", "--port", str(port)], env=env,
                            stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2):
                return proc
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise SystemExit("gunicorn did not become ready")


def sample(url: str):
    engine = create_engine(url)
    with engine.connect() as c:
        postcodes = c.execute(text(
            "SELECT postcode FROM postcode WHERE lad_code = ANY(:l) ORDER BY random() LIMIT 2000"), {"l": list(AREAS)}
        ).scalars().all()
        assets = c.execute(text(
            """SELECT a.id FROM asset a JOIN area l ON l.level = 'lsoa' AND l.lad_code = ANY(:l)
               AND ST_Intersects(a.location, l.geom) WHERE a.status = 'published' ORDER BY random() LIMIT 2000"""),
            {"l": list(AREAS)},
        ).scalars().all()
    engine.dispose()
    if not postcodes or not assets:
        raise SystemExit("no Shropshire/Oldham postcodes or assets: load the demo first (make run)")
    return postcodes, assets


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--clients", type=int, default=None,
                    help="Fixed number of clients; default: ramp 1, 2, 4, 8 for 15 s each and run the full "
                         "length at the most that keeps p99 under 200 ms.")
    ap.add_argument("--workers", type=int, default=None,
                    help="gunicorn workers (default: the production settings', assetmap/gunicorn_conf.py)")
    args = ap.parse_args()
    url = database_url()
    postcodes, assets = sample(url)
    categories = ["pharmacy", "library", "gp-practice"]

    def mixed(rng: random.Random):
        r = rng.random()
        if r < 0.70:
            pc = rng.choice(postcodes).replace(" ", "+")
            return "finder api", f"/api/v1/assets?postcode={pc}&radius_m=3000"
        if r < 0.90:
            return "asset page", f"/assets/{rng.choice(assets)}"
        return "gap map", f"/plan?lad={rng.choice(AREAS)}&category={rng.choice(categories)}"

    port = free_port()
    proc = start_gunicorn(url, port, args.workers)
    base = f"http://127.0.0.1:{port}"
    try:
        # Warm every gap map once (the first visit computes and stores the run).
        for lad in AREAS:
            for cat in categories:
                urllib.request.urlopen(f"{base}/plan?lad={lad}&category={cat}", timeout=120).read()
        clients = args.clients
        if clients is None:
            clients = 1
            for n in (1, 2, 4, 8):
                step = loadgen.run(base, mixed, n, 15)
                print(f"ramp {n} clients: {step.count / step.elapsed_s:.1f} req/s, p99 {step.pct(99):.0f} ms")
                if step.pct(99) < 200:
                    clients = n
        workers = args.workers or f"{(os.cpu_count() or 1) + 1} (production)"
        print(f"gunicorn: {workers} workers on {os.cpu_count()} CPUs; {clients} clients; loopback only")
        baseline = loadgen.run(base, lambda rng: ("healthz", "/healthz"), clients, min(15, args.seconds))
        print("baseline /healthz:", baseline.summary())
        result = loadgen.run(base, mixed, clients, args.seconds)
        print("mixed workload:", result.summary())
        errors = result.errors + sum(n for s, n in result.statuses.items() if s >= 500)
        rps, base_rps = result.count / result.elapsed_s, baseline.count / baseline.elapsed_s
        print(f"result: {rps:.1f} req/s at p99 {result.pct(99):.0f} ms (target < 200 ms), {errors} errors; "
              f"{rps / base_rps:.2f} of the /healthz baseline's {base_rps:.0f} req/s")
    finally:
        proc.terminate()
        proc.wait(30)
    return 0


if __name__ == "__main__":
    sys.exit(main())
