"""What a gap page or export shows of a run: its rows, the biggest gaps, the rows aggregated to
wards or MSOAs, scores of any LSOAs, the assets it counted, its bounds, and its LSOAs as GeoJSON.
"""
from __future__ import annotations

import json
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable

import pandas as pd
from sqlalchemy import text
from sqlalchemy.orm import Session

from assetmap.db import gap_runs
from assetmap.db import indicators as indicator_values
from assetmap.db.gap_options import category_term, gap_options, indicator_row
from assetmap.db.gap_runs import ensure_run
from assetmap.domain import gap_analysis
from assetmap.domain.gap_analysis import AGGREGATE_COLUMNS, ALL_AREAS, GapParams
from assetmap.errors import BadInputError

__all__ = [
    "aggregate_run",
    "gap_geojson_features",
    "gap_report",
    "run_assets",
    "run_bounds",
    "run_scores",
    "scores_for_areas",
    "top_gaps",
]

_SCORE_COLUMNS = """
    a.code, a.name, a.lad_code, s.population, s.need_value AS need, s.need_pct, s.provision, s.provision_pct,
    s.nearest_m, s.gap, s.class AS bivariate_class
"""


def run_scores(session: Session, run_id: int) -> list[dict]:
    """A run's rows, one per LSOA, by code: ``code, name, lad_code, population, need, need_pct,
    provision, provision_pct, nearest_m, gap, bivariate_class``. ``provision`` is the raw
    (E)2SFCA score per person; ``need`` the indicator's value (None: no data)."""
    rows = session.execute(text(
        f"SELECT {_SCORE_COLUMNS} FROM gap_score s JOIN area a ON a.id = s.area_id"
        " WHERE s.run_id = :run ORDER BY a.code"
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


def _run_frame(session: Session, run_id: int) -> pd.DataFrame:
    rows = session.execute(text(
        """
        SELECT s.area_id, s.population, s.need_value, s.need_pct, s.provision, s.provision_pct
        FROM gap_score s WHERE s.run_id = :run ORDER BY s.area_id
        """
    ), {"run": run_id}).all()
    return gap_analysis.numeric_frame(rows, ["area_id", *AGGREGATE_COLUMNS], AGGREGATE_COLUMNS)


def aggregate_run(session: Session, run: dict, level: str) -> dict:
    """A run's LSOA scores population-weighted up to wards or MSOAs, and to the whole area.

    The wards and MSOAs are those of the run's own geography
    (:func:`~assetmap.domain.gap_analysis.shown_level`): 2024 wards and 2021 MSOAs for a run on
    LSOA 2021, the 2011-era ones for a run on LSOA 2011. Each LSOA belongs to one ward or MSOA
    (:func:`assetmap.db.indicators.lsoa_parents`: as the ONS publishes it, else by where its
    representative point lies); the weights
    are the run's population group; the means are
    :func:`assetmap.domain.gap_analysis.aggregate_scores` (gap and class on the aggregated
    percentiles).

    Parameters
    ----------
    session : Session
    run : dict
        A ``gap_run`` row.
    level : str
        ``"lsoa"``, ``"ward"`` or ``"msoa"`` (in the run's vintage), or a level of that vintage
        named outright (``"ward24"``). The LSOA level gives the run's rows as they are
        (:func:`run_scores`).

    Returns
    -------
    dict
        ``rows``: ``[{code, name, areas, population, need, need_pct, provision, provision_pct,
        gap, bivariate_class}]`` by code; ``unassigned``: LSOAs in no loaded area of that level;
        ``total``: the same figures over all the run's LSOAs (the local authority's line);
        ``level``: the stored level shown (``"ward24"``), ``lsoa_level`` the run's LSOA level.

    Raises
    ------
    BadInputError
        For a level the run cannot be shown at (the message lists the allowed ones).
    """
    key = (str(session.get_bind().engine.url), run["id"], run["updated_at"], level)
    with _AGGREGATED_LOCK:
        kept = _AGGREGATED.get(key)
        if kept is not None and time.monotonic() - kept[0] < _AGGREGATED_TTL_S:
            _AGGREGATED.move_to_end(key)
            return _copy_aggregated(kept[1])
    aggregated = _aggregate_run(session, run, level)
    with _AGGREGATED_LOCK:
        now = time.monotonic()
        _AGGREGATED[key] = (now, aggregated)
        _AGGREGATED.move_to_end(key)
        for old in [k for k, (kept_at, _) in _AGGREGATED.items() if now - kept_at >= _AGGREGATED_TTL_S]:
            del _AGGREGATED[old]
        while len(_AGGREGATED) > 1 and (len(_AGGREGATED) > _AGGREGATED_MAX or sum(
                len(kept["rows"]) for _, kept in _AGGREGATED.values()) > _AGGREGATED_MAX_ROWS):
            _AGGREGATED.popitem(last=False)  # the least recently used
    return _copy_aggregated(aggregated)


#: Aggregations kept in each process, by database, run, run version and level: a gap page and
#: each of its ward or MSOA tiles ask for the same one. A new version of the run's scores is a
#: new key; the time limit bounds how long an import that changes the areas rather than the run
#: (boundaries, lookups, area names) takes to show. The row limit bounds the memory: an England
#: run by LSOA is some 34,000 rows.
_AGGREGATED: OrderedDict = OrderedDict()
_AGGREGATED_LOCK = threading.Lock()
_AGGREGATED_MAX = 16
_AGGREGATED_MAX_ROWS = 100_000
_AGGREGATED_TTL_S = 600.0


def _copy_aggregated(aggregated: dict) -> dict:
    """A copy the caller may sort, cut or change without touching the kept one."""
    return {**aggregated, "rows": [dict(r) for r in aggregated["rows"]],
            "total": None if aggregated["total"] is None else dict(aggregated["total"])}


def _aggregate_run(session: Session, run: dict, level: str) -> dict:
    lsoa_level = gap_runs.run_level(session, run)
    shown = gap_analysis.shown_level(lsoa_level, level)
    frame = _run_frame(session, run["id"])
    total = gap_analysis.aggregate_scores(frame, [run["lad_code"]] * len(frame))
    if run["lad_code"] == ALL_AREAS:
        names = {ALL_AREAS: "All loaded areas"}
    else:
        names = dict(session.execute(text("SELECT code, name FROM area WHERE code = :c"),
                                     {"c": run["lad_code"]}).all())
    out = {"total": (gap_analysis.aggregated_rows(total, names) or [None])[0], "unassigned": 0,
           "level": shown, "lsoa_level": lsoa_level}
    if shown == lsoa_level:
        out["rows"] = [{**r, "areas": 1} for r in run_scores(session, run["id"])]
        return out
    parents = indicator_values.lsoa_parents(session, frame["area_id"], shown)
    out["rows"], out["unassigned"] = gap_analysis.aggregate_to_parents(frame, parents)
    return out


def scores_for_areas(session: Session, area_codes: Iterable[str], category: str, *,
                     indicator: str | None = None, group: str = "all",
                     radius_m: float | None = None, decay: str = gap_analysis.DEFAULT_DECAY) -> list[dict]:
    """Gap scores of some LSOAs for one category, whichever local authorities they are in.

    Each LSOA is scored in the run of its own local authority (percentiles are over that
    authority's LSOAs), computed first if needed. For a ward, town or drawn polygon, pass the
    LSOAs it covers and aggregate with
    :func:`assetmap.domain.gap_ranks.population_weighted_mean`.

    Parameters
    ----------
    session : Session
    area_codes : iterable of str
        LSOA codes, 2021 or 2011. The runs are on the indicator's geography (LSOA 2021 for IoD
        2025, LSOA 2011 for IoD 2019), so a code only of the other vintage has no row.
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
        "SELECT code, lad_code FROM area WHERE level = ANY(:levels) AND code = ANY(:codes)"
    ), {"codes": codes, "levels": list(indicator_values.LSOA_LEVELS)}).all())
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
            "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)"
            " FROM (SELECT ST_Extent(geom) AS e FROM area WHERE level = 'lad') q"
        )).first()
    else:
        row = session.execute(text(
            """
            SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e)
            FROM (SELECT ST_Extent(geom) AS e FROM area WHERE level = :level AND lad_code = :lad) q
            """
        ), {"lad": run["lad_code"], "level": gap_runs.run_level(session, run)}).first()
    return None if row is None or row[0] is None else tuple(float(v) for v in row)


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
        area = dict(session.execute(text("SELECT code, name FROM area WHERE code = :c"),
                                    {"c": params.lad}).mappings().one())
    return {
        "run": run,
        "rows": run_scores(session, run["id"]) if top is None else top_gaps(session, run["id"], top),
        "area": area,
        "category": category_term(session, params.category),
        "indicator": indicator_row(session, params.indicator),
        "assets": run_assets(session, run) if with_assets else [],
        "bounds": run_bounds(session, run),
    }


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
