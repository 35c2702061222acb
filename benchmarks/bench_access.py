"""Benchmark assetmap's two_step_fca against KD-tree pairs + PySAL access.

England-like synthetic data: 32,844 demand points (one per 2011 LSOA) and
100,000 supply points in a 600 km x 600 km box, clustered around a few
hundred towns of Pareto-distributed size, with some scatter in between.
Radius 3 km.

(a) ``assetmap.domain.access.two_step_fca`` end to end, neighbour search
    included.
(a') The same with variable catchments: the demand points scattered outside
    towns (about 15%) take an 8 km rural radius (for information: there is no
    PySAL baseline for variable catchments).
(b) Baseline: the in-reach pairs from one ``cKDTree.sparse_distance_matrix``
    call (what (a) used before its compiled grid pass, and still uses for a
    decay callable it does not know) as a cost table, then
    ``access.Access(...).two_stage_fca(max_cost=radius)`` for the raw
    (un-normalised) score.

Both get the same data and must give the same scores (PySAL's NaN for
"nothing in reach" is read as 0). The two are run alternately ``--repeat``
times and the best time of each is reported, which damps noise from
anything else on the machine.

Usage::

    .venv/bin/python benchmarks/bench_access.py          # full size, about 40 s
    .venv/bin/python benchmarks/bench_access.py --small  # a tenth of the size
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from assetmap.domain.access import two_step_fca

BOX_M = 600_000.0
#: Radius of the "rural" demand points in the variable-catchment run.
RURAL_RADIUS_M = 8_000.0


def rural_points(demand):
    """The demand points with fewer than 5 others within 3 km (scattered outside towns)."""
    xy = demand[["x", "y"]].to_numpy(float)
    return cKDTree(xy).query_ball_point(xy, 3_000.0, return_length=True) < 6


def make_points(rng, n, towns, town_p, town_sd, rural_share):
    """n points: mostly normal scatter around a town, some uniform in the box."""
    town = rng.choice(len(towns), size=n, p=town_p)
    xy = towns[town] + rng.normal(size=(n, 2)) * town_sd[town, None]
    rural = rng.random(n) < rural_share
    xy[rural] = rng.uniform(0, BOX_M, size=(int(rural.sum()), 2))
    return np.clip(xy, 0, BOX_M)


def make_data(n_demand, n_supply, n_towns, seed):
    rng = np.random.default_rng(seed)
    towns = rng.uniform(0, BOX_M, size=(n_towns, 2))
    size = rng.pareto(1.2, n_towns) + 1.0  # a few cities, many small towns
    town_p = size / size.sum()
    town_sd = 1_500.0 + 4_000.0 * np.sqrt(size / size.max())  # bigger towns sprawl more

    dxy = make_points(rng, n_demand, towns, town_p, town_sd, rural_share=0.15)
    sxy = make_points(rng, n_supply, towns, town_p, town_sd, rural_share=0.10)
    demand = pd.DataFrame(
        {
            "id": [f"E01{i:06d}" for i in range(n_demand)],  # LSOA-like codes
            "x": dxy[:, 0],
            "y": dxy[:, 1],
            "population": rng.integers(1_000, 3_000, n_demand),
        }
    )
    capacity = rng.integers(1, 10, n_supply).astype(float)
    capacity[rng.random(n_supply) < 0.05] = np.nan  # unknown capacity counts as 1
    supply = pd.DataFrame(
        {"id": np.arange(1, n_supply + 1), "x": sxy[:, 0], "y": sxy[:, 1], "capacity": capacity}
    )
    return demand, supply


def baseline_kdtree_pysal(demand, supply, radius_m):
    """In-reach pairs from a KD-tree, then PySAL access's raw two_stage_fca."""
    from access import Access

    dxy = demand[["x", "y"]].to_numpy(float)
    sxy = supply[["x", "y"]].to_numpy(float)
    # Search a hair wider and let PySAL's own `cost <= max_cost` make the cut,
    # as two_step_fca does: the tree's internal dx**2 + dy**2 <= r**2 test can
    # drop a pair whose distance rounds to exactly r.
    search = radius_m * (1 + 1e-9)
    pairs = cKDTree(dxy).sparse_distance_matrix(cKDTree(sxy), search, output_type="ndarray")
    cost = pd.DataFrame(
        {
            "origin": demand["id"].to_numpy()[pairs["i"]],
            "dest": supply["id"].to_numpy()[pairs["j"]],
            "cost": pairs["v"],
        }
    )
    model = Access(
        # Passing the index ready-made (index=True) avoids PySAL's
        # set_index(inplace=True), which warns under pandas 3.
        demand_df=demand.set_index("id"),
        demand_index=True,
        demand_value="population",
        supply_df=supply.assign(capacity=supply["capacity"].fillna(1.0)).set_index("id"),
        supply_index=True,
        supply_value="capacity",
        cost_df=cost,
        cost_origin="origin",
        cost_dest="dest",
        cost_name="cost",
    )
    scores = model.two_stage_fca(name="fca", max_cost=radius_m, normalize=False)["fca_capacity"]
    return scores.reindex(demand["id"].to_numpy()), len(cost)


def timed(fn, *args):
    start = time.perf_counter()
    result = fn(*args)
    return result, time.perf_counter() - start


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--small", action="store_true", help="a tenth of the size (quick check)")
    parser.add_argument("--radius", type=float, default=3_000.0, help="catchment radius in metres (default 3000)")
    parser.add_argument("--seed", type=int, default=27700)
    parser.add_argument("--repeat", type=int, default=5,
                        help="runs of each, alternated; the best is reported (default 5)")
    args = parser.parse_args(argv)

    scale = 10 if args.small else 1
    n_demand, n_supply, n_towns = 32_844 // scale, 100_000 // scale, max(300 // scale, 30)

    demand, supply = make_data(n_demand, n_supply, n_towns, args.seed)
    print(
        f"{n_demand:,} demand points, {n_supply:,} supply points, {n_towns} towns, "
        f"{BOX_M / 1000:.0f} km box, radius {args.radius:,.0f} m"
    )

    # Alternate the two so that both see the same background load. The first call pays the
    # compiled pass's loading, as a planner's first request does.
    t_ours, t_base = [], []
    for _ in range(args.repeat):
        ours, seconds = timed(two_step_fca, demand, supply, args.radius)
        t_ours.append(seconds)
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # show it if PySAL starts warning
            (theirs, n_pairs), seconds = timed(baseline_kdtree_pysal, demand, supply, args.radius)
        t_base.append(seconds)
    t_first, t_ours, t_base = t_ours[0], min(t_ours), min(t_base)
    radii = np.where(rural_points(demand), RURAL_RADIUS_M, args.radius)
    t_variable = min(timed(two_step_fca, demand, supply, radii)[1] for _ in range(args.repeat))

    unreached_ours = ours.to_numpy() == 0
    unreached_theirs = theirs.isna().to_numpy()
    if not np.array_equal(unreached_ours, unreached_theirs):
        raise SystemExit("FAIL: the two disagree on which points have nothing in reach")
    a = ours.to_numpy()[~unreached_ours]
    b = theirs.to_numpy()[~unreached_ours]
    max_rel = float(np.max(np.abs(a - b) / np.abs(b))) if len(a) else 0.0

    print(f"{n_pairs:,} in-reach pairs; {int(unreached_ours.sum()):,} demand points with nothing in reach")
    print(f"best of {args.repeat} runs each")
    print(
        f"two_step_fca: {t_ours:.2f} s; kd-tree + PySAL access: {t_base:.2f} s; "
        f"speed-up {t_base / t_ours:.1f}x; max rel diff {max_rel:.1e}"
    )
    print(f"first call of two_step_fca: {t_first:.2f} s; speed-up against the best baseline {t_base / t_first:.1f}x")
    print(f"variable catchments ({int((radii > args.radius).sum()):,} points at {RURAL_RADIUS_M:,.0f} m): "
          f"{t_variable:.2f} s; against the best baseline {t_base / t_variable:.1f}x")
    if max_rel > 1e-9:
        raise SystemExit("FAIL: scores differ by more than 1e-9 relative")


if __name__ == "__main__":
    main()
