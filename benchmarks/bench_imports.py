"""Benchmark the asset write path: bulk imports of the national lists, against another copy of the
code measured in the same run.

Each round clones a reference database (boundaries and postcodes loaded, no assets), migrates it
with the code under test (not timed), then times, in a fresh process of that code:

(a) the first import of the libraries, NHSBSA pharmacies and ODS GP practices lists (every row
    checked, located by postcode, inserted, a revision written for each);
(b) the same three files imported again (nothing changes; the importer must still read, check and
    compare every row).

Rows outside the reference database's postcode areas are skipped the same way on both sides, so
the write path sees the same few thousand assets. With ``--compare-dir DIR`` (a checkout of other
code, e.g. ``git worktree add /tmp/base main``) the two take turns ``--rounds`` times and the
report gives medians and the ratio this code / compared code; without it, this code alone.

The reference database defaults to the test suite's template (``assetmap_test_template``, built by
``make test``); its schema must be one both copies of the code can migrate from::

    .venv/bin/python benchmarks/bench_imports.py --compare-dir /tmp/base [--rounds 3]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
FILES = [
    ("libraries", "libraries_england_2023.csv"),
    ("nhsbsa-pharmacies", "consol_pharmacy_list_202324q3.csv"),
    ("epraccur", "epraccur_2023-12.csv"),
]
POSTCODE_AREAS = ["SY", "TF", "WV", "LD", "DY", "OL", "M", "SK", "HX"]

# Runs inside the code under test (its directory first on sys.path): migrate, then time imports.
_CHILD = r"""
import json, sys, time
from pathlib import Path
from assetmap import config
from assetmap.db.engine import session_scope
from assetmap.db.migrate import upgrade
from assetmap.importers.assets import import_assets

url, files, areas = sys.argv[1], json.loads(sys.argv[2]), json.loads(sys.argv[3])
upgrade(url)
data = config.data_dir() / "assets"
out = {}
for attempt in ("first", "again"):
    started = time.perf_counter()
    counts = []
    for fmt, name in files:
        with session_scope(url) as session:
            report = import_assets(session, data / name, fmt, only_postcode_areas=areas)
            counts.append([report.inserted, report.updated, report.unchanged])
    out[attempt] = {"seconds": time.perf_counter() - started, "counts": counts}
print(json.dumps(out))
"""


def _admin_url(url: str, database: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).set(database=database).render_as_string(hide_password=False)


def clone(reference: str, target: str) -> str:
    from sqlalchemy import create_engine, text

    from assetmap.db.cluster import database_url

    base = database_url()
    engine = create_engine(_admin_url(base, "postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{target}" TEMPLATE "{reference}"'))
    engine.dispose()
    return _admin_url(base, target)


def drop(target: str) -> None:
    from sqlalchemy import create_engine, text

    from assetmap.db.cluster import database_url

    engine = create_engine(_admin_url(database_url(), "postgres"), isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{target}" WITH (FORCE)'))
    engine.dispose()


def run_once(code_dir: Path, url: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(code_dir)}
    done = subprocess.run([sys.executable, "-c", _CHILD, url, json.dumps(FILES), json.dumps(POSTCODE_AREAS)],
                          cwd=code_dir, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"import failed in {code_dir}:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--reference", default="assetmap_test_template",
                    help="database with boundaries and postcodes to clone (default: the tests' template)")
    ap.add_argument("--compare-dir", type=Path, default=None, help="another checkout to measure in turn")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()

    sides = [("this code", PROJECT)]
    if args.compare_dir:
        sides.append((f"compared ({args.compare_dir})", args.compare_dir.resolve()))
    times: dict[str, dict[str, list[float]]] = {label: {"first": [], "again": []} for label, _ in sides}
    counts: dict[str, dict] = {}
    for round_no in range(args.rounds):
        for label, code_dir in (sides if round_no % 2 == 0 else sides[::-1]):
            url = clone(args.reference, "assetmap_bench_imports")
            try:
                result = run_once(code_dir, url)
            finally:
                drop("assetmap_bench_imports")
            for attempt in ("first", "again"):
                times[label][attempt].append(result[attempt]["seconds"])
            counts[label] = {k: v["counts"] for k, v in result.items()}
            print(f"round {round_no + 1} {label}: first {result['first']['seconds']:.2f} s, "
                  f"again {result['again']['seconds']:.2f} s", flush=True)

    print("\nmedian seconds (libraries + pharmacies + GP practices, postcode areas "
          f"{','.join(POSTCODE_AREAS)}):")
    for label, _ in sides:
        t = times[label]
        print(f"  {label}: first import {statistics.median(t['first']):.2f} s, "
              f"again {statistics.median(t['again']):.2f} s; [inserted, updated, unchanged] per file: "
              f"{counts[label]['first']} then {counts[label]['again']}")
    if len(sides) == 2:
        a, b = (times[label] for label, _ in sides)
        for attempt in ("first", "again"):
            print(f"  ratio this/compared, {attempt}: "
                  f"{statistics.median(a[attempt]) / statistics.median(b[attempt]):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
