"""The 2021 geography's reference tables, as the ONS and the Commons Library publish them: Census
2021 population per LSOA 2021, the LSOA 2011 -> 2021 lookup, LSOA 2021 -> ward 2024, the 2021
Rural-Urban Classification, and the MSOA names (2011 and 2021). Each returns the usual
:class:`~assetmap.importers.report.ImportReport` (lines counted with the header as line 1).

What they write is described in migration 0012: ``area.population`` (lsoa21), ``lsoa_lookup``,
``area.ward_code``, ``area.ruc21_code``/``rural``, ``msoa_name`` and the readable ``area.name``.
"""
from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
from sqlalchemy.orm import Session

from assetmap.db import areas as db_areas
from assetmap.db import geography as db_geography
from assetmap.db.bulk import copy_into_temp
from assetmap.db.need_change import derive_2021_need
from assetmap.errors import ImportFileError
from assetmap.importers.indicators import _numbers, read_area_csv
from assetmap.importers.report import ImportReport, silent_progress

_LSOA = re.compile(r"^[EW]01\d{6}$")
CHANGE_CODES = ("U", "S", "M", "X")


def _read(path: Path, required: list[str]) -> pd.DataFrame:
    path = Path(path)
    df, _ = read_area_csv(path)
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise ImportFileError(f"{path.name}: no column {', '.join(missing)}; the columns are: {', '.join(df.columns)}")
    for c in required:
        df[c] = df[c].str.strip()
    df["line"] = range(2, len(df) + 2)
    return df


def _loaded(session: Session, level: str, lad_codes: list[str] | None = None) -> dict[str, int]:
    return db_geography.loaded_area_ids(session, level, lad_codes)


def _countries(known: dict[str, int]) -> set[str]:
    """The countries (first letter of the code: E England, W Wales) of the loaded areas."""
    return {code[0] for code in known}


def _update_areas(session: Session, report: ImportReport, level: str, columns: list[tuple[str, str]],
                  rows: list[tuple]) -> None:
    """Set ``columns`` of the areas of ``level`` named by code in ``rows`` (code first); count
    inserted (a value where there was none), updated and unchanged."""
    copy_into_temp(session, "tmp_area_update", [("code", "varchar(20)"), *columns], rows)
    names = [c for c, _ in columns]
    result = db_geography.update_areas_from_temp(session, level, names)
    report.inserted = sum(1 for e in result if e)
    report.updated = len(result) - report.inserted
    report.unchanged = len(rows) - len(result)


def import_census_population(session: Session, path: Path, lad_codes: list[str] | None = None,
                             progress=silent_progress) -> ImportReport:
    """Census 2021 usual residents per LSOA 2021 (``lsoa21_code, total_residents``) into
    ``area.population`` of the loaded LSOAs 2021 (other rows are skipped, not reported)."""
    path = Path(path)
    df = _read(path, ["lsoa21_code", "total_residents"])
    report = ImportReport(source=f"Census 2021 population ({path.name})")
    known = _loaded(session, "lsoa21", lad_codes)
    values = _numbers(df["total_residents"])
    rows = []
    for code, value, cell, line in zip(df["lsoa21_code"], values, df["total_residents"], df["line"]):
        if code not in known:
            continue  # England and Wales: only the loaded LSOAs are read
        report.read += 1
        if pd.isna(value) or value < 0:
            report.problem(int(line), "not a number of people", "total_residents", cell)
            continue
        rows.append((code, float(value)))
    _update_areas(session, report, "lsoa21", [("population", "float8")], rows)
    derive_2021_need(session)
    return report


def import_lsoa_lookup(session: Session, path: Path, lad_codes: list[str] | None = None,
                       progress=silent_progress) -> ImportReport:
    """The ONS LSOA 2011 -> 2021 lookup into ``lsoa_lookup`` (replacing the rows of the authorities read).

    With ``lad_codes`` only their rows (``ltla22_code``) are read. A row whose 2011 code is not a
    loaded LSOA 2011, or whose 2021 code is not a loaded LSOA 2021, is reported by line and left
    out (when that geography is loaded at all), as is an unknown change code. Rows of a country
    with no LSOA loaded (Wales, when England is) are skipped, not reported.
    """
    path = Path(path)
    df = _read(path, ["lsoa11_code", "change_code", "lsoa21_code"])
    lad_col = next((c for c in df.columns if re.match(r"^ltla\d\d_code$|^lad\d\d_?cd$", c, re.I)), None)
    report = ImportReport(source=f"LSOA 2011 to 2021 lookup ({path.name})")
    if lad_codes and lad_col:
        df = df[df[lad_col].str.strip().isin(lad_codes)]
    report.read = len(df)
    known11, known21 = _loaded(session, "lsoa"), _loaded(session, "lsoa21")
    countries = _countries(known11) | _countries(known21)
    rows = []
    for rec in df.itertuples(index=False):
        line, change = int(rec.line), rec.change_code.upper()
        c11, c21 = rec.lsoa11_code.upper(), rec.lsoa21_code.upper()
        if change not in CHANGE_CODES:
            report.problem(line, "change code not U, S, M or X", "change_code", rec.change_code)
        elif not _LSOA.match(c11):
            report.problem(line, "not an LSOA code", "lsoa11_code", rec.lsoa11_code)
        elif not _LSOA.match(c21):
            report.problem(line, "not an LSOA code", "lsoa21_code", rec.lsoa21_code)
        elif countries and c21[:1] not in countries:
            report.skip("LSOA of a country not loaded")  # the ONS tables cover England and Wales
        elif known11 and c11 not in known11:
            report.problem(line, "unknown LSOA 2011 code (not a loaded LSOA 2011)", "lsoa11_code", c11)
        elif known21 and c21 not in known21:
            report.problem(line, "unknown LSOA 2021 code (not a loaded LSOA 2021)", "lsoa21_code", c21)
        else:
            rows.append((c11, c21, change, getattr(rec, lad_col).strip() if lad_col else None))
    rows = list(dict.fromkeys(rows))
    before = db_geography.lsoa_lookup_change_codes(session, [r[1] for r in rows])
    report.inserted = sum(1 for r in rows if (r[0], r[1]) not in before)
    report.updated = sum(1 for r in rows if (r[0], r[1]) in before and before[(r[0], r[1])] != r[2])
    report.unchanged = len(rows) - report.inserted - report.updated
    copy_into_temp(session, "tmp_lsoa_lookup", [("lsoa11_code", "varchar(10)"), ("lsoa21_code", "varchar(10)"),
                                                ("change_code", "varchar(1)"), ("lad_code", "varchar(10)")], rows)
    db_geography.upsert_lsoa_lookup_from_temp(session)
    derive_2021_need(session)
    return report


def import_ward_lookup(session: Session, path: Path, lad_codes: list[str] | None = None,
                       progress=silent_progress) -> ImportReport:
    """LSOA 2021 -> ward 2024 (best fit) into ``area.ward_code`` of the loaded LSOAs 2021; in the
    authorities read (``ltla24_code``), a row naming an LSOA not loaded is reported by line."""
    path = Path(path)
    df = _read(path, ["lsoa21_code", "ward24_code"])
    lad_col = "ltla24_code" if "ltla24_code" in df.columns else None
    report = ImportReport(source=f"LSOA 2021 to ward 2024 lookup ({path.name})")
    if lad_codes and lad_col:
        df = df[df[lad_col].str.strip().isin(lad_codes)]
    report.read = len(df)
    known = _loaded(session, "lsoa21")
    countries = _countries(known)
    rows = []
    for code, ward, line in zip(df["lsoa21_code"].str.upper(), df["ward24_code"].str.upper(), df["line"]):
        if countries and code[:1] not in countries:
            report.skip("LSOA of a country not loaded")  # the ONS tables cover England and Wales
        elif code not in known:
            report.problem(int(line), "unknown LSOA 2021 code (not a loaded LSOA 2021)", "lsoa21_code", code)
        elif not re.match(r"^[EW]05\d{6}$", ward):
            report.problem(int(line), "not a ward code", "ward24_code", ward)
        else:
            rows.append((code, ward))
    _update_areas(session, report, "lsoa21", [("ward_code", "varchar(10)")], rows)
    return report


def import_rural_urban(session: Session, path: Path, lad_codes: list[str] | None = None,
                       progress=silent_progress) -> ImportReport:
    """The 2021 Rural-Urban Classification (``lsoa21_code, ruc21_code, ruc``) into ``area.ruc21_code``
    and ``area.rural`` of the loaded LSOAs 2021 (rows of others are not read)."""
    path = Path(path)
    df = _read(path, ["lsoa21_code", "ruc21_code", "ruc"])
    report = ImportReport(source=f"Rural-Urban Classification 2021 ({path.name})")
    known = _loaded(session, "lsoa21", lad_codes)
    rows = []
    for code, ruc, kind, line in zip(df["lsoa21_code"].str.upper(), df["ruc21_code"], df["ruc"], df["line"]):
        if code not in known:
            continue
        report.read += 1
        if kind.lower() not in ("urban", "rural"):
            report.problem(int(line), "ruc is neither Urban nor Rural", "ruc", kind)
        elif not ruc:
            report.problem(int(line), "no classification code", "ruc21_code", ruc)
        else:
            rows.append((code, ruc, kind.lower() == "rural"))
    _update_areas(session, report, "lsoa21", [("ruc21_code", "varchar(6)"), ("rural", "boolean")], rows)
    return report


# The two published layouts of the Commons Library names: 2021 (v2.x) and 2011 (v1.x).
NAME_LAYOUTS = {
    "msoa21": ("msoa21cd", "msoa21nm", "msoa21hcln"),
    "msoa": ("msoa11cd", "msoa11nm", "msoa11hclnm"),
}


def import_msoa_names(session: Session, path: Path, progress=silent_progress) -> ImportReport:
    """The House of Commons Library MSOA names (2021 or 2011 file, told by its columns) into
    ``msoa_name``, then the readable names of the loaded MSOAs and LSOAs of that vintage
    (:func:`assetmap.db.areas.apply_area_names`)."""
    path = Path(path)
    df, _ = read_area_csv(path)
    level = next((lvl for lvl, cols in NAME_LAYOUTS.items() if all(c in df.columns for c in cols)), None)
    if level is None:
        raise ImportFileError(f"{path.name}: not a Commons Library MSOA names file (expected msoa21cd, msoa21nm, "
                              "msoa21hcln or msoa11cd, msoa11nm, msoa11hclnm); the columns are: "
                              f"{', '.join(df.columns)}")
    code_col, ons_col, name_col = NAME_LAYOUTS[level]
    report = ImportReport(source=f"MSOA names ({path.name})")
    report.read = len(df)
    rows = {}
    for i, (code, ons, name) in enumerate(zip(df[code_col], df[ons_col], df[name_col])):
        code, ons, name = code.strip().upper(), ons.strip(), name.strip()
        if not re.match(r"^[EW]02\d{6}$", code):
            report.problem(i + 2, "not an MSOA code", code_col, code)
        elif not name:
            report.problem(i + 2, "no name", name_col, code)
        elif code in rows:
            report.problem(i + 2, "MSOA code repeated (the first row is kept)", code_col, code)
        else:
            rows[code] = (code, level, ons, name)
    before = db_geography.msoa_names(session, level)
    report.inserted = sum(1 for c in rows if c not in before)
    report.updated = sum(1 for c, r in rows.items() if c in before and before[c] != (r[2], r[3]))
    report.unchanged = len(rows) - report.inserted - report.updated
    columns = [("code", "varchar(10)"), ("level", "varchar(10)"), ("ons_name", "varchar(200)"),
               ("name", "varchar(200)")]
    copy_into_temp(session, "tmp_msoa_name", columns, list(rows.values()))
    db_geography.upsert_msoa_names_from_temp(session)
    db_areas.apply_area_names(session)
    return report


def lookup_kind(path: Path) -> str:
    """Which published table a CSV is, by its header: ``population``, ``lsoa-lookup``,
    ``ward-lookup``, ``rural-urban`` or ``msoa-names``."""
    df, _ = read_area_csv(Path(path))
    cols = set(df.columns)
    kinds = [("lsoa-lookup", {"lsoa11_code", "lsoa21_code", "change_code"}),
             ("ward-lookup", {"lsoa21_code", "ward24_code"}),
             ("rural-urban", {"lsoa21_code", "ruc21_code", "ruc"}),
             ("population", {"lsoa21_code", "total_residents"}),
             ("msoa-names", {"msoa21cd", "msoa21hcln"}), ("msoa-names", {"msoa11cd", "msoa11hclnm"})]
    for kind, need in kinds:
        if need <= cols:
            return kind
    raise ImportFileError(f"{Path(path).name}: not a known lookup, population or names table; the columns are: "
                          f"{', '.join(df.columns)}")


def import_reference_table(session: Session, path: Path, lad_codes: list[str] | None = None,
                           progress=silent_progress) -> ImportReport:
    """Import any of this module's tables, told by its header (:func:`lookup_kind`)."""
    kind = lookup_kind(path)
    if kind == "msoa-names":
        return import_msoa_names(session, path, progress=progress)
    fn = {"lsoa-lookup": import_lsoa_lookup, "ward-lookup": import_ward_lookup,
          "rural-urban": import_rural_urban, "population": import_census_population}[kind]
    return fn(session, path, lad_codes=lad_codes, progress=progress)
