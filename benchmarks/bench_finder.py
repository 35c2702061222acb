"""Benchmark the finder on 1,000,000 synthetic published assets placed around real GB postcodes.

Prints, measured in the same run so the figures read as ratios:

(a) SQL nearest-20: ``assetmap.db.finder.search_near`` (the query the API runs: the postcode
    looked up and a KNN ``<->`` scan of the geography GiST index within a 5 km ``ST_DWithin``,
    each row as a GeoJSON feature) from random real postcodes; median and p95 in ms. Baseline: the
    same statement with the geography index dropped inside a rolled-back transaction, i.e. a
    sequential scan and a distance sort. And the ``EXPLAIN (ANALYZE, BUFFERS)`` plans of both, the
    first naming the index.
(b) HTTP ``GET /api/v1/assets?postcode=...`` against gunicorn (``cores + 1`` sync workers on
    127.0.0.1) from 20 concurrent clients: p50, p95, p99 and requests per second, and the CPU a
    request in the workers, PostgreSQL and the load generator. The clients are wrk's (20
    connections on 2 threads, for ``--seconds``) when wrk is installed (``apt-get install wrk``),
    else Python threads with http.client (``--client python``, bounded in requests and time),
    which take three times the CPU that the server under test then lacks. Baseline:
    ``GET /healthz`` with the same clients and server, the floor that the web stack and the load
    generator themselves set on this machine. The machine's speed drifts by half as much again
    from one minute to the next (the /healthz rate with it): read the API figures beside it.

Targets (issue 3): nearest-20 median < 5 ms; HTTP p99 < 50 ms.

Set-up, once (the database is your own, never the demo's)::

    export DATABASE_URL=$(.venv/bin/assetmap db url --database assetmap_bench_finder)
    .venv/bin/assetmap init
    .venv/bin/assetmap import postcodes ../shared/data/postcodes/codepo_gb.zip

then ``.venv/bin/python benchmarks/bench_finder.py`` (it generates the assets on first run, about
two minutes; later runs reuse them). ``--assets``, ``--clients``, ``--requests`` and ``--seconds``
change the sizes. ``--http-only`` skips the set-up check and part (a). The server runs with the
production settings (``assetmap/gunicorn_conf.py``: workers, threads; ``--workers`` and
``--threads`` override them). ``--compare-dir DIR`` also serves another copy of the code (say the
previous commit, ``git archive HEAD assetmap templates static data | tar -x -C DIR``) with its own
settings, in the same run and with the same clients, the two taking turns in ``--rounds`` short
rounds, and prints both: a before/after measured under the same load on the machine.
"""
from __future__ import annotations

import argparse
import http.client
import os
import random
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

from sqlalchemy import create_engine, text
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

from assetmap.db import finder, migrate  # noqa: E402
from assetmap.db.cluster import database_url  # noqa: E402
from assetmap.db.driver import driver_sql  # noqa: E402
from assetmap.db.engine import get_engine, make_session, session_scope  # noqa: E402
from assetmap.db.seed import seed_datasets, seed_taxonomy  # noqa: E402
from assetmap.domain.search import open_now_probe  # noqa: E402

SOURCE = "bench"
# A few realistic weekly timetables, so "open now" has something to read.
TIMETABLES = [
    '{"mon": [["09:00", "17:30"]], "tue": [["09:00", "17:30"]], "wed": [["09:00", "17:30"]], '
    '"thu": [["09:00", "17:30"]], "fri": [["09:00", "17:30"]], "sat": [], "sun": []}',
    '{"mon": [["09:00", "13:00"], ["14:00", "18:00"]], "tue": [["09:00", "13:00"], ["14:00", "18:00"]], '
    '"wed": [["09:00", "13:00"]], "thu": [["09:00", "18:00"]], "fri": [["09:00", "18:00"]], '
    '"sat": [["09:00", "12:00"]], "sun": []}',
    '{"tue": [["10:00", "12:00"]], "thu": [["18:00", "20:00"]]}',
]
INDEXES = {
    "ix_asset_published_geog":
        "CREATE INDEX ix_asset_published_geog ON asset USING gist ((location::geography)) WHERE status = 'published'",
    "ix_asset_text_trgm":
        "CREATE INDEX ix_asset_text_trgm ON asset USING gin ((name || ' ' || coalesce(description, '')) gin_trgm_ops)",
    "ix_asset_location": "CREATE INDEX ix_asset_location ON asset USING gist (location)",
}


def _ms(seconds: float) -> float:
    return seconds * 1000.0


def _percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))]


def prepare(url: str, n_assets: int, revision: str) -> None:
    """Migrate, seed, check the postcodes, and (re)generate the synthetic assets if needed."""
    migrate.upgrade(url, revision)
    with session_scope(url) as s:
        seed_taxonomy(s)
        seed_datasets(s)
        postcodes = s.execute(text("SELECT count(*) FROM postcode")).scalar()
        if postcodes < 1_500_000:
            sys.exit(f"only {postcodes} postcodes: load all GB first with "
                     "`assetmap import postcodes ../shared/data/postcodes/codepo_gb.zip` (see the module docstring)")
        have = s.execute(text("SELECT count(*) FROM asset WHERE source = :s AND status = 'published'"),
                         {"s": SOURCE}).scalar()
    if have == n_assets:
        print(f"assets: {have:,} synthetic published assets already there (source={SOURCE!r})")
        return
    print(f"assets: generating {n_assets:,} around random real postcodes ...", flush=True)
    started = time.monotonic()
    engine = get_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM asset_term WHERE asset_id IN (SELECT id FROM asset WHERE source = :s)"),
                     {"s": SOURCE})
        conn.execute(text("DELETE FROM asset WHERE source = :s"), {"s": SOURCE})
        for name in INDEXES:  # a bulk load is faster with the indexes built afterwards
            conn.execute(text(f"DROP INDEX IF EXISTS {name}"))
        conn.execute(text("SELECT setseed(0.42)"))
        # Each asset near a postcode drawn at random (with replacement), up to ~150 m from it.
        conn.execute(text("CREATE TEMP TABLE pc AS SELECT row_number() OVER () AS i, location, postcode FROM postcode"))
        conn.execute(text("CREATE UNIQUE INDEX ON pc (i)"))
        total = conn.execute(text("SELECT count(*) FROM pc")).scalar()
        conn.execute(
            text(
                """
                INSERT INTO asset (uuid, name, location, postcode, opening_hours, is_free, access_modes, age_groups,
                                   accessibility, status, source, source_id, version, last_verified_at)
                SELECT gen_random_uuid(), 'Bench place ' || r.g,
                       ST_SetSRID(ST_MakePoint(ST_X(pc.location) + (random() - 0.5) * 0.004,
                                               ST_Y(pc.location) + (random() - 0.5) * 0.0027), 4326),
                       pc.postcode,
                       CASE WHEN r.g % 4 < 3 THEN CAST((CAST(:timetables AS text[]))[1 + r.g % 4] AS jsonb) END,
                       r.g % 3 = 0,
                       CASE WHEN r.g % 2 = 0 THEN ARRAY['drop_in']::varchar[] ELSE '{}'::varchar[] END,
                       '{}'::varchar[], '{}'::varchar[], 'published', :source, CAST(r.g AS text), 1, now()
                FROM (SELECT g, 1 + floor(random() * :total)::bigint AS i FROM generate_series(1, :n) AS g) r
                JOIN pc ON pc.i = r.i
                """
            ),
            {"n": n_assets, "total": total, "timetables": TIMETABLES, "source": SOURCE},
        )
        # One asset type each, spread over the vocabulary.
        conn.execute(
            text(
                """
                INSERT INTO asset_term (asset_id, term_id)
                SELECT a.id, t.id FROM asset a
                JOIN (SELECT id, row_number() OVER (ORDER BY sort_order) - 1 AS k, count(*) OVER () AS n
                      FROM taxonomy_term WHERE vocabulary = 'asset-type') t ON t.k = a.id % t.n
                WHERE a.source = :source
                """
            ),
            {"source": SOURCE},
        )
        print(f"  inserted in {time.monotonic() - started:.0f} s; building indexes ...", flush=True)
        for ddl in INDEXES.values():
            conn.execute(text(ddl))
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(text("VACUUM ANALYZE asset"))
        conn.execute(text("VACUUM ANALYZE asset_term"))
    print(f"  ready in {time.monotonic() - started:.0f} s", flush=True)


def sample_postcodes(url: str, n: int, seed: int) -> list[dict]:
    with session_scope(url) as s:
        rows = s.execute(
            text("SELECT postcode, ST_Y(location) AS lat, ST_X(location) AS lon FROM postcode "
                 "TABLESAMPLE SYSTEM (1) REPEATABLE (:seed) ORDER BY md5(postcode) LIMIT :n"),
            {"seed": seed, "n": n},
        ).mappings().all()
    return [dict(r) for r in rows]


def api_search(session, point: dict, probe) -> list[dict]:
    """The statement ``GET /api/v1/assets?postcode=...`` sends: the nearest 20 to the postcode
    (looked up inside it), as GeoJSON features."""
    return finder.search_near(session, finder.Origin.postcode(point["postcode"]), radius_m=5000, filters={},
                              probe=probe, limit=20, features=finder.Features("http://localhost/assets/", 5000))


def bench_sql(url: str, points: list[dict], repeat: int, baseline_repeat: int) -> dict:
    """Median and p95 of nearest-20 with the index, and without it (the baseline), and the plan."""
    probe = open_now_probe(datetime(2026, 7, 1, 11, 0, tzinfo=UTC))

    def run(session, point):
        started = time.perf_counter()
        items = api_search(session, point, probe)
        return time.perf_counter() - started, len(items)

    session = make_session(url)
    try:
        for point in points[:20]:  # warm the cache and the prepared statement
            run(session, point)
        timings, counts = [], []
        for i in range(repeat):
            elapsed, n = run(session, points[i % len(points)])
            timings.append(elapsed)
            counts.append(n)
        plan = explain(session, points[0], probe)
    finally:
        session.rollback()
        session.close()
    # The baseline: the same statement with the geography index dropped, inside a transaction that
    # is rolled back (nothing changes for anyone else). On a connection of its own, because
    # psycopg prepares a statement after a few runs and a prepared plan would outlive the index.
    engine = create_engine(url, poolclass=NullPool)
    session = Session(engine)
    try:
        session.execute(text("DROP INDEX ix_asset_published_geog"))
        base = [run(session, points[i % len(points)])[0] for i in range(baseline_repeat)]
        base_plan = explain(session, points[0], probe)
    finally:
        session.rollback()
        session.close()
        engine.dispose()
    return {"indexed": timings, "baseline": base, "rows": counts, "plan": plan, "base_plan": base_plan}


def explain(session, point: dict, probe) -> str:
    """EXPLAIN (ANALYZE, BUFFERS) of the very statement ``search_near`` sends, caught on its way
    to the driver (:mod:`assetmap.db.driver`)."""
    caught = {}
    send = finder.fetch_all

    def catch(handle, statement, params):
        caught.setdefault("sql", (driver_sql(statement), params))
        return send(handle, statement, params)

    finder.fetch_all = catch
    try:
        api_search(session, point, probe)
    finally:
        finder.fetch_all = send
    statement, parameters = caught["sql"]
    rows = session.connection().exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " + statement, parameters)
    return "\n".join(r[0] for r in rows)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(url: str, workers: int | None, threads: int | None = None,
                   code_dir: Path = PROJECT) -> tuple[subprocess.Popen, int]:
    """gunicorn serving the code in ``code_dir`` with its production settings (``workers`` and
    ``threads`` override them when given); access log on, written to nowhere."""
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": os.environ.get("SECRET_KEY", "bench-" + "x" * 40),
           "ASSETMAP_BASE_URL": os.environ.get("ASSETMAP_BASE_URL", "https://bench.example.org"),
           "ASSETMAP_ENV": os.environ.get("ASSETMAP_ENV", "production"),
           "ASSETMAP_INSTANCE_DIR": os.environ.get("ASSETMAP_INSTANCE_DIR", str(PROJECT / "instance")),
           "PYTHONPATH": str(code_dir)}
    gunicorn = str(Path(sys.executable).with_name("gunicorn"))
    command = [gunicorn, "-c", str(code_dir / "assetmap" / "gunicorn_conf.py"), "-b", f"127.0.0.1:{port}",
               "--log-level", "warning"]
    if workers:
        command += ["-w", str(workers)]
    if threads:
        command += ["--threads", str(threads)]
    proc = subprocess.Popen(
        [*command, "assetmap.web:create_app()"],
        cwd=code_dir, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit("gunicorn exited: " + proc.stderr.read().decode()[-2000:])
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                conn.close()
                return proc, port
        except OSError:
            time.sleep(0.3)
    proc.kill()
    sys.exit("gunicorn did not answer within 60 s")


def stop(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


def load(port: int, paths: list[str], clients: int, max_requests: int, max_seconds: float) -> dict:
    """``clients`` threads, each sending one request at a time until ``max_requests`` in all or
    ``max_seconds`` have passed. Returns latencies (s), status counts and the wall time."""
    lock = threading.Lock()
    latencies: list[float] = []
    statuses: dict[int | str, int] = {}
    counter = iter(range(max_requests))
    deadline = time.monotonic() + max_seconds

    def worker(seed: int):
        rng = random.Random(seed)
        while time.monotonic() < deadline:
            with lock:
                if next(counter, None) is None:
                    return
            path = paths[rng.randrange(len(paths))]
            started = time.perf_counter()
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
                conn.request("GET", path)
                response = conn.getresponse()
                response.read()
                status: int | str = response.status
                conn.close()
            except OSError as exc:
                status = type(exc).__name__
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)
                statuses[status] = statuses.get(status, 0) + 1

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    started = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return {"latencies": latencies, "statuses": statuses, "wall": time.monotonic() - started}


_WRK_SCRIPT = """
local paths = {%s}
request = function()
  return wrk.format(nil, paths[math.random(#paths)])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("WRK %%d %%d %%d %%d %%d %%d %%d %%d %%d\\n", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max,
    e.connect + e.read + e.write, e.timeout, e.status))
end
"""


def load_wrk(port: int, paths: list[str], clients: int, seconds: float) -> dict:
    """The same load from wrk (C, one event loop a thread, a connection a client) for
    ``seconds``: a load generator that takes ~0.1 ms of CPU a request where the Python threads
    take ~0.3 ms, CPU that the server under test would otherwise lose on this 2-core machine.
    Latencies come back as percentiles (wrk keeps no list)."""
    script = Path(f"/tmp/assetmap_bench_wrk_{os.getpid()}.lua")
    script.write_text(_WRK_SCRIPT % ",".join(f'"{p}"' for p in paths))
    try:
        return _wrk(script, port, clients, seconds)
    finally:
        script.unlink(missing_ok=True)


def _wrk(script: Path, port: int, clients: int, seconds: float) -> dict:
    threads = min(2, clients)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    out = subprocess.run(["wrk", f"-t{threads}", f"-c{clients}", f"-d{max(1, round(seconds))}s", "--timeout", "10s",
                          "-s", str(script), f"http://127.0.0.1:{port}"],
                         capture_output=True, text=True, check=True).stdout
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    line = next(x for x in out.splitlines() if x.startswith("WRK "))
    requests, duration_us, p50, p95, p99, top, socket_errors, timeouts, bad_status = map(int, line.split()[1:])
    statuses = {200: requests - bad_status - socket_errors - timeouts}
    if bad_status:
        statuses["not 200"] = bad_status
    if socket_errors or timeouts:
        statuses["socket error or timeout"] = socket_errors + timeouts
    return {"requests": requests, "seconds": duration_us / 1e6, "wall": duration_us / 1e6, "statuses": statuses,
            "percentiles": {50: p50 / 1e6, 95: p95 / 1e6, 99: p99 / 1e6, 100: top / 1e6},
            "client_cpu": (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)}


def _cpu_seconds(pids) -> float:
    """User + system CPU seconds the processes have used so far (Linux /proc; 0 for any gone)."""
    tick, total = os.sysconf("SC_CLK_TCK"), 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick
    return total


def _server_pids(proc: subprocess.Popen, url: str) -> tuple[list[int], list[int]]:
    """The gunicorn master and workers, and the PostgreSQL backends serving this database."""
    workers = [proc.pid]
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == proc.pid:
                workers.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    engine = create_engine(url, poolclass=NullPool)
    with engine.connect() as conn:
        backends = conn.execute(text("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                                     "AND pid <> pg_backend_pid()")).scalars().all()
    engine.dispose()
    return workers, list(backends)


def _measured_load(proc, url, port, paths, clients, max_requests, max_seconds, client="python") -> dict:
    """:func:`load` (or :func:`load_wrk`), plus the CPU seconds used meanwhile by the workers,
    the database and the clients."""
    workers, backends = _server_pids(proc, url)
    before = (_cpu_seconds(workers), _cpu_seconds(backends), time.process_time())
    if client == "wrk":
        result = load_wrk(port, paths, clients, max_seconds)
    else:
        result = load(port, paths, clients, max_requests, max_seconds)
    after = (_cpu_seconds(workers), _cpu_seconds(backends), time.process_time())
    result["cpu"] = tuple(b - a for a, b in zip(before, after))
    if client == "wrk":
        result["cpu"] = (*result["cpu"][:2], result["client_cpu"])
    return result


def _merge(results: list[dict]) -> dict:
    """Several load runs as one: requests, statuses, CPU and wall times added; latencies pooled
    (Python client), or each percentile the median of the runs' (wrk, which keeps no list)."""
    statuses: dict = {}
    for r in results:
        for k, n in r["statuses"].items():
            statuses[k] = statuses.get(k, 0) + n
    cpu = tuple(sum(r["cpu"][i] for r in results) for i in range(3)) if all("cpu" in r for r in results) else None
    merged = {"statuses": statuses, "wall": sum(r["wall"] for r in results), "cpu": cpu}
    if "percentiles" in results[0]:
        merged["requests"] = sum(r["requests"] for r in results)
        merged["percentiles"] = {p: statistics.median(r["percentiles"][p] for r in results)
                                 for p in results[0]["percentiles"]}
        merged["percentiles"][100] = max(r["percentiles"][100] for r in results)
        merged["worst_p99"] = max(r["percentiles"][99] for r in results)
        merged["runs"] = len(results)
    else:
        merged["latencies"] = [x for r in results for x in r["latencies"]]
        merged["requests"] = len(merged["latencies"])
        merged["percentiles"] = {p: _percentile(merged["latencies"], p) for p in (50, 95, 99)}
        merged["percentiles"][100] = max(merged["latencies"])
    return merged


def report_load(label: str, result: dict, clients_n: int) -> None:
    n, pct = result["requests"], result["percentiles"]
    runs = f" (each the median of {result['runs']} runs; worst p99 {_ms(result['worst_p99']):.1f} ms)" \
        if result.get("runs", 1) > 1 else ""
    print(f"  {label}: {n} requests in {result['wall']:.1f} s = {n / result['wall']:.0f} req/s; "
          f"p50 {_ms(pct[50]):.1f} ms, p95 {_ms(pct[95]):.1f} ms, p99 {_ms(pct[99]):.1f} ms, "
          f"max {_ms(pct[100]):.1f} ms{runs}; statuses {result['statuses']}")
    if result.get("cpu") and n:
        workers, database, clients = (_ms(c / n) for c in result["cpu"])
        total = workers + database + clients
        capacity = (os.cpu_count() or 1) * 1000 / total
        print(f"    CPU a request: gunicorn {workers:.2f} ms + PostgreSQL {database:.2f} ms + the load generator "
              f"{clients:.2f} ms = {total:.2f} ms; all {os.cpu_count()} CPUs would serve at most {capacity:.0f} req/s, "
              f"so {clients_n} clients, one request each at a time, wait {_ms(clients_n / capacity):.0f} ms a request "
              "on average at the least (Little's law)")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--database", default="assetmap_bench_finder")
    ap.add_argument("--assets", type=int, default=1_000_000)
    ap.add_argument("--revision", default="head", help="migrate to this revision (default: the newest)")
    ap.add_argument("--repeat", type=int, default=500, help="nearest-20 queries with the index")
    ap.add_argument("--baseline-repeat", type=int, default=12, help="the same without the index")
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--requests", type=int, default=6000, help="HTTP requests at most, per run")
    ap.add_argument("--seconds", type=float, default=None,
                    help="HTTP run time at most, per run (default: 60 with Python threads; with wrk, which runs "
                         "for a time rather than a number of requests, 15)")
    ap.add_argument("--workers", type=int, default=None, help="gunicorn workers (default: the production settings')")
    ap.add_argument("--threads", type=int, default=None, help="threads a worker (default: the production settings')")
    ap.add_argument("--http-only", action="store_true", help="skip the set-up check and part (a)")
    ap.add_argument("--compare-dir", type=Path, default=None,
                    help="also serve the code in this directory (e.g. the previous commit), in the same run")
    ap.add_argument("--rounds", type=int, default=6, help="turns each server takes with --compare-dir")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--client", choices=["wrk", "python"], default=None,
                    help="load generator: wrk (default when installed: apt-get install wrk) or Python threads")
    args = ap.parse_args()
    client = args.client or ("wrk" if shutil.which("wrk") else "python")
    if args.seconds is None:
        args.seconds = 15.0 if client == "wrk" else 60.0

    url = database_url(args.database)
    if not args.http_only:
        prepare(url, args.assets, args.revision)
    points = sample_postcodes(url, 1000, args.seed)
    random.Random(args.seed).shuffle(points)
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} before the run (anything else "
          f"running shares them); database {args.database}; {len(points)} random real postcodes as origins")

    if not args.http_only:
        print("\n(a) SQL nearest-20 (assetmap.db.finder.search_near, 5 km radius, as GeoJSON features)")
        sql = bench_sql(url, points, args.repeat, args.baseline_repeat)
        med, base_med = statistics.median(sql["indexed"]), statistics.median(sql["baseline"])
        print(f"  with the GiST index: median {_ms(med):.2f} ms, p95 {_ms(_percentile(sql['indexed'], 95)):.2f} ms "
              f"over {len(sql['indexed'])} queries (mean {statistics.mean(sql['rows']):.1f} rows returned)")
        print(f"  baseline, the same without the geography index: median {_ms(base_med):.0f} ms over "
              f"{len(sql['baseline'])} queries")
        print(f"  ratio: {base_med / med:,.0f}x faster with the index; target median < 5 ms: "
              f"{'met' if _ms(med) < 5 else 'NOT met'}")
        print("  EXPLAIN (ANALYZE, BUFFERS) of the statement search_near sends, nearest 20 from", points[0]["postcode"])
        print("    " + sql["plan"].replace("\n", "\n    "))
        print("  the same without the geography index (the baseline):")
        print("    " + sql["base_plan"].replace("\n", "\n    "))

    api_paths = [f"/api/v1/assets?postcode={quote(p['postcode'])}" for p in points]
    servers = [("this tree", PROJECT)]
    if args.compare_dir:
        servers.insert(0, (f"compared: {args.compare_dir}", args.compare_dir.resolve()))
    print(f"\n(b) HTTP against gunicorn with the production settings of each tree's assetmap/gunicorn_conf.py"
          f"{f', workers {args.workers}' if args.workers else ''}{f', threads {args.threads}' if args.threads else ''};"
          f" {args.clients} concurrent clients ({'wrk' if client == 'wrk' else 'Python threads with http.client'})")
    # With several servers, all run at once and take turns in short rounds (/healthz, then the
    # API), so that whatever else the machine is doing weighs on each alike.
    rounds = args.rounds if len(servers) > 1 else 1
    results = {label: {"health": [], "api": []} for label, _ in servers}
    procs = []
    try:
        for label, code_dir in servers:
            proc, port = start_gunicorn(url, args.workers, args.threads, code_dir)
            procs.append((label, proc, port))
            load(port, api_paths[:50], args.clients, 200, 20)  # warm every worker's connections and plans
        for _ in range(rounds):
            for label, proc, port in procs:
                # (wrk runs /healthz a quarter as long: at thousands a second it would otherwise
                # reach gunicorn's max_requests and recycle workers in the middle of the API run)
                results[label]["health"].append(_measured_load(
                    proc, url, port, ["/healthz"], args.clients, args.requests // rounds,
                    args.seconds / rounds / (4 if client == "wrk" else 1), client))
                results[label]["api"].append(_measured_load(
                    proc, url, port, api_paths, args.clients, args.requests // rounds, args.seconds / rounds, client))
    finally:
        for _label, proc, _port in procs:
            stop(proc)
    for label, code_dir in servers:
        health, api = (_merge(results[label][k]) for k in ("health", "api"))
        print(f"  {label}: {code_dir}" + (f" ({rounds} rounds, taking turns)" if rounds > 1 else ""))
        report_load("baseline GET /healthz", health, args.clients)
        report_load("GET /api/v1/assets?postcode=...", api, args.clients)
        p99, base_p99 = api["percentiles"][99], health["percentiles"][99]
        errors = sum(n for s, n in api["statuses"].items() if s != 200)
        print(f"  ratio: API p99 is {p99 / base_p99:.1f}x the /healthz p99; target p99 < 50 ms: "
              f"{'met' if _ms(p99) < 50 else 'NOT met'}; non-200 responses: {errors}")
    print(f"  load average after the run: {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
