"""Gap runs: find, compute, store and prune them, and the runs ``assetmap compute gaps`` refreshes.

A run is one :class:`~assetmap.domain.gap_analysis.GapParams` computed over the frames of
:mod:`assetmap.db.gap_inputs` by :func:`assetmap.domain.gap_analysis.analyse`; its rows are
``gap_score`` (one per LSOA) and the supply it counted ``gap_supply``. Distances are in metres on
EPSG:27700.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from contextlib import AbstractContextManager, nullcontext
from contextvars import ContextVar

import numpy as np
import pandas as pd
from sqlalchemy import text
from sqlalchemy.orm import Session

from assetmap.db.area_geometry import refresh_area_geometry
from assetmap.db.gap_inputs import (
    box_params,
    demand_frame,
    grow_box,
    nearest_distances,
    need_series,
    reported_box,
    rural_classification_loaded,
    rural_flags,
    supply_frame,
)
from assetmap.db.gap_options import category_term, gap_options, indicator_row, rural_radii
from assetmap.domain import gap_analysis
from assetmap.domain.gap_analysis import ALL_AREAS, GapParams
from assetmap.errors import BadInputError

__all__ = [
    "MAX_RUNS",
    "compute_guard",
    "compute_run",
    "current_run",
    "current_runs",
    "demand_radii",
    "ensure_run",
    "reach_m",
    "run_level",
    "find_run",
    "float8_array",
    "get_run",
    "int_array",
    "is_default_run",
    "params_json",
    "params_of",
    "runs_to_compute",
]

#: Current runs kept; beyond this the least recently used are dropped (every asset change
#: updates the runs that counted it, so they must not pile up).
MAX_RUNS = 200
#: What must allow each computation of a new run before it starts: set by the web layer for a
#: request (a rate limit for anonymous visitors, a cap on computations at once, see
#: :mod:`assetmap.web.limits`), called with the run's parameters, and held while it computes.
#: None (the command line, imports) computes without asking.
compute_guard: ContextVar[Callable[[GapParams], AbstractContextManager] | None] = ContextVar(
    "gap_compute_guard", default=None)
#: Where a run first looks for each area's nearest asset (metres beyond the area's box).
NEAREST_REACH_M = 20_000.0


def params_json(params: GapParams) -> str:
    return json.dumps(params.as_dict(), sort_keys=True)


def find_run(session: Session, params: GapParams) -> dict | None:
    """The current run for ``params``, or None."""
    row = session.execute(text(
        "SELECT * FROM gap_run WHERE status = 'current' AND params = CAST(:p AS jsonb)"
    ), {"p": params_json(params)}).mappings().first()
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
    term = category_term(session, params.category)
    indicator = indicator_row(session, params.indicator)
    # Points to compute from, and the tile shapes its map will draw (only missing ones: a cheap
    # check here rather than on every view of the run).
    refresh_area_geometry(session, check_changed=False, tiles=True, lad=params.lad)
    # The run is computed on the small areas of its indicator's geography, never an assumed one.
    level = run_level(session, params, indicator)
    area_box = reported_box(session, params.lad, level)
    reach = reach_m(session, params)
    supply_box = grow_box(area_box, reach)
    demand = demand_frame(session, grow_box(area_box, 2 * reach), params.group, params.lad, level)
    supply = supply_frame(session, term["id"], supply_box)
    radii = demand_radii(session, demand, params)
    # The nearest asset may lie beyond any catchment: look within NEAREST_REACH_M first, and
    # everywhere only for the areas with nothing that near.
    near_box = grow_box(area_box, max(NEAREST_REACH_M, reach))
    candidates = supply if supply_box is None else supply_frame(session, term["id"], near_box)
    reported = demand.loc[demand["reported"], "id"]
    frame = gap_analysis.analyse(
        demand, supply, reported=reported,
        need=need_series(session, indicator["id"], reported, indicator["area_level"]),
        higher_is_more_need=indicator["higher_is_more_need"],
        radius_m=radii, decay=params.decay, nearest_supply=candidates,
    )
    if near_box is not None:
        far = ~(frame["nearest_m"] <= max(NEAREST_REACH_M, reach))
        if far.any():
            points = demand.set_index("id").loc[frame.loc[far, "id"], ["x", "y"]].reset_index()
            frame.loc[far, "nearest_m"] = nearest_distances(session, term["id"], points, 4 * NEAREST_REACH_M)
    return {"frame": frame, "supply": supply, "box": supply_box, "term": term, "indicator": indicator}


def run_level(session: Session, params: GapParams | dict, indicator: dict | None = None) -> str:
    """The LSOA level (``lsoa21`` or ``lsoa``) a run is computed on: its indicator's geography
    (:func:`~assetmap.domain.gap_analysis.demand_level`).

    ``params`` is the run's parameters, or its ``gap_run`` row; ``indicator`` its row when the
    caller has read it already.
    """
    if indicator is None:
        key = params.indicator if isinstance(params, GapParams) else params["params"]["indicator"]
        indicator = indicator_row(session, key)
    return gap_analysis.demand_level(indicator["area_level"])


def reach_m(session: Session, params: GapParams) -> float:
    """How far a run (or a recompute of it) looks for people and assets: the rural radius when
    it is the wider and some area is classed rural, else the urban one."""
    if params.rural_m > params.radius_m and rural_classification_loaded(session):
        return params.max_radius_m
    return float(params.radius_m)


def demand_radii(session: Session, demand: pd.DataFrame, params: GapParams):
    """Each demand row's catchment radius: the rural radius for rural areas (:func:`rural_flags`),
    else the urban one; a single float when they are all the same."""
    if params.rural_radius_m is None:
        return float(params.radius_m)
    flags = rural_flags(session, demand["id"])
    rural = [flags.get(int(i), False) for i in demand["id"]]
    return gap_analysis.catchment_radii(rural, params.radius_m, params.rural_radius_m)


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
    key = params_json(params)
    session.execute(text("SELECT pg_advisory_xact_lock(hashtext(:k))"), {"k": "gap_run:" + key})
    run = find_run(session, params)
    if run is not None and not refresh:
        session.execute(text("UPDATE gap_run SET last_used_at = now()"
                             " WHERE id = :id AND last_used_at < now() - interval '1 minute'"),
                        {"id": run["id"]})
        return run
    guard = compute_guard.get()
    with guard(params) if guard is not None else nullcontext():
        computed = compute_run(session, params)
    run_id = _store_run(session, params, computed)
    _prune_runs(session)
    return get_run(session, run_id)


def _store_run(session: Session, params: GapParams, computed: dict) -> int:
    frame, supply, box = computed["frame"], computed["supply"], computed["box"]
    session.execute(text(
        "DELETE FROM gap_run WHERE status = 'current' AND params = CAST(:p AS jsonb)"
    ), {"p": params_json(params)})
    summary = gap_analysis.summarise(frame)
    summary["supply"] = len(supply)
    run_id = session.execute(text(
        """
        INSERT INTO gap_run (params, term_id, lad_code, status, box_xmin, box_ymin, box_xmax, box_ymax, summary)
        VALUES (CAST(:p AS jsonb), :term, :lad, 'current', :xmin, :ymin, :xmax, :ymax, CAST(:summary AS jsonb))
        RETURNING id
        """
    ), {"p": params_json(params), "term": computed["term"]["id"], "lad": params.lad, **box_params(box),
        "summary": json.dumps(summary)}).scalar_one()
    _insert_scores(session, run_id, computed["term"]["id"], frame)
    session.execute(text(
        """
        INSERT INTO gap_supply (run_id, asset_id, x, y, capacity)
        SELECT :run, unnest(CAST(:ids AS int[])), unnest(CAST(:xs AS float8[])), unnest(CAST(:ys AS float8[])),
               unnest(CAST(:caps AS float8[]))
        """
    ), {"run": run_id, "ids": int_array(supply["id"]), "xs": float8_array(supply["x"]),
        "ys": float8_array(supply["y"]), "caps": float8_array(supply["capacity"])})
    return run_id


def float8_array(values) -> str:
    """A float8[] literal; NaN and None become NULL. Sent as text: several times faster than
    binding a Python list of tens of thousands of floats."""
    out = []
    for v in np.asarray(pd.to_numeric(pd.Series(values, dtype=object), errors="coerce"), dtype=np.float64).tolist():
        out.append("NULL" if v != v else repr(v))
    return "{" + ",".join(out) + "}"


def int_array(values) -> str:
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
    ), {"run": run_id, "term": term_id, "ids": int_array(frame["id"]),
        "pop": float8_array(frame["population"]), "prov": float8_array(frame["provision"]),
        "near": float8_array(frame["nearest_m"]), "need": float8_array(frame["need_value"]),
        "need_pct": float8_array(frame["need_pct"]), "prov_pct": float8_array(frame["provision_pct"]),
        "gap": float8_array(frame["gap"]), "cls": frame["bivariate_class"].tolist()})


def _prune_runs(session: Session) -> None:
    """Drop replaced and failed runs, and the least recently used current runs past
    :data:`MAX_RUNS`, never a default run (:func:`is_default_run`): a stream of one-off
    parameter sets only pushes out other one-off runs, not the ones every page opens with."""
    session.execute(text("DELETE FROM gap_run WHERE status IN ('superseded', 'failed')"))
    count = session.execute(text("SELECT count(*) FROM gap_run WHERE status = 'current'")).scalar_one()
    if count <= MAX_RUNS:
        return
    rows = session.execute(text(
        "SELECT id, params FROM gap_run WHERE status = 'current' ORDER BY last_used_at DESC, id DESC"
    )).all()
    options = gap_options(session)
    others = [run_id for run_id, params in rows if not is_default_run(params_of({"params": params}), options)]
    session.execute(text("DELETE FROM gap_run WHERE id = ANY(CAST(:ids AS int[]))"), {"ids": others[MAX_RUNS:]})


def is_default_run(params: GapParams, options: dict) -> bool:
    """Are ``params`` the defaults for their local authority and category (what the gap map and
    the profiles open with, and ``assetmap compute gaps`` keeps fresh)?

    ``options`` is :func:`~assetmap.db.gap_options.gap_options`'s answer.
    """
    categories = {r["slug"]: r["catchment_m"] for r in options["categories"]}
    if params.category not in categories:
        return False
    default = gap_analysis.parse_gap_query(
        {"lad": params.lad, "category": params.category}, lads={params.lad: params.lad},
        categories=categories, indicators={r["key"]: r["label"] for r in options["indicators"]})
    return params_json(default) == params_json(params)


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
    rural = p.get("rural_radius_m")
    return GapParams(p["lad"], p["category"], p["indicator"], p["group"], float(p["radius_m"]), p["decay"],
                     None if rural is None else float(rural))


def runs_to_compute(session: Session, *, lads: Iterable[str] = (), categories: Iterable[str] = (),
                    default_lads: Iterable[str] = (), indicator: str | None = None,
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
                lads={c: c for c in loaded}, categories=cats, indicators=indicators,
                rural_defaults=None if radius_m is not None else rural_radii())
            out.setdefault(params_json(params), params)
    for run in current_runs(session, lads=given_lads or None, categories=given_categories or None):
        params = params_of(run)
        out.setdefault(params_json(params), params)
    return [out[k] for k in sorted(out)]


def delete_runs_for_indicator(session: Session, key: str) -> None:
    """Remove the gap runs scored on this indicator (stale once its values change)."""
    session.execute(text("DELETE FROM gap_run WHERE params->>'indicator' = :key"), {"key": key})
