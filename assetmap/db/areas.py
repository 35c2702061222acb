"""Queries about areas: which are loaded, their outlines and extents."""
from __future__ import annotations

import json

from sqlalchemy import text
from sqlalchemy.orm import Session

from assetmap.domain.area_names import area_label, msoa_name_of_lsoa
from assetmap.errors import BadInputError, NotFoundError

#: Where a code is both (an unchanged LSOA, a ward code kept through a review), the current
#: vintage is the one meant: 2021 geography first (migration 0012).
_LEVEL_PREFERENCE = "CASE level WHEN 'lsoa21' THEN 0 WHEN 'msoa21' THEN 0 WHEN 'ward24' THEN 0 ELSE 1 END"
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
