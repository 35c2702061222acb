"""The gap analysis pipeline on plain frames: provision, need, gap and class per small area.

Nothing here knows Flask or SQL. :mod:`assetmap.db.gap_runs` loads the frames
(:mod:`assetmap.db.gap_inputs`: population points and assets in EPSG:27700 metres, indicator
values), calls :func:`analyse`, and stores the result.

Pipeline
--------
1. Provision: :func:`assetmap.domain.access.two_step_fca` (plain 2SFCA with ``decay="none"``,
   E2SFCA with the Gaussian decay of :func:`assetmap.domain.access.gaussian_decay`), and the
   distance to the nearest asset of the category (:func:`assetmap.domain.access.nearest_distance`).
2. Need: the indicator as a percentile over the areas reported, oriented so 100 is most need
   (:func:`assetmap.domain.gap_ranks.percentile_rank`; IoD rank 1 is the most deprived).
3. Provision percentile over the same areas, gap = need percentile - provision percentile, and
   the 3x3 bivariate class (:mod:`assetmap.domain.gap_ranks`).
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from assetmap.domain.access import gaussian_decay, nearest_distance, two_step_fca
from assetmap.domain.gap_ranks import (
    BIVARIATE_CLASSES,
    MID_BELOW,
    NO_DATA,
    NO_PROVISION,
    bivariate_classes,
    gap,
    percentile_rank,
    population_weighted_mean,
)
from assetmap.errors import BadInputError

__all__ = [
    "AGGREGATE_COLUMNS",
    "AGGREGATE_LEVELS",
    "ALL_AREAS",
    "DECAYS",
    "DEFAULT_DECAY",
    "DEFAULT_INDICATOR",
    "EARLIER_DEFAULT_INDICATOR",
    "GROUPS",
    "GapParams",
    "RANK_DIGITS",
    "VINTAGE_LEVELS",
    "aggregate_scores",
    "default_indicator",
    "aggregate_to_parents",
    "aggregated_rows",
    "analyse",
    "catchment_radii",
    "compute_provision",
    "decay_function",
    "demand_level",
    "shown_level",
    "numeric_frame",
    "parse_gap_query",
    "rank_gaps",
    "score_gaps",
    "summarise",
]

#: ``lad`` value meaning every loaded LSOA (England in the demo).
ALL_AREAS = "all"
#: Population groups: the query value, the ``area`` column holding it, and a label.
GROUPS = {
    "all": ("population", "Everyone"),
    "0-15": ("pop_0_15", "Children aged 0-15"),
    "16-59": ("pop_16_59", "Adults aged 16-59"),
    "60+": ("pop_60_plus", "People aged 60 and over"),
}
#: Levels a run's LSOA rows can be shown at: as they are, or population-weighted by ward or MSOA.
AGGREGATE_LEVELS = {"lsoa": "LSOA", "ward": "Ward", "msoa": "MSOA"}
#: The scores of a run that add up to larger areas (:func:`aggregate_scores`).
AGGREGATE_COLUMNS = ("population", "need", "need_pct", "provision", "provision_pct")
#: Distance decay: "gaussian" is the enhanced 2SFCA (Luo & Qi 2009); "none" the plain 2SFCA.
DECAYS = {"gaussian": "Gaussian (E2SFCA)", "none": "None (plain 2SFCA)"}
DEFAULT_DECAY = "gaussian"
#: The need indicator a query gets by default: the IMD 2025 rank on LSOA 2021; where it is not
#: loaded (or not offered), the IMD 2019 rank on LSOA 2011 (:func:`default_indicator`).
DEFAULT_INDICATOR = "imd_rank_2025"
EARLIER_DEFAULT_INDICATOR = "imd_rank"
#: Radius accepted from a query, in metres.
MIN_RADIUS_M, MAX_RADIUS_M = 100.0, 50_000.0
#: Radius when a category has no catchment of its own (a walk of about 20 minutes).
FALLBACK_RADIUS_M = 1600.0
#: Provision is ranked at this many significant digits, so that round-off in its sums (which
#: depends on the order in which pairs are added, e.g. a full run against a local recompute)
#: cannot split two areas that tie.
RANK_DIGITS = 12

RESULT_COLUMNS = ("id", "population", "provision", "nearest_m", "need_value", "need_pct", "provision_pct", "gap",
                  "bivariate_class")


@dataclass(frozen=True)
class GapParams:
    """The parameters of one gap analysis (one run).

    ``lad`` is a local authority code or :data:`ALL_AREAS`; ``category`` an asset-type slug;
    ``indicator`` an indicator key; ``group`` a key of :data:`GROUPS`; ``radius_m`` the
    catchment radius in metres (of urban areas, when the rural-urban classification is loaded);
    ``decay`` a key of :data:`DECAYS`; ``rural_radius_m`` the catchment of rural areas (None:
    the same as ``radius_m``; see :func:`catchment_radii`).
    """

    lad: str
    category: str
    indicator: str
    group: str
    radius_m: float
    decay: str
    rural_radius_m: float | None = None

    def as_dict(self) -> dict:
        """The canonical JSON form stored with a run (radii to 0.1 m; no rural radius when it is
        the urban one, so such a run is the single-radius run it always was).

        >>> GapParams("E06000051", "library", "imd_rank", "all", 3000, "none").as_dict()["radius_m"]
        3000.0
        >>> GapParams("E06000051", "library", "imd_rank", "all", 3000, "none", 8000).as_dict()["rural_radius_m"]
        8000.0
        >>> "rural_radius_m" in GapParams("E06000051", "library", "imd_rank", "all", 3000, "none", 3000).as_dict()
        False
        """
        d = asdict(self)
        d["radius_m"] = round(float(self.radius_m), 1)
        if self.rural_radius_m is None or round(float(self.rural_radius_m), 1) == d["radius_m"]:
            del d["rural_radius_m"]
        else:
            d["rural_radius_m"] = round(float(self.rural_radius_m), 1)
        return d

    @property
    def rural_m(self) -> float:
        """The rural catchment radius (the urban one when none is set)."""
        return float(self.radius_m if self.rural_radius_m is None else self.rural_radius_m)

    @property
    def max_radius_m(self) -> float:
        """The wider of the two radii: how far a run must look for people and assets."""
        return max(float(self.radius_m), self.rural_m)

    @property
    def population_column(self) -> str:
        return GROUPS[self.group][0]


def default_indicator(indicators) -> str | None:
    """The default need indicator among those offered: IMD 2025, else IMD 2019, else the first.

    >>> default_indicator({"imd_rank": "IMD 2019", "imd_rank_2025": "IMD 2025"})
    'imd_rank_2025'
    >>> default_indicator({"share_0_15": "Children", "imd_rank": "IMD 2019"})
    'imd_rank'
    >>> default_indicator({}) is None
    True
    """
    for key in (DEFAULT_INDICATOR, EARLIER_DEFAULT_INDICATOR):
        if key in indicators:
            return key
    return next(iter(indicators), None)


def parse_gap_query(args: Mapping[str, str], *, lads: Mapping[str, str], categories: Mapping[str, float | None],
                    indicators: Mapping[str, str], default_lad: str | None = None,
                    default_category: str | None = None,
                    rural_defaults: Mapping[str, float] | None = None) -> GapParams:
    """Check a gap query (``lad, category, indicator, group, radius_m, rural_radius_m, decay``)
    against what is loaded.

    Parameters
    ----------
    args : mapping of str to str
        The query; missing or empty values take the defaults.
    lads : mapping
        Local authority code -> name of those with LSOAs loaded; :data:`ALL_AREAS` is allowed too.
    categories : mapping
        Asset-type slug -> its default catchment radius in metres (None: :data:`FALLBACK_RADIUS_M`).
    indicators : mapping
        Indicator key -> label.
    default_lad, default_category : str, optional
        Used when the query gives none (else the first allowed value).
    rural_defaults : mapping, optional
        Asset-type slug -> its default rural catchment radius in metres, used when the query
        gives no ``rural_radius_m`` (absent: the urban radius).

    Returns
    -------
    GapParams

    Raises
    ------
    BadInputError
        For an unknown value (the message and ``details["allowed"]`` list the allowed ones), or a
        radius (urban or rural) that is not a number between 100 m and 50 km.

    Examples
    --------
    >>> p = parse_gap_query({"category": "library"}, lads={"E06000051": "Shropshire"},
    ...                     categories={"library": 3000.0}, indicators={"imd_rank": "IMD rank"})
    >>> (p.lad, p.indicator, p.group, p.radius_m, p.decay)
    ('E06000051', 'imd_rank', 'all', 3000.0, 'gaussian')
    >>> parse_gap_query({"group": "teens"}, lads={"E06000051": "Shropshire"},
    ...                 categories={"library": 3000.0}, indicators={"imd_rank": "IMD rank"})
    Traceback (most recent call last):
    ...
    assetmap.errors.BadInputError: unknown group 'teens'; allowed: all, 0-15, 16-59, 60+
    """
    def value(name):
        v = args.get(name)
        return v.strip() if isinstance(v, str) and v.strip() else None

    lad_choices = [*lads, ALL_AREAS]
    lad = _choose("lad", value("lad") or default_lad or next(iter(lads), None), lad_choices)
    category = _choose("category", value("category") or default_category or next(iter(categories), None),
                       list(categories))
    indicator = _choose("indicator", value("indicator") or default_indicator(indicators), list(indicators))
    group = _choose("group", value("group") or "all", list(GROUPS))
    decay = _choose("decay", (value("decay") or DEFAULT_DECAY).lower(), list(DECAYS))
    radius = _radius("radius_m", value("radius_m"), float(categories[category] or FALLBACK_RADIUS_M))
    rural_default = (rural_defaults or {}).get(category)
    rural = _radius("rural_radius_m", value("rural_radius_m"), radius if rural_default is None else rural_default)
    return GapParams(lad, category, indicator, group, round(radius, 1), decay,
                     None if round(rural, 1) == round(radius, 1) else round(rural, 1))


def _radius(name: str, raw: str | None, default: float) -> float:
    if raw is None:
        return float(default)
    try:
        radius = float(raw)
    except ValueError:
        radius = math.nan
    if not (math.isfinite(radius) and MIN_RADIUS_M <= radius <= MAX_RADIUS_M):
        raise BadInputError(
            f"{name} must be a number of metres from {MIN_RADIUS_M:,.0f} to {MAX_RADIUS_M:,.0f}, got {raw!r}",
            details={"parameter": name, "minimum": MIN_RADIUS_M, "maximum": MAX_RADIUS_M},
        )
    return radius


def catchment_radii(rural, radius_m: float, rural_radius_m: float | None):
    """Each demand point's catchment radius: ``rural_radius_m`` where ``rural`` is True, else
    ``radius_m``; the plain ``radius_m`` when every point gets it (one radius for all).

    >>> catchment_radii([False, True], 3000.0, 8000.0).tolist()
    [3000.0, 8000.0]
    >>> catchment_radii([False, False], 3000.0, 8000.0), catchment_radii([True], 3000.0, None)
    (3000.0, 3000.0)
    """
    rural = np.asarray(rural, dtype=bool)
    if rural_radius_m is None or float(rural_radius_m) == float(radius_m) or not rural.any():
        return float(radius_m)
    return np.where(rural, float(rural_radius_m), float(radius_m))


def _choose(name: str, value: str | None, allowed: list[str]) -> str:
    if value is None:
        raise BadInputError(f"no {name} is loaded yet", details={"parameter": name, "allowed": allowed})
    if value not in allowed:
        raise BadInputError(f"unknown {name} {value!r}; allowed: {', '.join(allowed)}",
                            details={"parameter": name, "allowed": allowed})
    return value


#: The levels of each geography's vintage, by its LSOA level: what a run computed on those LSOAs
#: is shown at when the table (and map) asks for :data:`AGGREGATE_LEVELS` "lsoa", "ward" or "msoa".
#: A run on LSOA 2021 (IoD 2025) adds up to the 2024 wards and 2021 MSOAs; one on LSOA 2011
#: (IoD 2019) to the 2011-era wards and MSOAs. The one place the pairing lives.
VINTAGE_LEVELS = {
    "lsoa21": {"lsoa": "lsoa21", "ward": "ward24", "msoa": "msoa21"},
    "lsoa": {"lsoa": "lsoa", "ward": "ward", "msoa": "msoa"},
}
#: The small-area level a run is computed on when its indicator's level is of no known vintage.
DEFAULT_SMALL_AREA_LEVEL = "lsoa"


def demand_level(indicator_level: str) -> str:
    """The small-area level a gap run is computed on, from its indicator's ``area_level``.

    An indicator kept by LSOA, of whichever vintage (``lsoa``, ``lsoa11``, ``lsoa21``), is
    computed on those LSOAs; one kept by a larger area (MSOA, ward) is read at each LSOA of its
    own vintage inside it (:data:`VINTAGE_LEVELS`), else of :data:`DEFAULT_SMALL_AREA_LEVEL`.

    >>> demand_level("lsoa21"), demand_level("lsoa"), demand_level("ward")
    ('lsoa21', 'lsoa', 'lsoa')
    >>> demand_level("ward24"), demand_level("msoa21")
    ('lsoa21', 'lsoa21')
    """
    if indicator_level.startswith("lsoa"):
        return indicator_level
    for lsoa_level, levels in VINTAGE_LEVELS.items():
        if indicator_level in levels.values():
            return lsoa_level
    return DEFAULT_SMALL_AREA_LEVEL


def shown_level(run_level: str, level: str) -> str:
    """The stored area level that shows a run on ``run_level`` LSOAs at ``level``.

    ``level`` is one of :data:`AGGREGATE_LEVELS` (read in the run's vintage), or a level of the
    run's own vintage named outright (``ward24`` for a run on ``lsoa21``).

    Raises
    ------
    BadInputError
        For any other level; ``details["allowed"]`` lists the levels this run can be shown at.

    Examples
    --------
    >>> shown_level("lsoa21", "ward"), shown_level("lsoa21", "msoa21"), shown_level("lsoa", "msoa")
    ('ward24', 'msoa21', 'msoa')
    >>> shown_level("lsoa", "ward24")
    Traceback (most recent call last):
    ...
    assetmap.errors.BadInputError: level 'ward24' is not of this run's geography (LSOA level 'lsoa'); \
allowed: lsoa, ward, msoa
    """
    levels = VINTAGE_LEVELS.get(run_level, {"lsoa": run_level})
    if level in AGGREGATE_LEVELS and level in levels:
        return levels[level]
    if level in levels.values():
        return level
    allowed = list(dict.fromkeys([*AGGREGATE_LEVELS, *levels.values()]))
    known = level in AGGREGATE_LEVELS or any(level in v.values() for v in VINTAGE_LEVELS.values())
    reason = f"is not of this run's geography (LSOA level {run_level!r})" if known else "is unknown"
    raise BadInputError(f"level {level!r} {reason}; allowed: {', '.join(allowed)}",
                        details={"parameter": "level", "allowed": allowed})


def decay_function(decay: str, radius_m):
    """The decay callable for :func:`~assetmap.domain.access.two_step_fca`: None for ``"none"``.

    With a radius per demand point (an array) the Gaussian is scaled by each point's own radius.

    >>> decay_function("none", 1000) is None
    True
    >>> float(decay_function("gaussian", 1000)(np.array([0.0]))[0])
    1.0
    >>> decay_function("gaussian", np.array([1000.0, 5000.0]))
    gaussian_decay(None)
    """
    if decay == "none":
        return None
    if decay == "gaussian":
        return gaussian_decay(None if np.ndim(radius_m) else radius_m)
    raise ValueError(f"decay must be one of {', '.join(DECAYS)}, got {decay!r}")


def compute_provision(demand: pd.DataFrame, supply: pd.DataFrame, radius_m, decay: str,
                      nearest_supply: pd.DataFrame | None = None) -> pd.DataFrame:
    """Provision per person and distance to the nearest asset, for every demand point.

    Parameters
    ----------
    demand : pandas.DataFrame
        ``id, x, y, population`` (EPSG:27700 metres). A missing population counts as 0 people: the
        area still gets a score, but takes no share of any asset.
    supply : pandas.DataFrame
        ``id, x, y, capacity``: the assets that count for the catchments (NaN capacity is 1).
    radius_m : float or array of float
        One radius, or one per demand row (:func:`catchment_radii`).
    decay : {"gaussian", "none"}
    nearest_supply : pandas.DataFrame, optional
        ``id, x, y`` of every asset of the category, for the nearest distance (default ``supply``):
        the nearest may lie beyond any catchment.

    Returns
    -------
    pandas.DataFrame
        Indexed by demand ``id``: ``provision`` (0 where nothing is in reach) and ``nearest_m``
        (NaN when there is no asset at all).

    Examples
    --------
    >>> demand = pd.DataFrame({"id": [1, 2], "x": [0.0, 5000.0], "y": [0.0, 0.0], "population": [100, None]})
    >>> supply = pd.DataFrame({"id": [7], "x": [300.0], "y": [400.0], "capacity": [None]})
    >>> compute_provision(demand, supply, 1000, "none").round(1).to_dict("index")
    {1: {'provision': 0.0, 'nearest_m': 500.0}, 2: {'provision': 0.0, 'nearest_m': 4717.0}}
    >>> float(compute_provision(demand, supply, 1000, "none").loc[1, "provision"])  # 1 asset / 100 people
    0.01
    """
    demand = demand.assign(population=pd.to_numeric(demand["population"], errors="coerce").fillna(0.0))
    provision = two_step_fca(demand[["id", "x", "y", "population"]], supply[["id", "x", "y", "capacity"]],
                             radius_m, decay=decay_function(decay, radius_m))
    nearest = nearest_distance(demand[["id", "x", "y"]],
                               (supply if nearest_supply is None else nearest_supply)[["id", "x", "y"]])
    return pd.DataFrame({"provision": provision.to_numpy(), "nearest_m": nearest.to_numpy()},
                        index=provision.index)


def score_gaps(areas: pd.DataFrame, higher_is_more_need: bool) -> pd.DataFrame:
    """Need and provision percentiles, gap and bivariate class over the areas given.

    Parameters
    ----------
    areas : pandas.DataFrame
        ``provision`` (a number for every area) and ``need_value`` (NaN: no data), one row per
        area reported; the percentiles are over these rows.
    higher_is_more_need : bool
        The indicator's direction (False for IoD ranks and deciles: 1 is the most deprived).

    Returns
    -------
    pandas.DataFrame
        ``areas`` with ``need_pct``, ``provision_pct``, ``gap`` and ``bivariate_class`` added.
        An area with no need value has no need percentile, no gap and the class ``"no-data"``;
        it is never counted as zero need. An area with nothing in reach (provision 0) has
        provision percentile 0 and the class ``"no-provision"``, however many such areas there
        are.

    Notes
    -----
    Ties rank at their lowest percentile (:func:`~assetmap.domain.gap_ranks.percentile_rank`), so
    the areas with no provision, all tied at 0, sit at the 0th percentile rather than in the
    middle, and the areas with some provision rank above all of them. Provision is ranked at
    :data:`RANK_DIGITS` significant digits.

    Examples
    --------
    >>> areas = pd.DataFrame({"provision": [0.0, 0.002, 0.001], "need_value": [1.0, 300.0, None]})
    >>> score_gaps(areas, higher_is_more_need=False)[["need_pct", "provision_pct", "gap", "bivariate_class"]]
       need_pct  provision_pct    gap          bivariate_class
    0     100.0            0.0  100.0             no-provision
    1       0.0          100.0 -100.0  low-need/high-provision
    2       NaN           50.0    NaN                  no-data
    """
    out = areas.copy()
    provision = pd.to_numeric(out["provision"], errors="coerce").astype(np.float64)
    out["need_pct"] = percentile_rank(pd.to_numeric(out["need_value"], errors="coerce").astype(np.float64),
                                      higher_is_more_need=bool(higher_is_more_need)).to_numpy()
    provision_pct = percentile_rank(_significant(provision, RANK_DIGITS))
    # Nothing in reach is the bottom of the scale even when it cannot be compared (one area).
    out["provision_pct"] = provision_pct.where(provision != 0, 0.0).to_numpy()
    out["gap"] = gap(out["need_pct"], out["provision_pct"])
    out["bivariate_class"] = bivariate_classes(out["need_pct"], out["provision_pct"], provision).to_numpy()
    return out


def _significant(values: pd.Series, digits: int) -> pd.Series:
    v = values.to_numpy(dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(v != 0, 10.0 ** (digits - 1 - np.floor(np.log10(np.abs(v)))), 1.0)
        rounded = np.where(np.isfinite(v) & (v != 0), np.round(v * scale) / scale, v)
    return pd.Series(rounded, index=values.index, name=values.name)


def analyse(demand: pd.DataFrame, supply: pd.DataFrame, *, reported, need: pd.Series, higher_is_more_need: bool,
            radius_m, decay: str, nearest_supply: pd.DataFrame | None = None) -> pd.DataFrame:
    """The whole pipeline: provision for every demand point, then need, gap and class for ``reported``.

    Parameters
    ----------
    demand : pandas.DataFrame
        ``id, x, y, population`` of the areas reported *and* of their neighbours within reach
        (twice the radius), so catchments that cross the boundary count everyone in them.
    supply : pandas.DataFrame
        ``id, x, y, capacity`` of the assets within reach of the areas reported.
    reported : array-like
        The demand ids to report (e.g. the LSOAs of one local authority).
    need : pandas.Series
        Indicator value by demand id; missing ids are "no data".
    higher_is_more_need : bool
    radius_m : float or array of float
        One radius, or one per demand row (:func:`catchment_radii`).
    decay : {"gaussian", "none"}
    nearest_supply : pandas.DataFrame, optional
        Every asset of the category, for the nearest distance (default ``supply``).

    Returns
    -------
    pandas.DataFrame
        One row per reported id, in the order given, with columns ``id, population, provision,
        nearest_m, need_value, need_pct, provision_pct, gap, bivariate_class``; ``population``
        is as given (NaN kept).

    Examples
    --------
    The three areas of :func:`~assetmap.domain.access.two_step_fca`'s example, IMD ranks 10, 20
    and 30 (rank 1 = most deprived):

    >>> demand = pd.DataFrame({"id": ["a", "b", "c"], "x": [0.0, 1000.0, 2000.0],
    ...                        "y": [0.0, 0.0, 0.0], "population": [100, 200, 100]})
    >>> supply = pd.DataFrame({"id": ["s1", "s2"], "x": [500.0, 1500.0],
    ...                        "y": [0.0, 0.0], "capacity": [6, 2]})
    >>> need = pd.Series({"a": 10.0, "b": 20.0, "c": 30.0})
    >>> r = analyse(demand, supply, reported=["a", "b", "c"], need=need, higher_is_more_need=False,
    ...             radius_m=800, decay="none")
    >>> r[["id", "need_pct", "provision_pct", "gap", "bivariate_class"]].values.tolist()
    ... # doctest: +NORMALIZE_WHITESPACE
    [['a', 100.0, 50.0, 50.0, 'high-need/mid-provision'], ['b', 50.0, 100.0, -50.0, 'mid-need/high-provision'],
     ['c', 0.0, 0.0, 0.0, 'low-need/low-provision']]
    """
    scores = compute_provision(demand, supply, radius_m, decay, nearest_supply=nearest_supply)
    reported = pd.Index(reported)
    missing = reported.difference(scores.index)
    if len(missing):
        raise ValueError(f"reported ids not in demand: {missing[:5].tolist()}")
    population = pd.Series(pd.to_numeric(demand["population"], errors="coerce").to_numpy(dtype=np.float64),
                           index=pd.Index(demand["id"]))
    frame = pd.DataFrame({
        "id": reported,
        "population": population.reindex(reported).to_numpy(),
        "provision": scores["provision"].reindex(reported).to_numpy(),
        "nearest_m": scores["nearest_m"].reindex(reported).to_numpy(),
        "need_value": pd.to_numeric(need, errors="coerce").astype(np.float64).reindex(reported).to_numpy(),
    })
    return score_gaps(frame, higher_is_more_need)[list(RESULT_COLUMNS)]


def rank_gaps(rows: list[dict], n: int = 20) -> list[dict]:
    """The ``n`` rows with the biggest gap, biggest first (ties by ``code``); rows with no gap left out.

    >>> rank_gaps([{"code": "b", "gap": 10.0}, {"code": "a", "gap": 10.0}, {"code": "c", "gap": None}], n=5)
    [{'code': 'a', 'gap': 10.0}, {'code': 'b', 'gap': 10.0}]
    """
    scored = [r for r in rows
              if r.get("gap") is not None and not (isinstance(r["gap"], float) and math.isnan(r["gap"]))]
    return sorted(scored, key=lambda r: (-r["gap"], r["code"]))[:n]


def summarise(rows) -> dict:
    """Figures for a run's areas: counts, people, median distance to the nearest asset, classes.

    ``rows`` is a list of dicts or a DataFrame with ``population, nearest_m, need_pct,
    provision, bivariate_class``. ``median_nearest_m`` is the median over the areas (the plain
    measure beside the 2SFCA, as the CDRC's AHAH index reports for health services);
    ``no_need_data`` counts areas without an indicator value; ``no_provision`` areas with
    nothing in reach, and ``no_provision_high_need`` those of them in the top third for need;
    ``classes`` counts areas by class (the nine, then no-provision, then no-data).

    >>> s = summarise([{"population": 10, "nearest_m": 100.0, "need_pct": 1.0, "provision": 0.0,
    ...                 "bivariate_class": "low-need/low-provision"},
    ...                {"population": None, "nearest_m": 300.0, "need_pct": None, "provision": 0.5,
    ...                 "bivariate_class": "no-data"}])
    >>> (s["areas"], s["population"], s["median_nearest_m"], s["no_need_data"], s["no_provision"])
    (2, 10.0, 200.0, 1, 1)
    >>> s["no_provision_high_need"], s["classes"]["no-provision"]
    (0, 0)
    """
    frame = rows if isinstance(rows, pd.DataFrame) else pd.DataFrame(
        list(rows), columns=["population", "nearest_m", "need_pct", "provision", "bivariate_class"])

    def numbers(column):
        return pd.to_numeric(frame[column], errors="coerce").astype(np.float64)

    nearest = numbers("nearest_m").dropna()
    counts = frame["bivariate_class"].value_counts()
    classes = {c: int(counts.get(c, 0)) for c in (*BIVARIATE_CLASSES, NO_PROVISION, NO_DATA)}
    none_in_reach = numbers("provision").fillna(0) == 0
    return {
        "areas": int(len(frame)),
        "population": float(numbers("population").sum(skipna=True)),
        "median_nearest_m": float(nearest.median()) if len(nearest) else None,
        "no_need_data": int(numbers("need_pct").isna().sum()),
        "no_provision": int(none_in_reach.sum()),
        "no_provision_high_need": int((none_in_reach & (numbers("need_pct") >= MID_BELOW)).sum()),
        "classes": classes,
    }


def aggregate_scores(rows: pd.DataFrame, groups) -> pd.DataFrame:
    """LSOA scores population-weighted up to larger areas (wards, MSOAs, the local authority).

    ``need``, ``need_pct``, ``provision`` and ``provision_pct`` are each
    :func:`~assetmap.domain.gap_ranks.population_weighted_mean` over the group's LSOAs that have a
    value (no data is left out, never counted as zero); ``population`` is the group's sum. The
    gap and the class are then computed on the aggregated percentiles ("no-provision" when none of
    the group's LSOAs has anything in reach).

    Parameters
    ----------
    rows : pandas.DataFrame
        One row per LSOA: ``population, need, need_pct, provision, provision_pct``.
    groups : pandas.Series or array-like
        The larger area's code for each row (None: in none, left out).

    Returns
    -------
    pandas.DataFrame
        Indexed by group code (sorted): ``areas`` (LSOAs), ``population``, ``need``, ``need_pct``,
        ``provision``, ``provision_pct``, ``gap``, ``bivariate_class``.

    Examples
    --------
    >>> rows = pd.DataFrame({"population": [100.0, 300.0, 200.0], "need": [1.0, 5.0, 9.0],
    ...                      "need_pct": [100.0, 50.0, 0.0], "provision": [0.0, 0.01, 0.02],
    ...                      "provision_pct": [0.0, 50.0, 100.0]})
    >>> out = aggregate_scores(rows, ["W1", "W1", "W2"])
    >>> out[["areas", "population", "need_pct", "provision_pct", "gap"]].values.tolist()
    [[2.0, 400.0, 62.5, 37.5, 25.0], [1.0, 200.0, 0.0, 100.0, -100.0]]
    >>> out["bivariate_class"].tolist()
    ['mid-need/mid-provision', 'low-need/high-provision']
    """
    frame = rows.reset_index(drop=True)
    group = pd.Series(np.asarray(groups, dtype=object), name="group")
    if len(group) != len(frame):
        raise ValueError(f"groups has {len(group)} entries for {len(frame)} rows")
    weights = pd.to_numeric(frame["population"], errors="coerce").astype(np.float64)
    weights = weights.where(weights >= 0)
    out = pd.DataFrame({
        "areas": group.value_counts(sort=False).astype(np.float64),
        "population": weights.groupby(group, sort=True).sum(min_count=1),
    })
    for column in ("need", "need_pct", "provision", "provision_pct"):
        values = pd.to_numeric(frame[column], errors="coerce").astype(np.float64).rename(column)
        out[column] = population_weighted_mean(values, weights, group)
    out = out.sort_index()
    out["gap"] = gap(out["need_pct"], out["provision_pct"])
    out["bivariate_class"] = bivariate_classes(out["need_pct"], out["provision_pct"], out["provision"]).to_numpy()
    out.index.name = "code"
    return out


def aggregated_rows(aggregated: pd.DataFrame, names: Mapping[str, str]) -> list[dict]:
    """The frame :func:`aggregate_scores` returns as plain rows, by code.

    Each row is ``{code, name, areas, population, need, need_pct, provision, provision_pct, gap,
    bivariate_class}``; ``name`` comes from ``names`` (the code when absent), missing values are
    None.

    Examples
    --------
    >>> rows = pd.DataFrame({"population": [100.0, 300.0], "need": [1.0, None],
    ...                      "need_pct": [100.0, 0.0], "provision": [0.0, 0.01],
    ...                      "provision_pct": [0.0, 100.0]})
    >>> out = aggregated_rows(aggregate_scores(rows, ["W1", "W2"]), {"W1": "North"})
    >>> [(r["code"], r["name"], r["areas"], r["need"], r["gap"]) for r in out]
    [('W1', 'North', 1, 1.0, 100.0), ('W2', 'W2', 1, None, -100.0)]
    """
    out = []
    for code, r in aggregated.iterrows():
        row = {"code": code, "name": names.get(code, code), "areas": int(r["areas"])}
        for column in (*AGGREGATE_COLUMNS, "gap"):
            v = r[column]
            row[column] = None if pd.isna(v) else float(v)
        row["bivariate_class"] = r["bivariate_class"]
        out.append(row)
    return out


def aggregate_to_parents(rows: pd.DataFrame, parents: pd.DataFrame) -> tuple[list[dict], int]:
    """LSOA scores population-weighted up to the ward or MSOA each LSOA belongs to.

    Parameters
    ----------
    rows : pandas.DataFrame
        One row per LSOA: ``area_id`` and :data:`AGGREGATE_COLUMNS`.
    parents : pandas.DataFrame
        ``lsoa_id, parent_code, parent_name``: the larger area of each LSOA that has one.

    Returns
    -------
    tuple of (list of dict, int)
        The larger areas' rows (:func:`aggregated_rows`), and the number of LSOAs in none.

    Examples
    --------
    >>> rows = pd.DataFrame({"area_id": [1, 2, 3], "population": [100.0, 300.0, 200.0],
    ...                      "need": [1.0, 5.0, 9.0], "need_pct": [100.0, 50.0, 0.0],
    ...                      "provision": [0.0, 0.01, 0.02], "provision_pct": [0.0, 50.0, 100.0]})
    >>> parents = pd.DataFrame({"lsoa_id": [1, 2], "parent_code": ["W1", "W1"], "parent_name": ["North"] * 2})
    >>> out, unassigned = aggregate_to_parents(rows, parents)
    >>> [(r["code"], r["name"], r["areas"], r["population"], r["gap"]) for r in out], unassigned
    ([('W1', 'North', 2, 400.0, 25.0)], 1)
    """
    group = rows["area_id"].map(dict(zip(parents["lsoa_id"], parents["parent_code"])))
    aggregated = aggregate_scores(rows, group.where(group.notna(), None))
    names = dict(zip(parents["parent_code"], parents["parent_name"]))
    return aggregated_rows(aggregated, names), int(group.isna().sum())


def numeric_frame(records, columns, numeric=()) -> pd.DataFrame:
    """Rows (tuples, e.g. as the database returns them) as a frame, the ``numeric`` columns as
    float64; what is not a number there (None, text) becomes NaN.

    Examples
    --------
    >>> numeric_frame([(1, "3.5"), (2, None)], ["id", "capacity"], ["capacity"]).to_dict("list")
    {'id': [1, 2], 'capacity': [3.5, nan]}
    """
    frame = pd.DataFrame.from_records(list(map(tuple, records)), columns=list(columns))
    for column in numeric:
        frame[column] = pd.to_numeric(frame[column], errors="coerce").astype(np.float64)
    return frame
