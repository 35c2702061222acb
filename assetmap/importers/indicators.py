"""English Indices of Deprivation 2019 by LSOA 2011, as published (Files 1, 2 and 6): UTF-8 BOM,
official headers, thousands separators in numbers. Ranks: 1 = most deprived."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from sqlalchemy import text
from sqlalchemy.orm import Session

from assetmap.errors import ImportFileError
from assetmap.importers._bulk import copy_into_temp
from assetmap.importers.report import ImportReport, silent_progress

LSOA_CODE = "LSOA code (2011)"
LSOA_NAME = "LSOA name (2011)"
LAD_CODE = "Local Authority District code (2019)"
LAD_NAME = "Local Authority District name (2019)"
IOD_SOURCE = "English Indices of Deprivation 2019 (MHCLG)"


@dataclass(frozen=True)
class IndicatorSpec:
    key: str
    label: str
    header: str
    higher_is_more_need: bool
    unit: str


def _rank(key, label, header):
    return IndicatorSpec(key, label, header, False, "rank (1 = most deprived)")


def _decile(key, label, header):
    return IndicatorSpec(key, label, header, False, "decile (1 = most deprived 10%)")


FILE1 = [
    _rank("imd_rank", "Index of Multiple Deprivation (rank)", "Index of Multiple Deprivation (IMD) Rank"),
    _decile("imd_decile", "Index of Multiple Deprivation (decile)", "Index of Multiple Deprivation (IMD) Decile"),
]
_DOMAINS = [
    ("imd", "Index of Multiple Deprivation", "Index of Multiple Deprivation (IMD)"),
    ("income", "Income deprivation", "Income"),
    ("employment", "Employment deprivation", "Employment"),
    ("education", "Education, skills and training deprivation", "Education, Skills and Training"),
    ("health", "Health deprivation and disability", "Health Deprivation and Disability"),
    ("crime", "Crime", "Crime"),
    ("barriers", "Barriers to housing and services", "Barriers to Housing and Services"),
    ("living_environment", "Living environment deprivation", "Living Environment"),
]
FILE2 = [
    spec
    for key, label, head in _DOMAINS
    for spec in (
        _rank(f"{key}_rank", f"{label} (rank)", f"{head} Rank (where 1 is most deprived)"),
        _decile(f"{key}_decile", f"{label} (decile)", f"{head} Decile (where 1 is most deprived 10% of LSOAs)"),
    )
]
POPULATION = {
    "population": "Total population: mid 2015 (excluding prisoners)",
    "pop_0_15": "Dependent Children aged 0-15: mid 2015 (excluding prisoners)",
    "pop_16_59": "Population aged 16-59: mid 2015 (excluding prisoners)",
    "pop_60_plus": "Older population aged 60 and over: mid 2015 (excluding prisoners)",
}
FILE6 = [
    IndicatorSpec("population", "Population (mid-2015)", POPULATION["population"], True, "people"),
    IndicatorSpec("share_0_15", "Children aged 0-15 (share of population)", POPULATION["pop_0_15"], True, "%"),
    IndicatorSpec("share_60_plus", "People aged 60 and over (share of population)", POPULATION["pop_60_plus"], True, "%"),
]


def _numbers(series: pd.Series) -> pd.Series:
    return pd.to_numeric(series.astype(str).str.replace(",", "", regex=False).str.strip(), errors="coerce")


def read_iod_csv(path: Path) -> tuple[pd.DataFrame, str]:
    """Read an IoD 2019 CSV and tell which published file it is: "file1", "file2" or "file6"."""
    path = Path(path)
    if not path.exists():
        raise ImportFileError(f"file not found: {path}")
    try:
        df = pd.read_csv(path, dtype=str, encoding="utf-8-sig", keep_default_na=False)
    except (UnicodeDecodeError, pd.errors.ParserError) as exc:
        raise ImportFileError(f"{path.name} is not a readable CSV: {str(exc).splitlines()[0]}") from None
    cols = set(df.columns)
    if LSOA_CODE not in cols:
        raise ImportFileError(f"{path.name}: no '{LSOA_CODE}' column; is this an IoD 2019 file?")
    if POPULATION["population"] in cols:
        return df, "file6"
    if FILE2[2].header in cols:
        return df, "file2"
    if FILE1[0].header in cols:
        return df, "file1"
    raise ImportFileError(f"{path.name}: not IoD 2019 File 1, 2 or 6 (headers not recognised)")


def import_iod(session: Session, path: Path, lad_codes: list[str] | None = None, progress=silent_progress) -> ImportReport:
    """Import IoD 2019 File 1, 2 or 6 for the LSOAs already loaded (others are counted as skipped)."""
    path = Path(path)
    df, kind = read_iod_csv(path)
    report = ImportReport(source=f"IoD 2019 {kind.replace('file', 'File ')} ({path.name})")
    df["line"] = range(2, len(df) + 2)
    if lad_codes:
        df = df[df[LAD_CODE].isin(lad_codes)]
    report.read = len(df)
    known = dict(session.execute(text("SELECT code, id FROM area WHERE level = 'lsoa'")).all())
    in_db = df[LSOA_CODE].isin(known.keys())
    for _ in range(int((~in_db).sum())):
        report.skip("LSOA not loaded (import its boundaries first)")
    df = df[in_db]

    _upsert_lads(session, df)
    session.execute(text("UPDATE area SET lad_code = t.lad FROM (SELECT unnest(CAST(:codes AS text[])) AS code, unnest(CAST(:lads AS text[])) AS lad) t WHERE area.code = t.code AND area.lad_code IS DISTINCT FROM t.lad"),
                    {"codes": df[LSOA_CODE].tolist(), "lads": df[LAD_CODE].tolist()})

    specs = {"file1": FILE1, "file2": FILE2, "file6": FILE6}[kind]
    values = {}
    for spec in specs:
        if spec.header not in df.columns:
            raise ImportFileError(f"{path.name}: missing column '{spec.header}'")
        values[spec.key] = _numbers(df[spec.header])
    if kind == "file6":
        pops = {col: _numbers(df[header]) for col, header in POPULATION.items()}
        total = pops["population"].where(pops["population"] > 0)
        values["share_0_15"] = 100 * pops["pop_0_15"] / total
        values["share_60_plus"] = 100 * pops["pop_60_plus"] / total
        _set_populations(session, df[LSOA_CODE], pops)

    indicator_ids = _upsert_indicators(session, specs)
    rows = []
    bar = progress(total=len(df), desc=report.source)
    for idx, (code, line) in enumerate(zip(df[LSOA_CODE], df["line"])):
        bar.update(1)
        bad = next((spec for spec in specs if pd.isna(values[spec.key].iloc[idx]) and df[spec.header].iloc[idx].strip()), None)
        if bad is not None:  # a broken row is reported and left out whole; the other rows go in
            report.problem(int(line), "not a number", bad.header, df[bad.header].iloc[idx])
            continue
        for spec in specs:
            v = values[spec.key].iloc[idx]
            if not pd.isna(v):
                rows.append((indicator_ids[spec.key], known[code], float(v)))
    bar.close()
    copy_into_temp(session, "tmp_indicator_value", [("indicator_id", "int"), ("area_id", "int"), ("value", "float8")], rows)
    changed = session.execute(
        text(
            """
            WITH up AS (
                INSERT INTO indicator_value (indicator_id, area_id, value)
                SELECT indicator_id, area_id, value FROM tmp_indicator_value
                ON CONFLICT (indicator_id, area_id) DO UPDATE SET value = EXCLUDED.value
                WHERE indicator_value.value IS DISTINCT FROM EXCLUDED.value
                RETURNING area_id, (xmax = 0) AS inserted
            )
            SELECT bool_or(inserted) FROM up GROUP BY area_id
            """
        )
    ).scalars().all()
    # Counted per LSOA row: "inserted" if any of its values is new, else "updated" if any changed.
    report.inserted = sum(1 for f in changed if f)
    report.updated = len(changed) - report.inserted
    report.unchanged = len(df) - len(report.problems) - len(changed)
    return report


def _upsert_lads(session: Session, df: pd.DataFrame) -> None:
    lads = df[[LAD_CODE, LAD_NAME]].drop_duplicates()
    for code, name in lads.itertuples(index=False):
        session.execute(
            text(
                """
                INSERT INTO area (code, name, level, lad_code, source) VALUES (:code, :name, 'lad', :code, :source)
                ON CONFLICT (code) DO UPDATE SET name = EXCLUDED.name WHERE area.name IS DISTINCT FROM EXCLUDED.name
                """
            ),
            {"code": code, "name": name, "source": IOD_SOURCE},
        )


def _set_populations(session: Session, codes: pd.Series, pops: dict[str, pd.Series]) -> None:
    session.execute(
        text(
            """
            UPDATE area SET population = t.population, pop_0_15 = t.p0, pop_16_59 = t.p16, pop_60_plus = t.p60
            FROM (SELECT unnest(CAST(:codes AS text[])) AS code, unnest(CAST(:population AS float8[])) AS population,
                         unnest(CAST(:p0 AS float8[])) AS p0, unnest(CAST(:p16 AS float8[])) AS p16,
                         unnest(CAST(:p60 AS float8[])) AS p60) t
            WHERE area.code = t.code
            """
        ),
        {
            "codes": codes.tolist(),
            "population": [None if pd.isna(v) else float(v) for v in pops["population"]],
            "p0": [None if pd.isna(v) else float(v) for v in pops["pop_0_15"]],
            "p16": [None if pd.isna(v) else float(v) for v in pops["pop_16_59"]],
            "p60": [None if pd.isna(v) else float(v) for v in pops["pop_60_plus"]],
        },
    )


def _upsert_indicators(session: Session, specs: list[IndicatorSpec]) -> dict[str, int]:
    ids = {}
    for spec in specs:
        ids[spec.key] = session.execute(
            text(
                """
                INSERT INTO indicator (key, label, source, year, higher_is_more_need, unit, area_level)
                VALUES (:key, :label, :source, 2019, :hi, :unit, 'lsoa')
                ON CONFLICT (key) DO UPDATE SET label = EXCLUDED.label, source = EXCLUDED.source,
                    higher_is_more_need = EXCLUDED.higher_is_more_need, unit = EXCLUDED.unit
                RETURNING id
                """
            ),
            {"key": spec.key, "label": spec.label, "source": IOD_SOURCE, "hi": spec.higher_is_more_need, "unit": spec.unit},
        ).scalar_one()
    return ids
