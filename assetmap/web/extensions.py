"""Flask extensions shared by the blueprints: CSRF protection and rate limiting."""
from __future__ import annotations

from flask import request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFProtect

csrf = CSRFProtect()
limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=True)

#: The public JSON API: read-only GETs, no cookie session, no per-client limits.
API_PATH = "/api/"


@limiter.request_filter
def _public_api() -> bool:
    """No limits under /api/. (The limiter's before-request hook still runs there and checks
    nothing, a small share of a finder search's CPU that Flask-Limiter offers no way to skip.)"""
    return request.path.startswith(API_PATH)


def init_app(app) -> None:
    csrf.init_app(app)
    app.config.setdefault("RATELIMIT_STORAGE_URI", "memory://")
    limiter.init_app(app)
