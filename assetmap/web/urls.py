"""Absolute URLs for responses that caches and other sites keep: built from the configured public
address (``ASSETMAP_BASE_URL``), never from the request's Host header, which a client chooses and a
shared cache would then serve to everyone."""
from __future__ import annotations

from flask import current_app, url_for

__all__ = ["describedby", "public_url", "public_url_for"]


def public_url(path: str) -> str:
    """``path`` (``/api/v1/assets``) on the site's public address: ``ASSETMAP_BASE_URL``, else
    ``SERVER_NAME``, else ``localhost`` (a development machine) — set the first in production."""
    base = (current_app.config.get("ASSETMAP_BASE_URL") or "").rstrip("/")
    if not base:
        scheme = current_app.config.get("PREFERRED_URL_SCHEME") or "http"
        base = f"{scheme}://{current_app.config.get('SERVER_NAME') or 'localhost'}"
    return f"{base}{path}"


def public_url_for(endpoint: str, **values) -> str:
    """:func:`public_url` of ``url_for(endpoint, **values)``."""
    return public_url(url_for(endpoint, **values))


def describedby(response, meta_url: str):
    """Point a download at its companion ``.meta.json`` (RFC 8288 ``describedby``)."""
    response.headers["Link"] = f'<{meta_url}>; rel="describedby"; type="application/json"'
    return response
