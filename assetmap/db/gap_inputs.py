"""What a gap run reads: population points, the supply of a category, indicator values, and the
distance to the nearest asset, each cut to a bounding box in EPSG:27700 metres.

Edge effects
------------
A run for one local authority reports its LSOAs only, but counts everyone and everything within
reach: assets within the radius of any of its population points, and the population within
twice the radius (everyone who shares those assets). Both are cut by bounding boxes in metres,
which can only take in more than needed, never less; what lies beyond reach does not change the
scores reported.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from sqlalchemy import text
from sqlalchemy.orm import Session

from assetmap.db import indicators as indicator_values
from assetmap.domain import gap_analysis
from assetmap.domain.access import nearest_distance
from assetmap.domain.gap_analysis import ALL_AREAS, GROUPS
from assetmap.errors import BadInputError

__all__ = [
    "box_params",
    "demand_frame",
    "grow_box",
    "nearest_distances",
    "need_series",
    "reported_box",
    "rural_classification_loaded",
    "rural_flags",
    "supply_frame",
]


# The category and the terms under it (an asset typed with a narrower term counts too).
_TERMS_UNDER = """
    WITH RECURSIVE terms AS (
        SELECT id FROM taxonomy_term WHERE id = :term_id
        UNION SELECT t.id FROM taxonomy_term t JOIN terms ON t.parent_id = terms.id
    )
"""


def reported_box(session: Session, lad: str, level: str = "lsoa") -> tuple[float, float, float, float] | None:
    """Bounding box (EPSG:27700) of the population points of a local authority's small areas of
    ``level`` (the level of the run's indicator: :func:`~assetmap.domain.gap_analysis.demand_level`)."""
    if lad == ALL_AREAS:
        return None
    row = session.execute(text(
        """
        SELECT min(p.x), min(p.y), max(p.x), max(p.y) FROM area a JOIN area_point p ON p.area_id = a.id
        WHERE a.level = :level AND a.lad_code = :lad
        """
    ), {"lad": lad, "level": level}).first()
    if row is None or row[0] is None:
        raise BadInputError(f"no areas of level {level!r} with a population point are loaded for {lad!r}")
    return tuple(float(v) for v in row)


def grow_box(box, by: float):
    """``box`` (xmin, ymin, xmax, ymax) grown by ``by`` on every side; None (everywhere) stays None."""
    return None if box is None else (box[0] - by, box[1] - by, box[2] + by, box[3] + by)


def demand_frame(session: Session, box, group: str, lad: str | None = None, level: str = "lsoa") -> pd.DataFrame:
    """Population points of the small areas of ``level`` in ``box`` (EPSG:27700; None: all), with
    the group's population.

    Columns ``id, code, name, lad_code, x, y, population, reported``; ``reported`` is True for
    the areas of ``lad`` (every row when ``lad`` is :data:`ALL_AREAS`). By area id.
    """
    column = GROUPS[group][0]  # a fixed column name from the whitelist, never user text
    rows = session.execute(text(
        f"""
        SELECT a.id, a.code, a.name, a.lad_code, p.x, p.y, a.{column} AS population
        FROM area a JOIN area_point p ON p.area_id = a.id
        WHERE a.level = :level
          AND (CAST(:xmin AS float8) IS NULL OR p.pt && ST_MakeEnvelope(:xmin, :ymin, :xmax, :ymax, 27700))
        ORDER BY a.id
        """
    ), {**box_params(box), "level": level}).all()
    frame = gap_analysis.numeric_frame(rows, ["id", "code", "name", "lad_code", "x", "y", "population"],
                                       ["population"])
    frame["reported"] = True if lad in (None, ALL_AREAS) else (frame["lad_code"] == lad)
    return frame


def _has_rural_column(session: Session) -> bool:
    return bool(session.execute(text(
        "SELECT EXISTS (SELECT 1 FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND table_name = 'area' AND column_name = 'rural')"
    )).scalar_one())


def rural_classification_loaded(session: Session) -> bool:
    """Whether any area is classed rural (else every catchment is the urban radius)."""
    return _has_rural_column(session) and bool(session.execute(text(
        "SELECT EXISTS (SELECT 1 FROM area WHERE rural IS NOT NULL)"
    )).scalar_one())


def rural_flags(session: Session, area_ids) -> dict[int, bool]:
    """Whether each area is rural (2021 rural-urban classification), by area id.

    The one place a gap run reads rurality, which sets each area's catchment radius. Reads the
    ``area.rural`` column when the classification's migration has added it; until then, and for
    an area the classification does not cover (NULL), the area counts as urban.
    """
    ids = [int(i) for i in area_ids]
    flags = dict.fromkeys(ids, False)
    if ids and _has_rural_column(session):
        rows = session.execute(text(
            "SELECT id, rural FROM area WHERE id = ANY(CAST(:ids AS int[])) AND rural IS TRUE"
        ), {"ids": ids}).all()
        flags.update({int(i): True for i, _ in rows})
    return flags


def supply_frame(session: Session, term_id: int, box=None) -> pd.DataFrame:
    """Published assets of a category (and the terms under it) with a location, in ``box``.

    Columns ``id, x, y, capacity`` (EPSG:27700; NaN capacity counts as 1), by asset id.
    """
    rows = session.execute(text(
        _TERMS_UNDER + """
        SELECT a.id, ST_X(g.pt) AS x, ST_Y(g.pt) AS y, a.capacity
        FROM asset a
        CROSS JOIN LATERAL (SELECT ST_Transform(a.location, 27700) AS pt) g
        WHERE a.status = 'published' AND a.location IS NOT NULL
          AND EXISTS (SELECT 1 FROM asset_term at JOIN terms ON terms.id = at.term_id WHERE at.asset_id = a.id)
          AND (CAST(:xmin AS float8) IS NULL
               OR ST_Transform(a.location, 27700) && ST_MakeEnvelope(:xmin, :ymin, :xmax, :ymax, 27700))
        ORDER BY a.id
        """
    ), {"term_id": term_id, **box_params(box)}).all()
    return gap_analysis.numeric_frame(rows, ["id", "x", "y", "capacity"], ["capacity"])


def box_params(box) -> dict:
    """``box`` as the ``xmin, ymin, xmax, ymax`` bind parameters (all None: no box)."""
    keys = ("xmin", "ymin", "xmax", "ymax")
    return dict(zip(keys, box if box is not None else (None,) * 4, strict=True))


def need_series(session: Session, indicator_id: int, area_ids, level: str = "lsoa") -> pd.Series:
    """Indicator values by LSOA id for ``area_ids`` (absent: no data); an indicator kept by MSOA
    or ward (``level``) is read at each LSOA whose representative point lies inside
    (:func:`assetmap.db.indicators.lsoa_values`)."""
    return indicator_values.lsoa_values(session, indicator_id, level, area_ids)


def nearest_distances(session: Session, term_id: int, points: pd.DataFrame, reach: float) -> np.ndarray:
    """Distance from each point (``id, x, y``) to the nearest published asset of the category.

    Searches the points' bounding box grown by ``reach``, and grows it fourfold until every
    point's nearest lies within ``reach`` (then nothing outside the box can be nearer), or the
    box covers Great Britain. NaN when the category has no asset at all.
    """
    box = (points["x"].min(), points["y"].min(), points["x"].max(), points["y"].max())
    while True:
        candidates = supply_frame(session, term_id, grow_box(box, reach) if reach < 2_000_000 else None)
        distances = nearest_distance(points[["id", "x", "y"]], candidates[["id", "x", "y"]]).to_numpy()
        if reach >= 2_000_000 or (len(candidates) and np.all(distances <= reach)):
            return distances
        reach *= 4
