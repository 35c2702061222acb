"""Mapbox vector tiles of a run's LSOAs with their scores, for the gap map."""
from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from assetmap.errors import BadInputError

__all__ = ["lsoa_tile"]

MVT_EXTENT = 4096
MVT_BUFFER = 8


def _tile_column(z: int) -> str:
    """The ``area_tile_geom`` column generalised for zoom ``z``."""
    return "geom_lo" if z <= 7 else ("geom_mid" if z <= 10 else "geom_hi")


def lsoa_tile(session: Session, run_id: int, z: int, x: int, y: int) -> bytes:
    """A Mapbox vector tile (layer ``lsoa``) of a run's LSOAs in tile ``z/x/y``.

    Each feature's id is the area id, and it carries ``np`` (need percentile), ``pp``
    (provision percentile), ``gap`` and ``cls`` (bivariate class); percentiles and gap are
    whole numbers below zoom 9 and to 0.1 from zoom 9. From zoom 8 it also carries ``code``;
    from zoom 9 ``name``, ``pop``, ``need`` (the indicator's value), ``prov`` (provision per
    1,000 people, 4 significant figures) and ``near`` (metres to the nearest asset). Missing
    values are left out, so the map can show "no data". Shapes are generalised by zoom
    (``area_tile_geom``). Raises :class:`~assetmap.errors.BadInputError` for a tile that does
    not exist.
    """
    if not (0 <= z <= 22 and 0 <= x < 2**z and 0 <= y < 2**z):
        raise BadInputError(f"no tile {z}/{x}/{y}")
    column = _tile_column(z)
    digits = 1 if z >= 9 else 0
    extra = ", a.code" if z >= 8 else ""
    if z >= 9:
        extra += """,
               a.name, round(s.population)::int AS pop, s.need_value AS need,
               CASE WHEN s.provision = 0 THEN 0 ELSE round((s.provision * 1000)::numeric,
                    greatest(0, 3 - floor(log(abs(s.provision * 1000)))::int))::float8 END AS prov,
               round(s.nearest_m)::int AS near"""
    tile = session.execute(text(
        f"""
        WITH env AS (SELECT ST_TileEnvelope(:z, :x, :y) AS box),
        features AS (
            SELECT ST_AsMVTGeom(t.{column}, env.box, {MVT_EXTENT}, {MVT_BUFFER}, true) AS geom, s.area_id AS fid,
                   round(s.need_pct::numeric, {digits})::float8 AS np,
                   round(s.provision_pct::numeric, {digits})::float8 AS pp,
                   round(s.gap::numeric, {digits})::float8 AS gap, s.class AS cls{extra}
            FROM env
            JOIN area_tile_geom t ON t.{column} && env.box
            JOIN gap_score s ON s.area_id = t.area_id AND s.run_id = :run
            JOIN area a ON a.id = s.area_id
        )
        SELECT ST_AsMVT(features, 'lsoa', {MVT_EXTENT}, 'geom', 'fid') FROM features WHERE geom IS NOT NULL
        """
    ), {"z": z, "x": x, "y": y, "run": run_id}).scalar()
    return bytes(tile or b"")
