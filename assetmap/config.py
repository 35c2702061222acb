"""Settings from the environment. Nothing is read at import time; ``load_config`` is called by
the app factory and the CLI."""
from __future__ import annotations

import os
import secrets
from pathlib import Path

from assetmap.errors import AssetmapError

PROJECT_DIR = Path(__file__).resolve().parent.parent


def data_dir() -> Path:
    """Where the published open data files are (``ASSETMAP_DATA_DIR``, default ``../shared/data``)."""
    return Path(os.environ.get("ASSETMAP_DATA_DIR", PROJECT_DIR.parent / "shared" / "data")).resolve()


def instance_dir() -> Path:
    return Path(os.environ.get("ASSETMAP_INSTANCE_DIR", PROJECT_DIR / "instance")).resolve()


def configured_database_url(dbname: str | None = None) -> str | None:
    """``DATABASE_URL`` (for the psycopg driver, naming ``dbname`` if given), or None when unset.

    Without it the project-local cluster is used: :func:`assetmap.db.cluster.database_url`
    resolves that.
    """
    url = os.environ.get("DATABASE_URL")
    if not url:
        return None
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        url = "postgresql+psycopg://" + url.split("://", 1)[1]
    if dbname:
        from sqlalchemy.engine import make_url

        url = make_url(url).set(database=dbname).render_as_string(hide_password=False)
    return url

#: Months after which an entry nobody has checked is stale (:mod:`assetmap.domain.staleness`).
DEFAULT_STALE_MONTHS = 12


def stale_months(env=None) -> int:
    """``ASSETMAP_STALE_MONTHS`` from ``env`` (default the environment), else :data:`DEFAULT_STALE_MONTHS`.

    >>> stale_months({"ASSETMAP_STALE_MONTHS": "6"}), stale_months({})
    (6, 12)
    """
    env = os.environ if env is None else env
    return int(env.get("ASSETMAP_STALE_MONTHS") or DEFAULT_STALE_MONTHS)


class ConfigError(AssetmapError):
    """A setting is missing or wrong: the service refuses to start."""


def load_config(overrides: dict | None = None) -> dict:
    env = os.environ
    production = env.get("ASSETMAP_ENV", "development") == "production"
    if production and not env.get("SECRET_KEY") and not (overrides or {}).get("SECRET_KEY"):
        raise ConfigError("SECRET_KEY must be set in production (ASSETMAP_ENV=production)")
    config = {
        "SQLALCHEMY_DATABASE_URI": None,  # resolved lazily, so `assetmap db up` works before a DB exists
        "SECRET_KEY": env.get("SECRET_KEY") or secrets.token_hex(32),
        "ASSETMAP_ENV": env.get("ASSETMAP_ENV", "development"),
        "TILE_URL": env.get("ASSETMAP_TILE_URL", "https://tile.openstreetmap.org/{z}/{x}/{y}.png"),
        "TILE_ATTRIBUTION": env.get(
            "ASSETMAP_TILE_ATTRIBUTION",
            '&copy; <a href="https://www.openstreetmap.org/copyright">OpenStreetMap</a> contributors',
        ),
        "DEFAULT_AREAS": [c.strip() for c in env.get("ASSETMAP_DEFAULT_AREAS", "E06000051,E08000004").split(",")],
        "MAX_CONTENT_LENGTH": int(env.get("ASSETMAP_MAX_UPLOAD_BYTES", str(20 * 1024 * 1024))),
        "WTF_CSRF_TIME_LIMIT": None,
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_SECURE": production,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "PREFERRED_URL_SCHEME": "https" if production else "http",
        # The site's public address: absolute links in cacheable responses are built on it.
        "ASSETMAP_BASE_URL": env.get("ASSETMAP_BASE_URL", "").rstrip("/"),
        # Entries not verified for this long are "stale": moderators see them, the finder sinks them.
        "ASSETMAP_STALE_MONTHS": stale_months(env),
        "RATELIMIT_STORAGE_URI": env.get("RATELIMIT_STORAGE_URI", "memory://"),
        # Only for load benchmarks from one address; never off in production.
        "RATELIMIT_ENABLED": env.get("ASSETMAP_RATELIMIT", "on") != "off",
    }
    if env.get("DATABASE_URL"):
        config["SQLALCHEMY_DATABASE_URI"] = configured_database_url()
    if overrides:
        config.update(overrides)
    return config
