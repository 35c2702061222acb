"""What the 2021 geography gets from the 2011 one through the ONS lookup: each LSOA 2021's IMD 2019
rank and its change to 2025 (an indicator, ``imd_rank_change_2019_2025``), and estimated age groups
(Census 2021 totals times the IoD 2019 age shares). The rules are in
:mod:`assetmap.domain.need_change`; this module reads and writes them.

Run after any of their inputs is imported (the importers call :func:`derive_2021_need`); it is
idempotent, and does nothing until the lookup and both IoD vintages are loaded.
"""
from __future__ import annotations

import pandas as pd
from sqlalchemy import text
from sqlalchemy.orm import Session

from assetmap.db.bulk import copy_into_temp
from assetmap.domain import need_change

__all__ = ["AGE_METHOD", "CHANGE_KEY", "RANK_2019_KEY", "derive_2021_need", "rank_change_of"]

CHANGE_KEY = "imd_rank_change_2019_2025"
RANK_2019_KEY = "imd_rank_2019_on_2021"
AGE_METHOD = ("Estimate: Census 2021 usual residents times the mid-2015 age shares of IoD 2019 File 6 for the "
              "2011 LSOA(s) it comes from (ONS 2011-2021 lookup; population-weighted where several)")
_SOURCE = "Derived from IoD 2019 and IoD 2025 (MHCLG) through the ONS LSOA 2011-2021 lookup"


def _links(session: Session) -> pd.DataFrame:
    rows = session.execute(text(
        """
        SELECT k.lsoa21_code, k.change_code, r.value AS rank_2019, l.population,
               l.pop_0_15, l.pop_60_plus
        FROM lsoa_lookup k
        JOIN area n ON n.code = k.lsoa21_code AND n.level = 'lsoa21'
        LEFT JOIN area l ON l.code = k.lsoa11_code AND l.level = 'lsoa'
        LEFT JOIN indicator i ON i.key = 'imd_rank'
        LEFT JOIN indicator_value r ON r.indicator_id = i.id AND r.area_id = l.id
        """
    )).all()
    return pd.DataFrame.from_records(list(map(tuple, rows)), columns=[
        "lsoa21_code", "change_code", "rank_2019", "population", "pop_0_15", "pop_60_plus"])


def _indicator(session: Session, key: str, label: str, hi: bool, unit: str) -> int:
    return session.execute(text(
        """
        INSERT INTO indicator (key, label, source, year, higher_is_more_need, unit, area_level, method)
        VALUES (:key, :label, :source, 2025, :hi, :unit, 'lsoa21', :method)
        ON CONFLICT (key) DO UPDATE SET label = EXCLUDED.label, source = EXCLUDED.source, year = EXCLUDED.year,
            higher_is_more_need = EXCLUDED.higher_is_more_need, unit = EXCLUDED.unit,
            area_level = EXCLUDED.area_level, method = EXCLUDED.method
        RETURNING id
        """
    ), {"key": key, "label": label, "source": _SOURCE, "hi": hi, "unit": unit,
        "method": need_change.METHOD}).scalar_one()


def derive_2021_need(session: Session) -> dict:
    """Write the rank change indicator and the estimated age groups of every LSOA 2021 whose 2011
    parents are loaded. Returns counts: ``{"rank_change": n, "age_groups": m}``."""
    links = _links(session)
    if links.empty:
        return {"rank_change": 0, "age_groups": 0}
    done = {"rank_change": 0, "age_groups": 0}

    carried = need_change.carry_ranks(links[["lsoa21_code", "change_code", "rank_2019", "population"]])
    rank25 = dict(session.execute(text(
        """
        SELECT a.code, v.value FROM indicator_value v JOIN indicator i ON i.id = v.indicator_id
        JOIN area a ON a.id = v.area_id WHERE i.key = 'imd_rank_2025' AND a.level = 'lsoa21'
        """
    )).all())
    ids = dict(session.execute(text("SELECT code, id FROM area WHERE level = 'lsoa21'")).all())
    if carried["rank_2019"].notna().any():
        change_id = _indicator(session, CHANGE_KEY,
                               "Change in IMD rank, 2019 to 2025 (positive: relatively more deprived)",
                               True, "ranks (2019 rank minus 2025 rank)")
        rank_id = _indicator(session, RANK_2019_KEY, "Index of Multiple Deprivation 2019 (rank, on 2021 LSOAs)",
                             False, "rank (1 = most deprived)")
        frame = carried[carried["rank_2019"].notna() & carried.index.isin(list(ids))].copy()
        frame["area_id"] = [ids[c] for c in frame.index]
        frame["rank_2025"] = pd.Series(rank25, dtype=float).reindex(frame.index)
        frame["change"] = frame["rank_2019"] - frame["rank_2025"]  # as need_change.rank_change, for every row
        rows = [(rank_id, int(a), float(r)) for a, r in zip(frame["area_id"], frame["rank_2019"])]
        changed = frame[frame["change"].notna()]
        rows += [(change_id, int(a), float(c)) for a, c in zip(changed["area_id"], changed["change"])]
        done["rank_change"] = len(changed)
        _replace_values(session, [change_id, rank_id], rows)

    ages = _age_shares(links)
    session.execute(text(
        """
        UPDATE area SET pop_0_15 = round(CAST(area.population * t.s0 AS numeric), 1),
                        pop_60_plus = round(CAST(area.population * t.s60 AS numeric), 1),
                        pop_16_59 = round(CAST(area.population * (1 - t.s0 - t.s60) AS numeric), 1),
                        pop_method = :method
        FROM (SELECT unnest(CAST(:codes AS text[])) AS code, unnest(CAST(:s0 AS float8[])) AS s0,
                     unnest(CAST(:s60 AS float8[])) AS s60) t
        WHERE area.code = t.code AND area.level = 'lsoa21' AND area.population IS NOT NULL
        """
    ), {"codes": ages.index.tolist(), "s0": ages["s0"].tolist(), "s60": ages["s60"].tolist(),
        "method": AGE_METHOD})
    done["age_groups"] = len(ages)
    return done


def _age_shares(links: pd.DataFrame) -> pd.DataFrame:
    """Each LSOA 2021's share of children and of people 60+, from its 2011 parents (population-weighted)."""
    df = links.dropna(subset=["population", "pop_0_15", "pop_60_plus"])
    df = df[df["population"] > 0]
    g = df.groupby("lsoa21_code")
    out = pd.DataFrame({"s0": g["pop_0_15"].sum() / g["population"].sum(),
                        "s60": g["pop_60_plus"].sum() / g["population"].sum()})
    return out.dropna()


def _replace_values(session: Session, indicator_ids: list[int], rows: list[tuple]) -> None:
    session.execute(text("DELETE FROM indicator_value WHERE indicator_id = ANY(:ids)"), {"ids": indicator_ids})
    copy_into_temp(session, "tmp_need_change", [("indicator_id", "int"), ("area_id", "int"), ("value", "float8")], rows)
    session.execute(text(
        "INSERT INTO indicator_value (indicator_id, area_id, value) "
        "SELECT indicator_id, area_id, value FROM tmp_need_change"
    ))


def rank_change_of(session: Session, codes: list[str]) -> list[dict]:
    """For LSOAs 2021: ``code, name, rank_2019, rank_2025, change, change_code, how`` (how: unchanged,
    split, merged or irregular since 2011), by code; LSOAs without both ranks are left out."""
    rows = session.execute(text(
        """
        SELECT a.code, a.name,
               max(v.value) FILTER (WHERE i.key = :r19) AS rank_2019,
               max(v.value) FILTER (WHERE i.key = 'imd_rank_2025') AS rank_2025,
               max(v.value) FILTER (WHERE i.key = :chg) AS change,
               (SELECT CASE WHEN count(DISTINCT k.change_code) = 1 THEN min(k.change_code)
                            WHEN bool_or(k.change_code = 'M') THEN 'M' ELSE 'X' END
                FROM lsoa_lookup k WHERE k.lsoa21_code = a.code) AS change_code
        FROM area a
        JOIN indicator_value v ON v.area_id = a.id
        JOIN indicator i ON i.id = v.indicator_id AND i.key IN (:r19, 'imd_rank_2025', :chg)
        WHERE a.level = 'lsoa21' AND a.code = ANY(CAST(:codes AS text[]))
        GROUP BY a.id, a.code, a.name ORDER BY a.code
        """
    ), {"codes": list(codes), "r19": RANK_2019_KEY, "chg": CHANGE_KEY}).mappings().all()
    return [dict(r, how=need_change.CHANGE_LABELS.get(r["change_code"])) for r in rows
            if r["rank_2019"] is not None and r["rank_2025"] is not None]
