"""Queries about areas: which are loaded, their outlines and extents."""
from __future__ import annotations

import json

from sqlalchemy import text
from sqlalchemy.orm import Session

from assetmap.errors import NotFoundError


def list_local_authorities(session: Session) -> list[dict]:
    """Local authorities that have their outline loaded, by name."""
    rows = session.execute(
        text("SELECT code, name FROM area WHERE level = 'lad' AND geom IS NOT NULL ORDER BY name, code")
    ).mappings()
    return [dict(r) for r in rows]


def get_area(session: Session, code: str) -> dict:
    if "\x00" in code:  # no code holds one, and PostgreSQL refuses NUL in a text parameter
        raise NotFoundError(f"no area with code {code!r} is loaded")
    row = session.execute(
        text(
            """
            SELECT id, code, name, level, lad_code, population,
                   ST_XMin(geom) AS west, ST_YMin(geom) AS south, ST_XMax(geom) AS east, ST_YMax(geom) AS north
            FROM area WHERE code = :code
            """
        ),
        {"code": code},
    ).mappings().first()
    if row is None:
        raise NotFoundError(f"no area with code {code!r} is loaded")
    return dict(row)


def area_outline_geojson(session: Session, code: str, tolerance_deg: float = 0.0005) -> dict:
    """The area's outline, simplified for display, as a GeoJSON geometry."""
    raw = session.execute(
        text("SELECT ST_AsGeoJSON(ST_SimplifyPreserveTopology(geom, :tol), 5) FROM area WHERE code = :code"),
        {"code": code, "tol": tolerance_deg},
    ).scalar()
    if raw is None:
        raise NotFoundError(f"no outline for area {code!r}")
    return json.loads(raw)
