"""Queries listing published assets (the public catalogue) and where the data came from."""
from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

from assetmap.domain.vintages import CURRENT_LSOA_LEVEL, LSOA_LEVELS

# Published assets in an LSOA, or in the LSOAs of a local authority: exact membership (the
# authority's display outline is generalised), driven from the LSOAs so the asset GiST index is used.
# The LSOAs are the current ones (LSOA 2021) where loaded; an LSOA code of the earlier vintage only
# (split or merged since) is its own LSOA 2011.
_IN_AREA = """
    lsoa_level AS (
        SELECT COALESCE(
            (SELECT level FROM area WHERE code = :code AND level = ANY(CAST(:lsoa_levels AS text[]))
             ORDER BY level = :current_level DESC LIMIT 1),
            (SELECT level FROM area WHERE lad_code = :code AND level = ANY(CAST(:lsoa_levels AS text[]))
             ORDER BY level = :current_level DESC LIMIT 1)) AS level
    ),
    in_area AS (
        SELECT DISTINCT a.id
        FROM lsoa_level v
        JOIN area l ON l.level = v.level AND (l.code = :code OR l.lad_code = :code)
        JOIN asset a ON ST_Intersects(a.location, l.geom)
        WHERE a.status = 'published'
    )
"""
_LEVELS = {"lsoa_levels": list(LSOA_LEVELS), "current_level": CURRENT_LSOA_LEVEL}


def assets_in_area(session: Session, area_code: str, categories: list[str] | None = None) -> list[dict]:
    """Published assets in an LSOA or a local authority, with their asset type, by type then name."""
    rows = session.execute(
        text(
            f"""
            WITH {_IN_AREA}
            SELECT a.id, a.uuid, a.name, a.address, a.town, a.postcode, a.source,
                   ST_Y(a.location) AS lat, ST_X(a.location) AS lon,
                   t.slug AS category, t.label AS category_label, t.sort_order
            FROM in_area JOIN asset a ON a.id = in_area.id
            LEFT JOIN LATERAL (
                SELECT tt.slug, tt.label, tt.sort_order FROM asset_term at JOIN taxonomy_term tt ON tt.id = at.term_id
                WHERE at.asset_id = a.id AND tt.vocabulary = 'asset-type' ORDER BY tt.sort_order LIMIT 1
            ) t ON true
            WHERE CAST(:cats AS text[]) IS NULL OR t.slug = ANY(CAST(:cats AS text[]))
            ORDER BY t.sort_order NULLS LAST, a.name, a.id
            """
        ),
        {"code": area_code, "cats": categories or None, **_LEVELS},
    ).mappings()
    return [dict(r) for r in rows]


def category_counts(session: Session, area_code: str) -> list[dict]:
    """Every asset type with the number of published assets of that type in the area."""
    rows = session.execute(
        text(
            f"""
            WITH {_IN_AREA},
            counted AS (
                SELECT at.term_id, count(*) AS n FROM in_area JOIN asset_term at ON at.asset_id = in_area.id
                GROUP BY at.term_id
            )
            SELECT tt.slug, tt.label, COALESCE(c.n, 0) AS n
            FROM taxonomy_term tt LEFT JOIN counted c ON c.term_id = tt.id
            WHERE tt.vocabulary = 'asset-type'
            ORDER BY tt.sort_order, tt.slug
            """
        ),
        {"code": area_code, **_LEVELS},
    ).mappings()
    return [dict(r) for r in rows]


def data_sources(session: Session, keys: list[str] | None = None) -> list[dict]:
    """Attribution and last-updated time of the imported data sources (all imported, or ``keys``)."""
    rows = session.execute(
        text(
            """
            SELECT key, title, publisher, licence, attribution, last_imported_at
            FROM dataset
            WHERE last_imported_at IS NOT NULL AND (CAST(:keys AS text[]) IS NULL OR key = ANY(CAST(:keys AS text[])))
            ORDER BY title
            """
        ),
        {"keys": keys},
    ).mappings()
    return [dict(r) for r in rows]


def last_asset_change(session: Session):
    return session.execute(text("SELECT max(updated_at) FROM asset WHERE status = 'published'")).scalar()
