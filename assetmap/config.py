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


def is_loopback_url(url: str) -> bool:
    """Does ``url`` point at this machine only (no use in an email or a link sent out)?

    Examples
    --------
    >>> [is_loopback_url(u) for u in ("http://127.0.0.1:5000", "http://localhost", "https://[::1]/",
    ...                               "http://0.0.0.0:8000", "https://map.example.org")]
    [True, True, True, True, False]
    """
    import ipaddress
    from urllib.parse import urlsplit

    host = (urlsplit(url).hostname or "").lower()
    if not host or host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or address.is_unspecified


def load_config(overrides: dict | None = None) -> dict:
    env = os.environ
    overrides = overrides or {}
    production = overrides.get("ASSETMAP_ENV", env.get("ASSETMAP_ENV", "development")) == "production"
    if production and not env.get("SECRET_KEY") and not overrides.get("SECRET_KEY"):
        raise ConfigError("SECRET_KEY must be set in production (ASSETMAP_ENV=production)")
    # The site's public address: links in emails, and the scheme cookies follow.
    base_url = (overrides.get("ASSETMAP_BASE_URL") or env.get("ASSETMAP_BASE_URL") or "").rstrip("/")
    if production and (not base_url or is_loopback_url(base_url)):
        raise ConfigError("ASSETMAP_BASE_URL must be set to the site's public address in production "
                          f"(https://... behind a TLS proxy), not {base_url or 'unset'}: it goes into emails and links")
    # Secure cookies only when the site is served over HTTPS: a browser would not send a Secure
    # cookie back over plain HTTP, and signing in would silently fail.
    https = base_url.startswith("https://")
    config = {
        "SQLALCHEMY_DATABASE_URI": None,  # resolved lazily, so `assetmap db up` works before a DB exists
        "SECRET_KEY": env.get("SECRET_KEY") or secrets.token_hex(32),
        "ASSETMAP_ENV": "production" if production else env.get("ASSETMAP_ENV", "development"),
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
        "SESSION_COOKIE_SECURE": https,
        "REMEMBER_COOKIE_SECURE": https,
        "REMEMBER_COOKIE_HTTPONLY": True,
        "PREFERRED_URL_SCHEME": "https" if https else "http",
        "ASSETMAP_BASE_URL": base_url or None,
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
