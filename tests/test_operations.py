"""Running it for real: production start-up, backups and restores."""
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import make_url

from assetmap.cli import main
from assetmap.db.backup import backup, restore
from assetmap.db.engine import dispose_engines, drop_database, get_engine


def test_production_refuses_to_start_without_a_secret_key(runner, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("ASSETMAP_ENV", "production")
    result = runner.invoke(main, ["serve", "--production"])
    assert result.exit_code == 2
    assert "SECRET_KEY must be set" in result.output


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_production_server_answers_health_checks(db_url):
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": db_url, "SECRET_KEY": "x" * 32, "WEB_CONCURRENCY": "2"}
    proc = subprocess.Popen(
        [str(Path(sys.executable).with_name("assetmap")), "serve", "--production", "--port", str(port)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=2) as r:
                    assert r.status == 200
                    break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise
                time.sleep(0.3)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/areas/E06000051", timeout=10) as r:
            assert "Content-Security-Policy" in r.headers
            assert "Werkzeug" not in (r.headers.get("Server") or "")
    finally:
        proc.terminate()
        out = proc.communicate(timeout=20)[0].decode()
    assert '"path":"/readyz"' in out and '"status":200' in out  # structured access log


def test_backup_and_restore_round_trip(db_url, tmp_path):
    source = make_url(db_url)
    copy_url = source.set(database=f"{source.database}_restored").render_as_string(hide_password=False)
    dump = backup(db_url, tmp_path / "test.dump")
    assert dump.stat().st_size > 10_000
    drop_database(copy_url)
    restore(copy_url, dump)
    counts = ("SELECT (SELECT count(*) FROM area), (SELECT count(*) FROM postcode), "
              "(SELECT count(*) FROM indicator_value)")
    with get_engine(db_url).connect() as a, get_engine(copy_url).connect() as b:
        assert a.execute(text(counts)).one() == b.execute(text(counts)).one()
    dispose_engines(copy_url)
    drop_database(copy_url)


def test_restore_of_a_missing_file_is_a_clear_error(runner, tmp_path):
    result = runner.invoke(main, ["restore", str(tmp_path / "nope.dump"), "--yes"])
    assert result.exit_code == 2 and "backup file not found" in result.output
