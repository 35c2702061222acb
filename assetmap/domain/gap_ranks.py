"""Need, provision and the gap between them, as percentiles over small areas.

Everything here is a pure function of pandas Series. Missing data stays
missing: an area with no value gets no percentile and no class, never
"zero need" or "zero provision".

Scale and classes
-----------------
Percentiles run from 0 to 100 over the areas that have data (see
:func:`percentile_rank`); tied areas take the lowest percentile of their
tie, so when most areas have no provision at all they rank at 0, not in
the middle. An area with nothing in reach has its own class,
:data:`NO_PROVISION`, whatever its need (unless its need is unknown: "no data"). The bivariate map uses three
classes per axis, fixed on that scale::

    low   p <  33.33
    mid   33.33 <= p < 66.67
    high  p >= 66.67

The cut-offs are the literal decimals 33.33 and 66.67, not 100/3 and 200/3,
so a value of exactly one or two thirds (33.333..., 66.666...) is
unambiguously "mid" whatever the floating-point rounding.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = [
    "BIVARIATE_CLASSES",
    "LOW_BELOW",
    "MID_BELOW",
    "NO_DATA",
    "NO_PROVISION",
    "bivariate_class",
    "bivariate_classes",
    "gap",
    "need_percentile",
    "percentile_rank",
    "population_weighted_mean",
    "tercile",
]

#: Percentiles strictly below this are "low".
LOW_BELOW = 33.33
#: Percentiles strictly below this (and not low) are "mid"; the rest "high".
MID_BELOW = 66.67
#: Class given when either percentile is missing (and the area has some provision).
NO_DATA = "no-data"
#: Class of an area with nothing in reach ("no provision within reach"): provision percentile 0.
NO_PROVISION = "no-provision"

_LEVELS = ("low", "mid", "high")
#: The nine classes, need-major: "low-need/low-provision" ... "high-need/high-provision".
BIVARIATE_CLASSES = tuple(f"{n}-need/{p}-provision" for n in _LEVELS for p in _LEVELS)

#: Direction of need for each kind of deprivation measure. English Indices of
#: Deprivation: a higher *score* is more deprived; *rank* 1 and *decile* 1 are
#: the most deprived.
_HIGHER_IS_MORE_NEED = {"score": True, "rank": False, "decile": False}


def percentile_rank(values: pd.Series, higher_is_more_need: bool = True) -> pd.Series:
    """Percentile rank from 0 to 100, ties at their lowest, NaN kept as NaN.

    For the ``n`` non-missing values, with ranks ``r`` (1 = lowest value)::

        percentile = 100 * (r - 1) / (n - 1)

    so the lowest value scores 0 and the highest 100. Tied values all take
    the lowest rank they span (``method="min"``): 180 areas with no provision
    out of 193 all rank at 0, not at the 47th percentile that averaged ranks
    would give them. With ``higher_is_more_need=False`` the direction flips
    (the lowest value scores 100; ties still take the lowest percentile of
    their tie). A single non-missing value scores 50: with nothing to compare
    it to, it sits in the middle.

    The name follows its main use (need); it works for any measure, e.g.
    provision, where ``True`` means "higher value, higher percentile".

    Parameters
    ----------
    values : pandas.Series
        Numeric values, one per area. NaN means no data.
    higher_is_more_need : bool, default True
        Whether a larger value should get a larger percentile.

    Returns
    -------
    pandas.Series
        Float percentiles with the same index and name as ``values``; NaN
        where ``values`` is NaN.

    Examples
    --------
    >>> import pandas as pd
    >>> s = pd.Series([10.0, 20.0, 20.0, None, 40.0], index=list("abcde"))
    >>> [round(p, 2) for p in percentile_rank(s).tolist()]
    [0.0, 33.33, 33.33, nan, 100.0]
    >>> [round(p, 2) for p in percentile_rank(s, higher_is_more_need=False).tolist()]
    [100.0, 33.33, 33.33, nan, 0.0]
    >>> percentile_rank(pd.Series([0.0, 0.0, 0.0, 5.0])).tolist()
    [0.0, 0.0, 0.0, 100.0]
    """
    values = _as_float_series(values, "values")
    n = int(values.notna().sum())
    ranks = values.rank(method="min", ascending=bool(higher_is_more_need), na_option="keep")
    if n == 1:
        pct = ranks * 0.0 + 50.0
    else:
        pct = 100.0 * (ranks - 1.0) / (n - 1)
    return pct.rename(values.name)


def need_percentile(values: pd.Series, measure: str = "score") -> pd.Series:
    """Need percentile (100 = most need) from a deprivation measure.

    Parameters
    ----------
    values : pandas.Series
        One value per area; NaN means no data.
    measure : {"score", "rank", "decile"}, default "score"
        How ``values`` encodes need. ``"score"``: higher means more need
        (IoD scores, rates). ``"rank"`` and ``"decile"``: 1 is the most
        deprived (IoD ranks and deciles), so lower means more need.

    Returns
    -------
    pandas.Series
        Percentiles 0-100 as in :func:`percentile_rank`, oriented so the
        area in most need scores highest.

    Raises
    ------
    ValueError
        If ``measure`` is not one of the above.

    Examples
    --------
    IoD ranks: rank 1 is the most deprived area, so it gets the highest
    need percentile.

    >>> import pandas as pd
    >>> ranks = pd.Series([1, 32844, 16000], index=["E01", "E02", "E03"])
    >>> need_percentile(ranks, measure="rank").tolist()
    [100.0, 0.0, 50.0]
    """
    try:
        higher = _HIGHER_IS_MORE_NEED[measure]
    except KeyError:
        options = ", ".join(repr(m) for m in _HIGHER_IS_MORE_NEED)
        raise ValueError(f"measure must be one of {options}, got {measure!r}") from None
    return percentile_rank(values, higher_is_more_need=higher)


def gap(need_pct, provision_pct):
    """Gap between need and provision percentiles: ``need_pct - provision_pct``.

    Runs from -100 to 100. Positive means need ranks above provision (an
    under-served area); negative means provision ranks above need. NaN in
    either input gives NaN.

    Parameters
    ----------
    need_pct, provision_pct : float or pandas.Series
        Percentiles on the 0-100 scale. Series align on their index.

    Returns
    -------
    float or pandas.Series

    Examples
    --------
    >>> gap(90.0, 15.0)
    75.0
    >>> import pandas as pd
    >>> gap(pd.Series([90.0, None]), pd.Series([15.0, 40.0])).tolist()
    [75.0, nan]
    """
    return need_pct - provision_pct


def tercile(pct: float) -> str | None:
    """Class of one percentile: "low", "mid" or "high"; None if missing.

    ``low`` is ``pct < 33.33``, ``mid`` is ``33.33 <= pct < 66.67`` and
    ``high`` is ``pct >= 66.67`` (see the module docstring).

    Raises
    ------
    ValueError
        If ``pct`` is outside 0-100.

    Examples
    --------
    >>> [tercile(p) for p in (0, 33.33, 66.66, 66.67, 100)]
    ['low', 'mid', 'mid', 'high', 'high']
    """
    if pct is None or pd.isna(pct):
        return None
    pct = float(pct)
    if not 0.0 <= pct <= 100.0:
        raise ValueError(f"percentile must be within 0-100, got {pct!r}")
    if pct < LOW_BELOW:
        return "low"
    if pct < MID_BELOW:
        return "mid"
    return "high"


def bivariate_class(need_pct: float, provision_pct: float, provision: float | None = None) -> str:
    """Class of an area: a 3x3 class such as ``"high-need/low-provision"``, ``"no-provision"``
    or ``"no-data"``.

    If either percentile is missing the class is ``"no-data"`` (the area cannot be placed on
    the need axis, and is never counted as zero need). Otherwise an area whose ``provision`` is
    0 (nothing within reach) is :data:`NO_PROVISION`, whatever its need: "low provision" would
    hide that there is none. Otherwise each percentile is classed by :func:`tercile`; the label
    is ``"{need}-need/{provision}-provision"``, one of :data:`BIVARIATE_CLASSES`.

    Parameters
    ----------
    need_pct, provision_pct : float
        Percentiles on the 0-100 scale.
    provision : float, optional
        The provision itself (capacity per person); 0 means nothing in reach. None or NaN:
        not known, the percentiles decide.

    Returns
    -------
    str

    Raises
    ------
    ValueError
        If a percentile is outside 0-100.

    Examples
    --------
    >>> bivariate_class(91.0, 12.5)
    'high-need/low-provision'
    >>> bivariate_class(33.33, 66.67)
    'mid-need/high-provision'
    >>> bivariate_class(float("nan"), 50.0)
    'no-data'
    >>> bivariate_class(91.0, 0.0, provision=0.0), bivariate_class(float("nan"), 0.0, provision=0.0)
    ('no-provision', 'no-data')
    """
    need = tercile(need_pct)
    provision_class = tercile(provision_pct)
    if need is None or provision_class is None:
        return NO_DATA
    if provision is not None and not pd.isna(provision) and float(provision) == 0.0:
        return NO_PROVISION
    return f"{need}-need/{provision_class}-provision"


def bivariate_classes(need_pct: pd.Series, provision_pct: pd.Series, provision: pd.Series | None = None) -> pd.Series:
    """:func:`bivariate_class` for aligned Series of percentiles (and, optionally, provision).

    Examples
    --------
    >>> import pandas as pd
    >>> bivariate_classes(pd.Series([80.0, 10.0, None]), pd.Series([5.0, 50.0, 1.0])).tolist()
    ['high-need/low-provision', 'low-need/mid-provision', 'no-data']
    >>> bivariate_classes(pd.Series([80.0, 10.0]), pd.Series([0.0, 50.0]), pd.Series([0.0, 0.2])).tolist()
    ['no-provision', 'low-need/mid-provision']
    """
    need, provision_pct = need_pct.align(provision_pct)
    values = [None] * len(need) if provision is None else provision.reindex(need.index).tolist()
    labels = [bivariate_class(n, p, v) for n, p, v in zip(need, provision_pct, values, strict=True)]
    return pd.Series(labels, index=need.index, name="bivariate_class", dtype=object)


def population_weighted_mean(values, weights, groups) -> pd.Series:
    """Population-weighted mean of small-area values within larger areas.

    For each group ``g`` (e.g. the ward, MSOA or local authority of each
    LSOA)::

        mean_g = sum(v_i * w_i) / sum(w_i)

    over the rows of ``g`` whose value and weight are both present. Rows with
    a missing value are left out of numerator *and* denominator ("no data",
    not zero). A group with no usable row, or whose usable weights sum to 0,
    gets NaN. Rows with a missing group are ignored.

    Parameters
    ----------
    values : pandas.Series or array-like
        Value per small area, e.g. a need percentile or an access score.
    weights : pandas.Series or array-like
        Non-negative weight per small area, usually population.
    groups : pandas.Series or array-like
        The larger-area code of each small area.

    Returns
    -------
    pandas.Series
        Weighted mean per group, indexed by group code (sorted; index named
        after ``groups`` if it is a Series) and named after ``values`` (or
        ``"weighted_mean"``).

    Raises
    ------
    ValueError
        If the inputs differ in length, Series inputs carry different
        indexes, or a weight is negative.

    Examples
    --------
    LSOAs ``a``-``d`` in wards ``W1`` and ``W2``; ``c`` has no value, so
    W2's mean is just ``d``'s.

    >>> import pandas as pd
    >>> values = pd.Series([10.0, 40.0, None, 70.0], index=list("abcd"), name="need")
    >>> pop = pd.Series([100, 300, 500, 200], index=list("abcd"))
    >>> ward = pd.Series(["W1", "W1", "W2", "W2"], index=list("abcd"))
    >>> population_weighted_mean(values, pop, ward)
    W1    32.5
    W2    70.0
    Name: need, dtype: float64
    """
    series = [x for x in (values, weights, groups) if isinstance(x, pd.Series)]
    for other in series[1:]:
        if not other.index.equals(series[0].index):
            raise ValueError("values, weights and groups have different indexes; align them first")
    lengths = {len(values), len(weights), len(groups)}
    if len(lengths) != 1:
        raise ValueError(f"values, weights and groups must have the same length, got {sorted(lengths)}")

    name = values.name if isinstance(values, pd.Series) and values.name is not None else "weighted_mean"
    v = _as_float_array(values, "values")
    w = _as_float_array(weights, "weights")
    if np.any(w < 0):
        raise ValueError("weights must be non-negative")

    usable = ~(np.isnan(v) | np.isnan(w))
    frame = pd.DataFrame(
        {
            "group": np.asarray(groups, dtype=object),
            "vw": np.where(usable, v * w, 0.0),
            "w": np.where(usable, w, 0.0),
            "n": usable.astype(np.int64),
        }
    )
    sums = frame.groupby("group", sort=True, dropna=True)[["vw", "w", "n"]].sum()
    mean = sums["vw"] / sums["w"].where(sums["w"] > 0)
    mean = mean.where(sums["n"] > 0)
    mean.index.name = groups.name if isinstance(groups, pd.Series) else None
    return mean.astype(np.float64).rename(name)


def _as_float_series(values, label):
    if not isinstance(values, pd.Series):
        raise TypeError(f"{label} must be a pandas Series, got {type(values).__name__}")
    try:
        return values.astype(np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{label} must be numeric") from None


def _as_float_array(values, label):
    try:
        return np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{label} must be numeric") from None
