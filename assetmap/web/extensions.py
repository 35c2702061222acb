"""Flask extensions shared by the blueprints: CSRF protection and rate limiting.

Limits are counted per client address in ``REDIS_URL``'s Redis when it is set (one count for
every worker and server), else in each process's memory. The client address is the connecting
one, or with ``ASSETMAP_TRUSTED_PROXIES=n`` the address the n-th proxy in front of the app saw
(werkzeug's ``ProxyFix`` reads ``X-Forwarded-For`` only that far back, so a client cannot pick
its own address by sending the header).
"""
from __future__ import annotations

import os

from flask import current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

csrf = CSRFProtect()
# Flask-Limiter's own headers are off: it would restate Retry-After on every response of a limited
# view, over a 503's own; the error handler sets Retry-After on each refusal (assetmap.web.errors).
limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=False)

#: The public JSON API: read-only GETs, no cookie session, no per-client limits except on the
#: endpoints marked :func:`limited_in_api` (those that start expensive work).
API_PATH = "/api/"


def client_address() -> str:
    """The client's address, as the limits count it."""
    return get_remote_address()


def limited_in_api(view):
    """Mark an /api/ view whose ``@limiter.limit`` applies (the rest of /api/ is not limited)."""
    view.limited_in_api = True
    return view


@limiter.request_filter
def _public_api() -> bool:
    """No limits under /api/ but on :func:`limited_in_api` views. (The limiter's before-request
    hook still runs there and checks nothing, a small share of a finder search's CPU that
    Flask-Limiter offers no way to skip.)"""
    if not request.path.startswith(API_PATH):
        return False
    view = current_app.view_functions.get(request.endpoint or "")
    return not getattr(view, "limited_in_api", False)


def trusted_proxies(app) -> int:
    """``ASSETMAP_TRUSTED_PROXIES``: how many proxies in front of the app add ``X-Forwarded-For``
    and ``X-Forwarded-Proto`` (0: none, the connecting address is the client's)."""
    value = app.config.get("ASSETMAP_TRUSTED_PROXIES", os.environ.get("ASSETMAP_TRUSTED_PROXIES") or 0)
    return max(0, int(value))


def init_app(app) -> None:
    from assetmap.web import limits

    csrf.init_app(app)
    proxies = trusted_proxies(app)
    app.config["ASSETMAP_TRUSTED_PROXIES"] = proxies
    if proxies:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies)
    app.config.setdefault("REDIS_URL", os.environ.get("REDIS_URL") or None)
    if app.config["REDIS_URL"] and app.config.get("RATELIMIT_STORAGE_URI", "memory://") == "memory://":
        app.config["RATELIMIT_STORAGE_URI"] = app.config["REDIS_URL"]
    app.config.setdefault("RATELIMIT_STORAGE_URI", "memory://")
    # A Redis that stops answering must not stop the site: count in memory until it is back.
    app.config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    limiter.init_app(app)
    limits.init_app(app)
