"""Mapbox vector tiles of a run's LSOAs with their scores, or of the wards or MSOAs they add up
to, for the gap map."""
from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from assetmap.db.gap_runs import float8_array
from assetmap.db.indicators import PARENT_LEVELS
from assetmap.errors import BadInputError

__all__ = ["lsoa_tile", "parent_tile"]

#: Simplification (metres, EPSG:3857) of ward and MSOA outlines by zoom, as area_tile_geom's.
_PARENT_TOLERANCE_M = {"geom_lo": 500.0, "geom_mid": 100.0, "geom_hi": 10.0}

MVT_EXTENT = 4096
MVT_BUFFER = 8


def _tile_column(z: int) -> str:
    """The ``area_tile_geom`` column generalised for zoom ``z``."""
    return "geom_lo" if z <= 7 else ("geom_mid" if z <= 10 else "geom_hi")


def lsoa_tile(session: Session, run_id: int, z: int, x: int, y: int, layer: str = "lsoa") -> bytes:
    """A Mapbox vector tile (layer ``layer``: the run's LSOA level, ``lsoa21`` or ``lsoa``) of a
    run's LSOAs in tile ``z/x/y``.

    Each feature's id is the area id, and it carries ``np`` (need percentile), ``pp``
    (provision percentile), ``gap``, ``cls`` (class) and ``none`` (1 when nothing is within
    reach, whatever the class, e.g. also when need is "no data"); percentiles and gap are
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
                   round(s.gap::numeric, {digits})::float8 AS gap, s.class AS cls,
                   CASE WHEN s.provision = 0 THEN 1 END AS none{extra}
            FROM env
            JOIN area_tile_geom t ON t.{column} && env.box
            JOIN gap_score s ON s.area_id = t.area_id AND s.run_id = :run
            JOIN area a ON a.id = s.area_id
        )
        SELECT ST_AsMVT(features, :layer, {MVT_EXTENT}, 'geom', 'fid') FROM features WHERE geom IS NOT NULL
        """
    ), {"z": z, "x": x, "y": y, "run": run_id, "layer": layer}).scalar()
    return bytes(tile or b"")


def parent_tile(session: Session, level: str, rows: list[dict], z: int, x: int, y: int) -> bytes:
    """A Mapbox vector tile (layer ``level``: ``ward24``, ``msoa21``, ``ward`` or ``msoa``) of the
    wards or MSOAs in ``rows``, drawn with their aggregated scores
    (:func:`assetmap.db.gap_results.aggregate_run`), so the map shows the level the table does.

    Features carry ``code``, ``name``, ``pop``, ``np``, ``pp``, ``gap`` (whole numbers below
    zoom 9, to 0.1 from it), ``cls``, ``none`` (1 when none of the area's LSOAs has anything in
    reach) and ``prov`` (per 1,000 people, 4 significant figures); missing values are left out.
    """
    if not (0 <= z <= 22 and 0 <= x < 2**z and 0 <= y < 2**z):
        raise BadInputError(f"no tile {z}/{x}/{y}")
    if level not in PARENT_LEVELS:
        raise BadInputError(f"no tiles for level {level!r}; allowed: {', '.join(PARENT_LEVELS)}")
    digits = 1 if z >= 9 else 0
    tolerance = _PARENT_TOLERANCE_M[_tile_column(z)]
    tile = session.execute(text(
        f"""
        WITH env AS (SELECT ST_TileEnvelope(:z, :x, :y) AS box),
        s AS (
            SELECT unnest(CAST(:codes AS text[])) AS code, unnest(CAST(:pop AS float8[])) AS pop,
                   unnest(CAST(:np AS float8[])) AS np, unnest(CAST(:pp AS float8[])) AS pp,
                   unnest(CAST(:gap AS float8[])) AS gap, unnest(CAST(:prov AS float8[])) AS prov,
                   unnest(CAST(:cls AS text[])) AS cls
        ),
        features AS (
            SELECT ST_AsMVTGeom(ST_SimplifyPreserveTopology(ST_Transform(a.geom, 3857), :tol), env.box,
                                {MVT_EXTENT}, {MVT_BUFFER}, true) AS geom,
                   a.id AS fid, a.code, a.name, round(s.pop)::int AS pop,
                   round(s.np::numeric, {digits})::float8 AS np, round(s.pp::numeric, {digits})::float8 AS pp,
                   round(s.gap::numeric, {digits})::float8 AS gap, s.cls,
                   CASE WHEN s.prov = 0 THEN 1 END AS none,
                   CASE WHEN s.prov = 0 THEN 0 ELSE round((s.prov * 1000)::numeric,
                        greatest(0, 3 - floor(log(abs(s.prov * 1000)))::int))::float8 END AS prov
            FROM env
            JOIN area a ON a.level = :level AND a.geom && ST_Transform(env.box, 4326)
            JOIN s ON s.code = a.code
        )
        SELECT ST_AsMVT(features, :layer, {MVT_EXTENT}, 'geom', 'fid') FROM features WHERE geom IS NOT NULL
        """
    ), {"z": z, "x": x, "y": y, "level": level, "layer": level, "tol": tolerance,
        "codes": [r["code"] for r in rows], "pop": float8_array([r["population"] for r in rows]),
        "np": float8_array([r["need_pct"] for r in rows]), "pp": float8_array([r["provision_pct"] for r in rows]),
        "gap": float8_array([r["gap"] for r in rows]), "prov": float8_array([r["provision"] for r in rows]),
        "cls": [r["bivariate_class"] for r in rows]}).scalar()
    return bytes(tile or b"")
