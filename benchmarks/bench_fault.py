"""Fault: restart PostgreSQL during a write load of volunteer submissions.

Checks afterwards that every submission that got a success response is in the database (0 lost
acknowledged writes), that requests during the outage got a clear 503 (not a 500), and that the
service recovered without being restarted. Runs against the project-local cluster only (it
restarts it), on a scratch database it creates; loopback only.

    python benchmarks/bench_fault.py [--seconds 30] [--clients 4] [--restart-at 10]
"""
from __future__ import annotations

import argparse
import os
import re
import sys
import threading
import time
import uuid
from pathlib import Path

import requests
from sqlalchemy import create_engine, text

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_load import free_port, start_gunicorn

from assetmap import config
from assetmap.db.cluster import LocalCluster
from assetmap.db.engine import drop_database, session_scope

DB = "assetmap_bench_fault"


def prepare(url: str) -> list[str]:
    from assetmap.db.migrate import upgrade
    from assetmap.db.seed import seed_datasets, seed_taxonomy
    from assetmap.importers.boundaries import import_boundaries
    from assetmap.importers.indicators import import_iod
    from assetmap.importers.postcodes import import_codepoint

    data = config.data_dir()
    drop_database(url)
    upgrade(url)
    with session_scope(url) as s:
        seed_taxonomy(s)
        seed_datasets(s)
        import_boundaries(s, data / "boundaries" / "lsoa11_E06000051_shropshire.geojson")
        import_iod(s, data / "imd2019" / "imd2019_lsoa11.csv", lad_codes=["E06000051"])
        import_codepoint(s, data / "postcodes" / "codepo_gb.zip", areas=["SY"])
        return s.execute(text(
            "SELECT postcode FROM postcode WHERE lad_code = 'E06000051' ORDER BY random() LIMIT 500"
        )).scalars().all()


def submit(base: str, http: requests.Session, name: str, postcode: str) -> int:
    # The production session cookie is Secure; over loopback HTTP we carry it by hand.
    page = http.get(f"{base}/contribute", timeout=30, headers={"Cookie": http.headers.get("X-Session", "")})
    if page.status_code != 200:
        return page.status_code
    cookie = page.cookies.get("session") or page.headers.get("Set-Cookie", "").split(";")[0].partition("=")[2]
    if cookie:
        http.headers["X-Session"] = f"session={cookie}"
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page.text) or re.search(
        r'value="([^"]+)"[^>]*name="csrf_token"', page.text)
    data = {"csrf_token": token.group(1), "name": name, "description": "Fault benchmark submission",
            "asset_types": ["community-group"], "postcode": postcode, "is_free": "yes", "not_duplicate": "y",
            "access_modes": ["drop_in"], "submitter_email": "bench@example.org"}
    response = http.post(f"{base}/contribute", data=data, allow_redirects=False, timeout=30,
                         headers={"Cookie": http.headers.get("X-Session", "")})
    if response.status_code == 302 and "/contribute/thanks" in response.headers.get("Location", ""):
        return 201  # acknowledged: the volunteer was told it was received
    return response.status_code


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--restart-at", type=float, default=10)
    args = ap.parse_args()
    if os.environ.get("DATABASE_URL"):
        raise SystemExit("this benchmark restarts the project-local cluster; unset DATABASE_URL")
    cluster = LocalCluster.default(config.instance_dir())
    url = cluster.url(DB)
    postcodes = prepare(url)
    port = free_port()
    os.environ["ASSETMAP_RATELIMIT"] = "off"  # one address sends everything; the limiter would 429 it
    log = Path(os.environ.get("TMPDIR", "/tmp")) / "assetmap-bench-fault-server.log"
    proc = start_gunicorn(url, port, workers=3, log=log)
    base = f"http://127.0.0.1:{port}"
    acked: list[str] = []
    outcomes: list[tuple[float, int]] = []
    lock = threading.Lock()
    started = time.monotonic()
    deadline = started + args.seconds

    def client(i: int) -> None:
        http = requests.Session()
        n = 0
        while time.monotonic() < deadline and n < 5000:
            n += 1
            name = f"Fault test group {uuid.uuid4().hex[:12]}"
            try:
                status = submit(base, http, name, postcodes[(i * 7919 + n) % len(postcodes)])
            except requests.RequestException:
                status = 0  # no HTTP answer at all
            with lock:
                outcomes.append((time.monotonic() - started, status))
                if status == 201:
                    acked.append(name)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(args.clients)]
    for t in threads:
        t.start()
    time.sleep(args.restart_at)
    restart_began = time.monotonic() - started
    cluster.restart(echo=lambda m: None)
    restart_done = time.monotonic() - started
    for t in threads:
        t.join()
    proc.terminate()
    proc.wait(30)

    engine = create_engine(url)
    with engine.connect() as c:
        stored = set(c.execute(text("SELECT name FROM asset WHERE name LIKE 'Fault test group %'")).scalars())
    engine.dispose()
    lost = [n for n in acked if n not in stored]
    by_status: dict[int, int] = {}
    for _, s in outcomes:
        by_status[s] = by_status.get(s, 0) + 1
    after = [s for t, s in outcomes if t > restart_done + 2]
    print(f"submissions {len(outcomes)} over {args.seconds:.0f} s with {args.clients} clients; "
          f"PostgreSQL restarted at {restart_began:.1f}-{restart_done:.1f} s")
    print(f"outcomes (201 = acknowledged, 0 = no HTTP answer): {dict(sorted(by_status.items()))}")
    print(f"acknowledged {len(acked)}, found in the database {len(acked) - len(lost)}, lost {len(lost)}")
    print(f"server errors (500): {by_status.get(500, 0)}; clear 503s: {by_status.get(503, 0)}")
    recovered = "yes" if after and after.count(201) / len(after) > 0.9 else "no"
    print(f"after the restart: {sum(1 for s in after if s == 201)} of {len(after)} acknowledged "
          f"(recovered without a restart: {recovered})")
    errors = [line for line in log.read_text().splitlines() if "Traceback" in line or "ERROR" in line]
    print(f"server log: {log} ({len(errors)} error lines)")
    drop_database(url)
    return 1 if lost or by_status.get(500) else 0


if __name__ == "__main__":
    sys.exit(main())
