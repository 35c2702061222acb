"""What a gap query may name: local authorities, categories and indicators, and the check of a query
against them.
"""
from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import text
from sqlalchemy.orm import Session

from assetmap.db import areas
from assetmap.domain import gap_analysis
from assetmap.domain.gap_analysis import GapParams
from assetmap.errors import BadInputError

__all__ = ["category_term", "gap_options", "indicator_row", "parse_query"]


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
        WHERE l.level = 'lad' AND EXISTS (SELECT 1 FROM area a WHERE a.level = 'lsoa' AND a.lad_code = l.code)
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
        WHERE area_level IN ('lsoa', 'msoa', 'ward') ORDER BY id
        """
    )).mappings().all()
    return {"lads": [dict(r) for r in lads], "categories": [dict(r) for r in categories],
            "indicators": [dict(r) for r in indicators]}


def parse_query(session: Session, args, default_lads: Iterable[str] = ()) -> tuple[GapParams, dict]:
    """Check a query against :func:`gap_options`; returns the parameters and the options.

    The default local authority is the first of ``default_lads`` that is loaded; the default
    category the first with published assets. Raises :class:`~assetmap.errors.BadInputError`.
    """
    options = gap_options(session)
    lads = {r["code"]: r["name"] for r in options["lads"]}
    categories = {r["slug"]: r["catchment_m"] for r in options["categories"]}
    indicators = {r["key"]: r["label"] for r in options["indicators"]}
    default_lad = next((c for c in default_lads if c in lads), None)
    default_category = next((r["slug"] for r in options["categories"] if r["published"]), None)
    params = gap_analysis.parse_gap_query(args, lads=lads, categories=categories, indicators=indicators,
                                          default_lad=default_lad, default_category=default_category)
    # the indicator's geography must have its boundaries loaded (a 400 naming what is)
    level = next((r["area_level"] for r in options["indicators"] if r["key"] == params.indicator), None)
    if level is not None:
        areas.require_level_loaded(session, level)
    return params, options


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
