"""Tests for assetmap.domain.gap_ranks: percentiles, gap, bivariate classes, aggregation."""

import math

import numpy as np
import pandas as pd
import pytest

from assetmap.domain.gap_ranks import (
    BIVARIATE_CLASSES,
    NO_DATA,
    bivariate_class,
    bivariate_classes,
    gap,
    need_percentile,
    percentile_rank,
    population_weighted_mean,
    tercile,
)

# --------------------------------------------------------------------------
# percentile_rank


def test_percentile_rank_by_hand_with_ties_and_nan():
    # Non-missing values: 5, 7, 7, 7, 9, 12  (n = 6)
    # Lowest ranks:       1, 2, 2, 2, 5, 6   (the three 7s span ranks 2, 3, 4 -> all take 2)
    # 100 * (r - 1) / 5:  0, 20, 20, 20, 80, 100
    values = pd.Series([7, 5, np.nan, 12, 7, 9, 7], index=list("abcdefg"), name="imd_score")
    result = percentile_rank(values)
    expected = pd.Series([20.0, 0.0, np.nan, 100.0, 20.0, 80.0, 20.0], index=list("abcdefg"), name="imd_score")
    pd.testing.assert_series_equal(result, expected)


def test_percentile_rank_lower_is_more_need_mirrors():
    values = pd.Series([7, 5, np.nan, 12, 7, 9, 7], index=list("abcdefg"))
    high = percentile_rank(values)
    low = percentile_rank(values, higher_is_more_need=False)
    # Descending (12 first): 12 -> 1, 9 -> 2, the three 7s -> 3 (their lowest), 5 -> 6
    # 100 * (r - 1) / 5: the 7s take 40, the lowest percentile of their tie in this direction
    assert low.tolist()[:2] == [40.0, 100.0]
    assert math.isnan(low["c"])
    assert low["d"] == 0.0 and low["f"] == 20.0
    # Untied values mirror the other direction; ties take the lowest percentile either way.
    untied = ["b", "d", "f"]
    pd.testing.assert_series_equal(low[untied], 100.0 - high[untied])
    assert low["a"] < 100.0 - high["a"]


def test_percentile_rank_nan_is_not_zero_need():
    values = pd.Series([np.nan, 0.0, 1.0])
    result = percentile_rank(values)
    assert math.isnan(result.iloc[0])
    assert result.iloc[1:].tolist() == [0.0, 100.0]


def test_percentile_rank_small_and_degenerate_inputs():
    assert percentile_rank(pd.Series([3.5, np.nan])).tolist()[0] == 50.0  # one value: middle
    assert percentile_rank(pd.Series([2.0, 2.0, 2.0])).tolist() == [0.0, 0.0, 0.0]  # all tied: the lowest
    assert percentile_rank(pd.Series([np.nan, np.nan])).isna().all()
    assert len(percentile_rank(pd.Series([], dtype=float))) == 0


def test_percentile_rank_accepts_nullable_integers():
    values = pd.Series([3, None, 1], dtype="Int64")
    result = percentile_rank(values)
    assert result.iloc[0] == 100.0 and result.iloc[2] == 0.0 and math.isnan(result.iloc[1])


def test_percentile_rank_rejects_non_series_and_text():
    with pytest.raises(TypeError, match="Series"):
        percentile_rank([1, 2, 3])
    with pytest.raises(ValueError, match="numeric"):
        percentile_rank(pd.Series(["high", "low"]))


# --------------------------------------------------------------------------
# need_percentile


def test_need_percentile_iod_rank_one_is_most_need():
    # IoD ranks: 1 = most deprived. Ranks 1, 10, 20, 30, missing.
    ranks = pd.Series([30, 1, np.nan, 20, 10], index=["E1", "E2", "E3", "E4", "E5"])
    result = need_percentile(ranks, measure="rank")
    assert result["E2"] == 100.0
    assert result["E1"] == 0.0
    assert math.isnan(result["E3"])
    assert result[["E5", "E4"]].tolist() == pytest.approx([200 / 3, 100 / 3])


def test_need_percentile_score_and_decile_directions():
    scores = pd.Series([45.2, 8.1, 20.0])  # higher score = more deprived
    assert need_percentile(scores).tolist() == [100.0, 0.0, 50.0]
    deciles = pd.Series([1, 10, 1, 5])  # decile 1 = most deprived; ties take their lowest percentile
    # descending ranks (10 first) 3, 1, 3, 2 -> 100*(r-1)/3
    assert need_percentile(deciles, measure="decile").tolist() == pytest.approx([200 / 3, 0.0, 200 / 3, 100 / 3])


def test_need_percentile_unknown_measure():
    with pytest.raises(ValueError, match="measure must be one of 'score', 'rank', 'decile'"):
        need_percentile(pd.Series([1.0]), measure="percent")


# --------------------------------------------------------------------------
# gap


def test_gap_is_need_minus_provision():
    need = pd.Series([90.0, 10.0, np.nan, 50.0], index=list("abcd"))
    provision = pd.Series([15.0, 80.0, 40.0, np.nan], index=list("abcd"))
    result = gap(need, provision)
    assert result[["a", "b"]].tolist() == [75.0, -70.0]
    assert result[["c", "d"]].isna().all()
    assert gap(100.0, 0.0) == 100.0


# --------------------------------------------------------------------------
# terciles and bivariate classes


@pytest.mark.parametrize(
    "pct, expected",
    [
        (0.0, "low"),
        (33.32999, "low"),
        (33.33, "mid"),
        (100 / 3, "mid"),  # exactly one third of the scale
        (66.66, "mid"),
        (200 / 3, "mid"),  # exactly two thirds
        (66.67, "high"),
        (100.0, "high"),
    ],
)
def test_tercile_boundaries(pct, expected):
    assert tercile(pct) == expected


def test_tercile_missing_and_out_of_range():
    assert tercile(np.nan) is None
    assert tercile(None) is None
    with pytest.raises(ValueError, match="0-100"):
        tercile(100.5)
    with pytest.raises(ValueError, match="0-100"):
        tercile(-1)


@pytest.mark.parametrize(
    "need, provision, expected",
    [
        (91.0, 12.5, "high-need/low-provision"),
        (12.5, 91.0, "low-need/high-provision"),
        (50.0, 50.0, "mid-need/mid-provision"),
        (33.33, 66.67, "mid-need/high-provision"),
        (0.0, 33.3299, "low-need/low-provision"),
        (np.nan, 50.0, NO_DATA),
        (50.0, None, NO_DATA),
    ],
)
def test_bivariate_class(need, provision, expected):
    assert bivariate_class(need, provision) == expected


def test_bivariate_classes_cover_the_3x3_grid():
    levels = [10.0, 50.0, 90.0]
    seen = {bivariate_class(n, p) for n in levels for p in levels}
    assert seen == set(BIVARIATE_CLASSES)
    assert len(BIVARIATE_CLASSES) == 9


def test_bivariate_classes_series():
    need = pd.Series([80.0, 10.0, np.nan], index=["x", "y", "z"])
    provision = pd.Series([1.0, 50.0, 5.0], index=["z", "y", "x"])  # aligned by index
    result = bivariate_classes(need, provision)
    assert result.to_dict() == {
        "x": "high-need/low-provision",
        "y": "low-need/mid-provision",
        "z": NO_DATA,
    }


# --------------------------------------------------------------------------
# population_weighted_mean


def test_population_weighted_mean_by_hand():
    # Ward W1: LSOAs a (value 10, pop 100), b (40, 300)
    #          -> (10*100 + 40*300) / 400 = 13000 / 400 = 32.5
    # Ward W2: c (no data, pop 500) is left out entirely; d (70, 200) -> 70
    # Ward W3: e (no data) only -> NaN, not 0
    # Ward W4: f (20, pop 0), g (80, pop 0) -> weights sum to 0 -> NaN
    # LSOA h has no ward -> ignored
    values = pd.Series([10.0, 40.0, np.nan, 70.0, np.nan, 20.0, 80.0, 5.0], index=list("abcdefgh"), name="need_pct")
    pop = pd.Series([100, 300, 500, 200, 150, 0, 0, 10], index=list("abcdefgh"))
    ward = pd.Series(["W1", "W1", "W2", "W2", "W3", "W4", "W4", None], index=list("abcdefgh"), name="ward_code")
    result = population_weighted_mean(values, pop, ward)
    assert result.name == "need_pct"
    assert result.index.name == "ward_code"
    assert result.index.tolist() == ["W1", "W2", "W3", "W4"]
    assert result[["W1", "W2"]].tolist() == [32.5, 70.0]
    assert result[["W3", "W4"]].isna().all()


def test_population_weighted_mean_of_tied_values_is_that_value():
    result = population_weighted_mean([25.0, 25.0, 25.0], [1, 1000, 7], ["M", "M", "M"])
    assert result.tolist() == [25.0]
    assert result.name == "weighted_mean"


def test_population_weighted_mean_missing_weight_drops_row():
    # b's population is unknown: its value cannot be weighted, so M = a's value.
    result = population_weighted_mean([10.0, 90.0], [100, np.nan], ["M", "M"])
    assert result.tolist() == [10.0]


def test_population_weighted_mean_validation():
    with pytest.raises(ValueError, match="same length"):
        population_weighted_mean([1.0, 2.0], [1, 2, 3], ["a", "b"])
    with pytest.raises(ValueError, match="non-negative"):
        population_weighted_mean([1.0, 2.0], [1, -2], ["a", "b"])
    with pytest.raises(ValueError, match="different indexes"):
        population_weighted_mean(
            pd.Series([1.0, 2.0], index=["p", "q"]),
            pd.Series([1, 2], index=["q", "p"]),
            ["a", "b"],
        )
