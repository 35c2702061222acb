"""Need over time across the 2011 -> 2021 LSOA change: each LSOA 2021's IMD 2019 rank, carried
through the ONS lookup, and its change to 2025.

The ONS lookup says how each LSOA 2021 came from the 2011 ones: U unchanged, S split (the 2021
LSOA is part of one 2011 LSOA), M merged (it is the union of several), X irregular (parts of
several). An unchanged or split LSOA takes its (parent's) 2019 rank; a merged or irregular one the
population-weighted mean of its parents' ranks (mid-2015 populations; equal weights when none is
known). Rank 1 is the most deprived in both years; 2019 ranked 32,844 LSOAs, 2025 ranks 33,755.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["CHANGE_LABELS", "METHOD", "carry_ranks", "rank_change", "summarise_changes"]

CHANGE_LABELS = {"U": "unchanged", "S": "split", "M": "merged", "X": "irregular"}
METHOD = ("IMD 2019 rank carried to LSOA 2021 through the ONS 2011-2021 lookup (unchanged and split areas "
          "take their 2011 area's rank; merged and irregular ones the mid-2015 population-weighted mean of "
          "their 2011 areas' ranks), minus the IMD 2025 rank: a positive change means relatively more deprived")


def carry_ranks(links: pd.DataFrame) -> pd.DataFrame:
    """The 2019 rank of each LSOA 2021.

    Parameters
    ----------
    links : pandas.DataFrame
        One row per lookup link: ``lsoa21_code, change_code, rank_2019, population`` (the 2011
        LSOA's rank and mid-2015 population; either may be missing).

    Returns
    -------
    pandas.DataFrame
        Indexed by ``lsoa21_code``: ``rank_2019`` (NaN when no parent has a rank) and
        ``change_code`` (the lookup's code; M or X when links disagree).

    Examples
    --------
    >>> links = pd.DataFrame({"lsoa21_code": ["A", "B1", "B2", "C", "C"], "change_code": ["U", "S", "S", "M", "M"],
    ...                       "rank_2019": [100, 50, 50, 10, 40], "population": [1500, 2000, 2000, 1000, 3000]})
    >>> carry_ranks(links)["rank_2019"].tolist()
    [100.0, 50.0, 50.0, 32.5]
    """
    df = links.copy()
    df["rank_2019"] = pd.to_numeric(df["rank_2019"], errors="coerce")
    w = pd.to_numeric(df["population"], errors="coerce").where(lambda s: s > 0)
    has = df["rank_2019"].notna()
    # equal weights within an LSOA 2021 whose parents' populations are not all known
    any_missing = (w.isna() & has).groupby(df["lsoa21_code"]).transform("any")
    df["w"] = np.where(has, np.where(any_missing, 1.0, w.fillna(0.0)), 0.0)
    df["wr"] = df["w"] * df["rank_2019"].fillna(0.0)
    g = df.groupby("lsoa21_code", sort=True)
    out = pd.DataFrame({"wr": g["wr"].sum(), "w": g["w"].sum()})
    out["rank_2019"] = (out["wr"] / out["w"]).where(out["w"] > 0)
    # links that disagree (rare): merged if any link says so, else irregular
    mixed = g["change_code"].nunique() > 1
    any_m = (df["change_code"] == "M").groupby(df["lsoa21_code"], sort=True).any()
    out["change_code"] = g["change_code"].first().where(~mixed, np.where(any_m, "M", "X"))
    return out[["rank_2019", "change_code"]]


def rank_change(rank_2019: float | None, rank_2025: float | None) -> float | None:
    """The change in IMD rank from 2019 to 2025, positive when the area became relatively more
    deprived (its rank fell towards 1).

    >>> rank_change(3000, 1897)
    1103
    >>> rank_change(None, 10) is None
    True
    """
    if rank_2019 is None or rank_2025 is None or pd.isna(rank_2019) or pd.isna(rank_2025):
        return None
    return rank_2019 - rank_2025


def summarise_changes(rows: list[dict], top: int = 8) -> dict:
    """What a profile shows of need over time: how many LSOAs 2021 became relatively more and less
    deprived, and those that moved most towards rank 1.

    ``rows`` are ``{code, name, rank_2019, rank_2025, change, how}`` (see
    :func:`assetmap.db.need_change.rank_change_of`).

    >>> s = summarise_changes([dict(code="A", change=500.0), dict(code="B", change=-20.0), dict(code="C", change=0.0)])
    >>> s["deepened"], s["eased"], [r["code"] for r in s["rows"]]
    (1, 1, ['A', 'C', 'B'])
    """
    ordered = sorted(rows, key=lambda r: (-(r["change"] or 0), r["code"]))
    return {
        "count": len(rows),
        "deepened": sum(1 for r in rows if (r["change"] or 0) > 0),
        "eased": sum(1 for r in rows if (r["change"] or 0) < 0),
        "rows": ordered[:top],
        "method": METHOD,
    }
