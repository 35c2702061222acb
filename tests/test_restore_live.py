"""A restore while the service answers requests: no 500s, ready again without a reload, and
/readyz not ready while it runs."""
import json
import threading
import time
import urllib.error
import urllib.request

from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from assetmap.db import locks
from assetmap.db.backup import backup, restore
from assetmap.db.engine import session_scope
from tests.factories import make_asset
from tests.live import committed_clone, live_server


def _get(url: str) -> tuple[int, dict | None]:
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as exc:
        body = exc.read()
        try:
            return exc.code, json.loads(body)
        except ValueError:
            return exc.code, None


def test_finder_survives_a_restore_under_load(db_url, tmp_path):
    with committed_clone(db_url, "restore_live") as url:
        with session_scope(url) as s:
            make_asset(s, "Restore Club", lon=-3.0540, lat=52.8600)
        dump = backup(url, tmp_path / "live.dump")
        with live_server({"SQLALCHEMY_DATABASE_URI": url}) as base:
            finder = f"{base}/api/v1/assets?lat=52.86&lon=-3.054&radius_m=5000"
            assert _get(finder)[0] == 200
            results, readiness, stop = [], [], threading.Event()

            def hammer():
                while not stop.is_set():
                    started = time.monotonic()
                    status, body = _get(finder)
                    results.append((started, status, body))

            def watch_ready():
                while not stop.is_set():
                    readiness.append(_get(f"{base}/readyz"))
                    time.sleep(0.02)

            threads = [threading.Thread(target=hammer) for _ in range(3)] + [threading.Thread(target=watch_ready)]
            for t in threads:
                t.start()
            time.sleep(1)
            restore(url, dump)
            restored = time.monotonic()
            time.sleep(3)
            stop.set()
            for t in threads:
                t.join(timeout=60)

    statuses = [status for _, status, _ in results]
    assert statuses.count(500) == 0, [b for _, s, b in results if s == 500][:3]
    after = [(status, body) for started, status, body in results if started > restored]
    assert len(after) > 10 and all(status == 200 for status, _ in after)
    assert all(body["features"][0]["properties"]["name"] == "Restore Club" for _, body in after)
    assert any(body and body.get("status") == "restoring" for status, body in readiness if status == 503)
    assert readiness[-1][0] == 200


def test_readyz_is_not_ready_while_a_restore_holds_its_lock(client, db_url):
    engine = create_engine(db_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    with engine.connect() as conn:
        assert locks.hold_session_lock(conn, locks.RESTORE)
        response = client.get("/readyz")
        assert response.status_code == 503
        assert response.get_json() == {"status": "restoring", "reason": "a restore of the database is running"}
    engine.dispose()
