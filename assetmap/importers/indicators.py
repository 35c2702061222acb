"""English Indices of Deprivation 2019 by LSOA 2011, as published (Files 1, 2 and 6): UTF-8 BOM,
official headers, thousands separators in numbers. Ranks: 1 = most deprived."""
from __future__ import annotations

import io
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from assetmap.db import areas as db_areas
from assetmap.db import indicators as db_indicators
from assetmap.db.bulk import copy_into_temp
from assetmap.db.gap_runs import delete_runs_for_indicator
from assetmap.db.geography import loaded_area_ids
from assetmap.db.indicators import area_ids_by_code, code_vintages, wrong_vintage_message
from assetmap.errors import ImportFileError
from assetmap.importers.report import ImportReport, silent_progress
from assetmap.importers.upload_files import decode_text

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
    IndicatorSpec("share_60_plus", "People aged 60 and over (share of population)", POPULATION["pop_60_plus"], True,
                  "%"),
]


def _numbers(series: pd.Series) -> pd.Series:
    return pd.to_numeric(series.astype(str).str.replace(",", "", regex=False).str.strip(), errors="coerce")


def is_iod_csv(path: Path) -> bool:
    """Whether the CSV's header names the IoD 2019 LSOA code column (read with either encoding)."""
    try:
        with open(path, encoding="utf-8-sig", errors="replace") as f:
            header = f.readline()
    except OSError:
        return False
    return LSOA_CODE in header


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


def import_iod(session: Session, path: Path, lad_codes: list[str] | None = None,
               progress=silent_progress) -> ImportReport:
    """Import IoD 2019 File 1, 2 or 6 for the LSOAs already loaded (others are counted as skipped)."""
    path = Path(path)
    df, kind = read_iod_csv(path)
    report = ImportReport(source=f"IoD 2019 {kind.replace('file', 'File ')} ({path.name})")
    df["line"] = range(2, len(df) + 2)
    if lad_codes:
        df = df[df[LAD_CODE].isin(lad_codes)]
    report.read = len(df)
    known = loaded_area_ids(session, "lsoa")
    in_db = df[LSOA_CODE].isin(known.keys())
    for _ in range(int((~in_db).sum())):
        report.skip("LSOA not loaded (import its boundaries first)")
    df = df[in_db]

    _upsert_lads(session, df)
    db_areas.set_lad_codes(session, "lsoa", df[LSOA_CODE].tolist(), df[LAD_CODE].tolist())

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

    indicator_ids = _upsert_indicators(session, specs, IOD_SOURCE, 2019, "lsoa")
    _store_values(session, report, df, LSOA_CODE, specs, values, known, indicator_ids, progress)
    if kind in ("file1", "file6"):  # the IMD rank and the age groups the 2021 geography carries over
        from assetmap.db.need_change import derive_2021_need

        derive_2021_need(session)
    return report


def _store_values(session: Session, report: ImportReport, df: pd.DataFrame, code_col: str,
                  specs: list[IndicatorSpec], values: dict[str, pd.Series], known: dict[str, int],
                  indicator_ids: dict[str, int], progress=silent_progress) -> None:
    """Write one file's indicator values (``df`` has a ``line`` column), counting per area row:
    "inserted" if any of its values is new, else "updated" if any changed. A row with a cell that
    is not a number is reported and left out whole; the other rows go in."""
    bar = progress(total=len(df), desc=report.source)
    problems_before = len(report.problems)
    # a cell that holds something but not a number, per spec (columns, not rows: files are long)
    bad = {spec.key: (values[spec.key].isna() & ~df[spec.header].astype(str).str.strip().isin(["", "None", "nan"]))
           .to_numpy() for spec in specs}
    broken = np.zeros(len(df), dtype=bool)
    for spec in specs:
        broken |= bad[spec.key]
    for idx in np.flatnonzero(broken):
        first = next(spec for spec in specs if bad[spec.key][idx])
        report.problem(int(df["line"].iloc[idx]), "not a number", first.header, df[first.header].iloc[idx])
    area_ids = df[code_col].map(known).to_numpy()
    rows = []
    for spec in specs:
        v = values[spec.key].to_numpy(dtype=float)
        keep = ~broken & ~np.isnan(v)
        rows.extend(zip([indicator_ids[spec.key]] * int(keep.sum()), area_ids[keep].astype(int).tolist(),
                        v[keep].tolist()))
    bar.update(len(df))
    bar.close()
    copy_into_temp(session, "tmp_indicator_value",
                   [("indicator_id", "int"), ("area_id", "int"), ("value", "float8")], rows)
    changed = db_indicators.store_values_from_temp(session)
    report.inserted = sum(1 for f in changed if f)
    report.updated = len(changed) - report.inserted
    report.unchanged = len(df) - (len(report.problems) - problems_before) - len(changed)


def _upsert_lads(session: Session, df: pd.DataFrame, code_col: str = LAD_CODE, name_col: str = LAD_NAME,
                source: str = IOD_SOURCE) -> None:
    lads = df[[code_col, name_col]].drop_duplicates()
    for code, name in lads.itertuples(index=False):
        db_areas.upsert_lad(session, code, name, source)


def _set_populations(session: Session, codes: pd.Series, pops: dict[str, pd.Series]) -> None:
    db_areas.set_lsoa_populations(
        session,
        codes.tolist(),
        [None if pd.isna(v) else float(v) for v in pops["population"]],
        [None if pd.isna(v) else float(v) for v in pops["pop_0_15"]],
        [None if pd.isna(v) else float(v) for v in pops["pop_16_59"]],
        [None if pd.isna(v) else float(v) for v in pops["pop_60_plus"]],
    )


def _upsert_indicators(session: Session, specs: list[IndicatorSpec], source: str, year: int, level: str,
                       method: str | None = None) -> dict[str, int]:
    """The indicators' rows, each with its year and geography (``area_level``); ``{key: id}``."""
    ids = {}
    for spec in specs:
        ids[spec.key] = db_indicators.upsert_indicator(session, spec.key, spec.label, source, year,
                                                       spec.higher_is_more_need, spec.unit, level, method)
    return ids


# --- any indicator keyed by LSOA, MSOA or ward code ------------------------------------------
#: Area levels an uploaded indicator may be keyed by, and what their codes are called.
AREA_LEVELS = {"lsoa": "LSOA", "msoa": "MSOA", "ward": "ward",
               "lsoa21": "LSOA 2021", "msoa21": "MSOA 2021", "ward24": "ward (2024)"}
#: The levels of each geography's vintage (migration 0012): a file is read on one of them.
VINTAGE_LEVELS = {2011: ("lsoa", "msoa", "ward"), 2021: ("lsoa21", "msoa21", "ward24")}
KEY_PATTERN = re.compile(r"^[a-z][a-z0-9_]{1,59}$")
_CODE = re.compile(r"^[EWSN]\d{8}$")


def read_area_csv(path: Path) -> tuple[pd.DataFrame, str]:
    """Read a CSV as text cells: UTF-8 (with or without a BOM), else Latin-1. Returns the frame
    and the encoding used."""
    path = Path(path)
    if not path.exists():
        raise ImportFileError(f"file not found: {path}")
    data = path.read_bytes()
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in data:
        # UTF-16, or NUL bytes that no text column stores: the upload reader's rule decides
        data, _encoding, _notes = decode_text(data)
        data = data.encode("utf-8")
    for encoding in ("utf-8-sig", "latin-1"):
        try:
            df = pd.read_csv(io.BytesIO(data), dtype=str, encoding=encoding, keep_default_na=False,
                             skipinitialspace=True)
        except UnicodeDecodeError:
            continue
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise ImportFileError(f"{path.name} is not a readable CSV: {str(exc).splitlines()[0]}") from None
        df.columns = [str(c).strip() for c in df.columns]
        return df, encoding
    raise ImportFileError(f"{path.name} is not a readable CSV")  # latin-1 decodes any bytes: not reached


def _pick_columns(df: pd.DataFrame, name: str, code_column: str | None, value_column: str | None) -> tuple[str, str]:
    columns = list(df.columns)
    for given in (code_column, value_column):
        if given is not None and given not in columns:
            raise ImportFileError(f"{name}: no column {given!r}; the columns are: {', '.join(columns)}")
    if code_column is None:
        # the column where most cells look like a GSS area code (E01..., E02..., E05...)
        share = {c: df[c].str.strip().str.match(_CODE).mean() if len(df) else 0.0 for c in columns}
        best = max(columns, key=lambda c: share[c]) if columns else None
        if best is None or share[best] < 0.5:
            raise ImportFileError(f"{name}: no column of LSOA, MSOA or ward codes found; name it with code_column")
        code_column = best
    if value_column is None:
        others = [c for c in columns if c != code_column]
        numeric = {c: _numbers(df[c]).notna().mean() if len(df) else 0.0 for c in others}
        candidates = [c for c in others if numeric[c] >= 0.5]
        if len(others) == 1:
            value_column = others[0]
        elif len(candidates) == 1:
            value_column = candidates[0]
        else:
            raise ImportFileError(f"{name}: say which column holds the values (value_column); "
                                  f"the columns are: {', '.join(columns)}")
    if value_column == code_column:
        raise ImportFileError(f"{name}: the code and value columns must differ")
    return code_column, value_column


def import_area_csv(session: Session, path: Path, key: str, label: str, higher_is_more_need: bool,
                    code_column: str | None = None, value_column: str | None = None,
                    source: str | None = None, vintage: int | None = None) -> ImportReport:
    """Import any indicator from a CSV keyed by LSOA, MSOA or ward code.

    The file may carry a UTF-8 BOM or be Latin-1, and numbers may have thousands separators.
    Each row is checked: an unknown area code, a code of another level than the file's, a
    repeated code, or a value that is empty or not a number is reported with its line number
    (header = line 1) and left out; the other rows go in. The level is the one most known codes
    have. The indicator then replaces any earlier upload under ``key`` (its values, label and
    direction), and current gap runs using it are dropped, to be recomputed on the next visit.

    The gap analysis reads an MSOA or ward indicator at each LSOA whose representative point
    lies in that MSOA or ward (:func:`assetmap.db.indicators.lsoa_values`).

    Parameters
    ----------
    session : Session
    path : Path
    key : str
        Identifier for queries: lower case letters, digits and ``_``, 2-60 long, starting with a
        letter; must not be one of the English Indices of Deprivation's keys.
    label : str
        Shown in the need list.
    higher_is_more_need : bool
        False when a lower value means more need (a rank where 1 is most deprived).
    code_column, value_column : str, optional
        Column names; by default the column of area codes and the one numeric column besides.
    source : str, optional
        Where the data came from (default: the file's name).
    vintage : {2011, 2021}, optional
        The geography the codes are of; by default the one more of them are loaded in (2011 on a
        tie: an unchanged LSOA has the same code in both). Codes of the other vintage only are
        reported by line and told so in ``report.notes``, with counts.

    Returns
    -------
    ImportReport
        ``read`` rows, ``inserted``/``updated``/``unchanged`` values, ``problems`` by line.
        ``report.level`` is the area level of the codes (``None`` if no code was known).

    Raises
    ------
    ImportFileError
        An unreadable file, a missing or ambiguous column, a bad key or label, a key held by
        an IoD indicator, or no row that could be imported.
    """
    path = Path(path)
    key = (key or "").strip()
    label = (label or "").strip()
    if not KEY_PATTERN.match(key):
        raise ImportFileError(f"key {key!r} must be 2-60 lower-case letters, digits or _, starting with a letter")
    if not label or len(label) > 200:
        raise ImportFileError("label must be 1-200 characters")
    existing = db_indicators.indicator_id_and_source(session, key)
    if existing is not None and existing[1] == IOD_SOURCE:
        raise ImportFileError(f"key {key!r} is an English Indices of Deprivation indicator; choose another key")

    df, encoding = read_area_csv(path)
    code_column, value_column = _pick_columns(df, path.name, code_column, value_column)
    report = ImportReport(source=f"{label} ({path.name})")
    report.read = len(df)
    codes = df[code_column].str.strip().str.upper()
    raw = df[value_column].str.strip()
    values = _numbers(raw)
    by_vintage = {v: area_ids_by_code(session, levels) for v, levels in VINTAGE_LEVELS.items()}
    if vintage is None:
        hits = {v: int(codes.isin(list(k)).sum()) for v, k in by_vintage.items()}
        # a tie means every code names an area in both (unchanged LSOAs, wards kept through a
        # review): read it as 2011, as uploads always were
        vintage = 2021 if hits[2021] > hits[2011] else 2011
    elif vintage not in VINTAGE_LEVELS:
        raise ImportFileError(f"vintage must be 2011 or 2021, not {vintage!r}")
    known = by_vintage[vintage]
    other = by_vintage[2011 if vintage == 2021 else 2021]
    vintages = code_vintages(session, codes)
    note = wrong_vintage_message(vintages, "lsoa21" if vintage == 2021 else "lsoa")
    if note:
        report.notes.append(note)
    levels = pd.Series([known[c][1] if c in known else None for c in codes], dtype=object)
    level = levels.dropna().mode().sort_values().iloc[0] if levels.notna().any() else None

    rows: dict[int, float] = {}
    for i, (code, value, cell) in enumerate(zip(codes, values, raw, strict=True)):
        line = i + 2
        if not code:
            report.problem(line, "no area code", code_column, code)
        elif code not in known and code in other:
            report.problem(line, f"a {2011 if vintage == 2021 else 2021} code: not an area of the {vintage} geography",
                           code_column, code)
        elif code not in known:
            report.problem(line, "unknown area code (not a loaded LSOA, MSOA or ward)", code_column, code)
        elif known[code][1] != level:
            report.problem(line, f"a {AREA_LEVELS[known[code][1]]} code in a file of {AREA_LEVELS[level]} codes",
                           code_column, code)
        elif not cell:
            report.problem(line, "no value", value_column, cell)
        elif pd.isna(value) or not np.isfinite(value):
            report.problem(line, "not a number", value_column, cell)
        elif known[code][0] in rows:
            report.problem(line, "area code repeated (the first row is kept)", code_column, code)
        else:
            rows[known[code][0]] = float(value)
    report.level = level
    report.encoding = "UTF-8" if encoding == "utf-8-sig" else "Latin-1"
    if not rows:
        raise ImportFileError(f"{path.name}: no row could be imported. " + "; ".join(
            report.notes + [str(p) for p in report.problems[:5]]))

    indicator_id = db_indicators.upsert_uploaded_indicator(session, key, label,
                                                           (source or f"Uploaded: {path.name}")[:200],
                                                           bool(higher_is_more_need), level)
    before = db_indicators.indicator_values(session, indicator_id)
    report.inserted = sum(1 for a in rows if a not in before)
    report.updated = sum(1 for a, v in rows.items() if a in before and before[a] != v)
    report.unchanged = len(rows) - report.inserted - report.updated
    db_indicators.delete_indicator_values(session, indicator_id)
    copy_into_temp(session, "tmp_area_indicator_value", [("area_id", "int"), ("value", "float8")],
                   sorted(rows.items()))
    db_indicators.insert_indicator_values_from_temp(session, indicator_id)
    # runs scored with the old values are stale; the next visit recomputes them
    delete_runs_for_indicator(session, key)
    return report
