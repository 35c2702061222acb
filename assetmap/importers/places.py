"""OS Open Names populated places (``gb_populated_places_all_BNG_csv.zip``): every city, town,
village, hamlet and suburb of Great Britain, for the finder's place search.

The file is OS's CSV of the ``populatedPlace`` records (NAME1, LOCAL_TYPE, X/Y in British National
Grid metres, DISTRICT_BOROUGH, COUNTY_UNITARY, POSTCODE_DISTRICT), zipped or not. Re-importing the
same file changes nothing; a place gone from a newer file is removed.
"""
from __future__ import annotations

import csv
import io
import zipfile
from pathlib import Path

from sqlalchemy.orm import Session

from assetmap.db.places import delete_places_not_in_temp, upsert_places
from assetmap.domain.geojson_crs import grid_to_lonlat
from assetmap.domain.names import name_key
from assetmap.errors import ImportFileError
from assetmap.importers.report import ImportReport, silent_progress

REQUIRED = ("ID", "NAME1", "LOCAL_TYPE", "X", "Y")


def _open_csv(path: Path):
    if path.suffix.lower() == ".zip":
        try:
            archive = zipfile.ZipFile(path)
        except zipfile.BadZipFile:
            raise ImportFileError(f"{path.name} is not a zip file") from None
        names = [n for n in archive.namelist() if n.lower().endswith(".csv")]
        if len(names) != 1:
            raise ImportFileError(f"{path.name} should hold one CSV of OS Open Names places, not {len(names)}")
        return io.TextIOWrapper(archive.open(names[0]), encoding="utf-8-sig", newline="")
    return open(path, encoding="utf-8-sig", newline="")


def import_places(session: Session, path: Path, progress=silent_progress) -> ImportReport:
    """Load OS Open Names populated places into ``place`` (insert, update, remove the missing)."""
    path = Path(path)
    if not path.exists():
        raise ImportFileError(f"file not found: {path}")
    report = ImportReport(source=f"places ({path.name})")
    rows: list[tuple] = []
    with _open_csv(path) as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
        if missing:
            raise ImportFileError(f"{path.name} lacks the columns {', '.join(missing)}: is this OS Open Names?")
        seen: set[str] = set()
        for line, rec in enumerate(reader, start=2):
            report.read += 1
            name = (rec["NAME1"] or "").strip()
            try:
                x, y = float(rec["X"]), float(rec["Y"])
            except ValueError:
                report.problem(line, "X/Y not numeric", "X", f"{rec['X']},{rec['Y']}")
                continue
            if not name:
                report.problem(line, "no name", "NAME1")
                continue
            if rec["ID"] in seen:
                report.problem(line, "duplicate ID", "ID", rec["ID"])
                continue
            seen.add(rec["ID"])
            rows.append((rec["ID"], name[:200], name_key(name)[:200], (rec["LOCAL_TYPE"] or "Place")[:40],
                         (rec.get("DISTRICT_BOROUGH") or "").strip()[:120] or None,
                         (rec.get("COUNTY_UNITARY") or "").strip()[:120] or None,
                         (rec.get("POSTCODE_DISTRICT") or "").strip()[:4] or None, x, y))
    if rows:
        lon, lat = grid_to_lonlat().transform([r[7] for r in rows], [r[8] for r in rows])
        rows = [(*r[:7], float(lo), float(la)) for r, lo, la in zip(rows, lon, lat, strict=True)]
    bar = progress(total=len(rows), desc="places: loading")
    report.inserted, report.updated = upsert_places(session, rows)
    bar.update(len(rows))
    bar.close()
    removed = delete_places_not_in_temp(session)
    report.unchanged = len(rows) - report.inserted - report.updated
    if removed:
        report.skipped_reasons[f"removed (no longer in {path.name})"] += removed
    return report
