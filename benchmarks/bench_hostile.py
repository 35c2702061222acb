"""/find under hostile load: its p50/p99 alone, then with 3 hostile clients hammering novel gap
parameters (/api/v1/gaps, /plan/gaps.geojson, /plan, each request a radius, category, indicator,
group or decay not asked for before), against gunicorn on loopback as `make run` serves it (with
Redis). The target: /find p99 under attack within 2x of /find alone, measured in the same run.

The two phases take turns for ``--rounds`` rounds (the machine's load drifts) and the figures are
over all rounds. With ``--unbounded`` the same runs again with the bounds off (no rate limits, no
cap on computations at once), to show what they hold back; with ``--rotate`` each hostile request
comes from a new address (as from a botnet), so the per-client limits never bite and only the cap
on computations at once holds.

    DATABASE_URL=... python benchmarks/bench_hostile.py [--seconds 10] [--rounds 3] [--finders 2]
        [--unbounded] [--rotate]

The database needs loaded areas, postcodes and published assets (the demo); the hostile clients
store gap runs in it (bounded: one-off runs only push out other one-off runs).
"""
from __future__ import annotations

import argparse
import http.client
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parent))
import loadgen

from assetmap.db.cluster import database_url
from assetmap.db.redis_server import LocalRedis

HOSTILE = 3


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(url: str, port: int, redis: str, bounded: bool, log: Path) -> subprocess.Popen:
    env = {**os.environ, "DATABASE_URL": url, "REDIS_URL": redis, "SECRET_KEY": "bench-" + "x" * 32,
           "ASSETMAP_TRUSTED_PROXIES": "1", "ASSETMAP_INSTANCE_DIR": str(log.parent)}
    if not bounded:
        env.update(ASSETMAP_RATELIMIT="off", ASSETMAP_MAX_COMPUTATIONS="1000")
    exe = Path(sys.executable).with_name("assetmap")
    proc = subprocess.Popen([str(exe), "serve", "--gunicorn", "--port", str(port)], env=env,
                            stdout=open(log, "w"), stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2):
                return proc
        except OSError:
            time.sleep(0.3)
    proc.kill()
    raise SystemExit(f"gunicorn did not become ready; see {log}")


def sample(url: str):
    engine = create_engine(url)
    with engine.connect() as c:
        postcodes = c.execute(text(
            """SELECT p.postcode FROM postcode p JOIN area l ON l.level = 'lad' AND l.code = p.lad_code
               WHERE EXISTS (SELECT 1 FROM asset a WHERE a.status = 'published')
               ORDER BY random() LIMIT 500""")).scalars().all()
        lads = c.execute(text(
            "SELECT DISTINCT lad_code FROM area WHERE level = 'lsoa' AND lad_code IS NOT NULL")).scalars().all()
        categories = c.execute(text(
            """SELECT DISTINCT t.slug FROM taxonomy_term t JOIN asset_term at ON at.term_id = t.id
               JOIN asset a ON a.id = at.asset_id AND a.status = 'published'
               WHERE t.vocabulary = 'asset-type'""")).scalars().all()
        indicators = c.execute(text("SELECT key FROM indicator WHERE area_level = 'lsoa'")).scalars().all()
    engine.dispose()
    if not postcodes or not categories:
        raise SystemExit("no postcodes or published assets: load the demo first (make run)")
    return postcodes, lads, categories, indicators


def hostile(base: str, address: str | None, seconds: float, lads, categories, indicators, seed: int,
            out: dict) -> None:
    """One hostile client: a novel gap query after another, as fast as answers come, for ``seconds``."""
    rng = random.Random(seed)
    host, port = base.split("//")[1].split(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    deadline, sent = time.monotonic() + seconds, 0
    while time.monotonic() < deadline and sent < 10_000:
        sent += 1
        query = (f"lad={rng.choice(lads)}&category={rng.choice(categories)}&indicator={rng.choice(indicators)}"
                 f"&group={rng.choice(['all', '0-15', '16-59', '60%2B'])}&decay={rng.choice(['gaussian', 'none'])}"
                 f"&radius_m={rng.randrange(300, 20000)}")
        path = rng.choice(["/api/v1/gaps?", "/plan/gaps.geojson?", "/plan?"]) + query
        try:
            client = address or f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}"
            conn.request("GET", path, headers={"X-Forwarded-For": client})
            response = conn.getresponse()
            response.read()
            status = response.status
        except (OSError, http.client.HTTPException):
            status = None
            conn.close()
            conn = http.client.HTTPConnection(host, int(port), timeout=60)
        out[status] = out.get(status, 0) + 1
    conn.close()


def phase(base: str, finders: int, seconds: float, postcodes, attack: tuple | None, rotate: bool = False,
          seed: int = 1) -> tuple:
    def find(rng):
        return "find", f"/find?postcode={rng.choice(postcodes).replace(' ', '+')}&radius_m=1600"

    statuses: dict = {}
    threads = []
    if attack:
        for i in range(HOSTILE):
            address = None if rotate else f"198.51.100.{10 + i}"
            t = threading.Thread(target=hostile, args=(base, address, seconds, *attack, seed * 10 + i, statuses),
                                 daemon=True)
            t.start()
            threads.append(t)
    result = loadgen.run(base, find, finders, seconds, seed=seed)
    for t in threads:
        t.join(120)
    return result, statuses


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seconds", type=float, default=10, help="length of each phase")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--rotate", action="store_true", help="a new client address for every hostile request")
    ap.add_argument("--finders", type=int, default=2, help="clients searching /find")
    ap.add_argument("--unbounded", action="store_true", help="also attack with the bounds off")
    args = ap.parse_args()
    url = database_url()
    postcodes, lads, categories, indicators = sample(url)
    attack = (lads, categories, indicators)
    with tempfile.TemporaryDirectory() as tmp:
        redis = LocalRedis(Path(tmp) / "redis")
        redis_url = redis.up(echo=lambda *_: None)
        try:
            runs = [("bounded", True)] + ([("unbounded", False)] if args.unbounded else [])
            for name, bounded in runs:
                port = free_port()
                proc = start_server(url, port, redis_url, bounded, Path(tmp) / f"{name}.log")
                base = f"http://127.0.0.1:{port}"
                try:
                    phase(base, 2, 3, postcodes, None)  # warm the workers
                    alone, attacked, statuses = loadgen.Result(), loadgen.Result(), {}
                    for r in range(args.rounds):
                        quiet, _ = phase(base, args.finders, args.seconds, postcodes, None, seed=r)
                        loud, answers = phase(base, args.finders, args.seconds, postcodes, attack, args.rotate, seed=r)
                        for total, part in ((alone, quiet), (attacked, loud)):
                            total.latencies_ms += part.latencies_ms
                            total.errors += part.errors
                            total.elapsed_s += part.elapsed_s
                            for k, v in part.statuses.items():
                                total.statuses[k] = total.statuses.get(k, 0) + v
                        for k, v in answers.items():
                            statuses[k] = statuses.get(k, 0) + v
                finally:
                    proc.terminate()
                    proc.wait(30)
                print(f"[{name}] gunicorn {(os.cpu_count() or 1) + 1} workers on {os.cpu_count()} CPUs, "
                      f"{args.finders} /find clients, {HOSTILE} hostile clients"
                      f"{' (a new address a request)' if args.rotate else ''}, {args.rounds} rounds of "
                      f"{args.seconds:.0f} s alone and {args.seconds:.0f} s under attack")
                print(f"  /find alone:         p50 {alone.pct(50):.0f} ms, p99 {alone.pct(99):.0f} ms "
                      f"({alone.count} requests, statuses {dict(sorted(alone.statuses.items()))})")
                print(f"  /find under attack:  p50 {attacked.pct(50):.0f} ms, p99 {attacked.pct(99):.0f} ms "
                      f"({attacked.count} requests, statuses {dict(sorted(attacked.statuses.items()))})")
                print(f"  hostile answers:     {dict(sorted(statuses.items(), key=lambda kv: str(kv[0])))}")
                print(f"  under attack / alone: p99 {attacked.pct(99) / alone.pct(99):.2f} (target <= 2.0), "
                      f"p50 {attacked.pct(50) / alone.pct(50):.2f}")
        finally:
            redis.down(echo=lambda *_: None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
