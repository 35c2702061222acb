"""Bringing the stored gap runs up to date after assets change, whoever changed them.

Every writer of assets (:mod:`assetmap.db.assets`) returns an
:class:`~assetmap.db.assets.AssetChanges`; after committing it, the caller passes it to
:func:`refresh_gap_runs` (and commits again), so the next gap answer counts the change:

- a few assets: each is recomputed incrementally in every current run that counted it or counts
  it now (:func:`recompute_for_asset_change`), touching only the areas within its reach;
- more than :data:`INCREMENTAL_LIMIT` (an import): the runs they affect are superseded instead,
  and the next request for one computes it afresh (:func:`assetmap.db.gap_runs.ensure_run`), as
  England-wide runs always are.

The arithmetic is :mod:`assetmap.domain.gap_update` and :mod:`assetmap.domain.gap_analysis`;
this module reads and writes the rows.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Iterable

import numpy as np
import pandas as pd
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session

from assetmap.db.assets import AssetChanges
from assetmap.db.gap_inputs import box_params, demand_frame, grow_box, nearest_distances
from assetmap.db.gap_options import indicator_row
from assetmap.db.gap_runs import demand_radii, float8_array, int_array, params_of, reach_m
from assetmap.domain import gap_analysis
from assetmap.domain.gap_update import changed_rows, reach_of_change

__all__ = ["INCREMENTAL_LIMIT", "recompute_for_asset_change", "refresh_after_commit", "refresh_gap_runs",
           "supersede_runs_for"]

#: Up to this many changed assets are recomputed one by one; more supersede the runs they affect.
INCREMENTAL_LIMIT = 40

_NOTHING = {"runs": [], "areas": 0, "rows": 0, "superseded": []}
_log = logging.getLogger(__name__)


def refresh_gap_runs(session: Session, changes: AssetChanges) -> dict:
    """Bring the current gap runs up to date with ``changes`` (call after committing them).

    Only assets whose position, capacity, status or categories changed (and new ones) matter.
    Nothing is committed here; the caller commits.

    Returns
    -------
    dict
        ``{"runs": [run ids updated in place], "areas": LSOA rows recomputed, "rows": rows
        written, "superseded": [run ids left to be recomputed on their next view]}``.
    """
    ids = changes.gap_relevant
    if not ids:
        return dict(_NOTHING)
    if len(ids) > INCREMENTAL_LIMIT:
        return {**_NOTHING, "superseded": supersede_runs_for(session, ids)}
    out = {"runs": [], "areas": 0, "rows": 0, "superseded": []}
    for asset_id in ids:
        result = recompute_for_asset_change(session, asset_id)
        out["runs"] = sorted(set(out["runs"]) | set(result["runs"]))
        out["superseded"] = sorted(set(out["superseded"]) | set(result["superseded"]))
        out["areas"] += result["areas"]
        out["rows"] += result["rows"]
    return out


def refresh_after_commit(session: Session, changes: AssetChanges | None, log: logging.Logger | None = None) -> dict:
    """:func:`refresh_gap_runs`, then commit: what every writer of assets calls once its own
    change is committed.

    The change itself is already saved: if the refresh fails, it is rolled back and logged, and
    the next full run of the gap analysis catches up.
    """
    if not changes:
        return dict(_NOTHING)
    try:
        result = refresh_gap_runs(session, changes)
        session.commit()
    except SQLAlchemyError:
        session.rollback()
        (log or _log).exception("gap refresh after a change to %d asset(s) failed", len(changes))
        return dict(_NOTHING)
    return result


def supersede_runs_for(session: Session, asset_ids: Iterable[int]) -> list[int]:
    """Set aside every current run that counted one of the assets, or would count one now
    (published, placed, of the run's category or one under it, where the run counts supply).

    Returns the ids of the runs superseded, by id.
    """
    ids = sorted({int(i) for i in asset_ids})
    if not ids:
        return []
    superseded = session.execute(text(
        """
        WITH RECURSIVE placed AS MATERIALIZED (
            SELECT a.id, ST_X(g.pt) AS x, ST_Y(g.pt) AS y
            FROM asset a CROSS JOIN LATERAL (SELECT ST_Transform(a.location, 27700) AS pt) g
            WHERE a.id = ANY(CAST(:ids AS int[])) AND a.status = 'published' AND a.location IS NOT NULL
        ), up AS (
            SELECT at.asset_id, t.id, t.parent_id FROM asset_term at JOIN taxonomy_term t ON t.id = at.term_id
            WHERE at.asset_id IN (SELECT id FROM placed)
            UNION SELECT up.asset_id, t.id, t.parent_id FROM taxonomy_term t JOIN up ON t.id = up.parent_id
        )
        UPDATE gap_run r SET status = 'superseded'
        WHERE r.status = 'current'
          AND (r.id IN (SELECT g.run_id FROM gap_supply g WHERE g.asset_id = ANY(CAST(:ids AS int[])))
               OR EXISTS (SELECT 1 FROM up JOIN placed p ON p.id = up.asset_id
                          WHERE up.id = r.term_id
                            AND (r.box_xmin IS NULL OR (p.x BETWEEN r.box_xmin AND r.box_xmax
                                                        AND p.y BETWEEN r.box_ymin AND r.box_ymax))))
        RETURNING r.id
        """
    ), {"ids": ids}).scalars()
    return sorted(superseded)


# --- one asset at a time ------------------------------------------------------------------
def recompute_for_asset_change(session: Session, asset_id: int) -> dict:
    """Bring every current run up to date with one asset's present state, touching only what it changes.

    Call it after the change is committed (through :func:`refresh_gap_runs`); the caller commits
    again afterwards. An asset counts for a run when it is
    published, has a location and one of its types is the run's category (or under it), and
    it lies where the run counts supply. For each run that counted it before (``gap_supply``)
    or counts it now, and only if its position or capacity differs:

    1. the run's supply row is replaced (or dropped, or added);
    2. provision is recomputed, exactly as the full run would, for the LSOAs within the radius
       of the old or the new position: a local 2SFCA over the supply the run counts and the
       population within reach;
    3. the nearest distance is recomputed where the asset was the nearest or is now nearer;
    4. percentiles, gaps and classes are recomputed over the run's LSOAs (they are ranks, so
       one change can move many), and only rows that changed are written.

    Parameters
    ----------
    session : Session
    asset_id : int

    Returns
    -------
    dict
        ``{"runs": [run ids updated], "areas": number of LSOA rows whose provision was
        recomputed, "rows": number of rows written, "superseded": [England-wide run ids left to
        be recomputed on their next view]}``.
    """
    asset = session.execute(text(
        """
        SELECT a.id, a.status, a.capacity,
               ST_X(ST_Transform(a.location, 27700)) AS x, ST_Y(ST_Transform(a.location, 27700)) AS y
        FROM asset a WHERE a.id = :id
        """
    ), {"id": asset_id}).mappings().first()
    counts_now = asset is not None and asset["status"] == "published" and asset["x"] is not None
    runs = session.execute(text(
        """
        WITH RECURSIVE up AS (
            SELECT t.id, t.parent_id FROM asset_term at JOIN taxonomy_term t ON t.id = at.term_id
            WHERE at.asset_id = :id
            UNION SELECT t.id, t.parent_id FROM taxonomy_term t JOIN up ON t.id = up.parent_id
        )
        SELECT r.*, g.x AS old_x, g.y AS old_y, g.capacity AS old_capacity, g.asset_id IS NOT NULL AS counted
        FROM gap_run r
        LEFT JOIN gap_supply g ON g.run_id = r.id AND g.asset_id = :id
        WHERE r.status = 'current'
          AND (g.asset_id IS NOT NULL
               OR (:now AND r.term_id IN (SELECT id FROM up)
                   AND (r.box_xmin IS NULL OR (CAST(:x AS float8) BETWEEN r.box_xmin AND r.box_xmax
                                               AND CAST(:y AS float8) BETWEEN r.box_ymin AND r.box_ymax))))
        ORDER BY r.id
        """
    ), {"id": asset_id, "now": counts_now, "x": asset["x"] if counts_now else None,
        "y": asset["y"] if counts_now else None}).mappings().all()
    if not runs:
        return dict(_NOTHING)
    term_ids = {r["term_id"] for r in runs}
    in_category = set(session.execute(text(
        """
        WITH RECURSIVE up AS (
            SELECT t.id, t.parent_id FROM asset_term at JOIN taxonomy_term t ON t.id = at.term_id
            WHERE at.asset_id = :id
            UNION SELECT t.id, t.parent_id FROM taxonomy_term t JOIN up ON t.id = up.parent_id
        ) SELECT id FROM up WHERE id = ANY(:terms)
        """
    ), {"id": asset_id, "terms": list(term_ids)}).scalars())
    updated, superseded, areas, written = [], [], 0, 0
    for run in runs:
        new = None
        if counts_now and run["term_id"] in in_category and (
                run["box_xmin"] is None or (run["box_xmin"] <= asset["x"] <= run["box_xmax"]
                                           and run["box_ymin"] <= asset["y"] <= run["box_ymax"])):
            new = (float(asset["x"]), float(asset["y"]), asset["capacity"])
        old = (run["old_x"], run["old_y"], run["old_capacity"]) if run["counted"] else None
        if old == new:
            continue
        if run["lad_code"] == gap_analysis.ALL_AREAS:
            # An England-wide run would re-rank every area in England for one asset, keeping a
            # moderator waiting; it is superseded instead and the next visitor's
            # request computes it afresh (ensure_run), so the map is still up to date when seen.
            superseded.append(run["id"])
            continue
        n_areas, n_rows = _apply_change(session, run, asset_id, old, new)
        updated.append(run["id"])
        areas += n_areas
        written += n_rows
    if superseded:
        session.execute(text("UPDATE gap_run SET status = 'superseded' WHERE id = ANY(:ids)"), {"ids": superseded})
    return {"runs": updated, "areas": areas, "rows": written, "superseded": superseded}


def _apply_change(session: Session, run: dict, asset_id: int, old, new) -> tuple[int, int]:
    params = params_of(run)
    radius = reach_m(session, params)  # with rural catchments, the wider: it reaches every area affected
    session.execute(text("DELETE FROM gap_supply WHERE run_id = :run AND asset_id = :a"),
                    {"run": run["id"], "a": asset_id})
    if new is not None:
        session.execute(text("INSERT INTO gap_supply (run_id, asset_id, x, y, capacity) VALUES (:run, :a, :x, :y, :c)"),
                        {"run": run["id"], "a": asset_id, "x": new[0], "y": new[1], "c": new[2]})

    columns = ["id", "x", "y", "population", "provision", "nearest_m", "need_value", "need_pct", "provision_pct",
               "gap", "bivariate_class"]
    rows = pd.DataFrame.from_records(list(map(tuple, session.execute(text(
        """
        SELECT s.area_id, p.x, p.y, s.population, s.provision, s.nearest_m, s.need_value,
               s.need_pct, s.provision_pct, s.gap, s.class
        FROM gap_score s JOIN area_point p ON p.area_id = s.area_id
        WHERE s.run_id = :run ORDER BY s.area_id
        """
    ), {"run": run["id"]}).all())), columns=columns)
    for column in columns[1:-1]:
        rows[column] = pd.to_numeric(rows[column], errors="coerce").astype(np.float64)
    xy = rows[["x", "y"]].to_numpy(np.float64)
    nearest = rows["nearest_m"].to_numpy(np.float64)
    in_reach, nearer = reach_of_change(xy, nearest, old, new, radius)

    provision = rows["provision"].to_numpy(np.float64).copy()
    if in_reach.any():
        ids = rows.loc[in_reach, "id"]
        box = (xy[in_reach, 0].min(), xy[in_reach, 1].min(), xy[in_reach, 0].max(), xy[in_reach, 1].max())
        level = gap_analysis.demand_level(indicator_row(session, params.indicator)["area_level"])
        demand = demand_frame(session, grow_box(box, 2 * radius), params.group, level=level)
        supply = pd.DataFrame(session.execute(text(
            """
            SELECT asset_id AS id, x, y, capacity FROM gap_supply
            WHERE run_id = :run AND x BETWEEN :xmin AND :xmax AND y BETWEEN :ymin AND :ymax ORDER BY asset_id
            """
        ), {"run": run["id"], **box_params(grow_box(box, radius))}).all(), columns=["id", "x", "y", "capacity"])
        supply["capacity"] = pd.to_numeric(supply["capacity"], errors="coerce").astype(np.float64)
        local = gap_analysis.compute_provision(demand, supply, demand_radii(session, demand, params), params.decay)
        provision[in_reach] = local["provision"].reindex(ids).to_numpy()
    if nearer.any():
        nearest = nearest.copy()
        reach = max(radius, float(np.nanmax(nearest[nearer], initial=0.0)))
        nearest[nearer] = nearest_distances(session, run["term_id"], rows.loc[nearer, ["id", "x", "y"]], reach)

    indicator = indicator_row(session, params.indicator)
    rescored = gap_analysis.score_gaps(
        rows[["id", "population", "need_value"]].assign(provision=provision), indicator["higher_is_more_need"])
    rescored["nearest_m"] = nearest
    changed = changed_rows(rows, rescored)
    if changed.any():
        r = rescored[changed]
        session.execute(text(
            """
            UPDATE gap_score s SET provision = u.prov, nearest_m = u.near, provision_pct = u.pp,
                                   gap = u.gap, class = u.cls
            FROM (SELECT unnest(CAST(:ids AS int[])) AS id, unnest(CAST(:prov AS float8[])) AS prov,
                         unnest(CAST(:near AS float8[])) AS near, unnest(CAST(:pp AS float8[])) AS pp,
                         unnest(CAST(:gap AS float8[])) AS gap, unnest(CAST(:cls AS text[])) AS cls) u
            WHERE s.run_id = :run AND s.area_id = u.id
            """
        ), {"run": run["id"], "ids": int_array(r["id"]), "prov": float8_array(r["provision"]),
            "near": float8_array(r["nearest_m"]), "pp": float8_array(r["provision_pct"]), "gap": float8_array(r["gap"]),
            "cls": r["bivariate_class"].tolist()})
    summary = gap_analysis.summarise(rescored.assign(nearest_m=nearest))
    summary["supply"] = session.execute(text("SELECT count(*) FROM gap_supply WHERE run_id = :run"),
                                        {"run": run["id"]}).scalar_one()
    session.execute(text("UPDATE gap_run SET updated_at = clock_timestamp(), summary = CAST(:s AS jsonb)"
                         " WHERE id = :run"),
                    {"run": run["id"], "s": json.dumps(summary)})
    return int(in_reach.sum()), int(changed.sum())
