"""Backups with pg_dump's custom format, and restores with pg_restore, of any PostGIS URL."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from sqlalchemy.engine import make_url

from assetmap.errors import AssetmapError, DatabaseUnavailableError


def _libpq_url(url: str) -> str:
    """The URL as libpq tools want it (no SQLAlchemy driver suffix)."""
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


def backup(url: str, path: Path) -> Path:
    """Dump the whole database to ``path`` (custom format: compressed, restorable selectively)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".partial")
    result = subprocess.run(
        [_tool("pg_dump"), "--format=custom", "--no-owner", "--file", str(tmp), _libpq_url(url)],
        capture_output=True, text=True,
    )
    if result.returncode != 0:
        tmp.unlink(missing_ok=True)
        why = result.stderr.strip().splitlines()[-1] if result.stderr.strip() else result.returncode
        raise AssetmapError(f"pg_dump failed: {why}")
    tmp.replace(path)  # a backup file is either whole or absent
    return path


def restore(url: str, path: Path) -> None:
    """Restore ``path`` into the database at ``url``, replacing what is there (one transaction)."""
    from assetmap.db.engine import ensure_database

    path = Path(path)
    if not path.exists():
        raise AssetmapError(f"backup file not found: {path}")
    ensure_database(url)
    result = subprocess.run(
        [_tool("pg_restore"), "--clean", "--if-exists", "--no-owner", "--single-transaction",
         "--exit-on-error", "--dbname", _libpq_url(url), str(path)],
        capture_output=True, text=True,
    )
    if result.returncode != 0:
        lines = [line for line in result.stderr.strip().splitlines() if line]
        raise AssetmapError(f"pg_restore failed: {lines[-1] if lines else result.returncode}")
