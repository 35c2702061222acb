"""Indicators kept at one area level and read at another: which ward or MSOA each LSOA lies in.

The gap analysis works on LSOAs. An indicator uploaded by MSOA or ward code applies to each LSOA
whose representative point (``area_point.pt``, PostGIS ``ST_PointOnSurface`` in EPSG:27700)
lies inside that MSOA or ward; the same membership aggregates LSOA scores up to wards and MSOAs.
A point on a shared edge goes to the area with the lowest code, so every LSOA has at most one.
"""
from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd
from sqlalchemy import text
from sqlalchemy.orm import Session

__all__ = ["PARENT_LEVELS", "area_ids_by_code", "lsoa_parents", "lsoa_values"]

#: Levels an LSOA can be placed in by its representative point.
PARENT_LEVELS = ("msoa", "ward")

# Every LSOA of :lsoa_ids with the area of :level its representative point lies in.
_MEMBERSHIP = """
    WITH parent AS MATERIALIZED (
        -- The few wards or MSOAs drive the join, in the points' own CRS, so the GiST index on
        -- area_point.pt is used (from the points' side, every point would probe every level's shapes).
        -- Materialized, so each shape is transformed once, not again for the index condition and
        -- the exact test (which otherwise dominates a LAD's gap page).
        SELECT id, code, name, ST_Transform(geom, 27700) AS geom FROM area WHERE level = :level AND geom IS NOT NULL
    )
    SELECT DISTINCT ON (p.area_id) p.area_id AS lsoa_id, g.id AS parent_id, g.code AS parent_code,
           g.name AS parent_name
    FROM parent g
    JOIN area_point p ON ST_Intersects(g.geom, p.pt)
    WHERE p.area_id = ANY(CAST(:lsoa_ids AS int[]))
    ORDER BY p.area_id, g.code
"""


def _check_level(level: str) -> None:
    if level not in PARENT_LEVELS:
        raise ValueError(f"level must be one of {', '.join(PARENT_LEVELS)}, got {level!r}")


def lsoa_parents(session: Session, lsoa_ids: Iterable[int], level: str) -> pd.DataFrame:
    """The ward or MSOA each LSOA's representative point lies in.

    Parameters
    ----------
    session : Session
    lsoa_ids : iterable of int
        Area ids of LSOAs (with a population point: see
        :func:`assetmap.db.area_geometry.refresh_area_geometry`).
    level : {"msoa", "ward"}

    Returns
    -------
    pandas.DataFrame
        ``lsoa_id, parent_id, parent_code, parent_name``, by ``lsoa_id``; an LSOA in no loaded
        area of that level has no row.
    """
    _check_level(level)
    rows = session.execute(text(_MEMBERSHIP), {"level": level, "lsoa_ids": [int(i) for i in lsoa_ids]}).all()
    return pd.DataFrame.from_records(list(map(tuple, rows)),
                                     columns=["lsoa_id", "parent_id", "parent_code", "parent_name"])


def lsoa_values(session: Session, indicator_id: int, level: str, lsoa_ids: Iterable[int]) -> pd.Series:
    """An indicator's values by LSOA id, whatever level it is kept at.

    An LSOA indicator is read as stored; an MSOA or ward indicator gives each LSOA the value of
    the MSOA or ward its representative point lies in. LSOAs without a value are absent (no
    data, never zero).
    """
    ids = [int(i) for i in lsoa_ids]
    if level == "lsoa":
        rows = session.execute(text(
            "SELECT area_id, value FROM indicator_value"
            " WHERE indicator_id = :ind AND area_id = ANY(CAST(:ids AS int[]))"
        ), {"ind": indicator_id, "ids": ids}).all()
    else:
        _check_level(level)
        rows = session.execute(text(
            f"""
            WITH m AS ({_MEMBERSHIP})
            SELECT m.lsoa_id, v.value FROM m
            JOIN indicator_value v ON v.indicator_id = :ind AND v.area_id = m.parent_id
            """
        ), {"ind": indicator_id, "level": level, "lsoa_ids": ids}).all()
    return pd.Series({r[0]: r[1] for r in rows}, dtype=np.float64)


def area_ids_by_code(session: Session, levels: Iterable[str] = ("lsoa", "msoa", "ward")) -> dict[str, tuple[int, str]]:
    """``{code: (area id, level)}`` of the loaded areas of these levels."""
    rows = session.execute(text("SELECT code, id, level FROM area WHERE level = ANY(:levels) ORDER BY code"),
                           {"levels": list(levels)}).all()
    return {code: (area_id, level) for code, area_id, level in rows}
