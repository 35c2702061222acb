"""Benchmark the Open Referral UK listing and the bulk upload commit on a synthetic county.

(a) ``GET /oruk/services`` (50 a page: the first page, a deep page, and near a postcode within
    5 km) through the WSGI app, against a baseline of the plainest paged query on the same table
    (``SELECT id, name FROM asset WHERE status = 'published' ORDER BY name, id LIMIT 50 OFFSET n``).
(b) Checking and committing an uploaded CSV of N rows (revisions, terms and the import run
    included), against a baseline of COPYing the same rows into a temporary table.

Everything runs in a throwaway database, dropped at the end. Each timing is the best of
``--repeat`` runs.

Usage::

    .venv/bin/python benchmarks/bench_oruk.py            # 20,000 assets, a 20,000-row CSV
    .venv/bin/python benchmarks/bench_oruk.py --small    # 2,000 of each
"""
from __future__ import annotations

import argparse
import csv
import io
import time

from sqlalchemy import text
from sqlalchemy.orm import Session

from assetmap.db.bulk import copy_into_temp
from assetmap.db.cluster import database_url
from assetmap.db.engine import dispose_engines, drop_database, get_engine, session_scope
from assetmap.db.migrate import upgrade
from assetmap.db.models import BulkUpload
from assetmap.db.seed import seed_datasets, seed_taxonomy
from assetmap.domain import tabular
from assetmap.importers import tabular as importer
from assetmap.importers import upload_files


def best(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def fill(url: str, n: int) -> None:
    with session_scope(url) as s:
        seed_taxonomy(s)
        seed_datasets(s)
        s.execute(text(
            """
            INSERT INTO postcode (postcode, outward, easting, northing, location)
            VALUES ('SY11 1HT', 'SY11', 329700, 329600, ST_SetSRID(ST_MakePoint(-3.0475, 52.8641), 4326))
            """
        ))
        s.execute(text(
            """
            INSERT INTO asset (uuid, name, description, location, postcode, status, source, source_id, opening_hours,
                               age_groups, access_modes, accessibility, version)
            SELECT gen_random_uuid(), 'Place ' || (i % 997) || ' ' || i, 'A community place, number ' || i,
                   ST_SetSRID(ST_MakePoint(-3.2 + random() * 1.0, 52.3 + random() * 0.7), 4326), 'SY11 1HT',
                   'published', 'bench', i::text, '{"mon": [["09:00", "17:00"]]}'::jsonb,
                   ARRAY['adults'], '{}', ARRAY['step_free'], 1
            FROM generate_series(1, :n) i
            """
        ), {"n": n})
        s.execute(text(
            """
            INSERT INTO asset_term (asset_id, term_id)
            SELECT a.id, (SELECT id FROM taxonomy_term WHERE slug = 'community-venue') FROM asset a
            """
        ))
        # One service in ten runs at two places.
        s.execute(text(
            """
            INSERT INTO oruk_service_at_location (asset_id, service_uuid, uuid, location_uuid)
            SELECT a.id, b.uuid, gen_random_uuid(), gen_random_uuid()
            FROM asset a JOIN asset b ON b.id = a.id - 1 WHERE a.id % 10 = 0
            """
        ))
        s.execute(text("ANALYZE"))


def csv_bytes(n: int) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["id", "name", "category", "latitude", "longitude", "opening_hours", "phone"])
    for i in range(n):
        writer.writerow([f"row-{i}", f"Upload place {i}", "warm-space", f"{52.3 + (i % 700) / 1000:.5f}",
                         f"{-3.2 + (i % 1000) / 1000:.5f}", "Mon-Fri 10am-3pm", "01691 000000"])
    return out.getvalue().encode()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--small", action="store_true")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    n = 2_000 if args.small else 20_000
    url = database_url("assetmap_bench_oruk")
    drop_database(url)
    upgrade(url)
    try:
        fill(url, n)
        from assetmap.web import create_app

        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench", "RATELIMIT_ENABLED": False})
        client = app.test_client()
        deep = (n // 50 // 2) or 1
        engine = get_engine(url)

        def baseline_page(page: int):
            with engine.connect() as conn:
                conn.execute(text("SELECT id, name FROM asset WHERE status = 'published' ORDER BY name, id "
                                  "LIMIT 50 OFFSET :o"), {"o": (page - 1) * 50}).all()

        print(f"(a) /oruk/services on {n:,} published assets, 50 a page (best of {args.repeat})")
        for label, query, page in (("first page", "page=1", 1), (f"page {deep}", f"page={deep}", deep),
                                   ("near SY11 1HT, 5 km", "postcode=SY11+1HT&proximity=5000", 1)):
            def call(q=query):
                response = client.get(f"/oruk/services?per_page=50&{q}")
                assert response.status_code == 200, response.get_data(as_text=True)[:300]
            ours, base = best(call, args.repeat), best(lambda p=page: baseline_page(p), args.repeat)
            print(f"    {label:22s} {ours * 1000:8.1f} ms   baseline {base * 1000:6.1f} ms   ratio {ours / base:6.1f}x")

        data = csv_bytes(n)
        parsed = upload_files.read_upload("bench.csv", data)
        mapping = tabular.suggest_mapping(parsed.header)

        def commit_once():
            session = Session(engine)
            try:
                upload = BulkUpload(file_name="bench.csv", file_format="csv", file_size=len(data), source_key="bench",
                                    header=parsed.header, rows=parsed.rows, file_notes=[], mapping=mapping,
                                    options={"category": None}, state="checked")
                importer.commit_upload(session, upload, None, True)
            finally:
                session.rollback()
                session.close()

        def copy_once():
            session = Session(engine)
            try:
                copy_into_temp(session, "tmp_bench", [("line", "int"), ("cells", "text[]")],
                               ((line, cells) for line, cells, _ in parsed.rows))
            finally:
                session.rollback()
                session.close()

        ours, base = best(commit_once, args.repeat), best(copy_once, args.repeat)
        print(f"(b) bulk upload of {n:,} CSV rows (check, write, revisions), best of {args.repeat}")
        print(f"    commit {ours:6.2f} s ({n / ours:,.0f} rows/s)   baseline COPY {base:5.2f} s   "
              f"ratio {ours / base:5.1f}x")
    finally:
        dispose_engines(url)
        drop_database(url)


if __name__ == "__main__":
    main()
