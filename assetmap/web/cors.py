"""Which responses any web page may read (CORS), decided here and only here.

The public, read-only data is open to every origin, with no credentials: the JSON API (/api/v1),
the gap API, the Open Referral UK API, the OpenAPI description, the asset and gap downloads and
the gap map's vector tiles. Nothing else sets ``Access-Control-Allow-Origin``, so the pages,
forms and signed-in views stay same-origin.
"""
from __future__ import annotations

from flask import Blueprint, Response

__all__ = ["allow_any_origin", "open_blueprint"]


def allow_any_origin(response: Response) -> Response:
    """Let any origin read ``response`` (no credentials are ever allowed with it)."""
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def open_blueprint(bp: Blueprint) -> None:
    """Every response of ``bp``'s views, errors included, readable from any origin."""
    bp.after_request(allow_any_origin)
