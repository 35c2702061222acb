"""OS Code-Point Open: every GB postcode with its position, as OS ships it (a zip of
``Data/CSV/<area>.csv`` files with no header row, the header in ``Doc/``)."""
from __future__ import annotations

import csv
import io
import re
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from assetmap.db.postcodes import upsert_postcodes
from assetmap.domain.geojson_crs import grid_to_lonlat
from assetmap.domain.postcodes import normalise_postcode
from assetmap.errors import ImportFileError
from assetmap.importers.report import ImportReport, silent_progress

HEADER_FILE = "Doc/Code-Point_Open_Column_Headers.csv"
# Official long header names (second line of the header file) → our columns.
COLUMNS = {
    "Postcode": "postcode",
    "Positional_quality_indicator": "quality",
    "Eastings": "easting",
    "Northings": "northing",
    "Admin_district_code": "lad_code",
    "Admin_ward_code": "ward_code",
}


def import_codepoint(session: Session, path: Path, areas: list[str] | None = None,
                     progress=silent_progress) -> ImportReport:
    """Import a Code-Point Open zip; ``areas`` limits it to postcode areas such as ``["SY", "TF"]``."""
    path = Path(path)
    report = ImportReport(source=f"postcodes ({path.name})")
    if not path.exists():
        raise ImportFileError(f"file not found: {path}")
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise ImportFileError(f"{path.name} is not a zip file: expected OS Code-Point Open as OS ships it") from None
    with archive:
        names = archive.namelist()
        if HEADER_FILE not in names:
            raise ImportFileError(f"{path.name} has no {HEADER_FILE}: is this OS Code-Point Open?")
        header = list(csv.reader(io.TextIOWrapper(archive.open(HEADER_FILE), encoding="utf-8-sig")))[-1]
        missing = [h for h in COLUMNS if h not in header]
        if missing:
            raise ImportFileError(f"{HEADER_FILE} lacks the columns {', '.join(missing)}")
        data_files = sorted(n for n in names if re.fullmatch(r"Data/CSV/[a-z]+\.csv", n))
        if areas:
            wanted = {a.strip().lower() for a in areas}
            unknown = wanted - {Path(n).stem for n in data_files}
            if unknown:
                raise ImportFileError(f"no postcode area files for: {', '.join(sorted(unknown)).upper()}")
            data_files = [n for n in data_files if Path(n).stem in wanted]
        frames = []
        bar = progress(total=len(data_files), desc="postcodes: reading")
        for name in data_files:
            frame = pd.read_csv(
                archive.open(name), header=None, names=header, usecols=list(COLUMNS), dtype=str, keep_default_na=False
            )
            frame["file"] = name
            frame["line"] = np.arange(1, len(frame) + 1)
            frames.append(frame)
            bar.update(1)
        bar.close()
    df = (pd.concat(frames, ignore_index=True).rename(columns=COLUMNS) if frames
          else pd.DataFrame(columns=[*COLUMNS.values(), "file", "line"]))
    report.read = len(df)

    df["easting"] = pd.to_numeric(df["easting"], errors="coerce")
    df["northing"] = pd.to_numeric(df["northing"], errors="coerce")
    df["quality"] = pd.to_numeric(df["quality"], errors="coerce")
    no_position = (df["easting"].fillna(0) == 0) & (df["northing"].fillna(0) == 0)
    for _ in range(int(no_position.sum())):
        report.skip("no position (0,0 in Code-Point Open)")
    df = df[~no_position]
    bad = df["easting"].isna() | df["northing"].isna()
    for row in df[bad].itertuples():
        report.problem(row.line, f"easting/northing not numeric in {row.file}", "Eastings",
                       f"{row.easting},{row.northing}")
    df = df[~bad].copy()
    df["postcode"] = df["postcode"].map(normalise_postcode)
    invalid = df["postcode"].isna()
    for row in df[invalid].itertuples():
        report.problem(row.line, f"malformed postcode in {row.file}", "Postcode")
    df = df[~invalid]
    dupes = df["postcode"].duplicated(keep="first")
    for row in df[dupes].itertuples():
        report.problem(row.line, f"duplicate postcode in {row.file}", "Postcode", row.postcode)
    df = df[~dupes]

    lon, lat = grid_to_lonlat().transform(df["easting"].to_numpy(float), df["northing"].to_numpy(float))
    df = df.assign(lon=lon, lat=lat, outward=df["postcode"].str.split(" ").str[0])

    bar = progress(total=len(df), desc="postcodes: loading")
    cols = ["postcode", "outward", "easting", "northing", "quality", "lad_code", "ward_code", "lon", "lat"]

    def rows():
        for i, rec in enumerate(df[cols].itertuples(index=False, name=None)):
            pc, out, e, n, q, lad, ward, x, y = rec
            yield (pc, out, int(e), int(n), None if pd.isna(q) else int(q), lad or None, ward or None,
                   float(x), float(y))
            if i % 50000 == 0:
                bar.update(min(50000, len(df) - i))
    report.inserted, report.updated = upsert_postcodes(session, rows())
    bar.close()
    report.unchanged = len(df) - report.inserted - report.updated
    return report
