"""Queries about areas: which are loaded, their outlines and extents, and the area rows importers write."""
from __future__ import annotations

import json

from sqlalchemy import text
from sqlalchemy.orm import Session

from assetmap.db.bulk import copy_into_temp, upsert_counts
from assetmap.domain.area_names import area_label, msoa_name_of_lsoa
from assetmap.domain.gap_analysis import VINTAGE_LEVELS
from assetmap.domain.vintages import CURRENT_LSOA_LEVEL
from assetmap.errors import BadInputError, NotFoundError


def vintage_first(level_column: str = "level", lsoa_level: str = CURRENT_LSOA_LEVEL) -> str:
    """An ``ORDER BY`` term that puts rows of one vintage's geography first, where a code is of
    both (an unchanged LSOA, a ward code kept through a review; migration 0012): the current
    vintage's unless ``lsoa_level`` names the LSOAs of another (its wards and MSOAs are those
    :data:`~assetmap.domain.gap_analysis.VINTAGE_LEVELS` pairs with them).

    >>> vintage_first("a.level")
    "(a.level IN ('lsoa21', 'ward24', 'msoa21')) DESC"
    >>> vintage_first(lsoa_level="lsoa")
    "(level IN ('lsoa', 'ward', 'msoa')) DESC"
    """
    levels = VINTAGE_LEVELS[lsoa_level].values()
    return f"({level_column} IN ({', '.join(repr(level) for level in levels)})) DESC"


_LEVEL_PREFERENCE = vintage_first()
LEVEL_NAMES = {"lsoa": "LSOA 2011", "msoa": "MSOA 2011", "ward": "ward (2011 boundaries)", "lsoa21": "LSOA 2021",
               "msoa21": "MSOA 2021", "ward24": "ward (2024)", "lad": "local authority", "town": "town",
               "custom": "custom area"}


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
            f"""
            SELECT id, code, name, level, lad_code, population,
                   ST_XMin(geom) AS west, ST_YMin(geom) AS south, ST_XMax(geom) AS east, ST_YMax(geom) AS north
            FROM area WHERE code = :code ORDER BY {_LEVEL_PREFERENCE} LIMIT 1
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
        text("SELECT ST_AsGeoJSON(ST_SimplifyPreserveTopology(geom, :tol), 5) FROM area WHERE code = :code "
             f"ORDER BY {_LEVEL_PREFERENCE} LIMIT 1"),
        {"code": code, "tol": tolerance_deg},
    ).scalar()
    if raw is None:
        raise NotFoundError(f"no outline for area {code!r}")
    return json.loads(raw)


def loaded_levels(session: Session) -> list[str]:
    """The area levels with at least one outline loaded, in a stable order."""
    return list(session.execute(text(
        "SELECT DISTINCT level FROM area WHERE geom IS NOT NULL ORDER BY level")).scalars())


def require_level_loaded(session: Session, level: str) -> None:
    """Raise :class:`~assetmap.errors.BadInputError` (a 400) when no area of ``level`` has its
    boundary loaded, naming the levels that are."""
    if session.execute(text("SELECT 1 FROM area WHERE level = :l AND geom IS NOT NULL LIMIT 1"),
                       {"l": level}).first() is not None:
        return
    loaded = [LEVEL_NAMES.get(lvl, lvl) for lvl in loaded_levels(session) if lvl not in ("custom",)]
    raise BadInputError(
        f"no {LEVEL_NAMES.get(level, level)} boundaries are loaded (loaded: {', '.join(loaded) or 'none'}); "
        f"import them (assetmap import boundaries) or choose a need indicator on a loaded geography"
    )


def apply_area_names(session: Session) -> int:
    """Give the loaded MSOAs and LSOAs their readable names from ``msoa_name``
    (:func:`assetmap.domain.area_names.area_label`), and each LSOA its MSOA's code.

    Returns the number of areas renamed.
    """
    names = {(lvl, ons): (code, name) for code, lvl, ons, name in session.execute(
        text("SELECT code, level, ons_name, name FROM msoa_name")).all()}
    by_code = {(lvl, code): name for (lvl, _), (code, name) in names.items()}
    if not names:
        return 0
    rows = session.execute(text(
        "SELECT id, code, level, COALESCE(ons_name, name) AS ons, name, msoa_code FROM area "
        "WHERE level IN ('lsoa', 'lsoa21', 'msoa', 'msoa21')")).all()
    changes = []
    for area_id, code, level, ons, name, msoa_code in rows:
        if level.startswith("msoa"):
            label, parent = area_label(level, ons, by_code.get((level, code))), msoa_code
        else:
            msoa_level = "msoa21" if level == "lsoa21" else "msoa"
            parent_code, parent_name = names.get((msoa_level, msoa_name_of_lsoa(ons)), (msoa_code, None))
            label, parent = area_label(level, ons, parent_name), parent_code
        if (label, parent) != (name, msoa_code):
            changes.append((area_id, label, ons, parent))
    if changes:
        session.execute(text(
            """
            UPDATE area SET name = t.name, ons_name = t.ons, msoa_code = t.msoa
            FROM (SELECT unnest(CAST(:ids AS int[])) AS id, unnest(CAST(:names AS text[])) AS name,
                         unnest(CAST(:ons AS text[])) AS ons, unnest(CAST(:msoa AS text[])) AS msoa) t
            WHERE area.id = t.id
            """
        ), {"ids": [c[0] for c in changes], "names": [c[1] for c in changes], "ons": [c[2] for c in changes],
            "msoa": [c[3] for c in changes]})
    return len(changes)


def fill_missing_lad_codes(session: Session) -> int:
    """Give wards and MSOAs without a local authority the one of the LSOA under their inside point."""
    result = session.execute(
        text(
            """
            UPDATE area a SET lad_code = l.lad_code
            FROM area l
            WHERE a.lad_code IS NULL AND a.level IN ('msoa', 'ward', 'msoa21', 'ward24')
              AND l.level = CASE WHEN a.level IN ('msoa', 'ward') THEN 'lsoa' ELSE 'lsoa21' END
              AND l.lad_code IS NOT NULL
              AND ST_Contains(l.geom, ST_PointOnSurface(a.geom))
            """
        )
    )
    return result.rowcount


def lad_codes_to_outline(session: Session, lad_codes: list[str] | None = None) -> list[str]:
    """Codes of the local authorities with no outline yet (or those named), in order."""
    where = "a.geom IS NULL" if lad_codes is None else "a.code = ANY(:codes)"
    return session.execute(
        text(f"SELECT a.code FROM area a WHERE a.level = 'lad' AND {where} ORDER BY a.code"), {"codes": lad_codes or []}
    ).scalars().all()


def outline_lad_from_lsoas(session: Session, code: str) -> int:
    """Set one local authority's outline to the union of its LSOAs; the rows updated (0 or 1)."""
    # Generalised LSOA outlines do not share every vertex, so their union keeps hairline
    # slivers as holes and crumbs; keep each part's exterior ring and drop crumbs (< ~1 ha).
    result = session.execute(
        text(
            """
            UPDATE area SET geom = sub.geom FROM (
                SELECT ST_Multi(ST_Collect(ST_MakePolygon(ST_ExteriorRing(d.geom)))) AS geom
                FROM ST_Dump((
                    SELECT ST_CollectionExtract(ST_MakeValid(ST_Union(geom)), 3)
                    FROM area WHERE lad_code = :code AND level = (
                        -- the 2011 LSOAs where loaded (the finer outlines), else the 2021 ones
                        SELECT CASE WHEN EXISTS (SELECT 1 FROM area WHERE level = 'lsoa' AND lad_code = :code)
                               THEN 'lsoa' ELSE 'lsoa21' END)
                )) d
                WHERE ST_Area(d.geom) > 1e-6
            ) sub
            WHERE area.code = :code AND sub.geom IS NOT NULL
            """
        ),
        {"code": code},
    )
    return result.rowcount


def set_lad_codes(session: Session, level: str, codes: list[str], lads: list[str]) -> None:
    """Set the local authority of the areas of ``level`` named in ``codes`` (``lads`` in step)."""
    session.execute(text("UPDATE area SET lad_code = t.lad FROM (SELECT unnest(CAST(:codes AS text[])) AS code, "
                         "unnest(CAST(:lads AS text[])) AS lad) t "
                         "WHERE area.code = t.code AND area.level = :level AND area.lad_code IS DISTINCT FROM t.lad"),
                    {"codes": codes, "lads": lads, "level": level})


def upsert_lad(session: Session, code: str, name: str, source: str) -> None:
    """Insert a local authority's row (no outline), or rename it."""
    session.execute(
        text(
            """
            INSERT INTO area (code, name, level, lad_code, source) VALUES (:code, :name, 'lad', :code, :source)
            ON CONFLICT (code, level) DO UPDATE SET name = EXCLUDED.name
            WHERE area.name IS DISTINCT FROM EXCLUDED.name
            """
        ),
        {"code": code, "name": name, "source": source[:50]},
    )


def set_lsoa_populations(session: Session, codes: list[str], population: list, p0: list, p16: list,
                         p60: list) -> None:
    """Set the population and its age groups (0-15, 16-59, 60+) of the LSOAs 2011 named in ``codes``."""
    session.execute(
        text(
            """
            UPDATE area SET population = t.population, pop_0_15 = t.p0, pop_16_59 = t.p16, pop_60_plus = t.p60
            FROM (SELECT unnest(CAST(:codes AS text[])) AS code, unnest(CAST(:population AS float8[])) AS population,
                         unnest(CAST(:p0 AS float8[])) AS p0, unnest(CAST(:p16 AS float8[])) AS p16,
                         unnest(CAST(:p60 AS float8[])) AS p60) t
            WHERE area.code = t.code AND area.level = 'lsoa'
            """
        ),
        {"codes": codes, "population": population, "p0": p0, "p16": p16, "p60": p60},
    )


def upsert_areas(session: Session, rows: list[tuple], source: str) -> tuple[int, int]:
    """Insert or update areas from ``rows`` of ``(code, name, level, lad_code, WKB hex)``; a
    readable name given by the names import stays until the publisher's name changes. Returns
    (inserted, updated)."""
    copy_into_temp(
        session, "tmp_area",
        [("code", "varchar(20)"), ("name", "varchar(200)"), ("level", "varchar(10)"), ("lad_code", "varchar(10)"),
         ("wkb", "text")],
        rows,
    )
    return upsert_counts(
        session,
        """
        INSERT INTO area (code, name, ons_name, level, lad_code, geom, source)
        SELECT code, name, name, level, lad_code, ST_GeomFromWKB(decode(wkb, 'hex'), 4326), :source FROM tmp_area
        ON CONFLICT (code, level) DO UPDATE SET
            ons_name = EXCLUDED.ons_name,
            -- a readable name given by the names import stays until the publisher's name changes
            name = CASE WHEN area.ons_name = EXCLUDED.ons_name THEN area.name ELSE EXCLUDED.name END,
            lad_code = COALESCE(EXCLUDED.lad_code, area.lad_code), geom = EXCLUDED.geom
        WHERE (area.ons_name, area.lad_code) IS DISTINCT FROM
              (EXCLUDED.ons_name, COALESCE(EXCLUDED.lad_code, area.lad_code))
           OR area.geom IS NULL OR NOT ST_OrderingEquals(area.geom, EXCLUDED.geom)
        RETURNING (xmax = 0)
        """,
        {"source": source},
    )
