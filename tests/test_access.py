"""Tests for assetmap.domain.access: 2SFCA / E2SFCA and nearest distance.

The reference implementation is PySAL ``access`` (``access.Access.two_stage_fca``)
fed a dense cost table of every demand-supply pair, so our KD-tree neighbour
search is checked as well as the two sums.

PySAL quirks these tests rely on (access 1.1.10.post3, pandas 3.x):

* ``Access(demand_index="id")`` calls ``DataFrame.set_index(..., inplace=True)``,
  which raises ``Pandas4Warning`` (a ``DeprecationWarning``) under
  ``filterwarnings = error``. We set the index ourselves and pass
  ``demand_index=True`` / ``supply_index=True``, so no warning is raised and
  none needs filtering.
* ``two_stage_fca(normalize=False)`` (the default) returns the raw per-person
  score in column ``f"{name}_{supply_value}"``, sorted by demand index.
  ``normalize=True`` would divide by the population-weighted mean.
* The cut-off is ``cost <= max_cost`` (inclusive), like ours.
* ``weight_fn`` is applied with ``Series.apply``, one scalar at a time, to
  both steps; our decay functions take arrays, so we wrap them with
  ``float(...)``.
* Demand with no supply in reach gets NaN (ours: 0); a supply whose in-reach
  demand totals 0 people gives ``capacity / 0 = inf`` to those demand points
  (ours: that supply contributes nothing); empty supply gives all NaN (ours:
  all 0).
"""

import math

import numpy as np
import pandas as pd
import pytest

from assetmap.domain.access import (
    gaussian_decay,
    nearest_distance,
    step_decay,
    two_step_fca,
)

# --------------------------------------------------------------------------
# helpers


def frames(demand_rows, supply_rows):
    demand = pd.DataFrame(demand_rows, columns=["id", "x", "y", "population"])
    supply = pd.DataFrame(supply_rows, columns=["id", "x", "y", "capacity"])
    return demand, supply


def dense_distances(demand, supply):
    """Every demand-supply distance, sqrt(dx**2 + dy**2), shape (n_demand, n_supply)."""
    dx = demand["x"].to_numpy(float)[:, None] - supply["x"].to_numpy(float)[None, :]
    dy = demand["y"].to_numpy(float)[:, None] - supply["y"].to_numpy(float)[None, :]
    return np.sqrt(dx * dx + dy * dy)


def reference_fca(demand, supply, radius_m, decay=None):
    """Slow, obvious 2SFCA / E2SFCA on dense matrices."""
    dist = dense_distances(demand, supply)
    in_reach = dist <= radius_m
    weight = in_reach.astype(float)
    if decay is not None:
        weight = np.where(in_reach, decay(dist), 0.0)
    population = demand["population"].to_numpy(float)
    capacity = supply["capacity"].fillna(1).to_numpy(float)
    ratio = np.zeros(len(supply))
    for j in range(len(supply)):
        reached = float(np.sum(population * weight[:, j]))
        if reached > 0:
            ratio[j] = capacity[j] / reached
    scores = np.array([np.sum(ratio * weight[i, :]) for i in range(len(demand))])
    return pd.Series(scores, index=pd.Index(demand["id"], name="id"), name="access")


def pysal_fca(demand, supply, radius_m, decay=None):
    """Raw 2SFCA from PySAL access, reindexed to demand order (NaN kept)."""
    from access import Access  # imported here: it is a test-only dependency

    dist = dense_distances(demand, supply)
    cost = pd.DataFrame(
        {
            "origin": np.repeat(demand["id"].to_numpy(), len(supply)),
            "dest": np.tile(supply["id"].to_numpy(), len(demand)),
            "cost": dist.ravel(),
        }
    )
    model = Access(
        demand_df=demand.set_index("id"),
        demand_index=True,
        demand_value="population",
        supply_df=supply.assign(capacity=supply["capacity"].fillna(1)).set_index("id"),
        supply_index=True,
        supply_value="capacity",
        cost_df=cost,
        cost_origin="origin",
        cost_dest="dest",
        cost_name="cost",
    )
    weight_fn = None if decay is None else (lambda d: float(decay(np.asarray(d))))
    result = model.two_stage_fca(name="fca", max_cost=radius_m, weight_fn=weight_fn, normalize=False)
    return result["fca_capacity"].reindex(demand["id"].to_numpy())


def random_frames(seed=20240601, n_demand=2000, n_supply=300, side_m=50_000.0):
    """LSOA-like demand and asset-like supply in a 50 km square, partly clustered."""
    rng = np.random.default_rng(seed)
    towns = rng.uniform(0, side_m, size=(12, 2))

    def points(n):
        xy = towns[rng.integers(0, len(towns), n)] + rng.normal(0, 3000, size=(n, 2))
        rural = rng.random(n) < 0.3
        xy[rural] = rng.uniform(0, side_m, size=(int(rural.sum()), 2))
        return np.clip(xy, 0, side_m)

    dxy = points(n_demand)
    sxy = points(n_supply)
    demand = pd.DataFrame(
        {
            "id": [f"E01{i:06d}" for i in range(n_demand)],
            "x": dxy[:, 0],
            "y": dxy[:, 1],
            "population": rng.integers(1000, 3000, n_demand),
        }
    )
    capacity = rng.integers(1, 20, n_supply).astype(float)
    capacity[rng.random(n_supply) < 0.1] = np.nan
    supply = pd.DataFrame({"id": np.arange(n_supply) + 1, "x": sxy[:, 0], "y": sxy[:, 1], "capacity": capacity})
    return demand, supply


def assert_same_scores(actual, expected, rtol=1e-9):
    assert actual.index.equals(expected.index)
    np.testing.assert_allclose(actual.to_numpy(), expected.to_numpy(), rtol=rtol, atol=0)


# --------------------------------------------------------------------------
# (a) a worked example by hand

# Three areas and two assets, radius 5 km (all coordinates in metres):
#
#   area A (0, 0)        pop 1000
#   area B (3000, 4000)  pop  500
#   area C (6000, 0)     pop 1500
#   asset X (0, 0)       capacity 3
#   asset Y (6000, 4000) capacity 2
#
# Distances: X-A 0, X-B 5000 (exactly the radius: in reach), X-C 6000 (out);
#            Y-A 7211 (out), Y-B 3000, Y-C 4000.
# Step 1: R_X = 3 / (1000 + 500) = 0.002
#         R_Y = 2 / (500 + 1500) = 0.001
# Step 2: A = R_X = 0.002;  B = R_X + R_Y = 0.003;  C = R_Y = 0.001
HAND_DEMAND = [("A", 0, 0, 1000), ("B", 3000, 4000, 500), ("C", 6000, 0, 1500)]
HAND_SUPPLY = [("X", 0, 0, 3), ("Y", 6000, 4000, 2)]


def test_hand_worked_example():
    demand, supply = frames(HAND_DEMAND, HAND_SUPPLY)
    result = two_step_fca(demand, supply, radius_m=5000)
    expected = pd.Series([0.002, 0.003, 0.001], index=pd.Index(["A", "B", "C"], name="id"), name="access")
    pd.testing.assert_series_equal(result, expected, rtol=1e-12)


def test_hand_example_just_inside_the_boundary_drops_the_pair():
    # At 4999.99 m, X no longer reaches B: R_X = 3 / 1000 = 0.003, R_Y = 0.001,
    # so A = 0.003, B = 0.001 (from Y only), C = 0.001.
    demand, supply = frames(HAND_DEMAND, HAND_SUPPLY)
    result = two_step_fca(demand, supply, radius_m=4999.99)
    np.testing.assert_allclose(result.to_numpy(), [0.003, 0.001, 0.001], rtol=1e-12)


def test_hand_example_with_step_decay():
    # Weights: d <= 3000 -> 1, d <= 5000 -> 0.5.
    # X-A 0 (1), X-B 5000 (0.5), Y-B 3000 (1), Y-C 4000 (0.5).
    # R_X = 3 / (1000*1 + 500*0.5)  = 3 / 1250 = 0.0024
    # R_Y = 2 / (500*1  + 1500*0.5) = 2 / 1250 = 0.0016
    # A = 0.0024*1 = 0.0024;  B = 0.0024*0.5 + 0.0016*1 = 0.0028;  C = 0.0016*0.5 = 0.0008
    demand, supply = frames(HAND_DEMAND, HAND_SUPPLY)
    result = two_step_fca(demand, supply, 5000, decay=step_decay([(3000, 1.0), (5000, 0.5)]))
    np.testing.assert_allclose(result.to_numpy(), [0.0024, 0.0028, 0.0008], rtol=1e-12)


def test_result_keeps_demand_order_and_id_dtype():
    demand, supply = frames([(30, 0, 0, 10), (10, 100, 0, 10), (20, 9e5, 0, 10)], [("s", 50, 0, 1)])
    result = two_step_fca(demand, supply, 1000)
    assert result.index.tolist() == [30, 10, 20]
    assert result.index.name == "id"
    assert result.dtype == np.float64
    assert result.tolist() == [0.05, 0.05, 0.0]


# --------------------------------------------------------------------------
# (b) agreement with PySAL access


@pytest.fixture(scope="module")
def random_data():
    return random_frames()


def test_random_data_has_both_reached_and_unreached_points(random_data):
    demand, supply = random_data
    dist = dense_distances(demand, supply)
    reached = (dist <= 3000).any(axis=1)
    assert 0 < (~reached).sum() < len(demand) // 2
    assert supply["capacity"].isna().any()


def test_matches_pysal_on_random_data(random_data):
    demand, supply = random_data
    ours = two_step_fca(demand, supply, 3000)
    theirs = pysal_fca(demand, supply, 3000)
    assert theirs.isna().sum() == (ours == 0).sum()  # PySAL: NaN where nothing is in reach
    assert_same_scores(ours, theirs.fillna(0.0).rename("access").rename_axis("id"))


@pytest.mark.parametrize(
    "decay",
    [
        pytest.param(step_decay([(1000, 1.0), (2000, 0.68), (3000, 0.22)]), id="step"),
        pytest.param(gaussian_decay(3000), id="gaussian"),
    ],
)
def test_matches_pysal_with_decay(random_data, decay):
    demand, supply = random_data
    ours = two_step_fca(demand, supply, 3000, decay=decay)
    theirs = pysal_fca(demand, supply, 3000, decay=decay).fillna(0.0)
    assert_same_scores(ours, theirs.rename("access").rename_axis("id"))


def test_matches_pysal_on_the_boundary():
    # 3-4-5 triangles: every pair is exactly 5000 m or exactly 5000.001 m apart.
    demand, supply = frames(
        [("a", 0, 0, 100), ("b", 6000, 8000, 300), ("c", 0, 10000.001, 50)],
        [("p", 3000, 4000, 2), ("q", 0, 5000, 7)],
    )
    ours = two_step_fca(demand, supply, 5000)
    theirs = pysal_fca(demand, supply, 5000)
    assert ours.tolist() == pytest.approx([2 / 400 + 7 / 100, 2 / 400, 0.0], rel=1e-12)
    assert_same_scores(ours, theirs.fillna(0.0).rename("access").rename_axis("id"))


def test_supply_out_of_reach_and_demand_out_of_reach_match_pysal():
    demand, supply = frames(
        [("near", 0, 0, 100), ("far", 50_000, 0, 100)],
        [("s1", 10, 0, 4), ("lonely", -80_000, 0, 9)],
    )
    ours = two_step_fca(demand, supply, 1000)
    theirs = pysal_fca(demand, supply, 1000)
    assert ours.tolist() == [0.04, 0.0]
    assert theirs["near"] == pytest.approx(0.04, rel=1e-12)
    assert math.isnan(theirs["far"])  # PySAL quirk: NaN, not 0


def test_empty_supply_gives_zeros_where_pysal_gives_nan():
    demand, supply = frames(HAND_DEMAND, [])
    ours = two_step_fca(demand, supply, 5000)
    assert ours.tolist() == [0.0, 0.0, 0.0]
    assert ours.index.name == "id"
    assert pysal_fca(demand, supply, 5000).isna().all()


def test_supply_reaching_only_zero_population_contributes_nothing():
    # PySAL divides 5 by 0 people and hands "empty" inf; we leave it at 0,
    # and "full" only gets s1's share.
    demand, supply = frames(
        [("full", 0, 0, 200), ("empty", 10_000, 0, 0)],
        [("s1", 0, 100, 4), ("s2", 10_000, 100, 5)],
    )
    ours = two_step_fca(demand, supply, 500)
    assert ours.tolist() == [0.02, 0.0]
    theirs = pysal_fca(demand, supply, 500)
    assert theirs["full"] == pytest.approx(0.02, rel=1e-12)
    assert math.isinf(theirs["empty"])


def test_nan_capacity_counts_as_one():
    demand, supply = frames([("a", 0, 0, 50)], [("s1", 0, 0, np.nan), ("s2", 0, 0, 3)])
    ours = two_step_fca(demand, supply, 10)
    assert ours.tolist() == [pytest.approx(4 / 50)]
    assert_same_scores(ours, pysal_fca(demand, supply, 10).rename("access").rename_axis("id"))


def test_zero_radius_reaches_only_coincident_points():
    demand, supply = frames([("a", 5, 5, 10), ("b", 5, 5.000001, 10)], [("s", 5, 5, 1)])
    assert two_step_fca(demand, supply, 0).tolist() == [0.1, 0.0]


def test_empty_demand():
    demand, supply = frames([], HAND_SUPPLY)
    result = two_step_fca(demand, supply, 5000)
    assert len(result) == 0
    assert result.index.name == "id"


# --------------------------------------------------------------------------
# (c) decay variants against the slow reference


DECAYS = [
    pytest.param(None, id="plain"),
    pytest.param(step_decay([(800, 1.0), (1600, 0.68), (2400, 0.22)]), id="step-inside-radius"),
    pytest.param(step_decay([(1500, 1.0), (6000, 0.5)]), id="step-beyond-radius"),
    pytest.param(gaussian_decay(3000), id="gaussian"),
    pytest.param(gaussian_decay(1500), id="gaussian-narrower"),
    pytest.param(lambda d: (1.0 + d / 1000.0) ** -1.5, id="power"),
    pytest.param(lambda d: 0.5, id="scalar-constant"),
]


@pytest.mark.parametrize("decay", DECAYS)
def test_matches_reference(random_data, decay):
    demand, supply = random_data
    ours = two_step_fca(demand, supply, 3000, decay=decay)
    assert_same_scores(ours, reference_fca(demand, supply, 3000, decay=decay))


def as_plain_callable(decay):
    """The same weights through a function two_step_fca does not recognise: the pairs path."""
    if decay is None:
        return lambda d: np.ones_like(d)
    return lambda d: decay(d)


@pytest.mark.parametrize("decay", [None, gaussian_decay(3000)], ids=["plain", "gaussian"])
def test_chunked_pairs_path_matches_reference(random_data, monkeypatch, decay):
    # The random data fit in one chunk; force 125 chunks of 16 demand points.
    import assetmap.domain.access as access_module

    monkeypatch.setattr(access_module, "_PAIRS_PER_CHUNK", 256)
    demand, supply = random_data
    ours = two_step_fca(demand, supply, 3000, decay=as_plain_callable(decay))
    assert_same_scores(ours, reference_fca(demand, supply, 3000, decay=decay))


GRID_DECAYS = DECAYS[:5]  # None and the step and Gaussian decays: the ones the grid pass runs itself


@pytest.mark.parametrize("decay", GRID_DECAYS)
def test_grid_path_matches_pairs_path(random_data, decay):
    # Two searches written apart (a compiled grid pass, and KD-tree pairs summed by numpy).
    demand, supply = random_data
    grid = two_step_fca(demand, supply, 3000, decay=decay)
    pairs = two_step_fca(demand, supply, 3000, decay=as_plain_callable(decay))
    assert np.array_equal(grid.to_numpy() > 0, pairs.to_numpy() > 0)
    assert_same_scores(grid, pairs, rtol=1e-12)


@pytest.mark.parametrize("decay", [None, gaussian_decay(3000)], ids=["plain", "gaussian"])
def test_grid_path_on_threads_gives_the_same_bits(random_data, monkeypatch, decay):
    import assetmap.domain.access as access_module
    import assetmap.domain.catchment_grid as grid_module

    demand, supply = random_data
    one_thread = two_step_fca(demand, supply, 3000, decay=decay)
    monkeypatch.setattr(grid_module, "_THREADED_FROM", 1)
    monkeypatch.setattr(access_module, "_WORKERS", 2)
    threaded = two_step_fca(demand, supply, 3000, decay=decay)
    assert threaded.to_numpy().tobytes() == one_thread.to_numpy().tobytes()


def test_step_bands_are_decided_exactly_on_the_grid_path():
    # Supply points at exactly 800 m and 1600 m (3-4-5 triangles) and a hair beyond: each
    # falls in the band the step function gives its sqrt(dx*dx + dy*dy).
    decay = step_decay([(800, 1.0), (1600, 0.5), (2400, 0.25)])
    demand, supply = frames(
        [("a", 1000.0, 2000.0, 1.0)],
        [("s800", 1480.0, 2640.0, 1.0), ("s800+", 1480.0, 2640.000001, 1.0),
         ("s1600", 1960.0, 3280.0, 1.0), ("s1600+", 1960.0, 3280.000001, 1.0)],
    )
    # one person: each asset's ratio is 1 / w, so the score counts the assets in reach
    assert two_step_fca(demand, supply, 2400, decay=decay).tolist() == [4.0]
    d = dense_distances(demand, supply)[0]
    assert decay(d).tolist() == [1.0, 0.5, 0.5, 0.25]


def test_tiny_radius_far_from_the_origin():
    # Cells a few millimetres wide at OSGB-sized coordinates: the cell width must still cover
    # the rounding in (x - x0) / cell.
    rng = np.random.default_rng(3)
    base = np.array([654_321.123, 312_345.987])
    xy = base + rng.uniform(-0.02, 0.02, size=(300, 2))
    demand = pd.DataFrame({"id": range(150), "x": xy[:150, 0], "y": xy[:150, 1], "population": 1.0})
    supply = pd.DataFrame({"id": range(150), "x": xy[150:, 0], "y": xy[150:, 1], "capacity": 1.0})
    assert_same_scores(two_step_fca(demand, supply, 0.005), reference_fca(demand, supply, 0.005), rtol=1e-12)


def test_radius_wider_than_the_map():
    demand, supply = frames(HAND_DEMAND, HAND_SUPPLY)
    # everyone reaches both assets: 5 / 3000 people each
    assert two_step_fca(demand, supply, 1e9).tolist() == pytest.approx([5 / 3000] * 3, rel=1e-12)


def test_squared_reach_is_the_exact_threshold():
    import math

    from assetmap.domain.catchment_grid import squared_reach

    rng = np.random.default_rng(11)
    for radius in [0.0, 1.0, 3000.0, 1234.5, 0.1, *rng.uniform(0, 10_000, 200)]:
        t = squared_reach(radius)
        assert math.sqrt(t) <= radius < math.sqrt(float(np.nextafter(t, math.inf)))


@pytest.mark.parametrize("path", ["grid", "pairs"])
def test_in_reach_is_exactly_sqrt_dx2_dy2_at_most_radius(path):
    # 2,000 supply points placed on (and a rounding error either side of) a
    # 1234.5 m circle around one demand point at awkward coordinates: the set
    # in reach must be exactly the set with sqrt(dx*dx + dy*dy) <= radius, on the
    # compiled grid pass and on the KD-tree pairs path (a decay it does not know).
    rng = np.random.default_rng(7)
    centre = np.array([412_345.678, 287_654.321])
    radius = 1234.5
    theta = rng.uniform(0, 2 * np.pi, 2000)
    scale = radius * (1 + rng.choice([-1, 0, 1], 2000) * 1e-16 * rng.integers(0, 4, 2000))
    xy = centre + np.column_stack([np.cos(theta), np.sin(theta)]) * scale[:, None]
    supply = pd.DataFrame({"id": np.arange(2000), "x": xy[:, 0], "y": xy[:, 1], "capacity": 1.0})
    demand = pd.DataFrame({"id": ["centre"], "x": [centre[0]], "y": [centre[1]], "population": [1.0]})
    dx = centre[0] - xy[:, 0]
    dy = centre[1] - xy[:, 1]
    n_in = int(np.sum(np.sqrt(dx * dx + dy * dy) <= radius))
    assert 0 < n_in < 2000
    # one person, every in-reach asset has ratio 1 -> the score counts them
    decay = None if path == "grid" else as_plain_callable(None)
    assert two_step_fca(demand, supply, radius, decay=decay).tolist() == [float(n_in)]


def test_constant_decay_equals_plain(random_data):
    demand, supply = random_data
    plain = two_step_fca(demand, supply, 3000)
    constant = two_step_fca(demand, supply, 3000, decay=lambda d: np.full_like(d, 0.25))
    assert_same_scores(constant, plain, rtol=1e-12)


def test_step_decay_bounds_are_inclusive_and_order_free():
    w = step_decay([(1600, 0.68), (800, 1.0)])
    assert w(np.array([0.0, 800.0, 800.0001, 1600.0, 1600.0001])).tolist() == [1.0, 1.0, 0.68, 0.68, 0.0]


def test_gaussian_decay_shape():
    w = gaussian_decay(1000)
    d = np.array([0.0, 500.0, 1000.0, 1000.5, 5000.0])
    floor = math.exp(-0.5)
    expected = [1.0, (math.exp(-0.125) - floor) / (1 - floor), 0.0, 0.0, 0.0]
    np.testing.assert_allclose(w(d), expected, rtol=1e-12, atol=1e-15)
    assert np.all(np.diff(w(np.linspace(0, 1000, 50))) < 0)


@pytest.mark.parametrize(
    "steps, message",
    [
        ([], "at least one"),
        ([(800, 1.0), (800, 0.5)], "repeat"),
        ([(-1, 1.0)], "non-negative"),
        ([(800, -0.1)], "non-negative"),
        ([(math.inf, 1.0)], "finite"),
    ],
)
def test_step_decay_validation(steps, message):
    with pytest.raises(ValueError, match=message):
        step_decay(steps)


@pytest.mark.parametrize("radius", [0, -5, math.nan, math.inf])
def test_gaussian_decay_validation(radius):
    with pytest.raises(ValueError, match="radius_m"):
        gaussian_decay(radius)


# --------------------------------------------------------------------------
# (d) input validation


def test_missing_columns_are_named():
    demand, supply = frames(HAND_DEMAND, HAND_SUPPLY)
    with pytest.raises(ValueError, match=r"demand is missing column\(s\): x, population"):
        two_step_fca(demand.drop(columns=["x", "population"]), supply, 5000)
    with pytest.raises(ValueError, match=r"supply is missing column\(s\): capacity"):
        two_step_fca(demand, supply.drop(columns=["capacity"]), 5000)


@pytest.mark.parametrize("radius", [-1, -0.001, math.nan, math.inf, "far"])
def test_bad_radius(radius):
    demand, supply = frames(HAND_DEMAND, HAND_SUPPLY)
    with pytest.raises(ValueError, match="radius_m"):
        two_step_fca(demand, supply, radius)


def test_not_a_dataframe():
    _, supply = frames(HAND_DEMAND, HAND_SUPPLY)
    with pytest.raises(TypeError, match="demand must be a pandas DataFrame, got list"):
        two_step_fca(HAND_DEMAND, supply, 5000)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda d, s: (d.assign(id=["A", "A", "C"]), s), "demand id must be unique"),
        (lambda d, s: (d.assign(population=[1.0, np.nan, 2.0]), s), "population"),
        (lambda d, s: (d.assign(population=[1, -1, 2]), s), "population"),
        (lambda d, s: (d.assign(x=[0.0, np.nan, 1.0]), s), "demand has missing or non-finite"),
        (lambda d, s: (d, s.assign(y=[0.0, np.inf])), "supply has missing or non-finite"),
        (lambda d, s: (d, s.assign(capacity=[1.0, -2.0])), "capacity"),
        (lambda d, s: (d, s.assign(capacity=["one", "two"])), "capacity must be numeric"),
    ],
)
def test_bad_values(change, message):
    demand, supply = change(*frames(HAND_DEMAND, HAND_SUPPLY))
    with pytest.raises(ValueError, match=message):
        two_step_fca(demand, supply, 5000)


def test_bad_decay_output():
    demand, supply = frames(HAND_DEMAND, HAND_SUPPLY)
    with pytest.raises(ValueError, match="decay"):
        two_step_fca(demand, supply, 5000, decay=lambda d: -np.ones_like(d))
    with pytest.raises(ValueError, match="decay"):
        two_step_fca(demand, supply, 5000, decay=lambda d: np.full_like(d, np.nan))


# --------------------------------------------------------------------------
# nearest_distance


def test_nearest_distance_matches_brute_force(random_data):
    demand, supply = random_data
    result = nearest_distance(demand, supply)
    expected = dense_distances(demand, supply).min(axis=1)
    np.testing.assert_allclose(result.to_numpy(), expected, rtol=1e-12)
    assert result.index.equals(pd.Index(demand["id"], name="id"))
    assert result.name == "nearest_m"


def test_nearest_distance_empty_supply_is_nan():
    demand, supply = frames(HAND_DEMAND, [])
    result = nearest_distance(demand, supply)
    assert result.isna().all() and len(result) == 3
    assert result.index.tolist() == ["A", "B", "C"]


def test_nearest_distance_ignores_capacity_and_population():
    demand = pd.DataFrame({"id": ["A"], "x": [0.0], "y": [0.0]})
    supply = pd.DataFrame({"id": ["X", "Y"], "x": [3000.0, 600.0], "y": [4000.0, 800.0]})
    assert nearest_distance(demand, supply).tolist() == [1000.0]
    with pytest.raises(ValueError, match=r"supply is missing column\(s\): y"):
        nearest_distance(demand, supply.drop(columns="y"))


# --------------------------------------------------------------------------
# variable catchments: a radius per demand point (McGrail & Humphreys 2009)


def reference_variable_fca(demand, supply, radii, decay_of=None):
    """Dense variable-catchment 2SFCA: pair (i, j) in reach when d_ij <= r_i, in both steps;
    ``decay_of(r)`` gives demand point i's decay from its radius."""
    dist = dense_distances(demand, supply)
    radii = np.asarray(radii, dtype=float)
    in_reach = dist <= radii[:, None]
    weight = in_reach.astype(float)
    if decay_of is not None:
        for i, r in enumerate(radii):
            weight[i] = np.where(in_reach[i], decay_of(r)(dist[i]), 0.0)
    population = demand["population"].to_numpy(float)
    capacity = supply["capacity"].fillna(1).to_numpy(float)
    reached = (population[:, None] * weight).sum(axis=0)
    ratio = np.divide(capacity, reached, out=np.zeros(len(supply)), where=reached > 0)
    return pd.Series(weight @ ratio, index=pd.Index(demand["id"], name="id"), name="access")


# The hand example, with C rural: its catchment is 7,000 m, the others keep 5,000 m.
# Distances as above; C now reaches X (6000) too, but A (7211 from Y) still does not reach Y.
# Step 1: R_X = 3 / (1000 + 500 + 1500) = 0.001   (A, B within 5 km of X; C within its 7 km)
#         R_Y = 2 / (500 + 1500)        = 0.001   (B 3000 and C 4000; A's 5 km misses Y)
# Step 2: A = R_X = 0.001;  B = R_X + R_Y = 0.002;  C = R_X + R_Y = 0.002
def test_variable_catchment_by_hand():
    demand, supply = frames(HAND_DEMAND, HAND_SUPPLY)
    result = two_step_fca(demand, supply, radius_m=[5000, 5000, 7000])
    expected = pd.Series([0.001, 0.002, 0.002], index=pd.Index(["A", "B", "C"], name="id"), name="access")
    pd.testing.assert_series_equal(result, expected, rtol=1e-12)
    # every unit of capacity is shared out once: sum of P_i A_i = 3 + 2
    assert float((result.to_numpy() * demand["population"].to_numpy()).sum()) == pytest.approx(5.0, rel=1e-12)


def test_variable_catchment_pair_belongs_to_the_demand_point():
    # A with a 7.3 km catchment reaches Y (7211 m), Y's step-1 population gains A's 1000.
    demand, supply = frames(HAND_DEMAND, HAND_SUPPLY)
    result = two_step_fca(demand, supply, radius_m=[7300, 5000, 5000])
    # R_X = 3 / 1500 = 0.002; R_Y = 2 / (1000 + 500 + 1500) = 2/3000
    assert result.tolist() == pytest.approx([0.002 + 2 / 3000, 0.002 + 2 / 3000, 2 / 3000], rel=1e-12)


def rural_radii(demand, seed=7):
    rng = np.random.default_rng(seed)
    return np.where(rng.random(len(demand)) < 0.3, 8000.0, 3000.0)


@pytest.mark.parametrize("decay", [
    pytest.param(None, id="plain"),
    pytest.param(step_decay([(1500, 1.0), (6000, 0.5)]), id="step"),
    pytest.param(gaussian_decay(3000), id="gaussian-fixed"),
])
def test_variable_catchment_matches_dense_reference(random_data, decay):
    demand, supply = random_data
    radii = rural_radii(demand)
    ours = two_step_fca(demand, supply, radii, decay=decay)
    assert_same_scores(ours, reference_variable_fca(demand, supply, radii, None if decay is None else lambda r: decay))
    pairs = two_step_fca(demand, supply, radii, decay=as_plain_callable(decay))
    assert_same_scores(ours, pairs, rtol=1e-12)


def test_variable_catchment_gaussian_scaled_by_each_radius(random_data):
    demand, supply = random_data
    radii = rural_radii(demand)
    ours = two_step_fca(demand, supply, radii, decay=gaussian_decay(None))
    assert_same_scores(ours, reference_variable_fca(demand, supply, radii, gaussian_decay))
    assert (ours > 0).sum() > 0


@pytest.mark.parametrize("decay", [None, gaussian_decay(3000)], ids=["plain", "gaussian"])
def test_equal_radii_match_pysal(random_data, decay):
    # One radius given per demand point, all equal: exactly the single-radius 2SFCA, as PySAL has it.
    demand, supply = random_data
    radii = np.full(len(demand), 3000.0)
    ours = two_step_fca(demand, supply, radii, decay=decay)
    theirs = pysal_fca(demand, supply, 3000, decay=decay).fillna(0.0)
    assert_same_scores(ours, theirs.rename("access").rename_axis("id"), rtol=1e-9)
    assert ours.to_numpy().tobytes() == two_step_fca(demand, supply, 3000, decay=decay).to_numpy().tobytes()


def test_equal_radii_gaussian_none_is_gaussian_of_that_radius(random_data):
    demand, supply = random_data
    ours = two_step_fca(demand, supply, np.full(len(demand), 3000.0), decay=gaussian_decay(None))
    fixed = two_step_fca(demand, supply, 3000, decay=gaussian_decay(3000))
    assert ours.to_numpy().tobytes() == fixed.to_numpy().tobytes()


def test_variable_catchment_on_threads_gives_the_same_bits(random_data, monkeypatch):
    import assetmap.domain.access as access_module
    import assetmap.domain.catchment_grid as grid_module

    demand, supply = random_data
    radii = rural_radii(demand)
    one_thread = two_step_fca(demand, supply, radii, decay=gaussian_decay(None))
    monkeypatch.setattr(grid_module, "_THREADED_FROM", 1)
    monkeypatch.setattr(access_module, "_WORKERS", 2)
    assert two_step_fca(demand, supply, radii, decay=gaussian_decay(None)).to_numpy().tobytes() == \
        one_thread.to_numpy().tobytes()


@pytest.mark.parametrize(("radii", "message"), [
    ([5000, 5000], "2 radii for 3 demand points"),
    ([5000, np.nan, 5000], "finite"),
    ([5000, -1, 5000], ">= 0"),
])
def test_bad_variable_radii(radii, message):
    demand, supply = frames(HAND_DEMAND, HAND_SUPPLY)
    with pytest.raises(ValueError, match=message):
        two_step_fca(demand, supply, radius_m=radii)
