"""Weighted sums over the points within a radius of each query point, on a uniform grid.

Both steps of a floating catchment are such a sum: step 1 sums, for each asset, the population
of the areas within reach; step 2 sums, for each area, the ratios of the assets within reach.
A KD-tree search lists every in-reach pair first (England at 3 km: millions of pairs, each
written out and read back), then the sums are taken over that list. Here the points go into
square cells as wide as the radius, sorted by cell, so the points that can be in reach of a
query point lie in three runs of the sorted array (the rows above, level with and below its
cell), and a compiled loop adds up the in-reach ones as it meets them. Nothing is stored per
pair, and the work is three times the in-reach pairs, whatever their number.

"In reach" is exactly ``sqrt(dx*dx + dy*dy) <= radius`` in float64, as the KD-tree path and
PySAL ``access`` read it: the loop compares ``dx*dx + dy*dy`` with the largest double whose
correctly rounded square root is at most the radius (:func:`squared_reach`), which decides
every pair the same way without taking a square root.
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numba
import numpy as np

__all__ = ["CellIndex", "Catchments", "Grid", "Weights", "reach_sums", "squared_reach"]

PLAIN, GAUSSIAN, STEPS = 0, 1, 2
#: Whose catchment decides a pair: one radius for all, the query point's, or the other point's.
UNIFORM, PER_QUERY, PER_POINT = 0, 1, 2

#: Below this many query points the sums run on the calling thread (a pool costs more).
_THREADED_FROM = 4096

#: Chunks of query points a thread takes at a time; several per thread even out dense and
#: sparse parts of the map.
_CHUNKS_PER_WORKER = 4

_NO_ARRAY = np.zeros(0, dtype=np.float64)


@dataclass(frozen=True)
class Weights:
    """A distance-decay weight that the compiled loop applies itself.

    Use :meth:`plain`, :meth:`gaussian` or :meth:`steps`; their weights are those of
    ``assetmap.domain.access``'s ``None``, ``gaussian_decay`` and ``step_decay``.
    """

    kind: int
    scale: float = 1.0  # Gaussian: its radius
    scale_reach2: float = 0.0  # Gaussian: squared_reach(scale); 0 weight beyond
    bounds2: np.ndarray = field(default_factory=lambda: _NO_ARRAY)  # steps: squared_reach of each bound, ascending
    levels: np.ndarray = field(default_factory=lambda: _NO_ARRAY)  # steps: each band's weight, then 0

    @classmethod
    def plain(cls) -> Weights:
        return cls(PLAIN)

    @classmethod
    def gaussian(cls, radius_m: float) -> Weights:
        return cls(GAUSSIAN, scale=float(radius_m), scale_reach2=squared_reach(radius_m))

    @classmethod
    def steps(cls, bounds: np.ndarray, levels: np.ndarray) -> Weights:
        """``bounds`` ascending; ``levels`` one longer, its last entry the weight beyond them."""
        bounds2 = np.array([squared_reach(b) for b in bounds], dtype=np.float64)
        return cls(STEPS, bounds2=bounds2, levels=np.asarray(levels, dtype=np.float64))


@dataclass(frozen=True)
class Catchments:
    """One catchment radius per point of one side (the demand), for a variable-catchment sum.

    ``reach2[k]`` is :func:`squared_reach` of point ``k``'s radius; for a Gaussian decay
    ``scale[k]`` is its scale (the point's own radius, or the decay's fixed one) and
    ``scale_reach2[k]`` its squared reach. All in the points' original order.
    """

    reach2: np.ndarray
    scale: np.ndarray
    scale_reach2: np.ndarray

    @classmethod
    def of(cls, radii: np.ndarray, gaussian_scale: float | None = None) -> Catchments:
        """Catchments of radii ``radii``; a Gaussian decay scaled by each radius, or by
        ``gaussian_scale`` when given.

        >>> c = Catchments.of(np.array([0.7, 3.0, 0.7]))
        >>> c.reach2.tolist()[0] == squared_reach(0.7), c.scale.tolist()
        (True, [0.7, 3.0, 0.7])
        """
        radii = np.asarray(radii, dtype=np.float64)
        unique, inverse = np.unique(radii, return_inverse=True)  # a few distinct radii, many points
        reach2 = np.array([squared_reach(r) for r in unique], dtype=np.float64)[inverse]
        if gaussian_scale is None:
            scale, scale_reach2 = radii.copy(), reach2.copy()
        else:
            scale = np.full(len(radii), float(gaussian_scale))
            scale_reach2 = np.full(len(radii), squared_reach(gaussian_scale))
        return cls(reach2, scale, scale_reach2)

    def sorted_by(self, order: np.ndarray) -> Catchments:
        return Catchments(np.ascontiguousarray(self.reach2[order]), np.ascontiguousarray(self.scale[order]),
                          np.ascontiguousarray(self.scale_reach2[order]))


def squared_reach(radius: float) -> float:
    """The largest double ``t`` with ``sqrt(t) <= radius`` (square roots correctly rounded).

    ``dx*dx + dy*dy <= squared_reach(r)`` holds exactly when ``sqrt(dx*dx + dy*dy) <= r``, as
    the square root is monotonic. ``r*r`` alone can be a last bit off either way.

    >>> 0.7 * 0.7, squared_reach(0.7)  # sqrt(0.49) == 0.7, so d2 = 0.49 is in reach too
    (0.48999999999999994, 0.49)
    >>> bool(math.sqrt(squared_reach(2.5)) <= 2.5 < math.sqrt(np.nextafter(squared_reach(2.5), math.inf)))
    True
    """
    radius = float(radius)
    t = radius * radius
    while t > 0 and math.sqrt(t) > radius:
        t = float(np.nextafter(t, -math.inf))
    while math.isfinite(t) and math.sqrt(float(np.nextafter(t, math.inf))) <= radius:
        t = float(np.nextafter(t, math.inf))
    return t


class Grid:
    """Square cells a little wider than the radius over the bounding box of the points given."""

    #: Cells per side at most, so that cell numbers fit easily in int64 for any radius.
    MAX_CELLS_PER_SIDE = 2**20

    def __init__(self, radius: float, *point_sets: np.ndarray):
        lows = np.array([xy.min(axis=0) for xy in point_sets if len(xy)])
        highs = np.array([xy.max(axis=0) for xy in point_sets if len(xy)])
        self.radius = float(radius)
        self.x0, self.y0 = lows.min(axis=0)
        x1, y1 = highs.max(axis=0)
        span = max(x1 - self.x0, y1 - self.y0)
        magnitude = float(max(np.abs(lows).max(), np.abs(highs).max()))
        # Wider than the radius by more than the rounding in (x - x0) / cell, so two points in
        # reach are never two cells apart; any width above that only adds points to check.
        self.cell = max(radius * (1 + 1e-9) + magnitude * 1e-12, span / self.MAX_CELLS_PER_SIDE, 1e-9)
        self.ncols = int((x1 - self.x0) / self.cell) + 1
        self.nrows = int((y1 - self.y0) / self.cell) + 1

    def index(self, xy: np.ndarray) -> CellIndex:
        """``xy`` (within the grid's box) sorted by cell."""
        cx = np.minimum(((xy[:, 0] - self.x0) / self.cell).astype(np.int64), self.ncols - 1)
        cy = np.minimum(((xy[:, 1] - self.y0) / self.cell).astype(np.int64), self.nrows - 1)
        key = cy * self.ncols + cx
        order = np.argsort(key, kind="stable")
        return CellIndex(order, np.ascontiguousarray(xy[order, 0]), np.ascontiguousarray(xy[order, 1]),
                         cx[order], cy[order], key[order])


@dataclass(frozen=True)
class CellIndex:
    """Points in cell order (row by row): ``order[k]`` is the original row of sorted point ``k``."""

    order: np.ndarray
    x: np.ndarray
    y: np.ndarray
    cx: np.ndarray
    cy: np.ndarray
    key: np.ndarray


def reach_sums(grid: Grid, queries: CellIndex, points: CellIndex, values: np.ndarray, weights: Weights,
               workers: int = 1, catchments: Catchments | None = None, per_query: bool = True) -> np.ndarray:
    """For each query point, the sum of ``values[k] * w(d)`` over the points ``k`` within the radius.

    Parameters
    ----------
    grid : Grid
        Built with the radius and both sets of points (finite, in metres).
    queries, points : CellIndex
        From ``grid.index``.
    values : numpy.ndarray
        One float64 per point, in the points' original order.
    weights : Weights
        The distance decay ``w``; a point exactly ``radius`` away is in reach.
    workers : int
        Threads for large inputs (the compiled loop releases the GIL).
    catchments : Catchments, optional
        A radius per point of one side, replacing the grid's radius (which must be at least the
        largest of them): a pair is in reach when within the radius of its point on that side,
        and a Gaussian decay takes that point's scale.
    per_query : bool
        Whether ``catchments`` are the query points' (else the other points').

    Returns
    -------
    numpy.ndarray
        One float64 per query point in its original order, 0 where nothing is in reach. Each sum
        is taken in the same order on every run, whatever the number of threads.

    >>> queries, points = np.array([[0.0, 0.0], [10.0, 0.0]]), np.array([[3.0, 4.0], [0.0, 6.0]])
    >>> grid = Grid(5.0, queries, points)
    >>> reach_sums(grid, grid.index(queries), grid.index(points), np.array([1.0, 2.0]), Weights.plain()).tolist()
    [1.0, 0.0]

    The second query point with a catchment of 12 reaches both points:

    >>> wide = Catchments.of(np.array([5.0, 12.0]))
    >>> grid = Grid(12.0, queries, points)
    >>> reach_sums(grid, grid.index(queries), grid.index(points), np.array([1.0, 2.0]), Weights.plain(),
    ...            catchments=wide).tolist()
    [1.0, 3.0]
    """
    n = len(queries.order)
    sums = np.zeros(n, dtype=np.float64)
    if n and len(points.order):
        sorted_values = np.ascontiguousarray(values[points.order], dtype=np.float64)
        reach2 = squared_reach(grid.radius)
        if catchments is None:
            mode, own = UNIFORM, Catchments(_NO_ARRAY, _NO_ARRAY, _NO_ARRAY)
        else:
            mode = PER_QUERY if per_query else PER_POINT
            own = catchments.sorted_by(queries.order if per_query else points.order)

        def run(span):
            _sum_in_reach(queries.x, queries.y, queries.cx, queries.cy, points.x, points.y, sorted_values,
                          points.key, grid.ncols, grid.nrows, reach2, weights.kind, weights.scale,
                          weights.scale_reach2, weights.bounds2, weights.levels, mode, own.reach2, own.scale,
                          own.scale_reach2, sums, span[0], span[1])

        if workers <= 1 or n < _THREADED_FROM:
            run((0, n))
        else:  # contiguous runs of queries in cell order: each thread reads one part of the points
            edges = np.linspace(0, n, workers * _CHUNKS_PER_WORKER + 1).astype(np.int64)
            with ThreadPoolExecutor(max_workers=workers) as pool:
                list(pool.map(run, zip(edges[:-1], edges[1:], strict=True)))
    out = np.empty(n, dtype=np.float64)
    out[queries.order] = sums
    return out


# No fastmath: the sums and distances are plain IEEE arithmetic, in a fixed order.
@numba.njit(nogil=True, cache=True)
def _sum_in_reach(qx, qy, qcx, qcy, px, py, pv, pkey, ncols, nrows, reach2,
                  kind, scale, scale_reach2, bounds2, levels, mode, own_reach2, own_scale, own_scale_reach2,
                  out, start, stop):
    floor = math.exp(-0.5)
    for q in range(start, stop):
        x, y, cx, cy = qx[q], qy[q], qcx[q], qcy[q]
        first_col, last_col = max(cx - 1, 0), min(cx + 1, ncols - 1)
        q_reach2, q_scale, q_scale_reach2 = reach2, scale, scale_reach2
        if mode == PER_QUERY:
            q_reach2, q_scale, q_scale_reach2 = own_reach2[q], own_scale[q], own_scale_reach2[q]
        total = 0.0
        for row in range(max(cy - 1, 0), min(cy + 1, nrows - 1) + 1):
            lo = np.searchsorted(pkey, row * ncols + first_col, side="left")
            hi = np.searchsorted(pkey, row * ncols + last_col, side="right")
            if kind == PLAIN and mode != PER_POINT:
                for k in range(lo, hi):
                    dx, dy = px[k] - x, py[k] - y
                    total += pv[k] if dx * dx + dy * dy <= q_reach2 else 0.0
            else:
                for k in range(lo, hi):
                    pair_reach2, pair_scale, pair_scale_reach2 = q_reach2, q_scale, q_scale_reach2
                    if mode == PER_POINT:
                        pair_reach2, pair_scale, pair_scale_reach2 = own_reach2[k], own_scale[k], own_scale_reach2[k]
                    dx, dy = px[k] - x, py[k] - y
                    d2 = dx * dx + dy * dy
                    if d2 > pair_reach2:
                        continue
                    if kind == PLAIN:
                        total += pv[k]
                    elif kind == GAUSSIAN:
                        if d2 <= pair_scale_reach2:
                            u = math.sqrt(d2) / pair_scale
                            total += pv[k] * ((math.exp(-0.5 * (u * u)) - floor) / (1.0 - floor))
                    else:
                        total += pv[k] * levels[np.searchsorted(bounds2, d2, side="left")]
        out[q] = total
