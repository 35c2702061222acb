"""Compressed responses (Flask-Compress): pages, scripts, styles, JSON, CSV and vector tiles go out
compressed (zstd, brotli, gzip or deflate: the one the client ranks highest, zstd first on a tie), so a
map of all England stays well under its size budget on the wire.

A response that carries a CSRF token is sent as it is: compressing a secret beside text an
attacker can make the page reflect lets its compressed length give the secret away (BREACH). A
proxy in front must not compress HTML for itself, or it would undo that (it leaves the bodies
compressed here alone: their ``Content-Encoding`` is set).
"""
from __future__ import annotations

from flask import current_app, g
from flask_compress import Compress

from assetmap.web.plan import MVT_MIMETYPE

__all__ = ["COMPRESSED_MIMETYPES", "init_app"]

#: What is worth compressing: text, and the vector tiles (protobuf with repetitive keys and
#: small coordinate deltas). Images and fonts the app serves are compressed already.
COMPRESSED_MIMETYPES = [
    "text/html", "text/css", "text/plain", "text/csv", "text/javascript", "application/javascript",
    "application/json", "application/geo+json", "application/problem+json", "application/xml",
    "image/svg+xml", MVT_MIMETYPE,
]


#: Files sent from disk (scripts, styles) up to this size are read whole before compressing.
_READ_WHOLE_MAX = 4 * 1024 * 1024


def _carries_csrf_token() -> bool:
    return current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token") in g


def _read_whole(response):
    """A file sent from disk streams; read whole, it is compressed once with its length and
    validators kept, and werkzeug closes the file (a compressed stream would leave it open)."""
    if (response.direct_passthrough and response.mimetype in current_app.config["COMPRESS_MIMETYPES"]
            and response.content_length is not None and response.content_length <= _READ_WHOLE_MAX):
        response.direct_passthrough = False
        response.make_sequence()
    return response


def init_app(app) -> None:
    """Call first in the factory: Flask runs ``after_request`` hooks last-registered first, so
    this one then sees the finished body (the CSP nonces added, :mod:`assetmap.web.security`)."""
    app.config.setdefault("COMPRESS_MIMETYPES", COMPRESSED_MIMETYPES)
    app.config.setdefault("COMPRESS_REGISTER", False)  # registered below, with the BREACH rule
    compress = Compress(app)

    @app.after_request
    def _compress_unless_secret(response):
        if _carries_csrf_token() or response.status_code == 206:  # a range of the plain bytes stays so
            return response
        return compress.after_request(_read_whole(response))
