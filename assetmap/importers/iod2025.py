"""English Indices of Deprivation 2025 by LSOA 2021, as published: File 1 (IMD) and File 3 (IDACI
and IDAOPI) as the publisher's workbooks, and the IMD and its seven domains (File 7's ranks,
deciles and scores) as a CSV keyed by ``lsoa21_code``. Ranks: 1 = most deprived.

Every indicator is stored with its year (2025) and geography (``lsoa21``) under a key ending in
``_2025``, beside IoD 2019's keys on LSOA 2011 (:mod:`assetmap.importers.indicators`).
"""
from __future__ import annotations

from pathlib import Path

import openpyxl
import pandas as pd
from sqlalchemy.orm import Session

from assetmap.db import areas as db_areas
from assetmap.db.geography import loaded_area_ids
from assetmap.db.indicators import code_vintages, indicator_exists, wrong_vintage_message
from assetmap.db.need_change import CHANGE_KEY, derive_2021_need
from assetmap.errors import ImportFileError
from assetmap.importers.indicators import (
    IndicatorSpec,
    _numbers,
    _store_values,
    _upsert_indicators,
    _upsert_lads,
)
from assetmap.importers.report import ImportReport, silent_progress

SOURCE = "English Indices of Deprivation 2025 (MHCLG)"
YEAR, LEVEL = 2025, "lsoa21"
LSOA_CODE = "LSOA code (2021)"
LAD_CODE = "Local Authority District code (2024)"
LAD_NAME = "Local Authority District name (2024)"
DOMAINS_CODE = "lsoa21_code"
RANK_UNIT, DECILE_UNIT = "rank (1 = most deprived)", "decile (1 = most deprived 10%)"

# (key stem, label, File 1/3 header stem, domains CSV column stem)
INDICES = [
    ("imd", "Index of Multiple Deprivation", "Index of Multiple Deprivation (IMD)", "IMD"),
    ("income", "Income deprivation", None, "Income"),
    ("employment", "Employment deprivation", None, "Employment"),
    ("education", "Education, skills and training deprivation", None, "Education"),
    ("health", "Health deprivation and disability", None, "Health"),
    ("crime", "Crime", None, "Crime"),
    ("barriers", "Barriers to housing and services", None, "Housing_and_Services"),
    ("living_environment", "Living environment deprivation", None, "Environment"),
    ("idaci", "Income deprivation affecting children (IDACI)",
     "Income Deprivation Affecting Children Index (IDACI)", None),
    ("idaopi", "Income deprivation affecting older people (IDAOPI)",
     "Income Deprivation Affecting Older People (IDAOPI)", None),
]


def key(stem: str, measure: str) -> str:
    """The indicator key of an IoD 2025 index and measure.

    >>> key("imd", "rank")
    'imd_rank_2025'
    """
    return f"{stem}_{measure}_{YEAR}"


def _spec(stem: str, label: str, measure: str, header: str) -> IndicatorSpec:
    unit = {"rank": RANK_UNIT, "decile": DECILE_UNIT, "score": "score (higher = more deprived)"}[measure]
    return IndicatorSpec(key(stem, measure), f"{label} 2025 ({measure})", header, measure == "score", unit)


def _workbook_frame(path: Path) -> pd.DataFrame:
    """The data sheet of an IoD 2025 workbook (the one whose first row names the LSOA 2021 code),
    as text cells, with each row's spreadsheet row number in ``line``."""
    try:
        wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises zipfile and XML errors alike for a file that is not a workbook
        raise ImportFileError(f"cannot read {path.name} as an Excel workbook: {str(exc).splitlines()[0]}") from None
    try:
        for ws in wb.worksheets:
            rows = ws.iter_rows(values_only=True)
            header = next(rows, None)
            if not header or LSOA_CODE not in header:
                continue
            columns = [str(c).strip() if c is not None else "" for c in header]
            records = [["" if v is None else str(v) for v in r[:len(columns)]] for r in rows if r and any(r)]
            df = pd.DataFrame(records, columns=columns)
            df["line"] = range(2, len(df) + 2)
            return df
    finally:
        wb.close()
    raise ImportFileError(f"{path.name}: no sheet with a '{LSOA_CODE}' column; is this an IoD 2025 workbook?")


def _header(columns, stem: str, measure: str) -> str | None:
    """The published header starting "<stem> Rank" / "<stem> Decile" (File 1 truncates the decile's)."""
    want = f"{stem} {measure.capitalize()}"
    return next((c for c in columns if c.startswith(want)), None)


def is_iod2025_file(path: Path) -> bool:
    """Whether the file is an IoD 2025 workbook (.xlsx) or the domains CSV (``lsoa21_code`` and
    ``IMD_rank`` in its header)."""
    path = Path(path)
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        return True
    try:
        with open(path, encoding="utf-8-sig", errors="replace") as f:
            header = f.readline().strip().split(",")
    except OSError:
        return False
    return DOMAINS_CODE in header and "IMD_rank" in header


def read_iod2025(path: Path) -> tuple[pd.DataFrame, str, list[IndicatorSpec]]:
    """Read an IoD 2025 file and tell which: ``file1``, ``file3`` (workbooks) or ``domains`` (CSV).

    Returns the frame (text cells and ``line``), the kind, and the indicators it holds, each
    spec's ``header`` naming its column. The code column is renamed ``code``.
    """
    path = Path(path)
    if not path.exists():
        raise ImportFileError(f"file not found: {path}")
    specs: list[IndicatorSpec] = []
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        df = _workbook_frame(path)
        for stem, label, head, _ in INDICES:
            if head is None:
                continue
            for measure in ("rank", "decile"):
                col = _header(df.columns, head, measure)
                if col is not None:
                    specs.append(_spec(stem, label, measure, col))
        if not specs:
            raise ImportFileError(f"{path.name}: no IMD, IDACI or IDAOPI rank or decile column found")
        kind = "file3" if any(s.key.startswith("idaci") for s in specs) else "file1"
        df = df.rename(columns={LSOA_CODE: "code"})
        return df, kind, specs
    try:
        df = pd.read_csv(path, dtype=str, encoding="utf-8-sig", keep_default_na=False)
    except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise ImportFileError(f"{path.name} is not a readable CSV: {str(exc).splitlines()[0]}") from None
    if DOMAINS_CODE not in df.columns:
        raise ImportFileError(f"{path.name}: no '{DOMAINS_CODE}' column; is this the IoD 2025 domains file?")
    for stem, label, _, col in INDICES:
        if col is None:
            continue
        for measure in ("rank", "decile", "score"):
            if f"{col}_{measure}" in df.columns:
                specs.append(_spec(stem, label, measure, f"{col}_{measure}"))
    if not specs:
        raise ImportFileError(f"{path.name}: no <domain>_rank/_decile/_score column found")
    df["line"] = range(2, len(df) + 2)
    return df.rename(columns={DOMAINS_CODE: "code"}), "domains", specs


def import_iod2025(session: Session, path: Path, lad_codes: list[str] | None = None,
                   progress=silent_progress) -> ImportReport:
    """Import IoD 2025 File 1, File 3 or the domains CSV for the LSOAs 2021 already loaded.

    Rows of other LSOAs are counted as skipped ("LSOA 2021 not loaded"); with ``lad_codes``, only
    those local authorities' rows are read (the workbooks name each row's authority; the domains
    CSV does not, so its rows are kept to the loaded LSOAs of those authorities).

    Raises
    ------
    ImportFileError
        An unreadable file, or a file whose codes are mostly LSOA 2011 codes.
    """
    path = Path(path)
    df, kind, specs = read_iod2025(path)
    label = {"file1": "File 1", "file3": "File 3", "domains": "domains (File 7)"}[kind]
    report = ImportReport(source=f"IoD 2025 {label} ({path.name})")
    df["code"] = df["code"].str.strip().str.upper()
    if lad_codes and LAD_CODE in df.columns:
        df = df[df[LAD_CODE].isin(lad_codes)]
    report.read = len(df)
    known = loaded_area_ids(session, "lsoa21", lad_codes)
    vintages = code_vintages(session, df["code"])
    if vintages.only_2011 > vintages.only_2021:
        raise ImportFileError(f"{path.name}: " + wrong_vintage_message(vintages, "lsoa21"))
    in_db = df["code"].isin(known.keys())
    if lad_codes and LAD_CODE not in df.columns:
        report.read = int(in_db.sum())  # the rows of the authorities asked for
    else:
        for _ in range(int((~in_db).sum())):
            report.skip("LSOA 2021 not loaded (import its boundaries first)")
    df = df[in_db].reset_index(drop=True)
    if LAD_CODE in df.columns:
        _upsert_lads(session, df, LAD_CODE, LAD_NAME, SOURCE)
        db_areas.set_lad_codes(session, "lsoa21", df["code"].tolist(), df[LAD_CODE].tolist())
    values = {spec.key: _numbers(df[spec.header]) for spec in specs}
    ids = _upsert_indicators(session, specs, SOURCE, YEAR, LEVEL)
    _store_values(session, report, df, "code", specs, values, known, ids, progress)
    if kind == "file1" or not _has_rank_change(session):
        derive_2021_need(session)  # File 1 is the IMD's own file; the others carry the same ranks
    return report


def _has_rank_change(session: Session) -> bool:
    return indicator_exists(session, CHANGE_KEY)
