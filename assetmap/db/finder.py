"""All SQL of the finder: where a search is, what is near it, and one asset's details.

Distances are on the sphere, in metres: nearest-first is ``location::geography <-> point`` (a KNN
scan of the partial GiST index ``ix_asset_published_geog`` on that expression, migration 0003)
and the radius is ``ST_DWithin`` on the same expression, so both use the index. The distance
shown is the ``<->`` value itself, so the order and the figures cannot disagree. Ties are broken
by id: every list here has a stable order, so paging never repeats or skips.

Filters are small helpers that each return an SQL condition on ``asset a`` (``true`` when unused)
and its parameters; :func:`filter_clause` joins them.

Entries nobody has checked for a year (moderation's "stale": last verified, else added) sink:
:func:`find` lists the checked ones first and then the others, each part nearest first. Pages are
fetched one row long, which says whether there is a next page; matches are not counted (within
a few km of a city centre there are thousands, and counting them would cost more than the search).

"Open now" is filtered in SQL, not in Python after the fact: the database compares each day's
stored periods (``{"mon": [["09:00", "13:00"], ...]}``) with the London wall clock worked out by
:func:`assetmap.domain.search.open_now_probe`. That keeps paging a plain LIMIT/OFFSET over the
same ordered rows (filtering a page in Python would need an open-ended scan to fill it), and costs
far less a row than the domain's ``is_open``. The two agree at every instant, clock changes
included: ``tests/test_finder_open_now.py`` compares them on
real pharmacy timetables over a week and both clock changes. (On malformed stored hours, which
the domain refuses as a whole, the SQL still reads the periods that make sense.)

Every function takes a session or a SQLAlchemy Core connection (the API reads through one in
autocommit, :func:`assetmap.web.db.get_reader`): both answer ``execute``. The search itself goes
through the driver (:mod:`assetmap.db.driver`).
"""
from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, replace
from datetime import datetime
from functools import lru_cache
from typing import NamedTuple

from sqlalchemy import text as _text
from sqlalchemy.orm import Session

from assetmap.db.areas import vintage_first
from assetmap.db.driver import fetch_all
from assetmap.domain.names import name_key
from assetmap.domain.search import (
    FALLBACK_MAX_M,
    FALLBACK_MIN,
    FALLBACK_N,
    NO_REFERRAL_MODES,
    FinderQuery,
    OpenNowProbe,
    Where,
    rank_outward_suggestions,
)
from assetmap.errors import BadInputError, NotFoundError

__all__ = [
    "Features",
    "Origin",
    "area_services",
    "count_near",
    "distances_from",
    "filter_clause",
    "find",
    "find_place",
    "get_asset",
    "get_assets",
    "list_categories",
    "locate",
    "lookup_outward",
    "lookup_postcode",
    "postcode_info",
    "search_near",
    "vocabulary_terms",
]

_POINT = "ST_SetSRID(ST_MakePoint(:lon, :lat), 4326)::geography"
# The published-assets condition must read exactly like the index predicate of migration 0003.
_PUBLISHED = "a.status = 'published'"
#: Levels of area whose names are place names people type, smallest first: towns, wards, MSOAs
#: by the House of Commons Library's names ("Craven Arms & Broadstone"), local authorities.
#: (LSOA names are an MSOA's name and a code.) A name two levels share finds the first.
PLACE_LEVELS = ("town", "ward", "msoa21", "lad")
#: Levels whose names are often a town's, and that lie around it: the gazetteer's town comes first.
GAZETTEER_FIRST = frozenset({"msoa21"})
#: A place of the gazetteer this near one of the service's own areas (its default areas) counts
#: as near home: among places of one name, those inside the areas come first, then those near.
HOME_NEAR_M = 10_000
#: A group of areas whose names all start with the words typed ("Oswestry" → Oswestry East,
#: South and West) is taken as one place if it spans no more than this, corner to corner.
PLACE_GROUP_MAX_M = 20_000


_INDENT = re.compile(r"[ \t]*\n[ \t]*")


@lru_cache(maxsize=512)
def text(statement: str):
    """``sqlalchemy.text``, built once per distinct statement (``text`` scans the whole statement
    for its parameters on every call, a cost the long search statement feels). The statements are a few templates
    (one per combination of filters used), so the cache stays small.

    Indentation is dropped (line breaks stay: they end ``--`` comments). psycopg caches its
    conversion of a statement to PostgreSQL's ``$1`` form only up to 4 kB; the search is longer
    than that with its indentation, and converting it afresh on every request is a measurable cost.
    """
    return _text(_INDENT.sub("\n", statement).strip())


# --------------------------------------------------------------------------------------------
# Vocabularies
# --------------------------------------------------------------------------------------------

def vocabulary_terms(session: Session, vocabulary: str) -> dict[str, str]:
    """``{slug: label}`` of a vocabulary, in its display order."""
    rows = session.execute(
        text("SELECT slug, label FROM taxonomy_term WHERE vocabulary = :v ORDER BY sort_order, slug, id"),
        {"v": vocabulary},
    )
    return {slug: label for slug, label in rows}


def list_categories(session: Session) -> dict[str, list[dict]]:
    """The asset types (``categories``) and the Five Ways to Wellbeing (``wellbeing``)."""
    rows = session.execute(
        text(
            """
            SELECT vocabulary, slug, label, description, catchment_m FROM taxonomy_term
            WHERE vocabulary IN ('asset-type', 'five-ways') ORDER BY vocabulary, sort_order, slug, id
            """
        )
    ).mappings()
    out: dict[str, list[dict]] = {"categories": [], "wellbeing": []}
    for r in rows:
        if r["vocabulary"] == "asset-type":
            out["categories"].append({"slug": r["slug"], "label": r["label"], "description": r["description"],
                                      "catchment_m": r["catchment_m"]})
        else:
            out["wellbeing"].append({"slug": r["slug"], "label": r["label"], "description": r["description"]})
    return out


# --------------------------------------------------------------------------------------------
# Filters
# --------------------------------------------------------------------------------------------

def _terms_filter(vocabulary: str, key: str, slugs: Sequence[str]) -> tuple[str, dict]:
    if not slugs:
        return "true", {}
    return (
        f"""EXISTS (SELECT 1 FROM asset_term at JOIN taxonomy_term tt ON tt.id = at.term_id
                    WHERE at.asset_id = a.id AND tt.vocabulary = '{vocabulary}' AND tt.slug = ANY(:{key}))""",
        {key: list(slugs)},
    )


def _category_filter(f: Mapping) -> tuple[str, dict]:
    return _terms_filter("asset-type", "f_categories", f.get("categories") or ())


def _wellbeing_filter(f: Mapping) -> tuple[str, dict]:
    return _terms_filter("five-ways", "f_wellbeing", f.get("wellbeing") or ())


def _free_filter(f: Mapping) -> tuple[str, dict]:
    # Only places that say they are free: an unknown cost is not free.
    return ("a.is_free IS TRUE", {}) if f.get("free") else ("true", {})


def _access_filter(f: Mapping) -> tuple[str, dict]:
    # Any of the ways asked for will do.
    modes = list(f.get("access") or ())
    return ("a.access_modes && CAST(:f_access AS varchar[])", {"f_access": modes}) if modes else ("true", {})


def _no_referral_filter(f: Mapping) -> tuple[str, dict]:
    if not f.get("no_referral"):
        return "true", {}
    return "a.access_modes && CAST(:f_no_referral AS varchar[])", {"f_no_referral": list(NO_REFERRAL_MODES)}


def _age_filter(f: Mapping) -> tuple[str, dict]:
    # Places that name one of the age groups asked for; one that names none is not assumed to suit.
    ages = list(f.get("age_groups") or ())
    return ("a.age_groups && CAST(:f_ages AS varchar[])", {"f_ages": ages}) if ages else ("true", {})


def _accessibility_filter(f: Mapping) -> tuple[str, dict]:
    # Every feature asked for must be there: someone who needs step-free access and a hearing
    # loop is not helped by a place with one of them.
    features = list(f.get("accessibility") or ())
    if not features:
        return "true", {}
    return "a.accessibility @> CAST(:f_features AS varchar[])", {"f_features": features}


def _text_filter(f: Mapping) -> tuple[str, dict]:
    q = f.get("q")
    if not q:
        return "true", {}
    # Each word must appear; the expression matches the trigram index of migration 0003.
    parts, params = [], {}
    for i, word in enumerate(q.split()[:8]):
        escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        parts.append(f"(a.name || ' ' || coalesce(a.description, '')) ILIKE :f_q{i}")
        params[f"f_q{i}"] = f"%{escaped}%"
    return " AND ".join(parts), params


_FILTERS = (_category_filter, _wellbeing_filter, _free_filter, _access_filter, _no_referral_filter, _age_filter,
            _accessibility_filter, _text_filter)

# Today's periods that have started and not ended (or run past midnight), and yesterday's that run
# past midnight and have not ended, comparing "HH:MM" strings (which sort in clock order). Strict
# mode, because lax mode would unwrap each [opens, closes] pair into its two strings; with
# silent => true, a day that is not a list of pairs matches nothing instead of raising.
_OPEN_TODAY = "'strict $[*] ? (@[0] <= $now && ($now < @[1] || @[1] < @[0]))'"
_OPEN_FROM_YESTERDAY = "'strict $[*] ? (@[1] < @[0] && $now < @[1])'"
_OPEN_SQL = f"""(jsonb_path_exists(a.opening_hours -> CAST(:on_today AS text), {_OPEN_TODAY},
                                   CAST(:on_vars AS jsonb), true)
    OR jsonb_path_exists(a.opening_hours -> CAST(:on_yesterday AS text), {_OPEN_FROM_YESTERDAY},
                         CAST(:on_vars AS jsonb), true))"""
# True, False, or NULL when today's hours are not known (as is_open: None).
_OPEN_STATE_SQL = f"""CASE WHEN coalesce({_OPEN_SQL}, false) THEN true
    WHEN jsonb_typeof(a.opening_hours -> CAST(:on_today AS text)) = 'array' THEN false END"""


def _probe_params(probe: OpenNowProbe) -> dict:
    return {"on_today": probe.today, "on_yesterday": probe.yesterday,
            "on_vars": json.dumps({"now": probe.minute})}


def filter_clause(filters: Mapping, open_now: OpenNowProbe | None = None) -> tuple[str, dict]:
    """The SQL condition (on ``asset a``) for a finder's filters, and its parameters.

    ``filters`` is :meth:`assetmap.domain.search.FinderQuery.filters`; ``open_now`` keeps only
    places open at that probe's moment.
    """
    parts, params = [], {}
    for helper in _FILTERS:
        sql, p = helper(filters)
        if sql != "true":
            parts.append(sql)
            params.update(p)
    if open_now is not None:
        parts.append(_OPEN_SQL)
        params.update(_probe_params(open_now))
    return (" AND ".join(parts) or "true"), params


# --------------------------------------------------------------------------------------------
# Where: postcodes, districts, places, areas
# --------------------------------------------------------------------------------------------

def lookup_postcode(session: Session, postcode: str) -> dict | None:
    """A normalised postcode's position (and its local authority and ward codes), or None."""
    row = session.execute(
        text(
            """
            SELECT postcode, outward, ST_Y(location) AS lat, ST_X(location) AS lon, lad_code, ward_code
            FROM postcode WHERE postcode = :pc
            """
        ),
        {"pc": postcode},
    ).mappings().first()
    return dict(row) if row else None


def lookup_outward(session: Session, outward: str) -> dict | None:
    """A postcode district: the centroid of its postcodes and how many there are, or None."""
    row = session.execute(
        text(
            """
            SELECT :o AS outward, count(*) AS postcodes,
                   ST_Y(ST_Centroid(ST_Collect(location))) AS lat, ST_X(ST_Centroid(ST_Collect(location))) AS lon
            FROM postcode WHERE outward = :o
            """
        ),
        {"o": outward},
    ).mappings().first()
    return dict(row) if row and row["postcodes"] else None


def _known_outwards(session: Session) -> list[str]:
    # Distinct districts by skipping through the outward index (a loose index scan): a few
    # thousand index probes rather than reading 1.7 million rows.
    rows = session.execute(
        text(
            """
            WITH RECURSIVE o(code) AS (
                (SELECT outward FROM postcode ORDER BY outward LIMIT 1)
                UNION ALL
                SELECT (SELECT p.outward FROM postcode p WHERE p.outward > o.code ORDER BY p.outward LIMIT 1)
                FROM o WHERE o.code IS NOT NULL
            )
            SELECT code FROM o WHERE code IS NOT NULL
            """
        )
    )
    return [r[0] for r in rows]


def _neighbouring_postcodes(session: Session, postcode: str) -> list[str]:
    sector = postcode[:-2]  # "SY11 1"
    rows = session.execute(
        text(
            """
            (SELECT postcode FROM postcode WHERE postcode < :pc AND postcode >= :sector
             ORDER BY postcode DESC LIMIT 2)
            UNION ALL
            (SELECT postcode FROM postcode WHERE postcode > :pc AND postcode < :sector || '~'
             ORDER BY postcode LIMIT 2)
            """
        ),
        {"pc": postcode, "sector": sector},
    )
    return sorted(r[0] for r in rows)


def _unknown_postcode(session: Session, postcode: str) -> NotFoundError:
    outward = postcode.split()[0]
    if lookup_outward(session, outward):
        suggestions = [outward, *_neighbouring_postcodes(session, postcode)]
        message = (f"We do not know the postcode {postcode}: it may be new, no longer used, or mistyped. "
                   f"You can search the whole district, {outward}, or check the postcode.")
    else:
        suggestions = rank_outward_suggestions(outward, _known_outwards(session))
        message = f"We do not know the postcode {postcode}: there is no postcode district {outward} in our data."
    if suggestions:
        message += " Did you mean " + ", ".join(suggestions) + "?"
    return NotFoundError(message, details={"parameter": "postcode", "suggestions": suggestions})


def _unknown_outward(session: Session, outward: str) -> NotFoundError:
    suggestions = rank_outward_suggestions(outward, _known_outwards(session))
    message = f"We do not know the postcode district {outward}."
    if suggestions:
        message += " The nearest we know: " + ", ".join(suggestions) + "."
    return NotFoundError(message, details={"parameter": "postcode", "suggestions": suggestions})


def postcode_info(session: Session, where: Where) -> dict:
    """A postcode (``kind`` postcode: position, local authority and ward codes) or a postcode
    district (``kind`` outward: centroid and number of postcodes). NotFoundError with suggestions
    when it is not known."""
    if where.kind == "postcode":
        found = lookup_postcode(session, where.text)
        if found is None:
            raise _unknown_postcode(session, where.text)
        return {"kind": "postcode", **found}
    found = lookup_outward(session, where.text)
    if found is None:
        raise _unknown_outward(session, where.text)
    return {"kind": "outward", **found}


def _normalised_sql(column: str) -> str:
    """:func:`assetmap.domain.names.name_key` in SQL: apostrophes dropped, anything not a letter or digit a space."""
    return f"trim(regexp_replace(regexp_replace(lower({column}), '[''\u2019]', '', 'g'), '[^a-z0-9]+', ' ', 'g'))"


def _same_name_sql(column: str, level: str) -> str:
    """How many areas of that name the name alone could mean: those of the same level or of a
    level :func:`find_place` tries first (an MSOA named like a ward is reached by its code)."""
    return (f"(SELECT count(*) FROM area x WHERE x.level = ANY(:levels) AND lower(x.name) = lower({column}) "
            f"AND array_position(:levels, x.level::text) <= array_position(:levels, {level}::text))")


def _home_rank_sql(point: str) -> str:
    """0 for a point inside one of the ``:home`` local authorities, 1 within ``:near_m`` of one,
    else 2 (and 2 for every point when no home is given).

    Most places of a name are far from home: a box ``:near_deg`` wider than the point (more than
    ``:near_m`` in every direction in Britain) rules them out before the exact tests, which read
    every vertex of a council's boundary."""
    home = f"h.level = 'lad' AND h.code = ANY(:home) AND h.geom && ST_Expand({point}, :near_deg)"
    return f"""CASE WHEN EXISTS (SELECT 1 FROM area h WHERE {home} AND ST_Intersects(h.geom, {point})) THEN 0
             WHEN EXISTS (SELECT 1 FROM area h WHERE {home}
                          AND ST_DWithin(h.geom::geography, {point}::geography, :near_m)) THEN 1
             ELSE 2 END"""


def _place_value(row: Mapping) -> str:
    """What to type to get this area: its name, or its code when another place has the same name."""
    return row["name"] if row["same_name"] == 1 else row["code"]


def _area_label(row: Mapping) -> str:
    if row.get("lad_name") and row["level"] != "lad" and row["lad_name"] != row["name"]:
        return f"{row['name']} ({row['lad_name']})"
    return row["name"]


def _area_point(session: Session, code: str) -> dict | None:
    row = session.execute(
        text(
            f"""
            SELECT a.code, a.name, a.level, l.name AS lad_name,
                   ST_Y(ST_PointOnSurface(a.geom)) AS lat, ST_X(ST_PointOnSurface(a.geom)) AS lon
            FROM area a LEFT JOIN area l ON l.code = a.lad_code AND l.level = 'lad'
            WHERE a.code = :code AND a.geom IS NOT NULL
            ORDER BY {vintage_first('a.level')}  -- a code of both vintages: the current one
            LIMIT 1
            """
        ),
        {"code": code},
    ).mappings().first()
    return dict(row) if row else None


# Bigger places first when names repeat or typos match several (OS Open Names' LOCAL_TYPE).
_PLACE_RANK = ("CASE p.local_type WHEN 'City' THEN 0 WHEN 'Town' THEN 1 WHEN 'Suburban Area' THEN 2 "
               "WHEN 'Village' THEN 3 WHEN 'Hamlet' THEN 4 ELSE 5 END")
_PLACE_COLUMNS = f"""p.name, p.local_type, p.district, p.county, p.postcode_district,
    ST_Y(p.location) AS lat, ST_X(p.location) AS lon, {_PLACE_RANK} AS rank"""
_PLACE_HOME = f'{_home_rank_sql("p.location")} AS home'


def _bilingual(value: str | None) -> str | None:
    """"Blaenau Gwent - Blaenau Gwent" (Welsh - English, the same) read once."""
    if value and " - " in value:
        first, _, second = value.partition(" - ")
        return first if first == second else value
    return value


def _place_label(row: Mapping, *, with_postcode: bool = False) -> str:
    """"Uppermill (Oldham)", "Newtown, SY4 (Shropshire)": the name, where it is, and (for places
    whose names repeat within a county) its postcode district."""
    where = ", ".join(dict.fromkeys(_bilingual(x) for x in (row["district"], row["county"]) if x))
    name = f"{row['name']}, {row['postcode_district']}" if with_postcode and row["postcode_district"] else row["name"]
    return f"{name} ({where})" if where else name


def _labelled_places(rows: Sequence[Mapping]) -> list[tuple[str, str]]:
    """(label, what to type) for each place: "Newtown (Shropshire)" and "Newtown, Shropshire", or
    with the postcode district ("Newtown, SY4") where the county does not tell them apart."""
    by_county = [f"{r['name']}, {r['county'] or r['district']}" if (r["county"] or r["district"]) else r["name"]
                 for r in rows]
    out = []
    for r, typed in zip(rows, by_county, strict=True):
        repeats = by_county.count(typed) > 1 and bool(r["postcode_district"])
        if repeats:
            typed = f"{r['name']}, {r['postcode_district']}"
        out.append((_place_label(r, with_postcode=repeats), typed))
    return out


def _home_params(home: Sequence[str]) -> dict:
    # A degree of longitude is over 50 km as far north as Shetland (61°N); of latitude, 111 km.
    return {"home": list(home), "near_m": HOME_NEAR_M, "near_deg": HOME_NEAR_M / 50_000}


def _gazetteer(session: Session, wanted: str, qualifier: str | None, home: Sequence[str]) -> list[dict]:
    """Places of OS Open Names called ``wanted`` (a :func:`name_key`): those inside the ``home``
    local authorities first, then those near them, each part biggest first; with a ``qualifier``
    only those whose district, county or postcode district it names."""
    rows = session.execute(
        text(
            f"""
            SELECT {_PLACE_COLUMNS}, {_PLACE_HOME} FROM place p
            WHERE p.name_key = :q
              AND (CAST(:qual AS text) IS NULL OR lower(p.county) = :qual OR lower(p.district) = :qual
                   OR lower(p.postcode_district) = :qual)
            ORDER BY home, rank, p.county NULLS LAST, p.district NULLS LAST, p.name, p.os_id
            LIMIT 50
            """
        ),
        {"q": wanted, "qual": qualifier.lower() if qualifier else None, **_home_params(home)},
    ).mappings().all()
    return [dict(r) for r in rows]


def _spread_m(session: Session, rows: Sequence[Mapping]) -> float:
    if len(rows) < 2:
        return 0.0
    return session.execute(
        text(
            """
            WITH pts AS (SELECT ST_SetSRID(ST_MakePoint(lon, lat), 4326) AS g
                         FROM unnest(CAST(:lons AS float8[]), CAST(:lats AS float8[])) AS t(lon, lat))
            SELECT max(ST_Distance(a.g::geography, b.g::geography)) FROM pts a, pts b
            """
        ),
        {"lons": [r["lon"] for r in rows], "lats": [r["lat"] for r in rows]},
    ).scalar_one()


def _from_gazetteer(session: Session, name: str, rows: list[dict]) -> dict:
    """One place of the gazetteer's matches; several far apart are told apart by county or postcode
    district (BadInputError with what to type for each)."""
    if len(rows) == 1 or _spread_m(session, rows) <= PLACE_GROUP_MAX_M:
        top = rows[0]
        label = _place_label(top)
        return {"label": label, "lat": top["lat"], "lon": top["lon"], "areas": [label]}
    labelled = _labelled_places(rows[:10])
    raise BadInputError(
        f"There are {len(rows)}{' or more' if len(rows) == 50 else ''} places called {rows[0]['name']}: "
         + "; ".join(lbl for lbl, _ in labelled)
        + ". Pick one, or give a postcode.",
        details={"parameter": "where", "suggestions": [typed for _, typed in labelled]},
    )


def find_place(session: Session, name: str, home: Sequence[str] = ()) -> dict:
    """Where a place name typed by someone is: a town, ward, MSOA (by its Commons Library name,
    "Craven Arms & Broadstone") or local authority, or any city, town, village, hamlet or suburb
    of OS Open Names.

    An exact town, ward or council name (ignoring case and punctuation) wins; then a place of
    the gazetteer of that name ("Craven Arms", "Uppermill"); then an MSOA's; otherwise areas whose names start
    with the words typed are taken together when they lie close (the union of their wards, and its
    point on surface). "Newtown, Shropshire" or "Newtown, SY4" picks one of several places of a
    name. Where names repeat, those in or near the ``home`` local authorities (the service's
    default areas) come first: the one taken from a close group, and the first suggestions.
    Returns ``{label, lat, lon, areas}``.

    Raises
    ------
    BadInputError
        When several places far apart match (``details["suggestions"]`` lists what to type for each).
    NotFoundError
        When nothing matches (with names spelt alike as suggestions: "did you mean").
    """
    base, _, qualifier = name.partition(",")
    wanted, qualifier = name_key(base), qualifier.strip() or None
    norm = _normalised_sql("a.name")
    if not wanted:
        raise BadInputError(f"{name[:40]!r} is not a place name", details={"parameter": "where"})
    if qualifier:
        places = _gazetteer(session, wanted, qualifier, home)
        if places:
            return _from_gazetteer(session, name, places)
        # Not "place, county": perhaps an area whose name has a comma ("Woore, Prees & Tilstock").
        wanted = name_key(name)
    rows = session.execute(
        text(
            f"""
            SELECT a.code, a.name, a.level, l.name AS lad_name, {norm} = :q AS exact,
                   {_same_name_sql("a.name", "a.level")} AS same_name
            FROM area a LEFT JOIN area l ON l.code = a.lad_code AND l.level = 'lad'
            WHERE a.level = ANY(:levels) AND a.geom IS NOT NULL
              AND ({norm} = :q OR {norm} LIKE :prefix)
            ORDER BY array_position(:levels, a.level::text), COALESCE(a.lad_code, a.code) = ANY(:home) DESC,
                     a.name, a.code
            """
        ),
        {"q": wanted, "prefix": wanted + " %", "levels": list(PLACE_LEVELS), "home": list(home)},
    ).mappings().all()
    if qualifier and not any(r["exact"] for r in rows):
        raise _unknown_place(session, name, home)
    exact = [r for r in rows if r["exact"]]
    if exact and exact[0]["level"] in GAZETTEER_FIRST:
        # "Church Stretton" is a town of the gazetteer and the MSOA around it: the town's point;
        # but when the gazetteer has several far apart ("Coppice"), the one MSOA of that name.
        places = _gazetteer(session, wanted, None, home)
        if places:
            with suppress(BadInputError):
                return _from_gazetteer(session, name, places)
    if exact:
        # The smallest kind of area of that name (a town before a local authority of the same name).
        same_level = [r for r in exact if r["level"] == exact[0]["level"]]
        if len(same_level) == 1:
            point = _area_point(session, same_level[0]["code"])
            return {"label": _area_label(point), "lat": point["lat"], "lon": point["lon"],
                    "areas": [_area_label(point)]}
        rows = same_level
    else:
        places = _gazetteer(session, wanted, None, home)
        if places:
            return _from_gazetteer(session, name, places)
    if not rows:
        raise _unknown_place(session, name, home)
    if len(rows) == 1:
        point = _area_point(session, rows[0]["code"])
        return {"label": _area_label(point), "lat": point["lat"], "lon": point["lon"], "areas": [_area_label(point)]}
    group = session.execute(
        text(
            """
            WITH u AS (SELECT ST_Union(geom) AS g FROM area WHERE code = ANY(:codes))
            SELECT ST_Y(ST_PointOnSurface(g)) AS lat, ST_X(ST_PointOnSurface(g)) AS lon,
                   ST_Distance(ST_SetSRID(ST_MakePoint(ST_XMin(g), ST_YMin(g)), 4326)::geography,
                               ST_SetSRID(ST_MakePoint(ST_XMax(g), ST_YMax(g)), 4326)::geography) AS span_m
            FROM u
            """
        ),
        {"codes": [r["code"] for r in rows]},
    ).mappings().one()
    labels = [_area_label(r) for r in rows]
    if group["span_m"] <= PLACE_GROUP_MAX_M and not exact:
        return {"label": name.strip(), "lat": group["lat"], "lon": group["lon"], "areas": labels}
    suggestions = [_place_value(r) for r in rows[:10]]
    raise BadInputError(
        f"Several places match {name.strip()!r}: " + ", ".join(labels[:10]) + ". Pick one, or give a postcode.",
        details={"parameter": "where", "suggestions": suggestions},
    )


def _unknown_place(session: Session, name: str, home: Sequence[str] = ()) -> NotFoundError:
    """Not found: "did you mean" the places and areas spelt most alike (trigrams, pg_trgm), those
    in or near the ``home`` local authorities first among those spelt as alike."""
    typed = name.partition(",")[0].strip()
    areas = session.execute(
        text(
            f"""
            SELECT a.code, a.name, a.level, l.name AS lad_name, {_same_name_sql("a.name", "a.level")} AS same_name,
                   greatest(similarity(a.name, :q), word_similarity(:q, a.name)) AS score
            FROM area a LEFT JOIN area l ON l.code = a.lad_code AND l.level = 'lad'
            WHERE a.level = ANY(:levels) AND a.geom IS NOT NULL
              AND greatest(similarity(a.name, :q), word_similarity(:q, a.name)) >= 0.3
            ORDER BY score DESC, a.name, a.code
            LIMIT 5
            """
        ),
        {"q": typed, "levels": list(PLACE_LEVELS)},
    ).mappings().all()
    # "%" and "<%" use the trigram index on place.name (their threshold is pg_trgm's 0.3). Home
    # breaks ties of likeness, so it is worked out for the likeliest few only.
    places = session.execute(
        text(
            f"""
            SELECT p.*, {_PLACE_HOME} FROM (
                SELECT p.os_id, p.location, {_PLACE_COLUMNS},
                       greatest(similarity(p.name, :q), word_similarity(:q, p.name)) AS score
                FROM place p
                WHERE p.name % :q OR :q <% p.name
                ORDER BY score DESC, rank, p.name, p.os_id
                LIMIT 25
            ) p
            ORDER BY score DESC, home, rank, p.name, p.os_id
            LIMIT 5
            """
        ),
        {"q": typed, **_home_params(home)},
    ).mappings().all()
    labelled = _labelled_places(places)
    found = [(r["score"], 0, lbl, typed_) for r, (lbl, typed_) in zip(places, labelled, strict=True)]
    found += [(r["score"], 1, _area_label(r), _place_value(r)) for r in areas]
    found.sort(key=lambda f: (-f[0], f[1]))
    # One suggestion a label, the first: a town of the gazetteer before the MSOA named after it.
    first_of_label: dict[str, tuple] = {}
    for f in found:
        first_of_label.setdefault(f[2], f)
    found = list(first_of_label.values())[:5]
    suggestions = list(dict.fromkeys(f[3] for f in found))
    message = (f"We could not find a place called {name.strip()!r}. A town, village, ward or council name, "
               "a postcode (SY11 1QD) or a postcode district (SY11) works.")
    if found:
        message += " Did you mean " + ", ".join(f[2] for f in found) + "?"
    return NotFoundError(message, details={"parameter": "where", "suggestions": suggestions})


def locate(session: Session, where: Where, home: Sequence[str] = ()) -> dict:
    """The point to search around: ``{kind, label, lat, lon}`` (plus ``areas`` for a place);
    ``home``: the service's own local authorities, first among places of one name (:func:`find_place`).

    Raises
    ------
    NotFoundError
        For an unknown postcode, district, area code or place, with ``details["suggestions"]``:
        the district and neighbouring postcodes of an unknown postcode, the nearest known
        districts of an unknown district, names spelt alike for a place.
    """
    if where.kind == "point":
        return {"kind": "point", "label": f"{where.lat:.4f}, {where.lon:.4f}", "lat": where.lat, "lon": where.lon}
    if where.kind == "postcode":
        found = lookup_postcode(session, where.text)
        if found is None:
            raise _unknown_postcode(session, where.text)
        return {"kind": "postcode", "label": found["postcode"], "lat": found["lat"], "lon": found["lon"]}
    if where.kind == "outward":
        found = lookup_outward(session, where.text)
        if found is None:
            raise _unknown_outward(session, where.text)
        return {"kind": "outward", "label": f"{where.text} (postcode district)", "lat": found["lat"],
                "lon": found["lon"]}
    if where.kind == "area":
        point = _area_point(session, where.text)
        if point is None:
            raise NotFoundError(f"no area with code {where.text} is loaded", details={"parameter": "where"})
        return {"kind": "area", "label": _area_label(point), "lat": point["lat"], "lon": point["lon"],
                "areas": [_area_label(point)]}
    place = find_place(session, where.text, home)
    return {"kind": "place", **place}


# --------------------------------------------------------------------------------------------
# Assets
# --------------------------------------------------------------------------------------------

_DETAILS = """
    a.id, a.uuid, a.name, a.description, ST_Y(a.location) AS lat, ST_X(a.location) AS lon,
    a.address, a.town, a.postcode, a.phone, a.email, a.url, a.opening_hours, a.opening_hours_note,
    a.cost, a.is_free, a.access_modes, a.age_groups, a.eligibility_note, a.accessibility,
    a.accepting_referrals, a.last_verified_at, a.created_at, a.updated_at, a.source,
    o.name AS organisation, o.url AS organisation_url, sa.name AS service_area, sa.code AS service_area_code,
    (SELECT coalesce(json_agg(json_build_object('vocabulary', tt.vocabulary, 'slug', tt.slug, 'label', tt.label)
                              ORDER BY tt.vocabulary, tt.sort_order, tt.slug), '[]'::json)
     FROM asset_term at JOIN taxonomy_term tt ON tt.id = at.term_id WHERE at.asset_id = a.id) AS terms,
    {open_state} AS open_now
"""
_JOINS = "LEFT JOIN organisation o ON o.id = a.organisation_id LEFT JOIN area sa ON sa.id = a.service_area_id"

# One asset as a GeoJSON Feature (the API's). Its unchanging part is kept ready on the row
# (``asset.feature``, written by migration 0007's triggers); the properties that depend on the
# search or the clock come as a JSON object of their own, which :func:`_feature_item` adds to the
# Feature's properties. Writing the whole Feature for every row of every search was half of
# PostgreSQL's work for a postcode search; splicing the two texts in SQL (``left(feature, -2)``)
# cost another tenth of it, counting the characters of every Feature.
# {distance} is the row's distance in metres or NULL.
_FEATURE = """a.feature, json_build_object(
    'open_now', {open_state},
    'stale', coalesce(COALESCE(a.last_verified_at, a.created_at) < CAST(:f_stale_before AS timestamptz), false),
    'distance_m', round(CAST({distance} AS numeric), 1),
    'within_radius', CAST({distance} AS float) <= CAST(:f_within_m AS float),
    'page_url', CAST(:f_page_prefix AS text) || a.id)::text AS search_properties
"""


def _feature_item(row: Mapping) -> dict:
    """A row of :data:`_FEATURE` as an item whose ``feature`` is the whole Feature's JSON text.

    The stored Feature ends with its properties object and its own close, ``}}``; the search's
    properties (``{"open_now" : ..., "page_url" : ...}``) go in before them, as members.
    """
    item = dict(row)
    own = item.pop("search_properties")
    item["feature"] = f"{item['feature'][:-2]}, {own[1:]}}}"
    return item


@dataclass(frozen=True)
class Origin:
    """Where distances are measured from: an SQL geography expression and its parameters."""

    sql: str
    params: Mapping

    @classmethod
    def at(cls, lat: float, lon: float) -> Origin:
        return cls(_POINT, {"lat": lat, "lon": lon})

    @classmethod
    def postcode(cls, postcode: str) -> Origin:
        """A normalised postcode's position, looked up inside the search (one round trip, not
        two). An unknown postcode is NULL, which nothing is near."""
        return cls("(SELECT pc.location::geography FROM postcode pc WHERE pc.postcode = :origin_postcode)",
                   {"origin_postcode": postcode})


@dataclass(frozen=True)
class Features:
    """Rows as ready GeoJSON Feature text (``{"id", "distance_m", "feature"}``) instead of details.

    ``page_prefix`` is the asset page's URL less the id; ``within_m`` the radius asked for
    (``within_radius``; None: not a search); ``stale_before`` when an entry counts as stale.
    """

    page_prefix: str
    within_m: float | None = None
    stale_before: datetime | None = None


class _Select(NamedTuple):
    """What a query of assets selects: columns, the joins they need, their parameters, and the
    function that turns a fetched row into an item."""

    columns: str
    joins: str
    params: dict
    shape: Callable[[Mapping], dict]


def _select(probe: OpenNowProbe, features: Features | None = None, distance: str = "NULL") -> _Select:
    """Rows of details (the pages) or, given ``features``, of GeoJSON Feature text (the API);
    ``distance`` is the SQL of each row's distance in metres."""
    params = _probe_params(probe)
    if features is None:
        return _Select(_DETAILS.format(open_state=_OPEN_STATE_SQL), _JOINS, params, _shape)
    params.update({"f_page_prefix": features.page_prefix, "f_within_m": features.within_m,
                   "f_stale_before": features.stale_before})
    columns = "a.id, " + _FEATURE.format(open_state=_OPEN_STATE_SQL, distance=distance)
    return _Select(columns, "", params, _feature_item)


def _shape(row: Mapping) -> dict:
    item = dict(row)
    terms = item.pop("terms") or []
    types = [t for t in terms if t["vocabulary"] == "asset-type"]
    item["categories"] = [{"slug": t["slug"], "label": t["label"]} for t in types]
    item["wellbeing"] = [{"slug": t["slug"], "label": t["label"]} for t in terms if t["vocabulary"] == "five-ways"]
    item["category"] = types[0]["slug"] if types else None
    item["category_label"] = types[0]["label"] if types else None
    item["access_modes"] = list(item["access_modes"] or [])
    item["age_groups"] = list(item["age_groups"] or [])
    item["accessibility"] = list(item["accessibility"] or [])
    if item.get("distance_m") is not None:
        item["distance_m"] = float(item["distance_m"])
    return item


def search_near(session: Session, origin: Origin, *, radius_m: float, filters: Mapping,
                probe: OpenNowProbe, open_now: bool = False, limit: int = 20, offset: int = 0,
                tier: tuple[str, dict] = ("true", {}), features: Features | None = None) -> list[dict]:
    """Published assets within ``radius_m`` of ``origin``, nearest first (ties by id), with details
    (or, given ``features``, as GeoJSON Feature text).

    Each has ``distance_m`` (on the sphere), ``open_now`` at ``probe`` (None: hours not known), and
    ``origin_lat``/``origin_lon``. ``tier`` is one more condition on ``asset a`` and its parameters
    (see :func:`find`).

    The nearest come from a KNN scan of the index ordered by distance alone (the planner will not
    use the index's order when the sort also has a tie-breaker, and sorts every row within the
    radius instead: thousands in a city). The scan takes one row past the page: when that row is
    further than the page's last, the page holds every row nearer than it, and ordering them by
    (distance, id) is exact. When the two are at the same distance (several services at one
    address, or at one postcode's position), a group of equal distances crosses the cut, the scan
    took some of its rows and not others, and the search runs again with the whole group
    (:func:`_search_near_exact`), so that paging gives the same rows on every call.
    """
    where, params = filter_clause(filters, probe if open_now else None)
    select = _select(probe, features, "a.distance_m")
    matches = f"""{_PUBLISHED} AND a.location IS NOT NULL AND {where} AND {tier[0]}"""
    values = {**params, **tier[1], **select.params, **origin.params, "radius_m": radius_m,
              "reach": offset + limit + 1, "limit": limit + 1, "offset": offset}
    # Through the driver: the statement of every API search (see assetmap.db.driver). The scan
    # read each row already; the page is selected from its copies rather than from asset again.
    rows = fetch_all(
        session,
        text(
            f"""
            {_knn(origin, matches, "a.*, ")}
            SELECT {select.columns}, a.distance_m, {_ORIGIN_COLUMNS}
            FROM (SELECT * FROM knn ORDER BY distance_m, id LIMIT :limit OFFSET :offset) a {select.joins}
            ORDER BY a.distance_m, a.id
            """
        ),
        values,
    )
    if len(rows) > limit and rows[-1]["distance_m"] == rows[-2]["distance_m"]:
        select = _select(probe, features, "h.distance_m")
        rows = _search_near_exact(session, origin, matches, select, {**values, "reach": offset + limit,
                                                                     "limit": limit})
    return [select.shape(r) for r in rows[:limit]]


# The origin once, read through scalar subqueries: the planner takes those as parameters, so the
# KNN scan of the index still orders by distance from it (a join would not).
_POINT_OF_ORIGIN = "(SELECT g FROM origin)"
_ORIGIN_COLUMNS = f"ST_Y({_POINT_OF_ORIGIN}::geometry) AS origin_lat, ST_X({_POINT_OF_ORIGIN}::geometry) AS origin_lon"


def _knn(origin: Origin, matches: str, columns: str = "a.id, ") -> str:
    """The origin, and the ``:reach`` nearest matches by distance alone (``knn``: ``columns`` and
    ``distance_m``)."""
    point = _POINT_OF_ORIGIN
    return f"""
        WITH origin AS MATERIALIZED (SELECT {origin.sql} AS g), knn AS MATERIALIZED (
            SELECT {columns}a.location::geography <-> {point} AS distance_m
            FROM asset a
            WHERE {matches} AND ST_DWithin(a.location::geography, {point}, :radius_m, false)
            ORDER BY distance_m
            LIMIT :reach
        )"""


def _search_near_exact(session: Session, origin: Origin, matches: str, select: _Select, values: Mapping) -> list:
    """:func:`search_near`'s page when a group of equal distances crosses the cut: the nearest
    ``:reach``, plus every row at exactly the distance of the last of them, ordered by (distance,
    id) and cut."""
    point = _POINT_OF_ORIGIN
    return fetch_all(
        session,
        text(
            f"""
            {_knn(origin, matches)}, edge AS (  -- the cut fell inside a group at one distance
                SELECT m.distance_m FROM (SELECT max(distance_m) AS distance_m, count(*) AS n FROM knn) m
                WHERE m.n = :reach AND (SELECT count(*) FROM knn k WHERE k.distance_m = m.distance_m) > 1
            ), ties AS (
                SELECT a.id, a.location::geography <-> {point} AS distance_m
                FROM asset a, edge
                WHERE {matches} AND ST_DWithin(a.location::geography, {point}, edge.distance_m, false)
                  AND a.location::geography <-> {point} >= edge.distance_m
            ), hits AS (
                SELECT id, distance_m FROM knn UNION SELECT id, distance_m FROM ties
                ORDER BY distance_m, id
                LIMIT :limit OFFSET :offset
            )
            SELECT {select.columns}, h.distance_m, {_ORIGIN_COLUMNS}
            FROM hits h JOIN asset a ON a.id = h.id {select.joins}
            ORDER BY h.distance_m, h.id
            """
        ),
        values,
    )


def count_near(session: Session, origin: Origin, *, radius_m: float, filters: Mapping,
               probe: OpenNowProbe | None = None, cap: int = 1001,
               tier: tuple[str, dict] = ("true", {})) -> int:
    """How many published assets match within ``radius_m``, counting no further than ``cap``
    (``probe`` given: only those open then)."""
    where, params = filter_clause(filters, probe)
    return session.execute(
        text(
            f"""
            SELECT count(*) FROM (
                SELECT 1 FROM asset a
                WHERE {_PUBLISHED} AND a.location IS NOT NULL
                  AND ST_DWithin(a.location::geography, {origin.sql}, :radius_m, false) AND {where} AND {tier[0]}
                LIMIT :cap
            ) s
            """
        ),
        {**params, **tier[1], **origin.params, "radius_m": radius_m, "cap": cap},
    ).scalar_one()


def list_assets(session: Session, *, filters: Mapping, probe: OpenNowProbe, open_now: bool = False,
                limit: int = 20, offset: int = 0, features: Features | None = None) -> tuple[list[dict], bool]:
    """Published assets matching the filters anywhere, by id, and whether there are more."""
    where, params = filter_clause(filters, probe if open_now else None)
    select = _select(probe, features)
    rows = session.execute(
        text(
            f"""
            SELECT {select.columns}, CAST(NULL AS float) AS distance_m
            FROM asset a {select.joins}
            WHERE {_PUBLISHED} AND {where}
            ORDER BY a.id LIMIT :limit OFFSET :offset
            """
        ),
        {**params, **select.params, "limit": limit + 1, "offset": offset},
    ).mappings().all()
    return [select.shape(r) for r in rows[:limit]], len(rows) > limit


def area_services(session: Session, lat: float, lon: float, *, filters: Mapping, probe: OpenNowProbe,
                  open_now: bool = False, exclude: Sequence[int] = (), limit: int = 50) -> list[dict]:
    """Published assets whose service area covers the point (a helpline, an outreach service),
    by name; those in ``exclude`` (already listed by distance) left out."""
    where, params = filter_clause(filters, probe if open_now else None)
    select = _select(probe)
    rows = session.execute(
        text(
            f"""
            SELECT {select.columns}, CAST(NULL AS float) AS distance_m
            FROM area sa JOIN asset a ON a.service_area_id = sa.id AND {_PUBLISHED}
            LEFT JOIN organisation o ON o.id = a.organisation_id
            WHERE ST_Covers(sa.geom, ST_SetSRID(ST_MakePoint(:lon, :lat), 4326))
              AND a.service_area_id IS NOT NULL AND NOT (a.id = ANY(:exclude)) AND {where}
            ORDER BY a.name, a.id
            LIMIT :limit
            """
        ),
        {**params, **select.params, "lat": lat, "lon": lon, "exclude": list(exclude), "limit": limit},
    ).mappings()
    return [select.shape(r) for r in rows]


def get_asset(session: Session, asset_id: int, probe: OpenNowProbe, features: Features | None = None) -> dict:
    """One published asset with its details (or its GeoJSON). Raises NotFoundError for any other."""
    found = get_assets(session, [asset_id], probe, features)
    if not found:
        raise NotFoundError(f"there is no published entry with id {asset_id}")
    return found[0]


def get_assets(session: Session, ids: Sequence[int], probe: OpenNowProbe,
               features: Features | None = None) -> list[dict]:
    """The published assets among ``ids``, in the order of ``ids`` (others are left out)."""
    ids = [int(i) for i in ids if 0 < int(i) < 2**31]  # outside a database integer: not an id
    if not ids:
        return []
    select = _select(probe, features)
    rows = session.execute(
        text(
            f"""
            SELECT {select.columns}, CAST(NULL AS float) AS distance_m
            FROM asset a {select.joins}
            WHERE a.id = ANY(:ids) AND {_PUBLISHED}
            ORDER BY array_position(CAST(:ids AS int[]), a.id)
            """
        ),
        {**select.params, "ids": ids},
    ).mappings()
    return [select.shape(r) for r in rows]


def distances_from(session: Session, ids: Sequence[int], lat: float, lon: float) -> dict[int, float]:
    """``{asset id: metres}`` on the sphere from the point, for the assets among ``ids`` with a position
    (a printed shortlist's distances from a chosen postcode)."""
    ids = [int(i) for i in ids if 0 < int(i) < 2**31]
    if not ids:
        return {}
    rows = session.execute(
        text(f"SELECT a.id, a.location::geography <-> {_POINT} AS d FROM asset a "
             "WHERE a.id = ANY(:ids) AND a.location IS NOT NULL"),
        {"ids": ids, "lat": lat, "lon": lon},
    )
    return {r[0]: float(r[1]) for r in rows}


# --------------------------------------------------------------------------------------------
# A whole search
# --------------------------------------------------------------------------------------------

# When an entry was last checked: verified by a moderator, else when it was added (as moderation's
# stale list reads it).
_CHECKED = "COALESCE(a.last_verified_at, a.created_at)"


def _tiers(stale_before: datetime | None) -> list[tuple[str, dict]]:
    if stale_before is None:
        return [("true", {})]
    return [(f"{_CHECKED} >= :stale_before", {"stale_before": stale_before}),
            (f"{_CHECKED} < :stale_before", {"stale_before": stale_before})]


def _page_in_tiers(session: Session, origin: Origin, *, radius_m: float, tiers: list, limit: int,
                   offset: int, **common) -> tuple[list[dict], bool]:
    """One page of the tiers one after another, each nearest first, and whether there is more.

    Nothing is counted on the way: each tier's page is fetched one row long, which says whether
    the tier goes on (counting the thousands of matches within a few km of a city centre would
    cost more than the search). The one count is for a page that lies wholly past a tier, to
    know where the next tier's part starts; it stops at ``skip + 1``.
    """
    items: list[dict] = []
    skip, more = offset, False
    for tier in tiers:
        need = limit - len(items)
        if need == 0:  # the page is full and the tier before ended with it: does this one hold more?
            more = bool(search_near(session, origin, radius_m=radius_m, limit=1, tier=tier, **common))
            break
        got = search_near(session, origin, radius_m=radius_m, limit=need + 1, offset=skip, tier=tier, **common)
        if len(got) > need:
            items += got[:need]
            more = True
            break
        if got or skip == 0:
            in_tier = skip + len(got)  # the tier ends on this page
        else:
            in_tier = count_near(session, origin, radius_m=radius_m, filters=common["filters"],
                                 probe=common["probe"] if common["open_now"] else None, cap=skip + 1, tier=tier)
        items += got
        skip = max(0, skip - in_tier)
    return items, more


def find(session: Session, query: FinderQuery, probe: OpenNowProbe, *, stale_before: datetime | None = None,
         with_area_services: bool = False, features: Features | None = None, home: Sequence[str] = ()) -> dict:
    """Run a finder query: locate it, then list what matches, nearest first.

    Parameters
    ----------
    stale_before : datetime, optional
        Entries last checked before this (verified, or else added) sink: they come after all the
        others, nearest first among themselves, and have ``stale`` set.
    with_area_services : bool
        Also list services whose service area covers the point.
    features : Features, optional
        Items as GeoJSON Feature text (the API) rather than details; ``stale`` and
        ``within_radius`` are then in the features.
    home : sequence of str
        The service's own local authorities (its default areas): among places of one name, those
        in or near them come first (:func:`find_place`).

    Returns
    -------
    dict
        ``location`` (see :func:`locate`; None without one), ``items`` (this page), ``total``
        (matches within the radius as far as this page: exact unless ``total_is_lower_bound``),
        ``has_more`` (a next page has something; the same as ``total_is_lower_bound``),
        ``widened`` (True when fewer than FALLBACK_MIN matched within the radius and the nearest
        FALLBACK_N out to FALLBACK_MAX_M are listed instead, each with ``within_radius``), and
        ``area_services``.

    Without a location every published match is listed, by id (the API's plain listing).
    """
    filters = query.filters()
    if features is not None:
        features = replace(features, within_m=query.radius_m if query.where else None, stale_before=stale_before)
    if query.where is None:
        items, more = list_assets(session, filters=filters, probe=probe, open_now=query.open_now,
                                  limit=query.per_page, offset=query.offset, features=features)
        total, location, widened, services = query.offset + len(items), None, False, []
    else:
        # A postcode (most searches) is looked up within the search itself; anything else first.
        location = None if query.where.kind == "postcode" else locate(session, query.where, home)
        origin = Origin.postcode(query.where.text) if location is None else Origin.at(location["lat"], location["lon"])
        common = {"filters": filters, "probe": probe, "open_now": query.open_now, "features": features}
        tiers = _tiers(stale_before)
        items, more = _page_in_tiers(session, origin, radius_m=query.radius_m, tiers=tiers,
                                     limit=query.per_page, offset=query.offset, **common)
        if location is None and not items:  # an unknown postcode ends here, with its suggestions
            location = locate(session, query.where, home)
        total = query.offset + len(items)
        widened = False
        if query.page == 1 and not more and total < FALLBACK_MIN:
            nearest, _ = _page_in_tiers(session, origin, radius_m=FALLBACK_MAX_M, tiers=tiers,
                                        limit=FALLBACK_N, offset=0, **common)
            if len(nearest) > len(items):
                items, widened, more = nearest, True, False
        if location is None:  # the postcode's position came back with the results
            location = {"kind": "postcode", "label": query.where.text, "lat": items[0]["origin_lat"],
                        "lon": items[0]["origin_lon"]}
        services = []
        if with_area_services:
            services = area_services(session, location["lat"], location["lon"], filters=filters, probe=probe,
                                     open_now=query.open_now, exclude=[i["id"] for i in items])
    if features is None:  # (features carry these already)
        for item in items:
            item["within_radius"] = item["distance_m"] <= query.radius_m if query.where else None
        for item in [*items, *services]:
            checked = item["last_verified_at"] or item["created_at"]
            item["stale"] = stale_before is not None and checked < stale_before
    return {"location": location, "items": items, "total": total, "total_is_lower_bound": more,
            "has_more": more, "widened": widened, "area_services": services}

