"""Health checks for load balancers and deploys: /healthz (the process answers) and /readyz
(the database answers and its schema is at the newest migration)."""
from __future__ import annotations

from flask import Blueprint, current_app, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

bp = Blueprint("health", __name__)


@bp.route("/healthz")
def healthz():
    return jsonify(status="ok")


@bp.route("/readyz")
def readyz():
    from assetmap.db import migrate
    from assetmap.web.db import get_session

    try:
        get_session().execute(text("SELECT 1"))
        current = migrate.current_revisions(current_app.config["SQLALCHEMY_DATABASE_URI"])
        head = migrate.head_revision()
    except SQLAlchemyError as exc:
        return jsonify(status="unavailable", database=str(getattr(exc, "orig", exc)).splitlines()[0]), 503
    if current != {head}:
        return jsonify(status="migrations pending", current=sorted(current), head=[head]), 503
    return jsonify(status="ready", migrations=sorted(current))
