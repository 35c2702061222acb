"""Backups with pg_dump's custom format, and restores with pg_restore, of any PostGIS URL.

A restore replaces the application's tables, functions and data in one transaction but leaves the
extensions (PostGIS and its ``spatial_ref_sys``) as they are: recreating PostGIS under a running
service would give its types and operators new OIDs, which the service's open connections have
cached, and the finder would fail until every worker reconnected. While a restore runs it holds the
advisory lock :data:`assetmap.db.locks.RESTORE`, which ``/readyz`` reports.
"""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from assetmap.db import locks
from assetmap.errors import AssetmapError, DatabaseUnavailableError

BACKUP_GLOB = "assetmap-*.dump"


def libpq_url(url: str) -> str:
    """The URL as libpq tools (psql, pg_dump) want it: no SQLAlchemy driver suffix.

    Examples
    --------
    >>> libpq_url("postgresql+psycopg://app:secret@db:5432/assetmap")
    'postgresql://app:secret@db:5432/assetmap'
    """
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


def _tool(name: str) -> str:
    from assetmap.db.cluster import find_pg_bin

    try:
        candidate = find_pg_bin() / name
        if candidate.exists():
            return str(candidate)
    except DatabaseUnavailableError:
        pass
    found = shutil.which(name)
    if not found:
        raise DatabaseUnavailableError(f"{name} is not installed (Debian package postgresql-client)")
    return found


def _last_line(stderr: str, code: int) -> str:
    lines = [line for line in (stderr or "").strip().splitlines() if line]
    return lines[-1] if lines else f"exit {code}"


def backup(url: str, path: Path, keep: int | None = None) -> Path:
    """Dump the whole database to ``path`` (custom format: compressed, restorable selectively).

    The file is readable by its owner only (it holds password hashes), written to ``.partial``
    and renamed when whole. With ``keep``, only the newest ``keep`` backups named
    ``assetmap-*.dump`` in the same folder are kept (see :func:`rotate`).
    """
    path = Path(path)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)  # a new folder: its owner's only
    tmp = path.with_suffix(path.suffix + ".partial")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)  # an old .partial keeps its mode through O_TRUNC
        result = subprocess.run([_tool("pg_dump"), "--format=custom", "--no-owner", libpq_url(url)],
                                stdout=fd, stderr=subprocess.PIPE, text=True)
    finally:
        os.close(fd)
    if result.returncode != 0:
        tmp.unlink(missing_ok=True)
        raise AssetmapError(f"pg_dump failed: {_last_line(result.stderr, result.returncode)}")
    tmp.replace(path)  # a backup file is either whole or absent
    if keep is not None:
        rotate(path.parent, keep)
    return path


def rotate(folder: Path, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` backups named ``assetmap-*.dump`` in ``folder`` (their
    names sort by time); other files are never touched. Returns the deleted paths."""
    if keep < 1:
        raise AssetmapError("--keep must be 1 or more")
    old = sorted(Path(folder).glob(BACKUP_GLOB))[:-keep]
    for p in old:
        p.unlink()
    return old


# Entries of a dump's table of contents a restore leaves alone: extensions (and their comments),
# and rows of PostGIS's own table.
_KEEP_OUT = re.compile(r"^\d+; \d+ \d+ (EXTENSION |COMMENT - EXTENSION |TABLE DATA \S+ spatial_ref_sys )")
_EXTENSION = re.compile(r"^\d+; \d+ \d+ EXTENSION - (\S+)")


def restore_list(toc: str) -> tuple[str, list[str]]:
    """The ``pg_restore -L`` list for a dump's table of contents (``pg_restore -l``) without the
    extension entries, and the extensions the dump needs.

    Examples
    --------
    >>> toc = '''; Archive created at ...
    ... 2; 3079 16385 EXTENSION - postgis
    ... 5160; 0 0 COMMENT - EXTENSION postgis
    ... 230; 1259 17433 TABLE public asset postgres
    ... 5001; 0 16700 TABLE DATA public spatial_ref_sys postgres
    ... 5002; 0 17433 TABLE DATA public asset postgres'''
    >>> listing, extensions = restore_list(toc)
    >>> print(listing)
    ; Archive created at ...
    230; 1259 17433 TABLE public asset postgres
    5002; 0 17433 TABLE DATA public asset postgres
    >>> extensions
    ['postgis']
    """
    lines = toc.splitlines()
    extensions = [m.group(1) for m in map(_EXTENSION.match, lines) if m]
    return "\n".join(line for line in lines if not _KEEP_OUT.match(line)), extensions


def restore(url: str, path: Path) -> None:
    """Restore ``path`` into the database at ``url``, replacing the application's objects and data
    in one transaction; extensions are created if missing and otherwise left in place.

    Raises
    ------
    AssetmapError
        The file is missing or unreadable, another restore is running, or pg_restore failed
        (then nothing has changed).
    """
    from assetmap.db.engine import ensure_database

    path = Path(path)
    if not path.exists():
        raise AssetmapError(f"backup file not found: {path}")
    listed = subprocess.run([_tool("pg_restore"), "--list", str(path)], capture_output=True, text=True)
    if listed.returncode != 0:
        why = _last_line(listed.stderr, listed.returncode)
        raise AssetmapError(f"{path} is not a backup pg_restore can read: {why}")
    listing, extensions = restore_list(listed.stdout)
    ensure_database(url)
    engine = create_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
    try:
        with engine.connect() as conn, tempfile.TemporaryDirectory() as tmp:
            if not locks.hold_session_lock(conn, locks.RESTORE):
                raise AssetmapError("another restore of this database is running")
            for name in extensions:
                conn.execute(text(f'CREATE EXTENSION IF NOT EXISTS "{name}"'))
            list_file = Path(tmp) / "restore.list"
            list_file.write_text(listing + "\n")
            result = subprocess.run(
                [_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--single-transaction",
                 "--exit-on-error", "--use-list", str(list_file), "--dbname", libpq_url(url), str(path)],
                capture_output=True, text=True,
            )
            if result.returncode != 0:
                raise AssetmapError(f"pg_restore failed: {_last_line(result.stderr, result.returncode)}")
            conn.execute(text("ANALYZE"))  # a restored table has no planner statistics yet
    finally:
        engine.dispose()
