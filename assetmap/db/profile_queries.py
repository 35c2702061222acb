"""Queries behind an area profile: the area or set of LSOAs, its small areas and their weights,
the published assets inside it and within reach, indicators of its local authority, published
assets by quarter from the revision history, checks on a custom area, and towns.

A profile is about a *subject*: an area row (LSOA, MSOA, ward, town, local authority or a saved
custom area), ``{"kind": "area", "code": ...}``, or a list of LSOAs of one vintage, ``{"kind":
"lsoas", "codes": [...], "level": "lsoa21"}``, whose outline is their union. It is built on one
vintage (:mod:`assetmap.domain.vintages`): its LSOAs, their population and its indicators, IoD
2025 on LSOA 2021 unless IoD 2019 on LSOA 2011 is asked for. Distances are in metres on EPSG:27700.
"""
from __future__ import annotations

import hashlib
import json

import pandas as pd
import shapely
from sqlalchemy import text
from sqlalchemy.orm import Session

from assetmap.db import gap_options, gap_results
from assetmap.db import need_change as need_change_db
from assetmap.db.areas import LEVEL_NAMES, vintage_first
from assetmap.db.indicators import code_vintages, wrong_vintage_message
from assetmap.domain import area_profile as domain
from assetmap.domain import need_change as need_change_domain
from assetmap.domain.gap_analysis import DECAYS, DEFAULT_DECAY, VINTAGE_LEVELS
from assetmap.domain.validation import clean_text
from assetmap.domain.vintages import (
    CURRENT,
    CURRENT_LSOA_LEVEL,
    EARLIER,
    LSOA_LEVELS,
    VINTAGES,
    Vintage,
    parse_vintage,
    vintage_on,
)
from assetmap.domain.vintages import vintage_args as domain_vintage_args
from assetmap.errors import BadInputError, NotFoundError

#: Largest custom area accepted, in km² (a market town and its hinterland fit many times over;
#: Shropshire, 3,197 km², does not: its profile is /profile/E06000051).
MAX_CUSTOM_AREA_KM2 = 2000.0
#: Most LSOAs in a list profile (/profile/lsoas?codes=...): a large town and its edges; each local
#: authority the list reaches into can mean gap runs to compute.
MAX_LSOAS = 200
#: Quarters shown in "provision over time" (five years).
MAX_QUARTERS = 20
#: Catchment used for a category that has none set.
DEFAULT_CATCHMENT_M = 1600.0

#: What a profile calls its subject's level: the level's name, with its vintage ("LSOA 2021").
LEVEL_LABELS = {**{level: name[0].upper() + name[1:] for level, name in LEVEL_NAMES.items()},
                "lsoas": "Set of LSOAs"}


# --- the vintage ------------------------------------------------------------------------------
def vintage_of(session: Session, value: str | None = None) -> Vintage:
    """The vintage a profile is built on: the one asked for (its IoD year), else the current one
    when its LSOAs are loaded, else the earlier one (a database without 2021 geography).

    Raises
    ------
    BadInputError
        For a year that is not a vintage (the message lists those that are).
    """
    if value is not None and str(value).strip():
        return parse_vintage(value)
    loaded = session.execute(text("SELECT EXISTS (SELECT 1 FROM area WHERE level = :level)"),
                             {"level": CURRENT_LSOA_LEVEL}).scalar()
    return VINTAGES[CURRENT if loaded else EARLIER]


def vintage_args(session: Session, vintage: Vintage | None) -> dict:
    """The URL arguments of a link to a profile (or the profiles page) on ``vintage``
    (:func:`assetmap.domain.vintages.vintage_args`, against this database's default)."""
    return domain_vintage_args(vintage, vintage_of(session))


def vintage_links(session: Session, vintage: Vintage) -> dict:
    """What a page on ``vintage`` needs to link to profiles on it and to itself on the others:
    ``vintage_args``, ``default_year`` (of :func:`vintage_of`) and ``other_vintages``, each
    ``(vintage, its args)``."""
    default = vintage_of(session)
    return {
        "vintage_args": domain_vintage_args(vintage, default),
        "default_year": default.year,
        "other_vintages": [(v, domain_vintage_args(v, default)) for v in VINTAGES.values() if v != vintage],
    }


# --- the subject -----------------------------------------------------------------------------
def _subject_sql(subject: dict) -> tuple[str, dict]:
    """SQL giving the subject's outline (one row, column ``geom``) and its parameters."""
    if subject["kind"] == "area":
        # an unchanged LSOA's code is an LSOA 2011 and an LSOA 2021: the level says which
        return ("SELECT geom FROM area WHERE code = :subject_code AND (CAST(:subject_level AS text) IS NULL "
                "OR level = :subject_level)", {"subject_code": subject["code"], "subject_level": subject.get("level")})
    if subject["kind"] == "lsoas":
        return (
            "SELECT ST_Multi(ST_Union(geom)) AS geom FROM area "
            "WHERE level = :subject_level AND code = ANY(CAST(:subject_codes AS text[]))",
            {"subject_codes": list(subject["codes"]), "subject_level": subject["level"]},
        )
    raise ValueError(f"unknown subject kind {subject['kind']!r}")


def _with_subject(subject: dict, sql: str, params: dict | None = None):
    """``sql`` (more CTEs then a SELECT, or a SELECT) after a CTE ``subject`` holding the outline."""
    geom_sql, subject_params = _subject_sql(subject)
    joiner = "\n" if sql.lstrip().upper().startswith("SELECT") else ",\n"
    full = f"WITH subject AS MATERIALIZED ({geom_sql}){joiner}{sql}"
    return text(full), {**subject_params, **(params or {})}


def describe_area(session: Session, code: str, vintage: Vintage | None = None) -> dict:
    """An area to profile: code, name, level, local authority, size, extent and a display outline.

    A code of both vintages (an unchanged LSOA, a ward code kept through a review) is the area of
    ``vintage``'s geography, the current one when None.

    Raises
    ------
    NotFoundError
        If no area has this code.
    """
    if "\x00" in code:  # no code holds one, and PostgreSQL refuses NUL in a text parameter
        raise NotFoundError(f"no area with code {code!r} is loaded; pick one from the profiles page")
    row = session.execute(
        text(
            f"""
            SELECT a.code, a.name, a.level, a.lad_code, a.population, a.source, lad.name AS lad_name,
                   ST_Area(a.geom::geography) / 1e6 AS area_km2,
                   ST_XMin(a.geom) AS west, ST_YMin(a.geom) AS south, ST_XMax(a.geom) AS east, ST_YMax(a.geom) AS north
            FROM area a LEFT JOIN area lad ON lad.code = a.lad_code AND lad.level = 'lad'
            WHERE a.code = :code AND a.geom IS NOT NULL
            ORDER BY {vintage_first('a.level', (vintage or VINTAGES[CURRENT]).lsoa_level)}
            LIMIT 1
            """
        ),
        {"code": code},
    ).mappings().first()
    if row is None:
        raise NotFoundError(f"no area with code {code!r} is loaded; pick one from the profiles page")
    out = dict(row)
    out["subject"] = {"kind": "area", "code": code, "level": out["level"]}
    out["level_label"] = LEVEL_LABELS.get(out["level"], out["level"])
    return out


def describe_lsoas(session: Session, codes: list[str], vintage: Vintage = VINTAGES[CURRENT]) -> dict:
    """A set of LSOAs of one vintage to profile together, described like :func:`describe_area`.

    Raises
    ------
    BadInputError
        If no code is given, more than :data:`MAX_LSOAS`, or some are not loaded LSOAs of the
        vintage (listed; codes of the other vintage are told so, with how to ask for it).
    """
    codes = sorted({c.strip().upper() for c in codes if c and c.strip()})
    if not codes:
        raise BadInputError("give LSOA codes, e.g. /profile/lsoas?codes=E01028773,E01028774")
    if len(codes) > MAX_LSOAS:
        raise BadInputError(f"{len(codes)} LSOAs given; at most {MAX_LSOAS} can be profiled together")
    found = session.execute(
        text("SELECT code FROM area WHERE level = :level AND code = ANY(CAST(:codes AS text[])) ORDER BY code"),
        # PostgreSQL refuses NUL; such a code is unknown
        {"codes": [c for c in codes if "\x00" not in c], "level": vintage.lsoa_level},
    ).scalars().all()
    unknown = sorted(set(codes) - set(found))
    if unknown:
        shown = ", ".join(unknown[:20]) + (f" and {len(unknown) - 20} more" if len(unknown) > 20 else "")
        message = f"not a loaded {vintage.geography}: {shown}"
        other = wrong_vintage_message(code_vintages(session, [c for c in unknown if "\x00" not in c]),
                                      vintage.lsoa_level)
        if other:
            year = next(y for y in VINTAGES if y != vintage.year)
            message += (f" ({other}). For the {VINTAGES[year].label} profile, add vintage={year} to the address.")
        raise BadInputError(message)
    subject = {"kind": "lsoas", "codes": codes, "level": vintage.lsoa_level}
    stmt, params = _with_subject(
        subject,
        """
        main_lad AS (
            SELECT lad_code FROM area WHERE level = :subject_level AND code = ANY(CAST(:subject_codes AS text[]))
            GROUP BY lad_code ORDER BY sum(COALESCE(population, 0)) DESC, lad_code LIMIT 1
        )
        SELECT m.lad_code, lad.name AS lad_name, ST_Area(s.geom::geography) / 1e6 AS area_km2,
               ST_XMin(s.geom) AS west, ST_YMin(s.geom) AS south, ST_XMax(s.geom) AS east, ST_YMax(s.geom) AS north
        FROM subject s, main_lad m LEFT JOIN area lad ON lad.code = m.lad_code AND lad.level = 'lad'
        """,
    )
    row = dict(session.execute(stmt, params).mappings().one())
    row.update(
        code=None, name=f"{len(codes)} LSOA{'' if len(codes) == 1 else 's'}", level="lsoas",
        level_label=LEVEL_LABELS["lsoas"], population=None, source=None, subject=subject,
    )
    return row


def outline_geojson(session: Session, subject: dict, tolerance_deg: float = 0.0002) -> dict:
    """The subject's outline, simplified for display, as a GeoJSON geometry."""
    stmt, params = _with_subject(
        subject, "SELECT ST_AsGeoJSON(ST_SimplifyPreserveTopology(geom, :tol), 6) FROM subject",
        {"tol": tolerance_deg},
    )
    return json.loads(session.execute(stmt, params).scalar_one())


# --- its small areas ---------------------------------------------------------------------------
def profile_lsoas(session: Session, subject: dict, level: str | None = None,
                  lsoa_level: str = CURRENT_LSOA_LEVEL) -> list[dict]:
    """The LSOAs of ``lsoa_level`` (a vintage's) a profile counts, with population and shares, by code.

    An LSOA subject of that level (or whose code that level also has: an unchanged LSOA), a list
    and a local authority count their own LSOAs, whole (``share`` 1). Any other outline counts the
    LSOAs it overlaps, with ``share`` = the part of the LSOA's area inside it and
    ``share_of_area`` = the part of the outline in the LSOA (areas on the ellipsoid).
    :func:`assetmap.domain.area_profile.profile_weights` turns these into weights.
    """
    own = "SELECT EXISTS (SELECT 1 FROM area WHERE code = :c AND level = :level)"
    if level in LSOA_LEVELS and not session.execute(text(own), {"c": subject["code"], "level": lsoa_level}).scalar():
        level = None  # an LSOA of the other vintage only (split or merged since): counted by overlap
    if subject["kind"] == "lsoas" or level in (*LSOA_LEVELS, "lad"):
        where = ("l.code = ANY(CAST(:subject_codes AS text[]))" if subject["kind"] == "lsoas"
                 else "l.lad_code = :subject_code" if level == "lad" else "l.code = :subject_code")
        stmt, params = _with_subject(
            subject,
            f"""
            SELECT l.code, l.name, l.lad_code, l.population, 1.0 AS share,
                   ST_Area(l.geom::geography) / NULLIF(ST_Area(s.geom::geography), 0) AS share_of_area
            FROM subject s JOIN area l ON l.level = :lsoa_level AND {where}
            ORDER BY l.code
            """,
            {"lsoa_level": lsoa_level},
        )
    else:
        stmt, params = _with_subject(
            subject,
            """
            sized AS (SELECT geom, ST_Area(geom::geography) AS m2 FROM subject),
            parts AS (
                SELECT l.code, l.name, l.lad_code, l.population, ST_Area(l.geom::geography) AS lsoa_m2,
                       ST_Area(ST_Intersection(l.geom, s.geom)::geography) AS in_m2, s.m2
                FROM sized s JOIN area l ON l.level = :lsoa_level AND ST_Intersects(l.geom, s.geom)
            )
            SELECT code, name, lad_code, population,
                   LEAST(1.0, in_m2 / NULLIF(lsoa_m2, 0)) AS share, LEAST(1.0, in_m2 / NULLIF(m2, 0)) AS share_of_area
            FROM parts WHERE in_m2 > 0
            ORDER BY code
            """,
            {"lsoa_level": lsoa_level},
        )
    return [dict(r) for r in session.execute(stmt, params).mappings()]


# --- assets ------------------------------------------------------------------------------------
_TERMS = f"""
    terms AS (
        SELECT id, slug, label, sort_order, COALESCE(catchment_m, {DEFAULT_CATCHMENT_M}) AS radius_m
        FROM taxonomy_term WHERE vocabulary = 'asset-type'
    ),
    projected AS MATERIALIZED (SELECT geom, ST_Transform(geom, 27700) AS g27 FROM subject),
    near AS MATERIALIZED (
        -- Published assets within the widest catchment of the outline; the expression matches the
        -- partial GiST index on published assets' EPSG:27700 position.
        SELECT a.id, ST_Intersects(a.location, p.geom) AS inside,
               ST_Distance(ST_Transform(a.location, 27700), p.g27) AS distance_m
        FROM projected p JOIN asset a
          ON a.status = 'published' AND a.location IS NOT NULL
         AND ST_DWithin(ST_Transform(a.location, 27700), p.g27, (SELECT max(radius_m) FROM terms))
    )
"""


def asset_counts(session: Session, subject: dict) -> list[dict]:
    """Every asset type with the published assets inside the outline and within reach of it.

    ``within_reach`` counts the assets of the type at most its catchment radius
    (``taxonomy_term.catchment_m``) from the outline, those inside included; ``nearby`` is the
    difference. An asset of two types counts under both. By the types' order, then slug.
    """
    stmt, params = _with_subject(
        subject,
        _TERMS
        + """,
        counted AS (
            SELECT t.id AS term_id, count(*) FILTER (WHERE n.inside) AS inside,
                   count(*) FILTER (WHERE n.distance_m <= t.radius_m) AS within_reach
            FROM near n JOIN asset_term x ON x.asset_id = n.id JOIN terms t ON t.id = x.term_id
            GROUP BY t.id
        )
        SELECT t.slug, t.label, t.radius_m, COALESCE(c.inside, 0) AS inside,
               COALESCE(c.within_reach, 0) AS within_reach,
               COALESCE(c.within_reach, 0) - COALESCE(c.inside, 0) AS nearby
        FROM terms t LEFT JOIN counted c ON c.term_id = t.id
        ORDER BY t.sort_order, t.slug
        """,
    )
    return [dict(r) for r in session.execute(stmt, params).mappings()]


def assets_in_reach(session: Session, subject: dict, limit: int = 2000) -> list[dict]:
    """Published assets inside the outline or within their type's catchment of it, for the list and
    the map: inside first, then by type order, name and id. ``category`` is the asset's first type."""
    stmt, params = _with_subject(
        subject,
        _TERMS
        + """
        SELECT a.id, a.name, a.address, a.postcode, ST_Y(a.location) AS lat, ST_X(a.location) AS lon,
               n.inside, round(n.distance_m) AS distance_m, t.slug AS category, t.label AS category_label
        FROM near n JOIN asset a ON a.id = n.id
        JOIN LATERAL (
            SELECT tt.slug, tt.label, tt.sort_order, tt.radius_m FROM asset_term x JOIN terms tt ON tt.id = x.term_id
            WHERE x.asset_id = a.id ORDER BY tt.sort_order LIMIT 1
        ) t ON true
        WHERE n.inside OR n.distance_m <= t.radius_m
        ORDER BY n.inside DESC, t.sort_order, a.name, a.id
        LIMIT :limit
        """,
        {"limit": limit},
    )
    return [dict(r) for r in session.execute(stmt, params).mappings()]


# --- indicators ---------------------------------------------------------------------------------
def indicator_values(session: Session, lad_codes: list[str],
                     lsoa_level: str = CURRENT_LSOA_LEVEL) -> tuple[list[dict], pd.DataFrame]:
    """The indicators kept on the LSOAs of ``lsoa_level`` (a vintage's) of some local authorities:
    their definitions, and one row per LSOA.

    The IMD 2019 rank carried to LSOA 2021 and its change to 2025 are left out: a profile shows
    them as need over time (:func:`need_change_of`), not as IoD 2025 need.

    Returns
    -------
    (list of dict, pandas.DataFrame)
        Indicators (``key``, ``label``, ``unit``, ``higher_is_more_need``, ``year`` and
        ``geography``, e.g. "LSOA 2021") by key; and a frame with ``code``, ``lad_code``,
        ``population`` and a column per indicator key (NaN where the LSOA has no value), by code.
    """
    derived = [need_change_db.CHANGE_KEY, need_change_db.RANK_2019_KEY]
    indicators = [
        {**r, "geography": LEVEL_NAMES.get(r["area_level"], r["area_level"])}
        for r in session.execute(text(
            "SELECT id, key, label, unit, higher_is_more_need, year, area_level FROM indicator"
            " WHERE area_level = :level AND key <> ALL(CAST(:derived AS text[])) ORDER BY key"
        ), {"level": lsoa_level, "derived": derived}).mappings()
    ]
    rows = session.execute(
        text(
            """
            SELECT l.code, l.lad_code, l.population, i.key, v.value
            FROM area l
            LEFT JOIN indicator_value v ON v.area_id = l.id
            LEFT JOIN indicator i ON i.id = v.indicator_id AND i.area_level = :level
                                 AND i.key <> ALL(CAST(:derived AS text[]))
            WHERE l.level = :level AND l.lad_code = ANY(CAST(:lads AS text[]))
            ORDER BY l.code, i.key
            """
        ),
        {"lads": lad_codes, "level": lsoa_level, "derived": derived},
    ).all()
    return domain.indicator_table(indicators, rows)


# --- provision over time ------------------------------------------------------------------------
def quarterly_published(session: Session, subject: dict, max_quarters: int = MAX_QUARTERS) -> list[dict]:
    """Published assets in the outline at the end of each quarter, from the revision history.

    Each revision's ``status_after`` and snapshot location (``[lon, lat]``; the asset's present
    location when a snapshot has no location key) hold from the revision's time until the
    asset's next revision. An asset counts in a quarter if at its end it was published and inside
    the outline; ``added`` and ``removed`` count the changes into and out of that state during
    the quarter (publication, archiving, moving in or out). Quarters are calendar quarters in
    Europe/London, from the first such change (at most ``max_quarters`` back) to the present one.

    Returns
    -------
    list of dict
        ``quarter`` (its first day), ``published``, ``added``, ``removed``, oldest first; empty
        if no asset was ever published there.
    """
    stmt, params = _with_subject(
        subject,
        """
        revs AS (
            SELECT r.id, r.asset_id, r.created_at, r.status_after AS status,
                   CASE WHEN r.snapshot ? 'location' THEN
                        CASE WHEN jsonb_typeof(r.snapshot -> 'location') = 'array'
                             THEN ST_SetSRID(ST_MakePoint((r.snapshot -> 'location' ->> 0)::float8,
                                                          (r.snapshot -> 'location' ->> 1)::float8), 4326) END
                   ELSE a.location END AS loc
            FROM revision r JOIN asset a ON a.id = r.asset_id
            WHERE r.status_after IS NOT NULL
        ),
        candidates AS (
            SELECT DISTINCT rv.asset_id FROM revs rv, subject s
            WHERE rv.status = 'published' AND rv.loc && s.geom AND ST_Intersects(rv.loc, s.geom)
        ),
        states AS (
            SELECT rv.asset_id, rv.created_at AS valid_from,
                   lead(rv.created_at) OVER w AS valid_to,
                   (rv.status = 'published' AND rv.loc IS NOT NULL AND ST_Intersects(rv.loc, s.geom)) AS counted,
                   row_number() OVER w AS seq
            FROM revs rv JOIN candidates c ON c.asset_id = rv.asset_id, subject s
            WINDOW w AS (PARTITION BY rv.asset_id ORDER BY rv.created_at, rv.id)
        ),
        changes AS (
            SELECT asset_id, valid_from, valid_to, counted,
                   COALESCE(lag(counted) OVER (PARTITION BY asset_id ORDER BY seq), false) AS counted_before
            FROM states
        ),
        bounds AS (
            SELECT date_trunc('quarter', min(valid_from) AT TIME ZONE 'Europe/London') AS first,
                   date_trunc('quarter', now() AT TIME ZONE 'Europe/London') AS last
            FROM changes WHERE counted
        ),
        quarters AS (
            SELECT q AS quarter, q AT TIME ZONE 'Europe/London' AS q_start,
                   (q + interval '3 months') AT TIME ZONE 'Europe/London' AS q_end
            FROM bounds, generate_series(GREATEST(first, last - (:max_quarters - 1) * interval '3 months'),
                                         last, interval '3 months') AS q
            WHERE first IS NOT NULL
        )
        SELECT q.quarter::date AS quarter,
               (SELECT count(DISTINCT c.asset_id) FROM changes c
                 WHERE c.counted AND c.valid_from < q.q_end
                   AND (c.valid_to IS NULL OR c.valid_to >= q.q_end)) AS published,
               (SELECT count(*) FROM changes c
                 WHERE c.counted AND NOT c.counted_before
                   AND c.valid_from >= q.q_start AND c.valid_from < q.q_end) AS added,
               (SELECT count(*) FROM changes c
                 WHERE NOT c.counted AND c.counted_before
                   AND c.valid_from >= q.q_start AND c.valid_from < q.q_end) AS removed
        FROM quarters q
        ORDER BY q.quarter
        """,
        {"max_quarters": max_quarters},
    )
    return [dict(r) for r in session.execute(stmt, params).mappings()]


# --- custom areas ---------------------------------------------------------------------------------
def check_custom_area(session: Session, geometry: shapely.MultiPolygon) -> dict:
    """Check a custom outline in the database before it is saved.

    PostGIS's own validity check (the outline is not repaired), a size cap of
    :data:`MAX_CUSTOM_AREA_KM2`, and that it overlaps loaded LSOAs.

    Returns
    -------
    dict
        ``area_km2``, ``lsoas`` (overlapping LSOAs), ``coverage`` (share of the outline inside
        loaded LSOAs, 0-1).

    Raises
    ------
    BadInputError
        Invalid (with PostGIS's reason), too large, or outside every loaded area (naming the
        loaded local authorities).
    """
    row = session.execute(
        text(
            """
            WITH g AS (SELECT ST_GeomFromWKB(decode(:wkb, 'hex'), 4326) AS geom)
            SELECT ST_IsValid(g.geom) AS valid, ST_IsValidReason(g.geom) AS reason,
                   ST_Area(g.geom::geography) / 1e6 AS area_km2
            FROM g
            """
        ),
        {"wkb": shapely.to_wkb(geometry, hex=True)},
    ).mappings().one()
    if not row["valid"]:
        raise BadInputError(
            f"The area's outline is not a valid polygon: {row['reason']}. Redraw it so that its edges do not cross."
        )
    if row["area_km2"] > MAX_CUSTOM_AREA_KM2:
        raise BadInputError(
            f"The area is {row['area_km2']:,.0f} km²; custom areas of up to {MAX_CUSTOM_AREA_KM2:,.0f} km² can be "
            "profiled. Draw a smaller area, or open the local authority's own profile."
        )
    cover = session.execute(
        text(
            """
            WITH g AS (SELECT ST_GeomFromWKB(decode(:wkb, 'hex'), 4326) AS geom)
            SELECT count(*) AS lsoas,
                   COALESCE(sum(ST_Area(ST_Intersection(l.geom, g.geom)::geography)), 0)
                     / NULLIF(ST_Area((SELECT geom FROM g)::geography), 0) AS coverage
            FROM g JOIN area l ON l.level = :level AND ST_Intersects(l.geom, g.geom)
            """
        ),
        {"wkb": shapely.to_wkb(geometry, hex=True), "level": vintage_of(session).lsoa_level},
    ).mappings().one()
    if not cover["lsoas"] or not cover["coverage"]:
        loaded = session.execute(text(
            "SELECT name FROM area WHERE level = 'lad' AND geom IS NOT NULL ORDER BY name"
        )).scalars().all()
        where = ", ".join(loaded) if loaded else "none yet"
        raise BadInputError(
            f"The area is outside the loaded areas (local authorities loaded: {where}). Draw it over one of them."
        )
    return {"area_km2": float(row["area_km2"]), "lsoas": int(cover["lsoas"]),
            "coverage": min(1.0, float(cover["coverage"]))}


def save_custom_area(session: Session, geometry: shapely.MultiPolygon, name: str | None) -> str:
    """Save a checked custom outline as an area of level ``custom``; returns its code.

    The code is derived from the outline and name, so the same area saved twice is one row (and
    one link). The local authority is the one holding most of the area's people, and the
    population is the areal-weighted sum of its LSOAs' (of the default vintage: Census 2021).
    """
    # Without control characters, as form text is kept everywhere (PostgreSQL refuses NUL).
    name = (clean_text(name) or "")[:200] or "Custom area"
    wkb = shapely.to_wkb(geometry, hex=True, output_dimension=2)
    code = "custom-" + hashlib.sha256(f"{wkb}|{name}".encode()).hexdigest()[:12]
    session.execute(
        text(
            """
            INSERT INTO area (code, name, level, geom, source)
            VALUES (:code, :name, 'custom', ST_Multi(ST_GeomFromWKB(decode(:wkb, 'hex'), 4326)), 'profile')
            ON CONFLICT (code, level) DO NOTHING
            """
        ),
        {"code": code, "name": name, "wkb": wkb},
    )
    _set_population_and_lad(session, code)
    return code


def _set_population_and_lad(session: Session, code: str) -> None:
    weights = domain.profile_weights(profile_lsoas(session, {"kind": "area", "code": code},
                                                   lsoa_level=vintage_of(session).lsoa_level))
    if weights.empty:
        return
    lad = domain.main_lad(weights) if weights["weight"].sum() > 0 else str(weights["lad_code"].iloc[0])
    session.execute(
        text("UPDATE area SET population = :pop, lad_code = :lad WHERE code = :code"),
        {"pop": float(weights["weight"].sum()), "lad": lad, "code": code},
    )


# --- towns ------------------------------------------------------------------------------------
def ward_names(session: Session, codes: list[str]) -> dict[str, str]:
    """Names of the loaded wards among ``codes``, by code."""
    return dict(session.execute(
        text("SELECT code, name FROM area WHERE level = 'ward' AND code = ANY(CAST(:codes AS text[]))"),
        {"codes": codes},
    ).all())


def upsert_town(session: Session, town: dict, source: str) -> str:
    """Create or update a town (area level ``town``) as the union of its wards, and its population.

    ``town`` is one of :func:`assetmap.domain.area_profile.read_towns`, its wards already loaded.

    Returns
    -------
    str
        ``"inserted"``, ``"updated"``, ``"unchanged"``, or the level of another area that holds
        the town's code (then nothing is written).
    """
    clash = session.execute(text("SELECT level FROM area WHERE code = :c AND level <> 'town' LIMIT 1"),
                            {"c": town["code"]}).scalar()
    if clash is not None:
        return clash
    result = session.execute(
        text(
            """
            WITH u AS (
                SELECT ST_Multi(ST_CollectionExtract(ST_MakeValid(ST_Union(geom)), 3)) AS geom
                FROM area WHERE level = 'ward' AND code = ANY(CAST(:codes AS text[]))
            )
            INSERT INTO area (code, name, level, lad_code, geom, source)
            SELECT :code, :name, 'town', :lad, u.geom, :source FROM u
            ON CONFLICT (code, level) DO UPDATE SET
                name = EXCLUDED.name, lad_code = EXCLUDED.lad_code, geom = EXCLUDED.geom
            WHERE ((area.name, area.lad_code) IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.lad_code)
                  OR NOT ST_OrderingEquals(area.geom, EXCLUDED.geom))
            RETURNING (xmax = 0) AS inserted
            """
        ),
        {"codes": [c for c, _ in town["wards"]], "code": town["code"], "name": town["name"],
         "lad": town["lad_code"], "source": source},
    ).scalar()
    if result is None:
        outcome = "unchanged"
    else:
        outcome = "inserted" if result else "updated"
    _set_population(session, town["code"])
    return outcome


def _set_population(session: Session, code: str) -> None:
    weights = domain.profile_weights(profile_lsoas(session, {"kind": "area", "code": code},
                                                   lsoa_level=vintage_of(session).lsoa_level))
    session.execute(
        text("UPDATE area SET population = :pop WHERE code = :code AND population IS DISTINCT FROM :pop"),
        {"pop": float(weights["weight"].sum()) if not weights.empty else None, "code": code},
    )


def list_profile_choices(session: Session, vintage: Vintage | None = None) -> dict:
    """What the profiles page offers on ``vintage`` (:func:`vintage_of` when None): towns, local
    authorities, and the wards and MSOAs of its geography (on IoD 2025 the 2024 wards and MSOAs 2021,
    on IoD 2019 the 2011-era ones), each list by local authority and name.

    Also ``vintage`` with its links (:func:`vintage_links`) and the labels of the two levels
    (``ward_label`` "Ward (2024)", ``msoa_label`` "MSOA 2021").
    """
    vintage = vintage or vintage_of(session)
    levels = VINTAGE_LEVELS[vintage.lsoa_level]
    listed = {"town": "town", "lad": "lad", levels["ward"]: "ward", levels["msoa"]: "msoa"}
    rows = session.execute(
        text(
            """
            SELECT a.code, a.name, a.level, a.lad_code, COALESCE(lad.name, 'Other') AS lad_name
            FROM area a LEFT JOIN area lad ON lad.code = a.lad_code AND lad.level = 'lad'
            WHERE a.level = ANY(CAST(:levels AS text[])) AND a.geom IS NOT NULL
            ORDER BY a.level, COALESCE(lad.name, 'Other'), a.name, a.code
            """
        ),
        {"levels": list(listed)},
    ).mappings()
    out = {
        "vintage": vintage, **vintage_links(session, vintage),
        "ward_label": LEVEL_LABELS[levels["ward"]], "msoa_label": LEVEL_LABELS[levels["msoa"]],
        **{kind: [] for kind in listed.values()},
    }
    for r in rows:
        out[listed[r["level"]]].append(dict(r))
    return out


# --- the whole profile ------------------------------------------------------------------------------
def build_profile(session: Session, area: dict, vintage: Vintage | None = None) -> dict:
    """Everything a profile page shows, for an area from :func:`describe_area` or :func:`describe_lsoas`,
    on one vintage (:func:`vintage_of` when None; a list of LSOAs is of its own)."""
    subject = area["subject"]
    if subject["kind"] == "lsoas":
        vintage = vintage_on(subject["level"])
    vintage = vintage or vintage_of(session)
    lsoas = profile_lsoas(session, subject, area["level"], vintage.lsoa_level)
    weights_frame = domain.profile_weights(lsoas)
    weights = weights_frame["weight"] if not weights_frame.empty else pd.Series(dtype=float)
    lad_code = area.get("lad_code") if area["level"] != "lad" else area["code"]
    if not lad_code and not weights_frame.empty:
        lad_code = domain.main_lad(weights_frame)
    lad_codes = sorted({lad_code, *weights_frame["lad_code"].dropna().astype(str)}) if lad_code else []

    indicators, values = (indicator_values(session, lad_codes, vintage.lsoa_level) if lad_codes
                          else ([], pd.DataFrame()))
    axes = domain.RADAR_AXES.get(vintage.year, {})
    comparison = domain.compare_indicators(indicators, values, weights, lad_code, axes) if lad_code else []
    return {
        "area": area,
        "vintage": vintage,
        **vintage_links(session, vintage),
        "lad_code": lad_code,
        "lsoas": weights_frame.reset_index().to_dict("records"),
        "population": float(weights.sum()) if len(weights) else None,
        "assets": asset_counts(session, subject),
        "asset_list": assets_in_reach(session, subject),
        "indicators": comparison,
        "radar": domain.radar_axes(comparison, axes),
        "gaps": gaps_by_category(session, weights, vintage),
        "quarters": domain.quarter_rows(quarterly_published(session, subject)),
        "need_change": need_change_of(session, vintage, weights_frame),
        "outline": domain.display_outline(outline_geojson(session, subject)),
    }


def need_change_of(session: Session, vintage: Vintage, weights_frame: pd.DataFrame) -> dict:
    """The change in IMD rank 2019 -> 2025 of the LSOAs 2021 the profile covers: its own LSOAs on
    the current vintage, else those its 2011 LSOAs became (:mod:`assetmap.domain.need_change`)."""
    counted = list(weights_frame.index.astype(str)) if not weights_frame.empty else []
    if vintage.lsoa_level == CURRENT_LSOA_LEVEL:
        codes = counted
    else:
        codes = list(session.execute(text(
            "SELECT DISTINCT lsoa21_code FROM lsoa_lookup WHERE lsoa11_code = ANY(CAST(:c AS text[]))"),
            {"c": counted}).scalars())
    return need_change_domain.summarise_changes(need_change_db.rank_change_of(session, codes))


def gaps_by_category(session: Session, weights: pd.Series, vintage: Vintage = VINTAGES[CURRENT]) -> dict:
    """Need, provision and gap by asset type for the profile's LSOAs, from the gap analysis.

    Per LSOA the scores are the gap map's (:func:`assetmap.db.gap_results.scores_for_areas`: stored
    runs with the default parameters, the vintage's IMD rank as need and each type's catchment,
    computed and stored first when there is none); the profile's figures are their weighted means
    (:func:`assetmap.domain.area_profile.aggregate_gaps`). A type with no published places gets a
    message instead of figures; without the vintage's IMD there are no figures (``missing`` says so).
    """
    if weights.empty:
        return {"rows": [], "indicator": None, "method": None}
    options = gap_options.gap_options(session)
    indicator = next((i for i in options["indicators"] if i["key"] == vintage.imd_key), None)
    if indicator is None:
        return {"rows": [], "indicator": None, "method": None,
                "missing": f"the IMD {vintage.year} rank is not loaded"}
    codes = sorted(weights.index)
    rows = []
    for cat in options["categories"]:
        row = {"slug": cat["slug"], "label": cat["label"], "radius_m": cat["catchment_m"],
               "published": cat["published"]}
        if not cat["published"]:
            row["message"] = "No published places of this type: no provision anywhere."
        else:
            scores = gap_results.scores_for_areas(session, codes, cat["slug"], indicator=vintage.imd_key)
            per_lsoa = pd.DataFrame(
                scores, columns=["code", "need_pct", "provision_pct", "gap", "run_id"]).set_index("code")
            row.update(domain.aggregate_gaps(per_lsoa.astype({"need_pct": float, "provision_pct": float, "gap": float}),
                                             weights))
            row["run_ids"] = sorted({int(r) for r in per_lsoa["run_id"]})
        rows.append(row)
    return {"rows": rows, "indicator": indicator["label"], "method": DECAYS[DEFAULT_DECAY]}
