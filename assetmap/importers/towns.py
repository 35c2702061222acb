"""Towns (area level ``town``) from the project's ``data/towns.json``: each the union of its wards."""
from __future__ import annotations

from sqlalchemy.orm import Session

from assetmap.db.profile_queries import upsert_town, ward_names
from assetmap.importers.report import ImportReport

__all__ = ["load_towns"]


def load_towns(session: Session, towns: list[dict], source: str = "towns.json") -> ImportReport:
    """Create or update towns (area level ``town``) as the union of their wards.

    ``towns`` come from :func:`assetmap.domain.area_profile.read_towns`. A town whose wards are not
    all loaded, or whose ward names differ from the loaded ones, is reported and left out.
    """
    report = ImportReport(source=f"towns ({source})")
    for i, town in enumerate(towns, start=1):
        report.read += 1
        codes = [c for c, _ in town["wards"]]
        loaded = ward_names(session, codes)
        missing = [c for c in codes if c not in loaded]
        if missing:
            report.problem(i, "wards not loaded (import the ward boundaries first)", "wards", ", ".join(missing))
            continue
        wrong = [f"{c} is {loaded[c]!r}, not {n!r}" for c, n in town["wards"] if loaded[c] != n]
        if wrong:
            report.problem(i, "ward names differ", "wards", "; ".join(wrong))
            continue
        outcome = upsert_town(session, town, source)
        if outcome == "inserted":
            report.inserted += 1
        elif outcome == "updated":
            report.updated += 1
        elif outcome == "unchanged":
            report.unchanged += 1
        else:
            report.problem(i, f"code already used by an area of level {outcome}", "code", town["code"])
    return report
