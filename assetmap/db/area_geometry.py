"""The LSOAs' (2011 and 2021) population points (EPSG:27700) and generalised tile shapes (EPSG:3857) that the gap
runs and the gap map read.
"""
from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from assetmap.db.indicators import LSOA_LEVELS
from assetmap.domain.gap_analysis import ALL_AREAS

__all__ = ["TILE_TOLERANCE_M", "refresh_area_geometry"]

#: Generalisation of the tile shapes (EPSG:3857 metres) and the zooms that use each.
TILE_TOLERANCE_M = {"geom_lo": 500.0, "geom_mid": 100.0, "geom_hi": 10.0}


def refresh_area_geometry(session: Session, *, check_changed: bool = True, tiles: bool = True,
                          lad: str | None = None) -> dict:
    """Build the population point (and tile shapes) of LSOAs of either vintage that have none or whose polygon changed.

    The point is ``ST_PointOnSurface(ST_Transform(geom, 27700))``: inside the polygon, unlike
    the centroid of a crescent-shaped area. ``check_changed=False`` only fills missing rows (a
    cheap anti-join, done before every run); ``True`` also compares each polygon's hash (done by
    ``assetmap compute gaps``). ``lad`` limits the tile shapes to one local authority's LSOAs.

    Returns ``{"points": n, "tiles": m}``, the rows written.
    """
    changed = "OR p.geom_md5 IS DISTINCT FROM md5(ST_AsEWKB(a.geom))" if check_changed else ""
    points = session.execute(text(
        f"""
        INSERT INTO area_point (area_id, x, y, pt, geom_md5)
        SELECT a.id, ST_X(q.pt), ST_Y(q.pt), q.pt, md5(ST_AsEWKB(a.geom))
        FROM area a
        LEFT JOIN area_point p ON p.area_id = a.id
        CROSS JOIN LATERAL (SELECT ST_PointOnSurface(ST_Transform(a.geom, 27700)) AS pt) q
        WHERE a.level = ANY(:levels) AND a.geom IS NOT NULL AND (p.area_id IS NULL {changed})
        ON CONFLICT (area_id) DO UPDATE SET x = EXCLUDED.x, y = EXCLUDED.y, pt = EXCLUDED.pt,
            geom_md5 = EXCLUDED.geom_md5
        """
    ), {"levels": list(LSOA_LEVELS)}).rowcount
    shapes = 0
    if tiles:
        changed = "OR t.geom_md5 IS DISTINCT FROM md5(ST_AsEWKB(a.geom))" if check_changed else ""
        shapes = session.execute(text(
            f"""
            INSERT INTO area_tile_geom (area_id, geom_lo, geom_mid, geom_hi, geom_md5)
            SELECT a.id, ST_SimplifyPreserveTopology(q.g, :lo), ST_SimplifyPreserveTopology(q.g, :mid),
                   ST_SimplifyPreserveTopology(q.g, :hi), md5(ST_AsEWKB(a.geom))
            FROM area a
            LEFT JOIN area_tile_geom t ON t.area_id = a.id
            CROSS JOIN LATERAL (SELECT ST_Transform(a.geom, 3857) AS g) q
            WHERE a.level = ANY(:levels) AND a.geom IS NOT NULL AND (t.area_id IS NULL {changed})
              AND (CAST(:lad AS text) IS NULL OR a.lad_code = :lad)
            ON CONFLICT (area_id) DO UPDATE SET geom_lo = EXCLUDED.geom_lo, geom_mid = EXCLUDED.geom_mid,
                geom_hi = EXCLUDED.geom_hi, geom_md5 = EXCLUDED.geom_md5
            """
        ), {"lo": TILE_TOLERANCE_M["geom_lo"], "mid": TILE_TOLERANCE_M["geom_mid"],
            "hi": TILE_TOLERANCE_M["geom_hi"], "levels": list(LSOA_LEVELS),
            "lad": None if lad in (None, ALL_AREAS) else lad}).rowcount
    return {"points": points, "tiles": shapes}
