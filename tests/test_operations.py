"""Running it for real: production start-up, backups and restores."""
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from assetmap.cli import main
from assetmap.db.backup import backup, restore
from assetmap.db.engine import dispose_engines, drop_database, get_engine


def test_production_refuses_to_start_without_a_secret_key(runner, monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("ASSETMAP_ENV", "production")
    result = runner.invoke(main, ["serve", "--production"])
    assert result.exit_code == 2
    assert "SECRET_KEY must be set" in result.output


def test_production_refuses_a_loopback_base_url(runner, monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "x" * 32)
    monkeypatch.setenv("ASSETMAP_ENV", "production")
    for value in (None, "http://127.0.0.1:5000", "http://localhost:8000"):
        if value is None:
            monkeypatch.delenv("ASSETMAP_BASE_URL", raising=False)
        else:
            monkeypatch.setenv("ASSETMAP_BASE_URL", value)
        result = runner.invoke(main, ["serve", "--production"])
        assert result.exit_code == 2 and "ASSETMAP_BASE_URL must be set to the site's public address" in result.output


def _free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_production_server_answers_health_checks(db_url):
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": db_url, "SECRET_KEY": "x" * 32, "WEB_CONCURRENCY": "2",
           "ASSETMAP_BASE_URL": "https://map.example.org"}
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
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/static/favicon.svg", timeout=10) as r:
            static_bytes = len(r.read())
        # A backslash and a quote in the query and the User-Agent, sent as they are.
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(b'GET /healthz?q=a\\b"c HTTP/1.1\r\nHost: x\r\nUser-Agent: ag\\"ent\r\nConnection: close\r\n\r\n')
            assert s.recv(100).startswith(b"HTTP/1.1 200")
    finally:
        proc.terminate()
        out = proc.communicate(timeout=20)[0].decode()
    entries = [json.loads(line) for line in out.splitlines() if line.startswith("{")]  # each line parses
    assert any(e["path"] == "/readyz" and e["status"] == 200 for e in entries)  # structured access log
    assert any(e["query"] == 'q=a\\b"c' and e["agent"] == 'ag\\"ent' for e in entries)
    assert [e["bytes"] for e in entries if e["path"] == "/static/favicon.svg"] == [static_bytes]
    assert static_bytes > 0


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


def test_backup_is_private_and_keep_rotates(runner, db_url, tmp_path, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", db_url)
    folder = tmp_path / "backups"
    folder.mkdir()
    (folder / "notes.txt").write_text("not a backup")
    for stamp in ("20250101-000000", "20250102-000000", "20250103-000000"):
        (folder / f"assetmap-{stamp}.dump").write_bytes(b"old")
    newest = folder / "assetmap-20991231-000000.dump"
    (folder / "assetmap-20991231-000000.dump.partial").write_bytes(b"left over")
    os.chmod(folder / "assetmap-20991231-000000.dump.partial", 0o644)
    result = runner.invoke(main, ["backup", str(newest), "--keep", "2"])
    assert result.exit_code == 0, result.output
    assert f"backed up to {newest}" in result.output
    assert newest.stat().st_mode & 0o777 == 0o600
    assert sorted(p.name for p in folder.iterdir()) == [
        "assetmap-20250103-000000.dump", "assetmap-20991231-000000.dump", "notes.txt"]
    assert runner.invoke(main, ["backup", str(newest), "--keep", "0"]).exit_code == 2


def test_db_status_shows_the_schema_and_pending_migrations(runner, db_url, monkeypatch):
    from assetmap.db import migrate

    source = make_url(db_url)
    old_url = source.set(database=f"{source.database}_old").render_as_string(hide_password=False)
    drop_database(old_url)
    migrate.upgrade(old_url, "0003")
    try:
        monkeypatch.setenv("DATABASE_URL", old_url)
        result = runner.invoke(main, ["db", "status"])
        assert result.exit_code == 1
        assert f"schema: 0003; newest: {migrate.head_revision()}" in result.output
        pending = migrate.pending_revisions(old_url)
        assert "0007" in pending and pending[-1] == migrate.head_revision()
        assert f"pending migrations ({len(pending)}): " in result.output
        assert "run `assetmap db upgrade`" in result.output
        monkeypatch.setenv("DATABASE_URL", db_url)
        result = runner.invoke(main, ["db", "status"])
        assert result.exit_code == 0 and "pending migrations: none" in result.output
    finally:
        dispose_engines(old_url)
        drop_database(old_url)


def test_db_url_for_libpq_tools_opens_in_psql(runner, db_url, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", db_url)
    url = runner.invoke(main, ["db", "url", "--libpq"]).output.strip()
    assert url.startswith("postgresql://") and "+psycopg" not in url
    from assetmap.db.backup import _tool

    out = subprocess.run([_tool("psql"), url, "-Atc", "SELECT 1"], capture_output=True, text=True)
    assert out.stdout.strip() == "1", out.stderr


def test_readyz_names_no_host_when_the_database_is_down(caplog):
    from assetmap.web import create_app, health

    health.note_database_up()  # this process starts the test with no outage on record
    down = "postgresql+psycopg://postgres@127.0.0.1:1/nowhere"
    app = create_app({"SQLALCHEMY_DATABASE_URI": down, "SECRET_KEY": "x", "RATELIMIT_ENABLED": False})
    with caplog.at_level("WARNING"):
        for _ in range(3):
            response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json() == {"status": "unavailable", "reason": "the database does not answer"}
    assert "127.0.0.1" not in response.get_data(as_text=True) and ":1" not in response.get_data(as_text=True)
    unreachable = [r for r in caplog.records if "database unreachable" in r.getMessage()]
    assert len(unreachable) == 1 and "127.0.0.1" in unreachable[0].getMessage()  # the detail is in the log
    dispose_engines(down)
    # The first answer that is not a server error closes the outage, with one line.
    with caplog.at_level("WARNING"):
        app.test_client().get("/healthz")
        app.test_client().get("/healthz")
    back = [r.getMessage() for r in caplog.records if "reachable again" in r.getMessage()]
    assert back == ["database reachable again (3 requests answered 503 meanwhile)"]


def test_access_log_lines_are_json_whatever_the_request_holds():
    import json
    import logging
    from datetime import timedelta
    from types import SimpleNamespace

    from gunicorn.config import Config

    from assetmap.gunicorn_conf import JsonAccessLogger

    cfg = Config()
    cfg.set("accesslog", "-")
    logger = JsonAccessLogger(cfg)
    lines = []
    handler = logging.Handler()
    handler.emit = lambda record: lines.append(record.getMessage())
    logger.access_log.handlers = [handler]
    nasty = 'a\\b"c\x00\x07\x1b[31m\n\t\u00e9\ud800'
    environ = {"REMOTE_ADDR": "127.0.0.1", "REQUEST_METHOD": "GET", "PATH_INFO": "/find\\" + nasty,
               "QUERY_STRING": "q=" + nasty, "HTTP_USER_AGENT": nasty, "HTTP_REFERER": '"'}
    logger.access(SimpleNamespace(status="200 OK", sent=1234, headers=[]), None, environ,
                  timedelta(milliseconds=12.5))
    assert len(lines) == 1 and "\n" not in lines[0]
    entry = json.loads(lines[0])
    assert entry["agent"] == nasty and entry["query"] == "q=" + nasty and entry["path"] == "/find\\" + nasty
    assert entry["status"] == 200 and entry["bytes"] == 1234 and entry["duration_ms"] == 12.5


def test_local_cluster_requires_passwords_and_converts_a_trusting_one():
    import shutil
    import tempfile

    import psycopg

    from assetmap.db.cluster import LocalCluster

    home = Path(tempfile.mkdtemp(prefix="assetmap-cluster-test-"))
    home.chmod(0o755)  # run as root, the server runs as postgres and must reach it
    cluster = LocalCluster(home / "pg", secrets_dir=home)
    try:
        url = cluster.up(echo=lambda _: None)
        assert (home / "pg-app.json").stat().st_mode & 0o777 == 0o600
        assert (home / "pg-superuser.password").stat().st_mode & 0o777 == 0o600
        with pytest.raises(psycopg.OperationalError):  # no password, no entry: not even as postgres
            psycopg.connect(host="127.0.0.1", port=cluster.port, user="postgres", dbname="postgres").close()
        admin = create_engine(make_url(url).set(database="postgres"), poolclass=NullPool)
        with admin.connect() as conn:
            assert conn.execute(text("SELECT current_user, rolsuper, rolcreatedb FROM pg_roles "
                                     "WHERE rolname = current_user")).one() == ("assetmap", False, True)
        admin.dispose()
        # A cluster from before (trusting everyone, no password files) is converted by `db up`.
        hba = cluster.hba_file.read_text().replace("scram-sha-256", "trust").replace(" peer", " trust")
        cluster.hba_file.write_text(hba)
        (home / "pg-app.json").unlink()
        (home / "pg-superuser.password").unlink()
        cluster._pg("pg_ctl", "reload", "-D", str(cluster.data_dir), capture=True)
        assert "trusts every local connection" in cluster.status()
        url = cluster.up(echo=lambda _: None)
        assert "trust" not in "".join(line for line in cluster.hba_file.read_text().splitlines()
                                      if not line.startswith("#"))
        assert make_url(url).username == "postgres" and make_url(url).password
        with pytest.raises(psycopg.OperationalError):
            psycopg.connect(host="127.0.0.1", port=cluster.port, user="postgres", dbname="postgres").close()
        admin = create_engine(make_url(url).set(database="postgres"), poolclass=NullPool)
        with admin.connect() as conn:
            assert conn.execute(text("SELECT 1")).scalar() == 1
        admin.dispose()
    finally:
        cluster.down(echo=lambda _: None)
        shutil.rmtree(home, ignore_errors=True)


def test_a_worker_loads_the_compiled_catchment_loop_as_it_starts():
    """In a new interpreter (this one may have loaded it already): after gunicorn's
    ``post_worker_init`` the loop is loaded, so a planner's first gap request does not pay for it."""
    check = (
        "import sys\n"
        "from assetmap import gunicorn_conf\n"
        "assert 'numba' not in sys.modules\n"
        "gunicorn_conf.post_worker_init(None)\n"
        "from assetmap.domain.catchment_grid import _sum_in_reach\n"
        "print(len(_sum_in_reach.signatures))\n"
    )
    done = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) == 1


def test_a_database_is_dropped_with_this_roles_sessions_still_in_it(db_url):
    from tests.live import clone_template

    url = clone_template(db_url, "dropped")
    held = create_engine(url, poolclass=NullPool)
    conn = held.connect()
    conn.execute(text("SELECT 1"))  # an open session in the database, as a server thread leaves one
    try:
        drop_database(url)
    finally:
        conn.invalidate()
        held.dispose()
    admin = create_engine(make_url(db_url).set(database="postgres"), poolclass=NullPool)
    with admin.connect() as check:
        assert check.scalar(text("SELECT count(*) FROM pg_database WHERE datname = :n"),
                            {"n": make_url(url).database}) == 0
    admin.dispose()


def test_db_upgrade_makes_the_map_shapes_a_database_lacks(runner, db_url, monkeypatch):
    """A database whose stored runs were computed before runs made their LSOAs' map shapes."""
    from tests.live import committed_clone

    lacking_sql = text("SELECT count(*) FROM area a LEFT JOIN area_tile_geom t ON t.area_id = a.id "
                       "WHERE a.level IN ('lsoa', 'lsoa21') AND a.geom IS NOT NULL AND t.area_id IS NULL")
    with committed_clone(db_url, "shapes") as url:
        with get_engine(url).begin() as conn:
            conn.execute(text("DELETE FROM area_tile_geom WHERE area_id IN "
                              "(SELECT id FROM area WHERE lad_code = 'E06000051')"))
            lacking = conn.scalar(lacking_sql)
        monkeypatch.setenv("DATABASE_URL", url)
        result = runner.invoke(main, ["db", "upgrade"])
        assert result.exit_code == 0, result.output
        assert lacking > 300 and re.search(rf"made \d+ LSOA points, {lacking} map shapes", result.output)
        with get_engine(url).connect() as conn:
            assert conn.scalar(lacking_sql) == 0
        assert "map shapes" not in runner.invoke(main, ["db", "upgrade"]).output  # nothing left to make
