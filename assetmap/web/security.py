"""Security headers on every response, and a per-request nonce for the inline scripts Folium writes.

The Content-Security-Policy allows scripts only from the app itself and inline scripts that carry
this request's nonce; images also from the configured tile server. Every inline ``<script>`` in an
HTML page we render gets the nonce after rendering: all user text is escaped before it reaches a
page (``&lt;script``), so any literal ``<script`` tag there is our own template's or Folium's.
Styles allow 'unsafe-inline' because Leaflet and Folium position map elements with style
attributes; that cannot run code.
"""
from __future__ import annotations

import re
import secrets
from urllib.parse import urlsplit

from flask import g, request
from flask.sessions import SecureCookieSessionInterface
from markupsafe import Markup

from assetmap.web.extensions import API_PATH

_SCRIPT_TAG = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*\bnonce=)", re.IGNORECASE)


def csp_nonce() -> str:
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


def add_nonce(html: str) -> Markup:
    """Give every inline <script> in ``html`` (trusted markup we generated) this request's nonce."""
    return Markup(_SCRIPT_TAG.sub(f'<script nonce="{csp_nonce()}"', html))


def _tile_origin(tile_url: str | None) -> str:
    if not tile_url:
        return ""
    parts = urlsplit(tile_url.replace("{s}", "a"))
    host = parts.netloc.replace("a.", "*.", 1) if "{s}" in tile_url else parts.netloc
    return f"{parts.scheme}://{host}"


class NoSessionsInTheAPI(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions everywhere but under /api/: the JSON API is public,
    read-only and stateless, so it neither reads nor sets a session cookie, and skips the
    signing set-up (a noticeable share of a finder search's CPU in the worker)."""

    def open_session(self, app, request):
        if request.path.startswith(API_PATH):
            return self.make_null_session(app)
        return super().open_session(app, request)


def init_app(app) -> None:
    tile_origin = _tile_origin(app.config.get("TILE_URL"))
    app.session_interface = NoSessionsInTheAPI()

    @app.context_processor
    def _nonce():
        return {"csp_nonce": csp_nonce, "add_nonce": add_nonce}

    @app.after_request
    def _headers(response):
        h = response.headers
        if response.mimetype == "text/html" and not response.direct_passthrough and not response.is_streamed:
            body = response.get_data(as_text=True)
            if "<script" in body:
                response.set_data(str(add_nonce(body)))
        h.setdefault("X-Content-Type-Options", "nosniff")
        h.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
        if "frame-ancestors *" not in h.get("Content-Security-Policy", ""):  # the embeddable finder's own
            h.setdefault("X-Frame-Options", "DENY")
        h.setdefault("Permissions-Policy", "geolocation=(self), camera=(), microphone=()")
        if response.mimetype == "text/html":
            nonce = g.get("csp_nonce")
            script_src = f"'self' 'nonce-{nonce}'" if nonce else "'self'"
            h.setdefault(
                "Content-Security-Policy",
                "default-src 'self'; "
                f"script-src {script_src}; "
                "style-src 'self' 'unsafe-inline'; "
                f"img-src 'self' data: blob: {tile_origin}; "
                "font-src 'self' data:; connect-src 'self'; object-src 'none'; "
                "base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
            )
        if request.is_secure or request.headers.get("X-Forwarded-Proto") == "https":
            h.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
        return response
