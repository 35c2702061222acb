"""Floating-catchment accessibility scores (2SFCA and enhanced 2SFCA) on planar coordinates."""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

__all__ = ["GaussianDecay", "StepDecay", "gaussian_decay", "nearest_distance", "step_decay", "two_step_fca",
           "warm_up"]

DEMAND_COLUMNS = ("id", "x", "y", "population")
SUPPLY_COLUMNS = ("id", "x", "y", "capacity")

# The constants below are for the general path (any decay callable): in-reach pairs from a
# KD-tree. No decay, Gaussian and step decays go the grid path (catchment_grid).

#: The KD-tree search radius is inflated by this relative amount, then every
#: candidate pair's distance is re-checked against the exact radius. This
#: makes "in reach" mean exactly ``sqrt(dx**2 + dy**2) <= radius_m`` in
#: float64, rather than the tree's internal ``dx**2 + dy**2 <= r**2`` test,
#: which can differ in the last bit.
_SEARCH_SLACK = 1e-9

#: Target number of in-reach pairs handled at once (about 3 MB of pairs).
_PAIRS_PER_CHUNK = 1 << 17

#: Demand points sampled to size the chunks.
_CHUNK_SAMPLE = 1000

#: Threads for the grid passes and the nearest-asset search (they release the GIL).
_WORKERS = min(8, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)

DecayFunction = Callable[[np.ndarray], np.ndarray]


def two_step_fca(demand, supply, radius_m, decay=None):
    """Two-step floating catchment area (2SFCA) accessibility per person.

    Step 1 gives every supply point *j* a supply-to-demand ratio over the
    demand within ``radius_m`` of it; step 2 sums, for every demand point *i*,
    the ratios of the supply points within ``radius_m`` of it. ``radius_m``
    may be one radius, or one per demand point (variable catchments, below).

    With ``decay=None`` this is the plain 2SFCA of Luo & Wang (2003)::

        R_j = S_j / sum_{k: d_kj <= r} P_k
        A_i = sum_{j: d_ij <= r} R_j

    With a distance-decay function ``W`` it is the enhanced 2SFCA of
    Luo & Qi (2009); the same weights are used in both steps::

        R_j = S_j / sum_{k: d_kj <= r} P_k W(d_kj)
        A_i = sum_{j: d_ij <= r} R_j W(d_ij)

    With a radius ``r_i`` per demand point it is the variable-catchment
    2SFCA in the form of McGrail & Humphreys (2009), where the catchment
    belongs to the population's location (wider where people are rural and
    travel further). A pair is in reach when it lies within the *demand*
    point's catchment, in both steps: in step 1 the supply point's catchment
    is the demand whose own catchment reaches it, in step 2 each demand point
    sums the supply within its own catchment::

        R_j = S_j / sum_{k: d_kj <= r_k} P_k W_k(d_kj)
        A_i = sum_{j: d_ij <= r_i} R_j W_i(d_ij)

    Each pair is counted the same way in both steps, so every unit of
    supply is shared out exactly once (``sum_i P_i A_i`` is the capacity of
    the supply anyone reaches) and with equal radii this is the plain or
    enhanced 2SFCA above. Luo & Whippo (2012) instead grow each catchment
    until it holds a threshold population (step 1, by supply point) or ratio
    (step 2, by demand point), so the two steps use different catchments
    and supply is no longer shared out once; assetmap takes its radii from
    the rural-urban classification, which describes where people live.
    ``gaussian_decay(None)`` scales the decay by each demand point's own
    radius (``W_i(r_i) = 0``).

    Parameters
    ----------
    demand : pandas.DataFrame
        Columns ``id``, ``x``, ``y``, ``population``. ``id`` must be unique;
        ``population`` must be finite and non-negative.
    supply : pandas.DataFrame
        Columns ``id``, ``x``, ``y``, ``capacity``. A missing (NaN) capacity
        counts as 1 (one facility); negative capacities are rejected.
    radius_m : float or array-like of float
        Catchment radius in metres, finite and ``>= 0``: one for every
        demand point, or one per demand point in the order of ``demand``. A
        pair exactly the radius apart is in reach (``<=``), as in PySAL
        ``access``.
    decay : callable, optional
        ``W(d)`` taking a float64 array of distances in metres (all
        ``<= radius_m``) and returning non-negative weights of the same
        shape, e.g. :func:`step_decay` or :func:`gaussian_decay` (which
        run inside the compiled grid pass). Any other is called on chunks
        of pairs, each chunk twice, so it must be a pure function of its
        argument.

    Returns
    -------
    pandas.Series
        Accessibility (capacity per person) for every demand point, in the
        order of ``demand``, indexed by demand ``id`` (index name ``"id"``).
        Points with no supply in reach score 0. A supply point with no
        (weighted) demand in reach contributes nothing, instead of dividing
        by zero.

    Raises
    ------
    ValueError
        If a column is missing (the message names it), ``radius_m`` is
        negative or not finite, ids repeat, coordinates are not finite,
        populations are missing or negative, capacities are negative, or
        ``decay`` returns an unusable weight.

    Notes
    -----
    Coordinates must be in a projected CRS in metres (assetmap uses
    EPSG:27700). Distance is Euclidean, ``sqrt(dx**2 + dy**2)`` in float64.

    With no decay, :func:`gaussian_decay` or :func:`step_decay`, each step
    is one compiled pass over a grid of radius-wide cells
    (:func:`assetmap.domain.catchment_grid.reach_sums`) that adds up the
    in-reach pairs as it meets them, storing none: England (32,844 LSOAs,
    100,000 assets, 3 km, 4.6 million pairs) runs many times faster than
    KD-tree pairs + PySAL ``access`` (figures: ``benchmarks/bench_gaps.py``). Any other decay callable is applied to
    arrays of in-reach pairs from
    :meth:`scipy.spatial.cKDTree.sparse_distance_matrix`, in chunks of
    demand (so memory stays bounded), summed with :func:`numpy.bincount`.
    The two paths give the same scores to rounding (``tests/test_access.py``
    checks them against each other).

    References
    ----------
    Luo, W. & Wang, F. (2003) Measures of spatial accessibility to health
    care in a GIS environment. *Environment and Planning B* 30(6), 865-884.

    Luo, W. & Qi, Y. (2009) An enhanced two-step floating catchment area
    (E2SFCA) method for measuring spatial accessibility to primary care
    physicians. *Health & Place* 15(4), 1100-1107.

    McGrail, M. R. & Humphreys, J. S. (2009) Measuring spatial accessibility
    to primary care in rural areas: improving the effectiveness of the
    two-step floating catchment area method. *Applied Geography* 29(4),
    533-541.

    Luo, W. & Whippo, T. (2012) Variable catchment sizes for the two-step
    floating catchment area (2SFCA) method. *Health & Place* 18(4), 789-795.

    See Also
    --------
    step_decay, gaussian_decay, nearest_distance

    Examples
    --------
    Three areas on a line, 1 km apart, and two GP surgeries. Surgery ``s1``
    (capacity 6) reaches ``a`` and ``b`` (300 people): 6 / 300 = 0.02.
    Surgery ``s2`` (capacity 2) reaches ``b`` and ``c`` (300 people):
    2 / 300 = 0.00667.

    >>> import pandas as pd
    >>> demand = pd.DataFrame({"id": ["a", "b", "c"], "x": [0.0, 1000.0, 2000.0],
    ...                        "y": [0.0, 0.0, 0.0], "population": [100, 200, 100]})
    >>> supply = pd.DataFrame({"id": ["s1", "s2"], "x": [500.0, 1500.0],
    ...                        "y": [0.0, 0.0], "capacity": [6, 2]})
    >>> two_step_fca(demand, supply, radius_m=800).round(5)
    id
    a    0.02000
    b    0.02667
    c    0.00667
    Name: access, dtype: float64

    If ``c`` is rural with a 1,600 m catchment it reaches ``s1`` too (1,500 m
    away), and ``s1``'s 6 are shared among 400 people: a = 0.015, b = 0.015 +
    2/300, c = 0.015 + 2/300.

    >>> two_step_fca(demand, supply, radius_m=[800, 800, 1600]).round(5).tolist()
    [0.015, 0.02167, 0.02167]
    """
    _check_columns(demand, DEMAND_COLUMNS, "demand")
    _check_columns(supply, SUPPLY_COLUMNS, "supply")
    radius, radii = _check_radii(radius_m, len(demand))

    index = _demand_index(demand)
    demand_xy = _coordinates(demand, "demand")
    supply_xy = _coordinates(supply, "supply")
    population = _population(demand)
    capacity = _capacity(supply)

    scores = np.zeros(len(demand), dtype=np.float64)
    if len(demand) and len(supply):
        weights = _grid_weights(decay, radius if radii is None else None)
        if weights is None:
            scores = _fca_scores_from_pairs(demand_xy, supply_xy, population, capacity, radius, decay, radii)
        else:
            scores = _fca_scores_on_grid(demand_xy, supply_xy, population, capacity, radius, weights,
                                         _catchments(decay, radii))
    return pd.Series(scores, index=index, name="access")


def warm_up() -> None:
    """Load the compiled catchment loop (Numba, and its cached machine code; compiled and cached
    the first time ever) with a two-point 2SFCA, so that the first gap analysis a process answers
    does not pay for it. Each web worker calls it as it starts (``assetmap/gunicorn_conf.py``).

    >>> warm_up()
    """
    demand = pd.DataFrame({"id": [1], "x": [0.0], "y": [0.0], "population": [1.0]})
    supply = pd.DataFrame({"id": [1], "x": [1.0], "y": [0.0], "capacity": [1.0]})
    two_step_fca(demand, supply, 10.0)


def nearest_distance(demand, supply):
    """Distance in metres from each demand point to its nearest supply point.

    Parameters
    ----------
    demand : pandas.DataFrame
        Columns ``id``, ``x``, ``y`` (unique ``id``, metres).
    supply : pandas.DataFrame
        Columns ``id``, ``x``, ``y`` (metres).

    Returns
    -------
    pandas.Series
        Float distances named ``"nearest_m"``, indexed by demand ``id``
        (index name ``"id"``). All NaN when ``supply`` is empty: with nothing
        to reach the distance is unknown, not infinite.

    Raises
    ------
    ValueError
        If a column is missing, ids repeat or coordinates are not finite.

    Examples
    --------
    >>> import pandas as pd
    >>> demand = pd.DataFrame({"id": [1, 2], "x": [0.0, 3000.0], "y": [0.0, 4000.0]})
    >>> supply = pd.DataFrame({"id": [9], "x": [0.0], "y": [0.0]})
    >>> nearest_distance(demand, supply)
    id
    1       0.0
    2    5000.0
    Name: nearest_m, dtype: float64
    >>> bool(nearest_distance(demand, supply.iloc[0:0]).isna().all())
    True
    """
    _check_columns(demand, ("id", "x", "y"), "demand")
    _check_columns(supply, ("id", "x", "y"), "supply")
    index = _demand_index(demand)
    demand_xy = _coordinates(demand, "demand")
    supply_xy = _coordinates(supply, "supply")

    if len(supply) == 0 or len(demand) == 0:
        dist = np.full(len(demand), np.nan)
    else:
        dist, _ = cKDTree(supply_xy).query(demand_xy, k=1, workers=_WORKERS)
    return pd.Series(np.asarray(dist, dtype=np.float64), index=index, name="nearest_m")


def step_decay(steps: Sequence[tuple[float, float]]) -> DecayFunction:
    """Build a stepped distance-decay function for :func:`two_step_fca`.

    Parameters
    ----------
    steps : sequence of (upper_bound_m, weight)
        Distance bands, e.g. ``[(800, 1.0), (1600, 0.68), (2400, 0.22)]``.
        A distance ``d`` gets the weight of the first band with
        ``d <= upper_bound_m`` (bounds are inclusive, as in PySAL
        ``access.weights.step_fn``) and 0 beyond the last bound. The order
        given does not matter.

    Returns
    -------
    callable
        ``W(d)`` mapping an array of distances to an array of weights.

    Raises
    ------
    ValueError
        If ``steps`` is empty, a bound repeats or is negative or not finite,
        or a weight is negative or not finite.

    Examples
    --------
    >>> import numpy as np
    >>> w = step_decay([(800, 1.0), (1600, 0.68), (2400, 0.22)])
    >>> w(np.array([0.0, 800.0, 800.5, 2400.0, 2401.0])).tolist()
    [1.0, 1.0, 0.68, 0.22, 0.0]
    """
    return StepDecay(steps)


def gaussian_decay(radius_m: float) -> DecayFunction:
    """Build the Gaussian distance decay common in the E2SFCA literature.

    ``W(d) = (exp(-0.5 (d/r)^2) - exp(-0.5)) / (1 - exp(-0.5))`` for
    ``d <= r`` and 0 beyond, so ``W(0) = 1`` and ``W(r) = 0``
    (e.g. Dai 2010; Wan, Zhan, Zou & Chow 2012).

    Parameters
    ----------
    radius_m : float or None
        Catchment radius ``r`` in metres, finite and ``> 0``. Normally the
        same radius passed to :func:`two_step_fca`; None takes each demand
        point's own radius there (variable catchments), and only works
        inside :func:`two_step_fca`.

    Returns
    -------
    callable
        ``W(d)`` mapping an array of distances to an array of weights in
        ``[0, 1]``.

    Raises
    ------
    ValueError
        If ``radius_m`` is not finite or not positive.

    Examples
    --------
    >>> import numpy as np
    >>> w = gaussian_decay(1000)
    >>> w(np.array([0.0, 500.0, 1000.0, 1500.0])).round(4).tolist()
    [1.0, 0.7014, 0.0, 0.0]
    """
    return GaussianDecay(radius_m)


class StepDecay:
    """The weights of :func:`step_decay`, as a callable that also names its parameters
    (so :func:`two_step_fca` can apply them in its compiled loop)."""

    def __init__(self, steps: Sequence[tuple[float, float]]):
        pairs = sorted((float(b), float(w)) for b, w in steps)
        if not pairs:
            raise ValueError("steps must contain at least one (upper_bound_m, weight) pair")
        self.bounds = np.array([b for b, _ in pairs])
        self.weights = np.array([w for _, w in pairs] + [0.0])  # the last: beyond every bound
        if not np.all(np.isfinite(self.bounds)) or np.any(self.bounds < 0):
            raise ValueError("step bounds must be finite and non-negative")
        if np.any(np.diff(self.bounds) == 0):
            raise ValueError("step bounds must not repeat")
        if not np.all(np.isfinite(self.weights)) or np.any(self.weights < 0):
            raise ValueError("step weights must be finite and non-negative")

    def __call__(self, d):
        # side="left": first bound >= d, so a distance equal to a bound
        # takes that band's weight; beyond the last bound -> the trailing 0.
        return self.weights[np.searchsorted(self.bounds, np.asarray(d, dtype=np.float64), side="left")]

    def __repr__(self):
        steps = ", ".join(f"({b:g}, {w:g})" for b, w in zip(self.bounds, self.weights, strict=False))
        return f"step_decay([{steps}])"


class GaussianDecay:
    """The weights of :func:`gaussian_decay`, as a callable that also names its radius."""

    def __init__(self, radius_m: float | None):
        if radius_m is None:
            self.radius_m = None  # each demand point's own catchment radius
            return
        r = float(radius_m)
        if not np.isfinite(r) or r <= 0:
            raise ValueError(f"radius_m must be finite and > 0, got {radius_m!r}")
        self.radius_m = r

    def __call__(self, d):
        if self.radius_m is None:
            raise ValueError("gaussian_decay(None) takes its radius from each demand point inside two_step_fca")
        d = np.asarray(d, dtype=np.float64)
        floor = np.exp(-0.5)
        w = (np.exp(-0.5 * (d / self.radius_m) ** 2) - floor) / (1.0 - floor)
        return np.where(d <= self.radius_m, w, 0.0)

    def __repr__(self):
        return "gaussian_decay(None)" if self.radius_m is None else f"gaussian_decay({self.radius_m:g})"


# --------------------------------------------------------------------------
# private helpers


def _check_columns(frame, required, label):
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(f"{label} must be a pandas DataFrame, got {type(frame).__name__}")
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise ValueError(f"{label} is missing column(s): {', '.join(missing)}")


def _check_radius(radius_m):
    try:
        radius = float(radius_m)
    except (TypeError, ValueError):
        raise ValueError(f"radius_m must be a number, got {radius_m!r}") from None
    if not np.isfinite(radius):
        raise ValueError(f"radius_m must be finite, got {radius_m!r}")
    if radius < 0:
        raise ValueError(f"radius_m must be >= 0, got {radius_m!r}")
    return radius


def _check_radii(radius_m, n):
    """``(largest radius, per-point radii or None)``: None when every point has the same radius,
    which then takes the single-radius path."""
    if np.ndim(radius_m) == 0:
        return _check_radius(radius_m), None
    try:
        radii = np.asarray(radius_m, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise ValueError("radius_m must be a number or one number per demand point") from None
    if len(radii) != n:
        raise ValueError(f"radius_m has {len(radii)} radii for {n} demand points")
    if not np.all(np.isfinite(radii)):
        raise ValueError("radius_m must be finite")
    if np.any(radii < 0):
        raise ValueError("radius_m must be >= 0")
    if n == 0:
        return 0.0, None
    largest = float(radii.max())
    return largest, (None if np.all(radii == largest) else radii)


def _demand_index(demand):
    index = pd.Index(demand["id"], name="id")
    if not index.is_unique:
        dupes = index[index.duplicated()].unique()[:5].tolist()
        raise ValueError(f"demand id must be unique; repeated: {dupes}")
    return index


def _numeric(frame, column, label):
    try:
        return np.asarray(frame[column], dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{label}.{column} must be numeric") from None


def _coordinates(frame, label):
    xy = np.column_stack([_numeric(frame, "x", label), _numeric(frame, "y", label)])
    if not np.all(np.isfinite(xy)):
        raise ValueError(f"{label} has missing or non-finite x/y coordinates")
    return xy


def _population(demand):
    population = _numeric(demand, "population", "demand")
    if not np.all(np.isfinite(population)):
        raise ValueError("demand.population has missing or non-finite values")
    if np.any(population < 0):
        raise ValueError("demand.population must be non-negative")
    return population


def _capacity(supply):
    capacity = _numeric(supply, "capacity", "supply")
    capacity = np.where(np.isnan(capacity), 1.0, capacity)
    if not np.all(np.isfinite(capacity)):
        raise ValueError("supply.capacity must be finite (NaN counts as 1)")
    if np.any(capacity < 0):
        raise ValueError("supply.capacity must be non-negative")
    return capacity


def _grid_weights(decay, radius):
    """The compiled loop's form of ``decay`` (a ``catchment_grid.Weights``); None for a callable
    it does not know. ``radius``: the one radius of every demand point (None: they differ)."""
    # Imported here, not at the top: Numba is slow to import, and most processes that import
    # this module (the CLI, importers) never compute; web workers load it as they start (warm_up).
    from assetmap.domain.catchment_grid import Weights

    if decay is None:
        return Weights.plain()
    if isinstance(decay, GaussianDecay):
        scale = decay.radius_m if decay.radius_m is not None else radius
        # Variable catchments: the scale comes per pair from catchment_grid.Catchments.
        return Weights.gaussian(scale) if scale is not None else Weights.gaussian(1.0)
    if isinstance(decay, StepDecay):
        return Weights.steps(decay.bounds, decay.weights)
    return None


def _catchments(decay, radii):
    """The demand points' own catchments for the grid pass (None: one radius for all)."""
    if radii is None:
        return None
    from assetmap.domain.catchment_grid import Catchments  # (see _grid_weights)

    fixed = decay.radius_m if isinstance(decay, GaussianDecay) else None
    return Catchments.of(radii, gaussian_scale=fixed)


def _fca_scores_on_grid(demand_xy, supply_xy, population, capacity, radius, weights, catchments=None):
    """Step 1: the (weighted) population in reach of each asset; step 2: the ratios in reach of
    each area. Each is one pass of :func:`~assetmap.domain.catchment_grid.reach_sums`. With
    ``catchments`` (one per demand point) the grid is as wide as the largest and each pair is
    decided by its demand point's catchment, in both steps."""
    from assetmap.domain.catchment_grid import Grid, reach_sums  # (see _grid_weights)

    grid = Grid(radius, demand_xy, supply_xy)
    demand_cells, supply_cells = grid.index(demand_xy), grid.index(supply_xy)
    reached = reach_sums(grid, supply_cells, demand_cells, population, weights, workers=_WORKERS,
                         catchments=catchments, per_query=False)
    ratio = np.zeros(len(supply_xy), dtype=np.float64)
    np.divide(capacity, reached, out=ratio, where=reached > 0)
    return reach_sums(grid, demand_cells, supply_cells, ratio, weights, workers=_WORKERS,
                      catchments=catchments, per_query=True)


def _fca_scores_from_pairs(demand_xy, supply_xy, population, capacity, radius, decay, radii=None):
    """Both 2SFCA steps over in-reach pairs from a KD-tree, for a decay callable the grid pass
    does not know (so rarely needed that it stays plain: one thread, each step searching again).

    Demand is taken in chunks of about ``_PAIRS_PER_CHUNK`` pairs, in KD-tree leaf order so each
    chunk is compact, so memory stays bounded however many pairs there are. Step 1 sums
    (weighted) population per supply point, step 2 the ratios per demand point, both with
    :func:`numpy.bincount`.
    """
    supply_tree = cKDTree(supply_xy)
    search = radius * (1.0 + _SEARCH_SLACK)
    chunks = _demand_chunks(demand_xy, supply_tree, search)

    def pairs_in(idx):
        pairs = cKDTree(demand_xy[idx]).sparse_distance_matrix(supply_tree, search, output_type="ndarray")
        # cKDTree's distance is sqrt(dx*dx + dy*dy) in float64, bit for bit what we would
        # compute ourselves (tests/test_access.py checks this on points placed on the boundary),
        # so re-check it rather than recompute.
        keep = pairs["v"] <= (radius if radii is None else radii[idx][pairs["i"]])
        i, j = pairs["i"][keep], pairs["j"][keep]  # row in this chunk, row in supply
        return i, j, _decay_weights(decay, pairs["v"][keep])

    reached = np.zeros(len(supply_xy), dtype=np.float64)
    for idx in chunks:
        i, j, weight = pairs_in(idx)
        reached += np.bincount(j, weights=population[idx][i] * weight, minlength=len(supply_xy))
    ratio = np.zeros(len(supply_xy), dtype=np.float64)
    np.divide(capacity, reached, out=ratio, where=reached > 0)

    scores = np.zeros(len(demand_xy), dtype=np.float64)
    for idx in chunks:
        i, j, weight = pairs_in(idx)
        scores[idx] = np.bincount(i, weights=ratio[j] * weight, minlength=len(idx))
    return scores


def _demand_chunks(demand_xy, supply_tree, search):
    """Demand row numbers in KD-tree leaf order, cut into chunks of about _PAIRS_PER_CHUNK pairs.

    The chunk size (in demand points) comes from the mean number of supply
    points in reach of an evenly spaced sample of up to ``_CHUNK_SAMPLE``
    demand points; counting for every point costs a fifth of the whole run.
    """
    order = cKDTree(demand_xy).indices.astype(np.intp)
    sample = demand_xy[:: max(1, len(demand_xy) // _CHUNK_SAMPLE)]
    per_point = supply_tree.query_ball_point(sample, search, return_length=True).mean()
    size = int(np.clip(_PAIRS_PER_CHUNK / max(per_point, 1.0), 16, len(order)))
    return [order[start : start + size] for start in range(0, len(order), size)]


def _decay_weights(decay, dist):
    weight = np.asarray(decay(dist), dtype=np.float64)
    if weight.shape != dist.shape:
        weight = np.broadcast_to(weight, dist.shape)
    if not np.all(np.isfinite(weight)) or np.any(weight < 0):
        raise ValueError("decay must return finite, non-negative weights")
    return weight
