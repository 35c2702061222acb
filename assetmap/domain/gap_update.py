"""The arithmetic of updating a stored gap run after one asset changes: which areas it can
reach, where it may have been or may now be the nearest, and which rows changed.

The full run is :mod:`assetmap.domain.gap_analysis`; the SQL that loads a run's rows and writes
the changed ones back is :mod:`assetmap.db.gap_refresh`. No SQL here.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["SCORE_COLUMNS", "changed_rows", "reach_of_change"]

#: The columns of a run's rows that a recompute may change.
SCORE_COLUMNS = ("provision", "nearest_m", "provision_pct", "gap")

Point = tuple[float, float, float | None]  # x, y (EPSG:27700 metres), capacity


def reach_of_change(xy: np.ndarray, nearest: np.ndarray, old: Point | None, new: Point | None,
                    radius: float) -> tuple[np.ndarray, np.ndarray]:
    """Which population points a move of one asset from ``old`` to ``new`` can affect.

    Parameters
    ----------
    xy : (n, 2) array of the population points (EPSG:27700)
    nearest : each point's stored distance to its nearest asset (NaN: none)
    old, new : the asset's position (and capacity) before and after; None when it did not count
    radius : the run's catchment radius in metres

    Returns
    -------
    in_reach, nearer : boolean arrays
        ``in_reach``: within the radius of the old or the new position (their provision changes);
        ``nearer``: the old position was (one of) the nearest, the new one is at least as near,
        or the point had no nearest (their nearest distance must be looked up again).

    Examples
    --------
    >>> xy = np.array([[0.0, 0.0], [500.0, 0.0], [5000.0, 0.0]])
    >>> in_reach, nearer = reach_of_change(xy, np.array([100.0, 400.0, np.nan]), None, (0.0, 0.0, None), 1000.0)
    >>> in_reach.tolist(), nearer.tolist()
    ([True, True, False], [True, False, True])
    """
    in_reach = np.zeros(len(xy), dtype=bool)
    nearer = np.zeros(len(xy), dtype=bool)
    for point, was in ((old, True), (new, False)):
        if point is None:
            continue
        d = np.hypot(xy[:, 0] - point[0], xy[:, 1] - point[1])
        in_reach |= d <= radius
        nearer |= np.isclose(d, nearest, rtol=1e-9, atol=1e-6) if was else ~(d > nearest)
    nearer |= np.isnan(nearest)
    return in_reach, nearer


def changed_rows(before: pd.DataFrame, after: pd.DataFrame) -> np.ndarray:
    """Which rows differ in a score or the class (NaN equals NaN).

    Examples
    --------
    >>> a = pd.DataFrame({"provision": [1.0, np.nan], "nearest_m": [1.0, 2.0], "provision_pct": [50.0, np.nan],
    ...                   "gap": [0.0, np.nan], "bivariate_class": ["x", "y"]})
    >>> changed_rows(a, a.assign(gap=[0.5, np.nan])).tolist()
    [True, False]
    """
    changed = np.zeros(len(before), dtype=bool)
    for column in SCORE_COLUMNS:
        a = before[column].to_numpy(np.float64)
        b = after[column].to_numpy(np.float64)
        changed |= ~((a == b) | (np.isnan(a) & np.isnan(b)))
    changed |= before["bivariate_class"].to_numpy() != after["bivariate_class"].to_numpy()
    return changed
