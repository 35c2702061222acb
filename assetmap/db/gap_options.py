"""What a gap query may name: local authorities, categories and indicators, and the check of a query
against them.
"""
from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterable
from functools import cache

from sqlalchemy import text
from sqlalchemy.orm import Session

from assetmap.config import PROJECT_DIR
from assetmap.db import areas
from assetmap.domain import gap_analysis
from assetmap.domain.gap_analysis import GapParams
from assetmap.errors import BadInputError

__all__ = ["RADIUS_STEP_M", "category_counts", "category_term", "gap_options", "indicator_row", "parse_query",
           "quantise_radius", "rural_radii"]

#: A radius asked for in a query is rounded to this many metres: a catchment known to a few
#: metres means nothing more, and each distinct radius is a run computed and stored, so finer
#: steps would let anyone start endless new computations.
RADIUS_STEP_M = 100.0


def quantise_radius(radius_m: float) -> float:
    """``radius_m`` to the nearest :data:`RADIUS_STEP_M` (at least one step).

    >>> quantise_radius(1234.5), quantise_radius(1250), quantise_radius(100.0), quantise_radius(120)
    (1200.0, 1300.0, 100.0, 100.0)
    """
    return max(RADIUS_STEP_M, float(int(radius_m / RADIUS_STEP_M + 0.5)) * RADIUS_STEP_M)


@cache
def rural_radii() -> dict[str, float]:
    """Default rural catchment radius (metres) by asset-type slug, from ``data/rural_catchments.json``
    (the urban default is each type's ``catchment_m``)."""
    spec = json.loads((PROJECT_DIR / "data" / "rural_catchments.json").read_text())
    return {slug: float(m) for slug, m in spec["rural_m"].items()}


def gap_options(session: Session) -> dict:
    """What a gap query may name, each list in a stable order.

    Returns
    -------
    dict
        ``lads``: ``[{code, name}]`` of local authorities with LSOAs loaded, by name;
        ``categories``: ``[{id, slug, label, catchment_m, published}]`` of asset types, in the
        taxonomy's order, ``published`` counting published assets with a location;
        ``indicators``: ``[{key, label, higher_is_more_need, unit, source, year, area_level}]``
        of LSOA indicators and of MSOA and ward indicators (read at each LSOA inside them), in
        import order.
    """
    lads = session.execute(text(
        """
        SELECT l.code, l.name FROM area l
        WHERE l.level = 'lad' AND EXISTS (SELECT 1 FROM area a WHERE a.level LIKE 'lsoa%' AND a.lad_code = l.code)
        ORDER BY l.name, l.code
        """
    )).mappings().all()
    categories = session.execute(text(
        """
        SELECT t.id, t.slug, t.label, t.catchment_m, COALESCE(n.published, 0) AS published
        FROM taxonomy_term t
        LEFT JOIN (
            SELECT at.term_id, count(*) AS published FROM asset_term at JOIN asset a ON a.id = at.asset_id
            WHERE a.status = 'published' AND a.location IS NOT NULL GROUP BY at.term_id
        ) n ON n.term_id = t.id
        WHERE t.vocabulary = 'asset-type'
        ORDER BY t.sort_order, t.slug
        """
    )).mappings().all()
    indicators = session.execute(text(
        """
        SELECT key, label, higher_is_more_need, unit, source, year, area_level FROM indicator
        WHERE area_level LIKE 'lsoa%' OR area_level LIKE 'msoa%' OR area_level LIKE 'ward%' ORDER BY id
        """
    )).mappings().all()
    return {"lads": [dict(r) for r in lads], "categories": [dict(r) for r in categories],
            "indicators": [dict(r) for r in indicators]}


def parse_query(session: Session, args, default_lads: Iterable[str] = ()) -> tuple[GapParams, dict]:
    """Check a query against :func:`gap_options`; returns the parameters and the options.

    The default local authority is the first of ``default_lads`` that is loaded; the default
    category the first with published assets. A radius the query gives is rounded to
    :data:`RADIUS_STEP_M` (a category's own catchment is used as it is). Raises
    :class:`~assetmap.errors.BadInputError`.
    """
    options = gap_options(session)
    lads = {r["code"]: r["name"] for r in options["lads"]}
    categories = {r["slug"]: r["catchment_m"] for r in options["categories"]}
    indicators = {r["key"]: r["label"] for r in options["indicators"]}
    default_lad = next((c for c in default_lads if c in lads), None)
    default_category = next((r["slug"] for r in options["categories"] if r["published"]), None)
    params = gap_analysis.parse_gap_query(args, lads=lads, categories=categories, indicators=indicators,
                                          default_lad=default_lad, default_category=default_category,
                                          rural_defaults=rural_radii())
    quantised = {}
    for name in ("radius_m", "rural_radius_m"):
        given = args.get(name)
        if isinstance(given, str) and given.strip() and getattr(params, name) is not None:
            quantised[name] = quantise_radius(getattr(params, name))
    if quantised:
        params = dataclasses.replace(params, **quantised)
        if params.rural_radius_m == params.radius_m:
            params = dataclasses.replace(params, rural_radius_m=None)
    # the indicator's geography, and the LSOAs of its vintage the run is computed on, must have
    # their boundaries loaded (a 400 naming what is)
    level = next((r["area_level"] for r in options["indicators"] if r["key"] == params.indicator), None)
    if level is not None:
        for needed in dict.fromkeys([level, gap_analysis.demand_level(level)]):
            areas.require_level_loaded(session, needed)
    return params, options


def category_counts(session: Session, lad: str) -> dict[str, int]:
    """Published assets with a location inside local authority ``lad``, by asset-type slug (the
    type list of the gap page counts the area chosen). Every loaded area for
    :data:`~assetmap.domain.gap_analysis.ALL_AREAS`."""
    if lad == gap_analysis.ALL_AREAS:
        return {r["slug"]: int(r["published"]) for r in gap_options(session)["categories"]}
    rows = session.execute(text(
        """
        SELECT t.slug, count(DISTINCT a.id) AS n
        FROM area l
        JOIN asset a ON a.status = 'published' AND a.location IS NOT NULL AND ST_Intersects(l.geom, a.location)
        JOIN asset_term at ON at.asset_id = a.id
        JOIN taxonomy_term t ON t.id = at.term_id AND t.vocabulary = 'asset-type'
        WHERE l.level = 'lad' AND l.code = :lad
        GROUP BY t.slug
        """
    ), {"lad": lad}).all()
    return {slug: int(n) for slug, n in rows}


def category_term(session: Session, slug: str) -> dict:
    """The asset-type term ``slug``: ``id, slug, label, catchment_m``; BadInputError if unknown."""
    row = session.execute(text(
        "SELECT id, slug, label, catchment_m FROM taxonomy_term WHERE vocabulary = 'asset-type' AND slug = :slug"
    ), {"slug": slug}).mappings().first()
    if row is None:
        raise BadInputError(f"unknown category {slug!r}")
    return dict(row)


def indicator_row(session: Session, key: str) -> dict:
    """The indicator ``key``: ``id, key, label, higher_is_more_need, unit, area_level``; BadInputError
    if unknown."""
    row = session.execute(text(
        "SELECT id, key, label, higher_is_more_need, unit, area_level FROM indicator WHERE key = :key"
    ), {"key": key}).mappings().first()
    if row is None:
        raise BadInputError(f"unknown indicator {key!r}")
    return dict(row)
