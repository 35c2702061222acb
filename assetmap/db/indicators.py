"""Indicators kept at one area level and read at another: which ward or MSOA each LSOA lies in.

The gap analysis works on LSOAs. An indicator uploaded by MSOA or ward code applies to each LSOA
of that MSOA or ward; the same membership aggregates LSOA scores up to wards and MSOAs. Where the
ONS publishes the membership it is used: an LSOA's MSOA (``area.msoa_code``, the LSOA nests in
it) and an LSOA 2021's 2024 ward (``area.ward_code``, the ONS best-fit lookup). Otherwise (the
2011-era wards, which have no lookup here) an LSOA belongs to the area its representative point
(``area_point.pt``, PostGIS ``ST_PointOnSurface`` in EPSG:27700) lies in; a point on a shared
edge goes to the area with the lowest code, so every LSOA has at most one.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple

import numpy as np
import pandas as pd
from sqlalchemy import text
from sqlalchemy.orm import Session

from assetmap.domain.vintages import LSOA_LEVELS

__all__ = ["LSOA_LEVELS", "PARENT_LEVELS", "CodeVintages", "area_ids_by_code", "code_vintages", "lsoa_parents",
           "lsoa_values", "wrong_vintage_message"]

#: Levels an LSOA can be placed in by its representative point (2011-era and current).
PARENT_LEVELS = ("msoa", "ward", "msoa21", "ward24")

# Every LSOA of :lsoa_ids with the area of :level it belongs to: by the published code where the
# LSOA has one of an area of that level loaded, else by its representative point.
_MEMBERSHIP = """
    WITH parent AS MATERIALIZED (
        -- The few wards or MSOAs drive the join, in the points' own CRS, so the GiST index on
        -- area_point.pt is used (from the points' side, every point would probe every level's shapes).
        -- Materialized, so each shape is transformed once, not again for the index condition and
        -- the exact test (which otherwise dominates a LAD's gap page).
        SELECT id, code, name, ST_Transform(geom, 27700) AS geom FROM area WHERE level = :level AND geom IS NOT NULL
    ),
    by_code AS (
        SELECT l.id AS lsoa_id, g.id AS parent_id, g.code AS parent_code, g.name AS parent_name
        FROM area l
        JOIN parent g ON g.code = CASE WHEN :level LIKE 'msoa%' THEN l.msoa_code
                                       WHEN :level = 'ward24' THEN l.ward_code END
        WHERE l.id = ANY(CAST(:lsoa_ids AS int[]))
    ),
    by_point AS (
        SELECT DISTINCT ON (p.area_id) p.area_id AS lsoa_id, g.id AS parent_id, g.code AS parent_code,
               g.name AS parent_name
        FROM parent g
        JOIN area_point p ON ST_Intersects(g.geom, p.pt)
        WHERE p.area_id = ANY(CAST(:lsoa_ids AS int[]))
          AND NOT EXISTS (SELECT 1 FROM by_code c WHERE c.lsoa_id = p.area_id)
        ORDER BY p.area_id, g.code
    )
    SELECT lsoa_id, parent_id, parent_code, parent_name FROM by_code
    UNION ALL
    SELECT lsoa_id, parent_id, parent_code, parent_name FROM by_point
    ORDER BY lsoa_id
"""


def _check_level(level: str) -> None:
    if level not in PARENT_LEVELS:
        raise ValueError(f"level must be one of {', '.join(PARENT_LEVELS)}, got {level!r}")


def lsoa_parents(session: Session, lsoa_ids: Iterable[int], level: str) -> pd.DataFrame:
    """The ward or MSOA each LSOA belongs to: by the published code (its MSOA; an LSOA 2021's
    2024 ward, ONS best fit), else the one its representative point lies in.

    Parameters
    ----------
    session : Session
    lsoa_ids : iterable of int
        Area ids of LSOAs (with a population point: see
        :func:`assetmap.db.area_geometry.refresh_area_geometry`).
    level : {"msoa", "ward", "msoa21", "ward24"}

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
    the MSOA or ward it belongs to (as :func:`lsoa_parents`). LSOAs without a value are absent
    (no data, never zero).
    """
    ids = [int(i) for i in lsoa_ids]
    if level in LSOA_LEVELS:
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


class CodeVintages(NamedTuple):
    """How many of a file's distinct LSOA codes belong to one vintage only (by the ONS lookup and the
    areas loaded): unchanged LSOAs kept their code, so only split, merged or new codes tell."""

    total: int
    only_2011: int
    only_2021: int


def code_vintages(session: Session, codes: Iterable[str]) -> CodeVintages:
    """Count the codes that are LSOA 2011 codes only, and LSOA 2021 codes only."""
    distinct = sorted({str(c).strip().upper() for c in codes if c})
    row = session.execute(text(
        """
        WITH c AS (SELECT unnest(CAST(:codes AS text[])) AS code),
        k AS (
            SELECT c.code,
                   EXISTS (SELECT 1 FROM lsoa_lookup l WHERE l.lsoa11_code = c.code)
                   OR EXISTS (SELECT 1 FROM area a WHERE a.code = c.code AND a.level = 'lsoa') AS in_2011,
                   EXISTS (SELECT 1 FROM lsoa_lookup l WHERE l.lsoa21_code = c.code)
                   OR EXISTS (SELECT 1 FROM area a WHERE a.code = c.code AND a.level = 'lsoa21') AS in_2021
            FROM c
        )
        SELECT count(*) FILTER (WHERE in_2011 AND NOT in_2021), count(*) FILTER (WHERE in_2021 AND NOT in_2011) FROM k
        """
    ), {"codes": distinct}).one()
    return CodeVintages(len(distinct), int(row[0]), int(row[1]))


def wrong_vintage_message(v: CodeVintages, level: str) -> str | None:
    """What to tell someone loading a file on ``level`` whose codes are of the other vintage.

    >>> print(wrong_vintage_message(CodeVintages(200, 12, 0), "lsoa21"))  # doctest: +NORMALIZE_WHITESPACE
    12 of 200 codes are LSOA 2011 codes not used in 2021: these are 2011 LSOA codes;
    pick the 2011 geography or convert with the lookup
    >>> wrong_vintage_message(CodeVintages(200, 0, 12), "lsoa") is not None
    True
    >>> wrong_vintage_message(CodeVintages(200, 0, 0), "lsoa21") is None
    True
    """
    if level == "lsoa21" and v.only_2011:
        return (f"{v.only_2011} of {v.total} codes are LSOA 2011 codes not used in 2021: these are 2011 LSOA codes; "
                "pick the 2011 geography or convert with the lookup")
    if level == "lsoa" and v.only_2021:
        return (f"{v.only_2021} of {v.total} codes are LSOA 2021 codes not used in 2011: these are 2021 LSOA codes; "
                "pick the 2021 geography or convert with the lookup")
    return None


def store_values_from_temp(session: Session) -> list[bool]:
    """Upsert ``tmp_indicator_value`` into ``indicator_value``; per changed area, whether any value was new."""
    return session.execute(
        text(
            """
            WITH up AS (
                INSERT INTO indicator_value (indicator_id, area_id, value)
                SELECT indicator_id, area_id, value FROM tmp_indicator_value
                ON CONFLICT (indicator_id, area_id) DO UPDATE SET value = EXCLUDED.value
                WHERE indicator_value.value IS DISTINCT FROM EXCLUDED.value
                RETURNING area_id, (xmax = 0) AS inserted
            )
            SELECT bool_or(inserted) FROM up GROUP BY area_id
            """
        )
    ).scalars().all()


def upsert_indicator(session: Session, key: str, label: str, source: str, year: int, higher_is_more_need: bool,
                     unit: str, level: str, method: str | None = None) -> int:
    """Insert or update a published indicator's row (with its year and geography); its id."""
    return session.execute(
        text(
            """
            INSERT INTO indicator (key, label, source, year, higher_is_more_need, unit, area_level, method)
            VALUES (:key, :label, :source, :year, :hi, :unit, :level, :method)
            ON CONFLICT (key) DO UPDATE SET label = EXCLUDED.label, source = EXCLUDED.source,
                year = EXCLUDED.year, area_level = EXCLUDED.area_level, method = EXCLUDED.method,
                higher_is_more_need = EXCLUDED.higher_is_more_need, unit = EXCLUDED.unit
            RETURNING id
            """
        ),
        {"key": key, "label": label, "source": source, "year": year, "hi": higher_is_more_need,
         "unit": unit, "level": level, "method": method},
    ).scalar_one()


def indicator_id_and_source(session: Session, key: str):
    """The (id, source) row of the indicator with this key, or None."""
    return session.execute(text("SELECT id, source FROM indicator WHERE key = :key"), {"key": key}).first()


def indicator_exists(session: Session, key: str) -> bool:
    """Whether an indicator with this key is stored."""
    return session.execute(text("SELECT 1 FROM indicator WHERE key = :k"), {"k": key}).first() is not None


def upsert_uploaded_indicator(session: Session, key: str, label: str, source: str, higher_is_more_need: bool,
                              level: str | None) -> int:
    """Insert or update an uploaded indicator's row (no year, no unit); its id."""
    return session.execute(text(
        """
        INSERT INTO indicator (key, label, source, year, higher_is_more_need, unit, area_level)
        VALUES (:key, :label, :source, NULL, :hi, NULL, :level)
        ON CONFLICT (key) DO UPDATE SET label = EXCLUDED.label, source = EXCLUDED.source, year = NULL,
            higher_is_more_need = EXCLUDED.higher_is_more_need, unit = NULL, area_level = EXCLUDED.area_level
        RETURNING id
        """
    ), {"key": key, "label": label, "source": source, "hi": higher_is_more_need, "level": level}).scalar_one()


def indicator_values(session: Session, indicator_id: int) -> dict[int, float]:
    """Area id -> stored value of one indicator."""
    return dict(session.execute(text("SELECT area_id, value FROM indicator_value WHERE indicator_id = :i"),
                                {"i": indicator_id}).all())


def delete_indicator_values(session: Session, indicator_id: int) -> None:
    """Remove every stored value of one indicator."""
    session.execute(text("DELETE FROM indicator_value WHERE indicator_id = :i"), {"i": indicator_id})


def insert_indicator_values_from_temp(session: Session, indicator_id: int) -> None:
    """Insert one indicator's values from the staging table ``tmp_area_indicator_value``."""
    session.execute(text(
        "INSERT INTO indicator_value (indicator_id, area_id, value)"
        " SELECT :i, area_id, value FROM tmp_area_indicator_value"
    ), {"i": indicator_id})
