"""Planners' own lists, read by :mod:`assetmap.importers.upload_files` into rows of text cells,
checked row by row against a column mapping, and committed as assets in one transaction.

Checking (:func:`check_upload`) reports each row's errors and warnings before anything is
written; committing (:func:`commit_upload`) writes the valid rows only, all or nothing.
"""
from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from assetmap.db.assets import ImportRow, postcode_points, upsert_from_import
from assetmap.db.models import BulkUpload, ImportRun
from assetmap.db.seed import record_import
from assetmap.db.uploads import asset_types, existing_source_ids
from assetmap.domain import tabular
from assetmap.domain.validation import MAX_LENGTHS
from assetmap.errors import BadInputError
from assetmap.importers.report import ImportReport

SOURCE = "upload"
DATASET_KEY = "bulk-upload"


# --- checking ---------------------------------------------------------------------------------------

def validate_mapping(header: list[str], mapping: dict[str, str], options: dict, categories: dict[str, str]) -> None:
    """Refuse a mapping that names columns the file does not have, or that cannot place or name rows."""
    unknown = sorted(set(mapping) - set(tabular.FIELD_KEYS))
    if unknown:
        raise BadInputError(f"unknown fields {', '.join(unknown)}")
    missing = sorted(c for c in mapping.values() if c not in header)
    if missing:
        raise BadInputError(f"the file has no column {', '.join(missing)}")
    if len(set(mapping.values())) < len(mapping):
        raise BadInputError("each column can be used for one field only")
    if "name" not in mapping:
        raise BadInputError("choose the column that holds each place's name")
    pairs = [("latitude", "longitude"), ("easting", "northing")]
    for a, b in pairs:
        if (a in mapping) != (b in mapping):
            raise BadInputError(f"choose both the {a} and the {b} column, or neither")
    if not any(k in mapping for k in ("postcode", "latitude", "easting")):
        raise BadInputError("choose a postcode column, or latitude and longitude, or easting and northing")
    default = options.get("category")
    if default and default not in categories.values():
        raise BadInputError(f"unknown type {default!r}")
    if "category" not in mapping and not default:
        raise BadInputError("choose a type column, or the type every row has")


@dataclass
class CheckResult:
    rows: list[tabular.CheckedRow]
    report: dict


def _source_id(upload: BulkUpload, row: tabular.CheckedRow) -> str:
    return f"{upload.source_key}/{row.source_id}"[:MAX_LENGTHS["source_id"]]


def check_upload(session: Session, upload: BulkUpload,
                 progress: Callable[[int, int], None] | None = None) -> CheckResult:
    """Check every row of ``upload`` against its mapping: errors stop a row, warnings do not.

    Postcodes of rows without coordinates are looked up; ids repeated in the file are errors after
    their first row; rows whose id was uploaded before are counted as updates.
    """
    categories, _ = asset_types(session)
    mapping, options = upload.mapping or {}, upload.options or {}
    validate_mapping(upload.header, mapping, options, categories)
    index = {key: upload.header.index(column) for key, column in mapping.items()}
    checked: list[tabular.CheckedRow] = []
    total = len(upload.rows)
    unreadable_field = "geometry" if upload.file_format == "geojson" else None
    for n, stored in enumerate(upload.rows, start=1):
        line, cells = stored[0], stored[1]
        row = tabular.check_row(line, {k: cells[i] for k, i in index.items()}, categories, options.get("category"))
        if len(stored) > 2 and stored[2]:  # the reader could not read the row whole
            row.errors.insert(0, (unreadable_field, stored[2], None))
        checked.append(row)
        if progress and n % 2000 == 0:
            progress(n, total)

    # Repeated ids: the first row stands, later ones are errors.
    first_line: dict[str, int] = {}
    for row in checked:
        if not row.ok:
            continue
        seen = first_line.get(row.source_id)
        if seen is not None:
            what = "the same id" if "id" in mapping else "the same name and place"
            row.errors.append(("id" if "id" in mapping else "name", f"{what} as line {seen}", row.source_id[:60]))
        else:
            first_line[row.source_id] = row.line

    found = postcode_points(session, {row.postcode for row in checked if row.ok and row.point is None and row.postcode})
    for row in checked:
        if row.ok and row.point is None and row.postcode not in found:
            row.errors.append(("postcode", "postcode not known here (new, or outside the areas loaded)", row.postcode))

    existing = existing_source_ids(session, SOURCE, [_source_id(upload, r) for r in checked if r.ok])
    if progress:
        progress(total, total)
    return CheckResult(checked, _check_report(upload, checked, existing, mapping))


def _check_report(upload: BulkUpload, checked: list[tabular.CheckedRow], existing: set[str], mapping: dict) -> dict:
    columns = {**mapping, "geometry": "geometry"}
    problems, warning_kinds = [], Counter()
    for row in checked:
        for severity, items in (("error", row.errors), ("warning", row.warnings)):
            for field_key, reason, value in items:
                problems.append({"line": row.line, "severity": severity, "field": field_key,
                                 "column": columns.get(field_key) if field_key else None, "reason": reason,
                                 "value": value})
                if severity == "warning":
                    warning_kinds[reason] += 1
    ok = [r for r in checked if r.ok]
    notes = list(upload.file_notes or [])
    for reason, n in warning_kinds.most_common():
        if reason in (tabular.SWAPPED_LATLON, tabular.GRID_IN_LATLON, tabular.LATLON_IN_GRID, tabular.SWAPPED_GRID):
            notes.append(f"{n} row(s): {reason}")
    return {
        "rows": len(checked),
        "ok": len(ok),
        "error_rows": sum(1 for r in checked if r.errors),
        "warning_rows": sum(1 for r in checked if r.warnings),
        "new": sum(1 for r in ok if _source_id(upload, r) not in existing),
        "existing": sum(1 for r in ok if _source_id(upload, r) in existing),
        "problems": problems[:500],
        "problem_count": len(problems),
        "notes": notes,
        "preview": [
            {"line": r.line, "name": r.values["name"], "category": r.category, "postcode": r.values["postcode"],
             "lon": None if r.point is None else r.point[0], "lat": None if r.point is None else r.point[1],
             "opening_hours": tabular.hours_text(r.values["opening_hours"])}
            for r in ok[:10]
        ],
    }


# --- committing ---------------------------------------------------------------------------------------

# The asset fields a mapped column writes (others are left as they are on re-upload).
_FIELD_COLUMNS = {
    "description": ("description",), "organisation": ("organisation_id",), "address": ("address",),
    "town": ("town",), "postcode": ("postcode",), "phone": ("phone",), "email": ("email",), "website": ("url",),
    "opening_hours": ("opening_hours", "opening_hours_note"), "opening_hours_note": ("opening_hours_note",),
    "cost": ("cost",),
}


def _written_fields(mapping: dict) -> list[str]:
    fields = ["name", "location"]
    for key in mapping:
        for column in _FIELD_COLUMNS.get(key, ()):
            if column not in fields:
                fields.append(column)
    return fields


def commit_upload(session: Session, upload: BulkUpload, user_id: int | None, publish: bool,
                  progress: Callable[[int, int], None] | None = None) -> tuple[ImportReport, ImportRun]:
    """Write the valid rows of ``upload`` as assets, in the caller's transaction (all or none).

    New assets are published (``publish``) or wait for moderation; assets uploaded before keep
    their status when published straight away, and go back to moderation when changed otherwise.
    Each inserted or changed asset gets a revision (:func:`assetmap.db.assets.upsert_from_import`);
    the report is kept in an ``import_run``, returned with it, and carries the change set
    (``report.changes``) for the gap refresh after the commit. ``upload`` itself is not changed
    (a progress callback may be writing to its row from another connection).
    """
    total = max(len(upload.rows), 1)

    def step(fraction: float) -> None:
        if progress:
            progress(min(total, int(total * fraction)), total)

    result = check_upload(session, upload, progress=lambda done, n: step(0.5 * done / n))
    report = ImportReport(source=f"upload ({upload.file_name})")
    report.read = len(result.rows)
    mapping = upload.mapping or {}
    for row in result.rows:
        if not row.ok:
            field_key, reason, value = row.errors[0]
            report.problem(row.line, reason, mapping.get(field_key or "", field_key), value)
    records = [
        ImportRow(
            line=row.line, source_id=_source_id(upload, row), name=row.values["name"], category=row.category,
            lon=None if row.point is None else row.point[0], lat=None if row.point is None else row.point[1],
            postcode=row.values.get("postcode"), postcode_raw=row.values.get("postcode"),
            postcode_column=mapping.get("postcode"), description=row.values.get("description"),
            org_name=row.values.get("organisation"), address=row.values.get("address"), town=row.values.get("town"),
            phone=row.values.get("phone"), email=row.values.get("email"), url=row.values.get("url"),
            opening_hours=None if row.values.get("opening_hours") is None else json.dumps(row.values["opening_hours"]),
            opening_hours_note=row.values.get("opening_hours_note"), cost=row.values.get("cost"),
            extra=json.dumps({"upload": {"file": upload.file_name, "line": row.line}}),
        )
        for row in result.rows if row.ok
    ]
    step(0.6)
    outcome = upsert_from_import(
        session, records, source=SOURCE, fields=_written_fields(mapping), publish=publish,
        reason=f"upload: {upload.file_name}"[:500], user_id=user_id, organisations_ignore_case=True,
        replace_categories=True, pending_when_changed=not publish,
    )
    for line, column, value in outcome.unlocated:  # checked already; a postcode removed since
        report.problem(line, "postcode not known here (new, or outside the areas loaded)", column, value)
    report.inserted, report.updated, report.unchanged = outcome.inserted, outcome.updated, outcome.unchanged
    report.changes = outcome.changes
    step(0.95)

    run = ImportRun(kind="assets:upload", dataset_key=DATASET_KEY, file_name=upload.file_name[:300],
                    user_id=user_id, report=report.to_dict(), finished_at=datetime.now(UTC))
    session.add(run)
    record_import(session, DATASET_KEY, report, upload.file_name)
    session.flush()
    step(1.0)
    return report, run
