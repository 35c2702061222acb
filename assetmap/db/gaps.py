"""Gap analysis in the database: population points, supply, runs and their scores, vector tiles.
The update of stored runs after assets change is :mod:`assetmap.db.gap_refresh`.

The maths is :mod:`assetmap.domain.gap_analysis`; this module loads its frames, stores what it
returns, and reads it back. Distances are in metres on EPSG:27700.

Public API (used by the plan pages, the JSON API, the CLI and the area profiles)
------------------------------------------------------------------------------
- :func:`gap_options` -- the local authorities, categories and indicators a query may name.
- :func:`ensure_run` -- the current run for a :class:`~assetmap.domain.gap_analysis.GapParams`,
  computed and stored first if there is none (``refresh=True`` recomputes it).
- :func:`run_scores` -- a run's rows, one per LSOA, by code.
- :func:`aggregate_run` -- a run's rows population-weighted up to wards or MSOAs, with the
  local authority's line.
- :func:`scores_for_areas` -- scores of any LSOAs (by code) for one category, across local
  authorities.
- :func:`run_assets`, :func:`run_bounds` -- what the gap map draws on top and where it looks.
- :func:`lsoa_tile` -- a Mapbox vector tile of a run's LSOAs with their scores.
- :func:`gap_geojson_features` -- the run's LSOAs as GeoJSON features, for export.
- :func:`refresh_area_geometry` -- (re)build the LSOA points and tile shapes.

Edge effects
------------
A run for one local authority reports its LSOAs only, but counts everyone and everything within
reach: assets within the radius of any of its population points, and the population within
twice the radius (everyone who shares those assets). Both are cut by bounding boxes in metres,
which can only take in more than needed, never less; what lies beyond reach does not change the
scores reported.
"""
from __future__ import annotations

import json
from collections.abc import Iterable

import numpy as np
import pandas as pd
from sqlalchemy import text
from sqlalchemy.orm import Session

from assetmap.db import indicators as indicator_values
from assetmap.domain import gap_analysis
from assetmap.domain.access import nearest_distance
from assetmap.domain.gap_analysis import ALL_AREAS, GROUPS, GapParams
from assetmap.errors import BadInputError

__all__ = [
    "MAX_RUNS",
    "aggregate_run",
    "ensure_run",
    "gap_geojson_features",
    "gap_options",
    "lsoa_tile",
    "refresh_area_geometry",
    "run_assets",
    "run_bounds",
    "run_scores",
    "scores_for_areas",
]

#: Current runs kept; beyond this the least recently used are dropped (every asset change
#: updates the runs that counted it, so they must not pile up).
MAX_RUNS = 200
#: Generalisation of the tile shapes (EPSG:3857 metres) and the zooms that use each.
TILE_TOLERANCE_M = {"geom_lo": 500.0, "geom_mid": 100.0, "geom_hi": 10.0}
#: Where a run first looks for each area's nearest asset (metres beyond the area's box).
NEAREST_REACH_M = 20_000.0
MVT_EXTENT = 4096
MVT_BUFFER = 8


def _tile_column(z: int) -> str:
    return "geom_lo" if z <= 7 else ("geom_mid" if z <= 10 else "geom_hi")


# --- what may be asked -----------------------------------------------------------------------
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
    return params, options


# --- population points and tile shapes -------------------------------------------------------
def refresh_area_geometry(session: Session, *, check_changed: bool = True, tiles: bool = True,
                          lad: str | None = None) -> dict:
    """Build the population point (and tile shapes) of LSOAs that have none or whose polygon changed.

    The point is ``ST_PointOnSurface(ST_Transform(geom, 27700))``: inside the polygon, unlike
    the centroid of a crescent-shaped area. ``check_changed=False`` only fills missing rows (a
    cheap anti-join, done before every run); ``True`` also compares each polygon's hash (done by
    ``assetmap compute gaps``). ``lad`` limits the tile shapes to one local authority's LSOAs.

    Returns ``{"points": n, "tiles": m}``, the rows written.
    """
    changed = "OR p.geom_md5 IS DISTINCT FROM md5(ST_AsEWKB(a.geom))" if check_changed else ""
    points = session.execute(text(
        f"""
        INSERT INTO area_point (area_id, x, y, pt, geom_md5)
        SELECT a.id, ST_X(q.pt), ST_Y(q.pt), q.pt, md5(ST_AsEWKB(a.geom))
        FROM area a
        LEFT JOIN area_point p ON p.area_id = a.id
        CROSS JOIN LATERAL (SELECT ST_PointOnSurface(ST_Transform(a.geom, 27700)) AS pt) q
        WHERE a.level = 'lsoa' AND a.geom IS NOT NULL AND (p.area_id IS NULL {changed})
        ON CONFLICT (area_id) DO UPDATE SET x = EXCLUDED.x, y = EXCLUDED.y, pt = EXCLUDED.pt,
            geom_md5 = EXCLUDED.geom_md5
        """
    )).rowcount
    shapes = 0
    if tiles:
        changed = "OR t.geom_md5 IS DISTINCT FROM md5(ST_AsEWKB(a.geom))" if check_changed else ""
        shapes = session.execute(text(
            f"""
            INSERT INTO area_tile_geom (area_id, geom_lo, geom_mid, geom_hi, geom_md5)
            SELECT a.id, ST_SimplifyPreserveTopology(q.g, :lo), ST_SimplifyPreserveTopology(q.g, :mid),
                   ST_SimplifyPreserveTopology(q.g, :hi), md5(ST_AsEWKB(a.geom))
            FROM area a
            LEFT JOIN area_tile_geom t ON t.area_id = a.id
            CROSS JOIN LATERAL (SELECT ST_Transform(a.geom, 3857) AS g) q
            WHERE a.level = 'lsoa' AND a.geom IS NOT NULL AND (t.area_id IS NULL {changed})
              AND (CAST(:lad AS text) IS NULL OR a.lad_code = :lad)
            ON CONFLICT (area_id) DO UPDATE SET geom_lo = EXCLUDED.geom_lo, geom_mid = EXCLUDED.geom_mid,
                geom_hi = EXCLUDED.geom_hi, geom_md5 = EXCLUDED.geom_md5
            """
        ), {"lo": TILE_TOLERANCE_M["geom_lo"], "mid": TILE_TOLERANCE_M["geom_mid"],
            "hi": TILE_TOLERANCE_M["geom_hi"], "lad": None if lad in (None, ALL_AREAS) else lad}).rowcount
    return {"points": points, "tiles": shapes}


# --- loading the frames ----------------------------------------------------------------------
def _term(session: Session, slug: str) -> dict:
    row = session.execute(text(
        "SELECT id, slug, label, catchment_m FROM taxonomy_term WHERE vocabulary = 'asset-type' AND slug = :slug"
    ), {"slug": slug}).mappings().first()
    if row is None:
        raise BadInputError(f"unknown category {slug!r}")
    return dict(row)


def _indicator(session: Session, key: str) -> dict:
    row = session.execute(text(
        "SELECT id, key, label, higher_is_more_need, unit, area_level FROM indicator WHERE key = :key"
    ), {"key": key}).mappings().first()
    if row is None:
        raise BadInputError(f"unknown indicator {key!r}")
    return dict(row)


# The category and the terms under it (an asset typed with a narrower term counts too).
_TERMS_UNDER = """
    WITH RECURSIVE terms AS (
        SELECT id FROM taxonomy_term WHERE id = :term_id
        UNION SELECT t.id FROM taxonomy_term t JOIN terms ON t.parent_id = terms.id
    )
"""


def _reported_box(session: Session, lad: str) -> tuple[float, float, float, float] | None:
    """Bounding box (EPSG:27700) of the population points of a local authority's LSOAs."""
    if lad == ALL_AREAS:
        return None
    row = session.execute(text(
        """
        SELECT min(p.x), min(p.y), max(p.x), max(p.y) FROM area a JOIN area_point p ON p.area_id = a.id
        WHERE a.level = 'lsoa' AND a.lad_code = :lad
        """
    ), {"lad": lad}).first()
    if row is None or row[0] is None:
        raise BadInputError(f"no LSOAs with a population point are loaded for {lad!r}")
    return tuple(float(v) for v in row)


def _grow(box, by: float):
    return None if box is None else (box[0] - by, box[1] - by, box[2] + by, box[3] + by)


def demand_frame(session: Session, box, group: str, lad: str | None = None) -> pd.DataFrame:
    """Population points in ``box`` (EPSG:27700; None: all), with the group's population.

    Columns ``id, code, name, lad_code, x, y, population, reported``; ``reported`` is True for
    the LSOAs of ``lad`` (every row when ``lad`` is :data:`ALL_AREAS`). By area id.
    """
    column = GROUPS[group][0]  # a fixed column name from the whitelist, never user text
    rows = session.execute(text(
        f"""
        SELECT a.id, a.code, a.name, a.lad_code, p.x, p.y, a.{column} AS population
        FROM area a JOIN area_point p ON p.area_id = a.id
        WHERE a.level = 'lsoa'
          AND (CAST(:xmin AS float8) IS NULL OR p.pt && ST_MakeEnvelope(:xmin, :ymin, :xmax, :ymax, 27700))
        ORDER BY a.id
        """
    ), _box_params(box)).all()
    frame = pd.DataFrame.from_records(list(map(tuple, rows)),
                                      columns=["id", "code", "name", "lad_code", "x", "y", "population"])
    frame["population"] = pd.to_numeric(frame["population"], errors="coerce").astype(np.float64)
    frame["reported"] = True if lad in (None, ALL_AREAS) else (frame["lad_code"] == lad)
    return frame


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
    ), {"term_id": term_id, **_box_params(box)}).all()
    frame = pd.DataFrame.from_records(list(map(tuple, rows)), columns=["id", "x", "y", "capacity"])
    frame["capacity"] = pd.to_numeric(frame["capacity"], errors="coerce").astype(np.float64)
    return frame


def _box_params(box) -> dict:
    keys = ("xmin", "ymin", "xmax", "ymax")
    return dict(zip(keys, box if box is not None else (None,) * 4, strict=True))


def need_series(session: Session, indicator_id: int, area_ids, level: str = "lsoa") -> pd.Series:
    """Indicator values by LSOA id for ``area_ids`` (absent: no data); an indicator kept by MSOA
    or ward (``level``) is read at each LSOA whose representative point lies inside
    (:func:`assetmap.db.indicators.lsoa_values`)."""
    return indicator_values.lsoa_values(session, indicator_id, level, area_ids)


# --- runs ------------------------------------------------------------------------------------
def _params_json(params: GapParams) -> str:
    return json.dumps(params.as_dict(), sort_keys=True)


def find_run(session: Session, params: GapParams) -> dict | None:
    """The current run for ``params``, or None."""
    row = session.execute(text(
        "SELECT * FROM gap_run WHERE status = 'current' AND params = CAST(:p AS jsonb)"
    ), {"p": _params_json(params)}).mappings().first()
    return dict(row) if row else None


def current_run(session: Session, run_id: int) -> dict | None:
    """Run ``run_id`` if it is current (not replaced by a recompute), else None."""
    row = session.execute(text("SELECT * FROM gap_run WHERE id = :id AND status = 'current'"),
                          {"id": run_id}).mappings().first()
    return dict(row) if row else None


def get_run(session: Session, run_id: int) -> dict:
    row = session.execute(text("SELECT * FROM gap_run WHERE id = :id"), {"id": run_id}).mappings().first()
    if row is None:
        raise BadInputError(f"no gap run {run_id}")
    return dict(row)


def compute_run(session: Session, params: GapParams) -> dict:
    """Compute (not store) a run: the result frame, the supply counted, and where supply counts.

    Returns ``{"frame", "supply", "box", "term", "indicator"}``: ``frame`` as
    :func:`~assetmap.domain.gap_analysis.analyse` returns it, with ``id`` the area id.
    """
    term = _term(session, params.category)
    indicator = _indicator(session, params.indicator)
    refresh_area_geometry(session, check_changed=False, tiles=False)
    reported_box = _reported_box(session, params.lad)
    supply_box = _grow(reported_box, params.radius_m)
    demand = demand_frame(session, _grow(reported_box, 2 * params.radius_m), params.group, params.lad)
    supply = supply_frame(session, term["id"], supply_box)
    # The nearest asset may lie beyond any catchment: look within NEAREST_REACH_M first, and
    # everywhere only for the areas with nothing that near.
    near_box = _grow(reported_box, max(NEAREST_REACH_M, params.radius_m))
    candidates = supply if supply_box is None else supply_frame(session, term["id"], near_box)
    reported = demand.loc[demand["reported"], "id"]
    frame = gap_analysis.analyse(
        demand, supply, reported=reported,
        need=need_series(session, indicator["id"], reported, indicator["area_level"]),
        higher_is_more_need=indicator["higher_is_more_need"],
        radius_m=params.radius_m, decay=params.decay, nearest_supply=candidates,
    )
    if near_box is not None:
        far = ~(frame["nearest_m"] <= max(NEAREST_REACH_M, params.radius_m))
        if far.any():
            points = demand.set_index("id").loc[frame.loc[far, "id"], ["x", "y"]].reset_index()
            frame.loc[far, "nearest_m"] = _nearest_distances(session, term["id"], points, 4 * NEAREST_REACH_M)
    return {"frame": frame, "supply": supply, "box": supply_box, "term": term, "indicator": indicator}


def _nearest_distances(session: Session, term_id: int, points: pd.DataFrame, reach: float) -> np.ndarray:
    """Distance from each point (``id, x, y``) to the nearest published asset of the category.

    Searches the points' bounding box grown by ``reach``, and grows it fourfold until every
    point's nearest lies within ``reach`` (then nothing outside the box can be nearer), or the
    box covers Great Britain. NaN when the category has no asset at all.
    """
    box = (points["x"].min(), points["y"].min(), points["x"].max(), points["y"].max())
    while True:
        candidates = supply_frame(session, term_id, _grow(box, reach) if reach < 2_000_000 else None)
        distances = nearest_distance(points[["id", "x", "y"]], candidates[["id", "x", "y"]]).to_numpy()
        if reach >= 2_000_000 or (len(candidates) and np.all(distances <= reach)):
            return distances
        reach *= 4


def ensure_run(session: Session, params: GapParams, *, refresh: bool = False) -> dict:
    """The current run for ``params``; computed and stored first if there is none.

    Concurrent callers with the same parameters wait for each other (a transaction-level
    advisory lock), so one computes and the others read. ``refresh=True`` recomputes: the new
    run becomes current and the old one is dropped. Nothing is committed here.

    Returns
    -------
    dict
        The ``gap_run`` row: ``id, params, term_id, lad_code, status, created_at, updated_at,
        summary, ...``.
    """
    key = _params_json(params)
    session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": "gap_run:" + key})
    run = find_run(session, params)
    if run is not None and not refresh:
        session.execute(text("UPDATE gap_run SET last_used_at = now() WHERE id = :id AND last_used_at < now() - interval '1 minute'"),
                        {"id": run["id"]})
        return run
    computed = compute_run(session, params)
    run_id = _store_run(session, params, computed)
    _prune_runs(session)
    return get_run(session, run_id)


def _store_run(session: Session, params: GapParams, computed: dict) -> int:
    frame, supply, box = computed["frame"], computed["supply"], computed["box"]
    session.execute(text(
        "DELETE FROM gap_run WHERE status = 'current' AND params = CAST(:p AS jsonb)"
    ), {"p": _params_json(params)})
    summary = gap_analysis.summarise(frame)
    summary["supply"] = len(supply)
    run_id = session.execute(text(
        """
        INSERT INTO gap_run (params, term_id, lad_code, status, box_xmin, box_ymin, box_xmax, box_ymax, summary)
        VALUES (CAST(:p AS jsonb), :term, :lad, 'current', :xmin, :ymin, :xmax, :ymax, CAST(:summary AS jsonb))
        RETURNING id
        """
    ), {"p": _params_json(params), "term": computed["term"]["id"], "lad": params.lad, **_box_params(box),
        "summary": json.dumps(summary)}).scalar_one()
    _insert_scores(session, run_id, computed["term"]["id"], frame)
    session.execute(text(
        """
        INSERT INTO gap_supply (run_id, asset_id, x, y, capacity)
        SELECT :run, unnest(CAST(:ids AS int[])), unnest(CAST(:xs AS float8[])), unnest(CAST(:ys AS float8[])),
               unnest(CAST(:caps AS float8[]))
        """
    ), {"run": run_id, "ids": _int_array(supply["id"]), "xs": _nullable(supply["x"]),
        "ys": _nullable(supply["y"]), "caps": _nullable(supply["capacity"])})
    return run_id


def _nullable(values) -> str:
    """A float8[] literal; NaN and None become NULL. Sent as text: several times faster than
    binding a Python list of tens of thousands of floats."""
    out = []
    for v in np.asarray(pd.to_numeric(pd.Series(values, dtype=object), errors="coerce"), dtype=np.float64).tolist():
        out.append("NULL" if v != v else repr(v))
    return "{" + ",".join(out) + "}"


def _int_array(values) -> str:
    return "{" + ",".join(str(int(v)) for v in values) + "}"


def _insert_scores(session: Session, run_id: int, term_id: int, frame: pd.DataFrame) -> None:
    session.execute(text(
        """
        INSERT INTO gap_score (run_id, area_id, term_id, population, provision, nearest_m, need_value, need_pct,
                               provision_pct, gap, class)
        SELECT :run, unnest(CAST(:ids AS int[])), :term, unnest(CAST(:pop AS float8[])),
               unnest(CAST(:prov AS float8[])), unnest(CAST(:near AS float8[])), unnest(CAST(:need AS float8[])),
               unnest(CAST(:need_pct AS float8[])), unnest(CAST(:prov_pct AS float8[])),
               unnest(CAST(:gap AS float8[])), unnest(CAST(:cls AS text[]))
        """
    ), {"run": run_id, "term": term_id, "ids": _int_array(frame["id"]),
        "pop": _nullable(frame["population"]), "prov": _nullable(frame["provision"]),
        "near": _nullable(frame["nearest_m"]), "need": _nullable(frame["need_value"]),
        "need_pct": _nullable(frame["need_pct"]), "prov_pct": _nullable(frame["provision_pct"]),
        "gap": _nullable(frame["gap"]), "cls": frame["bivariate_class"].tolist()})


def _prune_runs(session: Session) -> None:
    session.execute(text(
        """
        DELETE FROM gap_run WHERE id IN (
            SELECT id FROM gap_run WHERE status = 'current' ORDER BY last_used_at DESC, id DESC OFFSET :keep
        ) OR status IN ('superseded', 'failed')
        """
    ), {"keep": MAX_RUNS})


def current_runs(session: Session, *, lads: Iterable[str] | None = None,
                 categories: Iterable[str] | None = None) -> list[dict]:
    """Current runs (optionally of these local authorities / category slugs), by id."""
    rows = session.execute(text(
        """
        SELECT r.* FROM gap_run r JOIN taxonomy_term t ON t.id = r.term_id
        WHERE r.status = 'current'
          AND (CAST(:lads AS text[]) IS NULL OR r.lad_code = ANY(CAST(:lads AS text[])))
          AND (CAST(:cats AS text[]) IS NULL OR t.slug = ANY(CAST(:cats AS text[])))
        ORDER BY r.id
        """
    ), {"lads": list(lads) if lads else None, "cats": list(categories) if categories else None}).mappings()
    return [dict(r) for r in rows]


def params_of(run: dict) -> GapParams:
    p = run["params"]
    return GapParams(p["lad"], p["category"], p["indicator"], p["group"], float(p["radius_m"]), p["decay"])


# --- reading scores --------------------------------------------------------------------------
_SCORE_COLUMNS = """
    a.code, a.name, a.lad_code, s.population, s.need_value AS need, s.need_pct, s.provision, s.provision_pct,
    s.nearest_m, s.gap, s.class AS bivariate_class
"""


def run_scores(session: Session, run_id: int) -> list[dict]:
    """A run's rows, one per LSOA, by code: ``code, name, lad_code, population, need, need_pct,
    provision, provision_pct, nearest_m, gap, bivariate_class``. ``provision`` is the raw
    (E)2SFCA score per person; ``need`` the indicator's value (None: no data)."""
    rows = session.execute(text(
        f"SELECT {_SCORE_COLUMNS} FROM gap_score s JOIN area a ON a.id = s.area_id WHERE s.run_id = :run ORDER BY a.code"
    ), {"run": run_id}).mappings()
    return [dict(r) for r in rows]


def top_gaps(session: Session, run_id: int, n: int = 20) -> list[dict]:
    """The ``n`` rows of a run with the biggest gap, biggest first, ties by code (as
    :func:`~assetmap.domain.gap_analysis.rank_gaps`); rows with no gap are left out."""
    rows = session.execute(text(
        f"""
        SELECT {_SCORE_COLUMNS} FROM gap_score s JOIN area a ON a.id = s.area_id
        WHERE s.run_id = :run AND s.gap IS NOT NULL ORDER BY s.gap DESC, a.code LIMIT :n
        """
    ), {"run": run_id, "n": n}).mappings()
    return [dict(r) for r in rows]


_AGGREGATE_COLUMNS = ("population", "need", "need_pct", "provision", "provision_pct")


def _run_frame(session: Session, run_id: int) -> pd.DataFrame:
    rows = session.execute(text(
        """
        SELECT s.area_id, s.population, s.need_value, s.need_pct, s.provision, s.provision_pct
        FROM gap_score s WHERE s.run_id = :run ORDER BY s.area_id
        """
    ), {"run": run_id}).all()
    frame = pd.DataFrame.from_records(list(map(tuple, rows)), columns=["area_id", *_AGGREGATE_COLUMNS])
    for column in _AGGREGATE_COLUMNS:
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(np.float64)
    return frame


def _aggregate_rows(aggregated: pd.DataFrame, names: dict[str, str]) -> list[dict]:
    out = []
    for code, r in aggregated.iterrows():
        row = {"code": code, "name": names.get(code, code), "areas": int(r["areas"])}
        for column in (*_AGGREGATE_COLUMNS, "gap"):
            v = r[column]
            row[column] = None if pd.isna(v) else float(v)
        row["bivariate_class"] = r["bivariate_class"]
        out.append(row)
    return out


def aggregate_run(session: Session, run: dict, level: str) -> dict:
    """A run's LSOA scores population-weighted up to wards or MSOAs, and to the whole area.

    Each LSOA belongs to the ward or MSOA its representative point lies in
    (:func:`assetmap.db.indicators.lsoa_parents`); the weights are the run's population group;
    the means are :func:`assetmap.domain.gap_analysis.aggregate_scores` (gap and class on the
    aggregated percentiles).

    Parameters
    ----------
    session : Session
    run : dict
        A ``gap_run`` row.
    level : {"lsoa", "ward", "msoa"}
        ``"lsoa"`` gives the run's rows as they are (:func:`run_scores`).

    Returns
    -------
    dict
        ``rows``: ``[{code, name, areas, population, need, need_pct, provision, provision_pct,
        gap, bivariate_class}]`` by code; ``unassigned``: LSOAs in no loaded area of that level;
        ``total``: the same figures over all the run's LSOAs (the local authority's line).

    Raises
    ------
    BadInputError
        For an unknown level (the message lists the allowed ones).
    """
    if level not in gap_analysis.AGGREGATE_LEVELS:
        allowed = list(gap_analysis.AGGREGATE_LEVELS)
        raise BadInputError(f"unknown level {level!r}; allowed: {', '.join(allowed)}",
                            details={"parameter": "level", "allowed": allowed})
    frame = _run_frame(session, run["id"])
    total = gap_analysis.aggregate_scores(frame, [run["lad_code"]] * len(frame))
    if run["lad_code"] == ALL_AREAS:
        names = {ALL_AREAS: "All loaded areas"}
    else:
        names = dict(session.execute(text("SELECT code, name FROM area WHERE code = :c"),
                                     {"c": run["lad_code"]}).all())
    out = {"total": (_aggregate_rows(total, names) or [None])[0], "unassigned": 0}
    if level == "lsoa":
        out["rows"] = [{**r, "areas": 1} for r in run_scores(session, run["id"])]
        return out
    parents = indicator_values.lsoa_parents(session, frame["area_id"], level)
    group = frame["area_id"].map(dict(zip(parents["lsoa_id"], parents["parent_code"])))
    out["unassigned"] = int(group.isna().sum())
    aggregated = gap_analysis.aggregate_scores(frame, group.where(group.notna(), None))
    out["rows"] = _aggregate_rows(aggregated, dict(zip(parents["parent_code"], parents["parent_name"])))
    return out


def scores_for_areas(session: Session, area_codes: Iterable[str], category: str, *,
                     indicator: str = gap_analysis.DEFAULT_INDICATOR, group: str = "all",
                     radius_m: float | None = None, decay: str = gap_analysis.DEFAULT_DECAY) -> list[dict]:
    """Gap scores of some LSOAs for one category, whichever local authorities they are in.

    Each LSOA is scored in the run of its own local authority (percentiles are over that
    authority's LSOAs), computed first if needed. For a ward, town or drawn polygon, pass the
    LSOAs it covers and aggregate with
    :func:`assetmap.domain.gaps.population_weighted_mean`.

    Parameters
    ----------
    session : Session
    area_codes : iterable of str
        LSOA codes.
    category : str
        Asset-type slug.
    indicator, group, radius_m, decay
        As in :class:`~assetmap.domain.gap_analysis.GapParams`; ``radius_m`` defaults to the
        category's catchment.

    Returns
    -------
    list of dict
        The rows of :func:`run_scores` (plus ``run_id``) for the codes found, by code.

    Raises
    ------
    BadInputError
        If a code is not a loaded LSOA, or a parameter is unknown.

    Examples
    --------
    >>> scores_for_areas(session, ["E01028950", "E01028951"], "library")  # doctest: +SKIP
    [{'code': 'E01028950', 'name': 'Shropshire 001A', 'provision': 0.00031, 'gap': 12.5, ...}, ...]
    """
    codes = sorted(set(area_codes))
    found = dict(session.execute(text(
        "SELECT code, lad_code FROM area WHERE level = 'lsoa' AND code = ANY(:codes)"
    ), {"codes": codes}).all())
    unknown = [c for c in codes if c not in found]
    if unknown:
        raise BadInputError(f"not a loaded LSOA: {', '.join(unknown[:10])}", details={"unknown": unknown})
    options = gap_options(session)
    categories = {r["slug"]: r["catchment_m"] for r in options["categories"]}
    by_lad: dict[str, list[str]] = {}
    for code in codes:
        by_lad.setdefault(found[code], []).append(code)
    out = []
    for lad, lad_codes in sorted(by_lad.items()):
        params = gap_analysis.parse_gap_query(
            {"lad": lad, "category": category, "indicator": indicator, "group": group,
             "radius_m": "" if radius_m is None else str(radius_m), "decay": decay},
            lads={lad: lad}, categories=categories, indicators={r["key"]: r["label"] for r in options["indicators"]},
        )
        run = ensure_run(session, params)
        rows = session.execute(text(
            f"""
            SELECT {_SCORE_COLUMNS}, s.run_id FROM gap_score s JOIN area a ON a.id = s.area_id
            WHERE s.run_id = :run AND a.code = ANY(:codes) ORDER BY a.code
            """
        ), {"run": run["id"], "codes": lad_codes}).mappings()
        out.extend(dict(r) for r in rows)
    return sorted(out, key=lambda r: r["code"])


def run_assets(session: Session, run: dict) -> list[dict]:
    """The assets a run counted (its supply), for the map: ``id, name, lat, lon, postcode``, by name."""
    rows = session.execute(text(
        """
        SELECT a.id, a.name, a.postcode, ST_Y(a.location) AS lat, ST_X(a.location) AS lon
        FROM gap_supply g JOIN asset a ON a.id = g.asset_id
        WHERE g.run_id = :run AND a.location IS NOT NULL
        ORDER BY a.name, a.id
        """
    ), {"run": run["id"]}).mappings()
    return [dict(r) for r in rows]


def run_bounds(session: Session, run: dict) -> tuple[float, float, float, float] | None:
    """(west, south, east, north) in degrees of the areas a run reports."""
    if run["lad_code"] == ALL_AREAS:
        row = session.execute(text(
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(geom) AS e FROM area WHERE level = 'lad') q"
        )).first()
    else:
        row = session.execute(text(
            """
            SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)
            FROM (SELECT ST_Extent(geom) AS e FROM area WHERE level = 'lsoa' AND lad_code = :lad) q
            """
        ), {"lad": run["lad_code"]}).first()
    return None if row is None or row[0] is None else tuple(float(v) for v in row)


# --- tiles and GeoJSON -------------------------------------------------------------------------
def lsoa_tile(session: Session, run_id: int, z: int, x: int, y: int) -> bytes:
    """A Mapbox vector tile (layer ``lsoa``) of a run's LSOAs in tile ``z/x/y``.

    Each feature's id is the area id, and it carries ``np`` (need percentile), ``pp``
    (provision percentile), ``gap`` and ``cls`` (bivariate class); percentiles and gap are
    whole numbers below zoom 9 and to 0.1 from zoom 9. From zoom 8 it also carries ``code``;
    from zoom 9 ``name``, ``pop``, ``need`` (the indicator's value), ``prov`` (provision per
    1,000 people, 4 significant figures) and ``near`` (metres to the nearest asset). Missing
    values are left out, so the map can show "no data". Shapes are generalised by zoom
    (``area_tile_geom``). Raises :class:`~assetmap.errors.BadInputError` for a tile that does
    not exist.
    """
    if not (0 <= z <= 22 and 0 <= x < 2**z and 0 <= y < 2**z):
        raise BadInputError(f"no tile {z}/{x}/{y}")
    column = _tile_column(z)
    digits = 1 if z >= 9 else 0
    extra = ", a.code" if z >= 8 else ""
    if z >= 9:
        extra += """,
               a.name, round(s.population)::int AS pop, s.need_value AS need,
               CASE WHEN s.provision = 0 THEN 0 ELSE round((s.provision * 1000)::numeric,
                    greatest(0, 3 - floor(log(abs(s.provision * 1000)))::int))::float8 END AS prov,
               round(s.nearest_m)::int AS near"""
    tile = session.execute(text(
        f"""
        WITH env AS (SELECT ST_TileEnvelope(:z, :x, :y) AS box),
        features AS (
            SELECT ST_AsMVTGeom(t.{column}, env.box, {MVT_EXTENT}, {MVT_BUFFER}, true) AS geom, s.area_id AS fid,
                   round(s.need_pct::numeric, {digits})::float8 AS np,
                   round(s.provision_pct::numeric, {digits})::float8 AS pp,
                   round(s.gap::numeric, {digits})::float8 AS gap, s.class AS cls{extra}
            FROM env
            JOIN area_tile_geom t ON t.{column} && env.box
            JOIN gap_score s ON s.area_id = t.area_id AND s.run_id = :run
            JOIN area a ON a.id = s.area_id
        )
        SELECT ST_AsMVT(features, 'lsoa', {MVT_EXTENT}, 'geom', 'fid') FROM features WHERE geom IS NOT NULL
        """
    ), {"z": z, "x": x, "y": y, "run": run_id}).scalar()
    return bytes(tile or b"")


def gap_geojson_features(session: Session, run: dict) -> list[dict]:
    """The run's LSOAs as GeoJSON features (EPSG:4326) with every score, by code.

    A local authority's LSOAs keep their published outlines (6 decimals, about 0.1 m); a run
    over every loaded area uses the shapes generalised to 100 m (``area_tile_geom.geom_mid``), so
    the file stays a usable size.
    """
    geometry = ("ST_AsGeoJSON(ST_Transform(t.geom_mid, 4326), 5)" if run["lad_code"] == ALL_AREAS
                else "ST_AsGeoJSON(a.geom, 6)")
    join = "JOIN area_tile_geom t ON t.area_id = a.id" if run["lad_code"] == ALL_AREAS else ""
    rows = session.execute(text(
        f"""
        SELECT {_SCORE_COLUMNS}, {geometry} AS geometry
        FROM gap_score s JOIN area a ON a.id = s.area_id {join}
        WHERE s.run_id = :run ORDER BY a.code
        """
    ), {"run": run["id"]}).mappings()
    features = []
    for r in rows:
        props = {k: v for k, v in r.items() if k != "geometry"}
        features.append({"type": "Feature", "id": r["code"], "geometry": json.loads(r["geometry"]),
                         "properties": props})
    return features


# --- everything a page or an export shows ------------------------------------------------------
def gap_report(session: Session, params: GapParams, *, with_assets: bool = True, top: int | None = None) -> dict:
    """The current run for ``params`` (computed first if needed) with what describes it.

    Returns
    -------
    dict
        ``run`` (the ``gap_run`` row), ``rows`` (every row, :func:`run_scores`; or with ``top``
        only the ``top`` biggest gaps, :func:`top_gaps`), ``area`` (``{code, name}``
        of the local authority, or of all loaded areas), ``category`` and ``indicator`` (their
        rows), ``assets`` (:func:`run_assets`, empty unless ``with_assets``) and ``bounds``
        (:func:`run_bounds`).
    """
    run = ensure_run(session, params)
    if params.lad == ALL_AREAS:
        area = {"code": ALL_AREAS, "name": "All loaded areas"}
    else:
        area = dict(session.execute(text("SELECT code, name FROM area WHERE code = :c"), {"c": params.lad}).mappings().one())
    refresh_area_geometry(session, check_changed=False, tiles=True, lad=params.lad)
    return {
        "run": run,
        "rows": run_scores(session, run["id"]) if top is None else top_gaps(session, run["id"], top),
        "area": area,
        "category": _term(session, params.category),
        "indicator": _indicator(session, params.indicator),
        "assets": run_assets(session, run) if with_assets else [],
        "bounds": run_bounds(session, run),
    }


def runs_to_compute(session: Session, *, lads: Iterable[str] = (), categories: Iterable[str] = (),
                    default_lads: Iterable[str] = (), indicator: str = gap_analysis.DEFAULT_INDICATOR,
                    group: str = "all", decay: str = gap_analysis.DEFAULT_DECAY,
                    radius_m: float | None = None) -> list[GapParams]:
    """What ``assetmap compute gaps`` recomputes: every current run (of ``lads`` and
    ``categories`` when given), plus the default run of each of those local authorities and
    categories.

    Without ``lads``: the loaded ones among ``default_lads``, and :data:`ALL_AREAS` when more
    local authorities than those are loaded (the England demo). Without ``categories``: every
    asset type. The default run uses ``indicator``, ``group``, ``decay`` and the category's
    catchment (or ``radius_m``). Returns distinct parameters, in a stable order.

    Raises
    ------
    BadInputError
        For an unknown local authority, category, indicator, group or decay.
    """
    options = gap_options(session)
    loaded = [r["code"] for r in options["lads"]]
    given_lads, given_categories = list(lads), list(categories)
    lads = list(given_lads)
    if not lads:
        lads = [c for c in default_lads if c in loaded]
        if len(loaded) > len(lads):
            lads.append(ALL_AREAS)
    cats = {r["slug"]: r["catchment_m"] for r in options["categories"]}
    indicators = {r["key"]: r["label"] for r in options["indicators"]}
    wanted = given_categories or list(cats)
    out: dict[str, GapParams] = {}
    for lad in lads:
        for category in wanted:
            params = gap_analysis.parse_gap_query(
                {"lad": lad, "category": category, "indicator": indicator, "group": group, "decay": decay,
                 "radius_m": "" if radius_m is None else str(radius_m)},
                lads={c: c for c in loaded}, categories=cats, indicators=indicators)
            out.setdefault(_params_json(params), params)
    for run in current_runs(session, lads=given_lads or None, categories=given_categories or None):
        params = params_of(run)
        out.setdefault(_params_json(params), params)
    return [out[k] for k in sorted(out)]
