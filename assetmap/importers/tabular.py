"""Planners' own lists, read by :mod:`assetmap.importers.upload_files` into rows of text cells,
checked row by row against a column mapping, and committed as assets in one transaction.

Checking (:func:`check_upload`) reports each row's errors and warnings before anything is
written; committing (:func:`commit_upload`) writes the valid rows only, all or nothing.
"""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable

from sqlalchemy import text
from sqlalchemy.orm import Session

from assetmap.db.models import BulkUpload, ImportRun
from assetmap.db.seed import record_import
from assetmap.domain import tabular
from assetmap.domain.revisions import diff, snapshot
from assetmap.domain.validation import MAX_LENGTHS
from assetmap.errors import BadInputError
from assetmap.importers._bulk import copy_into_temp
from assetmap.importers.report import ImportReport

SOURCE = "upload"
DATASET_KEY = "bulk-upload"


# --- uploads kept --------------------------------------------------------------------------------------

def recent_uploads(session: Session, user_id: int | None = None, limit: int = 20) -> list[dict]:
    """The latest uploads (of one user, or everyone's), newest first, without their rows."""
    rows = session.execute(text(
        """
        SELECT id, file_name, created_at, state, jsonb_array_length(rows) AS n_rows
        FROM bulk_upload WHERE CAST(:user_id AS int) IS NULL OR user_id = CAST(:user_id AS int)
        ORDER BY created_at DESC, id DESC LIMIT :limit
        """
    ), {"user_id": user_id, "limit": limit}).mappings()
    return [dict(r) for r in rows]


def first_rows(session: Session, upload_id: int, n: int = 10) -> tuple[int, list]:
    """How many rows an upload has, and its first ``n`` (without loading the rest)."""
    count, first = session.execute(text(
        "SELECT jsonb_array_length(rows), jsonb_path_query_array(rows, CAST(:path AS jsonpath)) "
        "FROM bulk_upload WHERE id = :id"
    ), {"id": upload_id, "path": f"$[0 to {max(n, 1) - 1}]"}).one()
    return count, first


# --- checking ---------------------------------------------------------------------------------------

def asset_types(session: Session) -> tuple[dict[str, str], list[dict]]:
    """Every way of writing an asset type (slug, label) → slug; and the types, in order."""
    rows = session.execute(text(
        "SELECT slug, label FROM taxonomy_term WHERE vocabulary = 'asset-type' ORDER BY sort_order, slug"
    )).mappings().all()
    accepted: dict[str, str] = {}
    for r in rows:
        accepted[r["slug"].lower()] = r["slug"]
        accepted[r["label"].lower()] = r["slug"]
    return accepted, [dict(r) for r in rows]


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


def check_upload(session: Session, upload: BulkUpload, progress: Callable[[int, int], None] | None = None) -> CheckResult:
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

    wanted = {row.postcode for row in checked if row.ok and row.point is None and row.postcode}
    found = set()
    if wanted:
        found = set(session.execute(text("SELECT postcode FROM postcode WHERE postcode = ANY(:pcs)"),
                                    {"pcs": sorted(wanted)}).scalars())
    for row in checked:
        if row.ok and row.point is None and row.postcode not in found:
            row.errors.append(("postcode", "postcode not known here (new, or outside the areas loaded)", row.postcode))

    ok_ids = [_source_id(upload, r) for r in checked if r.ok]
    existing = set()
    if ok_ids:
        existing = set(session.execute(text(
            "SELECT source_id FROM asset WHERE source = :source AND source_id = ANY(:ids)"
        ), {"source": SOURCE, "ids": ok_ids}).scalars())
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
    "description": ("description",), "address": ("address",), "town": ("town",), "postcode": ("postcode",),
    "phone": ("phone",), "email": ("email",), "website": ("url",),
    "opening_hours": ("opening_hours", "opening_hours_note"), "opening_hours_note": ("opening_hours_note",),
    "cost": ("cost",),
}
_IN_COLUMNS = [
    ("line", "int"), ("source_id", "text"), ("name", "text"), ("description", "text"), ("org_name", "text"),
    ("address", "text"), ("town", "text"), ("postcode", "text"), ("phone", "text"), ("email", "text"),
    ("url", "text"), ("opening_hours", "jsonb"), ("opening_hours_note", "text"), ("cost", "text"),
    ("lon", "float8"), ("lat", "float8"), ("category", "text"), ("extra", "jsonb"), ("asset_id", "int"),
    ("changes", "jsonb"),
]


def _written_fields(mapping: dict) -> list[str]:
    fields = ["name"]
    for key in mapping:
        for column in _FIELD_COLUMNS.get(key, ()):
            if column not in fields:
                fields.append(column)
    return fields


def _current(session: Session, source_ids: list[str]) -> dict[str, dict]:
    rows = session.execute(text(
        """
        SELECT a.id, a.source_id, a.name, a.description, a.address, a.town, a.postcode, a.phone, a.email, a.url,
               a.opening_hours, a.opening_hours_note, a.cost, ST_X(a.location) AS lon, ST_Y(a.location) AS lat,
               a.status::text AS status, o.name AS org_name,
               ARRAY(SELECT t.slug FROM asset_term x JOIN taxonomy_term t ON t.id = x.term_id
                     WHERE x.asset_id = a.id AND t.vocabulary = 'asset-type' ORDER BY t.slug) AS asset_types
        FROM asset a LEFT JOIN organisation o ON o.id = a.organisation_id
        WHERE a.source = :source AND a.source_id = ANY(:ids)
        """
    ), {"source": SOURCE, "ids": source_ids}).mappings()
    return {r["source_id"]: dict(r) for r in rows}


def commit_upload(session: Session, upload: BulkUpload, user_id: int | None, publish: bool,
                  progress: Callable[[int, int], None] | None = None) -> tuple[ImportReport, ImportRun]:
    """Write the valid rows of ``upload`` as assets, in the caller's transaction (all or none).

    New assets are published (``publish``) or wait for moderation; assets uploaded before keep
    their status when published straight away, and go back to moderation when changed otherwise.
    Each inserted or changed asset gets a revision; the report is kept in an ``import_run``,
    returned with it. ``upload`` itself is not changed (a progress callback may be writing to its
    row from another connection).
    """
    total = max(len(upload.rows), 1)

    def step(fraction: float) -> None:
        if progress:
            progress(min(total, int(total * fraction)), total)

    result = check_upload(session, upload, progress=lambda done, n: step(0.5 * done / n))
    report = ImportReport(source=f"upload ({upload.file_name})")
    report.read = len(result.rows)
    for row in result.rows:
        if not row.ok:
            field_key, reason, value = row.errors[0]
            report.problem(row.line, reason, (upload.mapping or {}).get(field_key or "", field_key), value)
    ok = [r for r in result.rows if r.ok]
    mapping = upload.mapping or {}
    fields = _written_fields(mapping)
    current = _current(session, [_source_id(upload, r) for r in ok])
    step(0.6)

    records = []
    for row in ok:
        sid = _source_id(upload, row)
        before_row = current.get(sid)
        values = {k: row.values.get(k) for k in fields}
        after = {**values, "location": row.point, "asset_types": [row.category]}
        if before_row is None:
            changes = diff(None, after)
        else:
            before = {k: before_row[k] for k in fields}
            before["location"] = None if before_row["lon"] is None else (before_row["lon"], before_row["lat"])
            before["asset_types"] = before_row["asset_types"]
            if row.point is None:  # placed by postcode: the position follows the postcode
                after["location"] = before["location"] if values.get("postcode") == before_row["postcode"] else None
            changes = diff(snapshot(before), snapshot(after))
            changes = {k: v for k, v in changes.items() if k in fields or k in ("location", "asset_types")}
            if after["location"] is None and row.point is None and "location" in changes:
                changes.pop("location")
            org_changed = "organisation" in mapping and (row.values.get("organisation") or "").lower() != (
                before_row["org_name"] or "").lower()
            if not changes and not org_changed:
                report.unchanged += 1
                continue
        records.append((
            row.line, sid, row.values["name"], row.values.get("description"), row.values.get("organisation"),
            row.values.get("address"), row.values.get("town"), row.values.get("postcode"), row.values.get("phone"),
            row.values.get("email"), row.values.get("url"),
            None if row.values.get("opening_hours") is None else json.dumps(row.values["opening_hours"]),
            row.values.get("opening_hours_note"), row.values.get("cost"),
            None if row.point is None else row.point[0], None if row.point is None else row.point[1],
            row.category, json.dumps({"upload": {"file": upload.file_name, "line": row.line}}),
            None if before_row is None else before_row["id"], json.dumps(changes, default=str),
        ))
    step(0.7)
    session.flush()
    copy_into_temp(session, "tmp_upload_in", _IN_COLUMNS, records)
    session.execute(text("CREATE INDEX ON tmp_upload_in (asset_id)"))
    session.execute(text("ANALYZE tmp_upload_in"))
    _write(session, report, fields, "organisation" in mapping, publish, user_id, upload.file_name)
    step(0.95)

    run = ImportRun(kind="assets:upload", dataset_key=DATASET_KEY, file_name=upload.file_name[:300],
                    user_id=user_id, report=report.to_dict(), finished_at=datetime.now(timezone.utc))
    session.add(run)
    record_import(session, DATASET_KEY, report, upload.file_name)
    session.flush()
    step(1.0)
    return report, run


def _write(session: Session, report: ImportReport, fields: list[str], with_org: bool, publish: bool,
           user_id: int | None, file_name: str) -> None:
    params = {"source": SOURCE, "status": "published" if publish else "pending", "user_id": user_id,
              "reason": f"upload: {file_name}"[:500]}
    session.execute(text(
        """
        UPDATE tmp_upload_in i SET asset_id = NULL WHERE asset_id IS NOT NULL
          AND NOT EXISTS (SELECT 1 FROM asset a WHERE a.id = i.asset_id)
        """
    ))
    if with_org:
        session.execute(text(
            """
            INSERT INTO organisation (uuid, name, source, source_id)
            SELECT gen_random_uuid(), min(org_name), :source, lower(org_name) FROM tmp_upload_in
            WHERE org_name IS NOT NULL GROUP BY lower(org_name)
            ON CONFLICT (source, source_id) DO NOTHING
            """
        ), params)
    located = ("COALESCE(ST_SetSRID(ST_MakePoint(i.lon, i.lat), 4326), "
               "(SELECT p.location FROM postcode p WHERE p.postcode = i.postcode))")
    org = ("(SELECT o.id FROM organisation o WHERE o.source = :source AND o.source_id = lower(i.org_name))"
           if with_org else None)
    sets = ", ".join(f"{f} = i.{f}" for f in fields)
    if org:
        sets += f", organisation_id = {org}"
    report.updated = session.execute(text(
        f"""
        UPDATE asset a SET {sets}, location = {located}, extra = COALESCE(a.extra, '{{}}'::jsonb) || i.extra,
               status = CASE WHEN :status = 'pending' THEN 'pending'::asset_status ELSE a.status END,
               version = a.version + 1, updated_at = now()
        FROM tmp_upload_in i WHERE a.id = i.asset_id
        """
    ), params).rowcount
    cols = ", ".join(fields)
    report.inserted = session.execute(text(
        f"""
        INSERT INTO asset (uuid, {cols}, organisation_id, location, status, source, source_id, extra, access_modes,
                           age_groups, accessibility, created_by_id, version, created_at, updated_at)
        SELECT gen_random_uuid(), {", ".join(f"i.{f}" for f in fields)}, {org or 'NULL'}, {located},
               CAST(:status AS asset_status), :source, i.source_id, i.extra, '{{}}', '{{}}', '{{}}', :user_id, 1,
               now(), now()
        FROM tmp_upload_in i WHERE i.asset_id IS NULL ORDER BY i.line
        """
    ), params).rowcount
    session.execute(text(
        """
        UPDATE tmp_upload_in i SET asset_id = a.id FROM asset a
        WHERE i.asset_id IS NULL AND a.source = :source AND a.source_id = i.source_id
        """
    ), params)
    session.execute(text("ANALYZE tmp_upload_in"))
    session.execute(text(
        """
        DELETE FROM asset_term x USING tmp_upload_in i, taxonomy_term t
        WHERE x.asset_id = i.asset_id AND t.id = x.term_id AND t.vocabulary = 'asset-type' AND t.slug <> i.category
        """
    ))
    session.execute(text(
        """
        INSERT INTO asset_term (asset_id, term_id)
        SELECT i.asset_id, t.id FROM tmp_upload_in i
        JOIN taxonomy_term t ON t.vocabulary = 'asset-type' AND t.slug = i.category
        ON CONFLICT DO NOTHING
        """
    ))
    session.execute(text(
        """
        INSERT INTO revision (asset_id, user_id, action, changes, snapshot, reason, status_after, created_at)
        SELECT a.id, :user_id, 'import', i.changes,
               jsonb_build_object('uuid', a.uuid, 'name', a.name, 'description', a.description,
                                  'location', CASE WHEN a.location IS NULL THEN NULL ELSE jsonb_build_array(
                                      round(ST_X(a.location)::numeric, 6), round(ST_Y(a.location)::numeric, 6)) END,
                                  'address', a.address, 'town', a.town, 'postcode', a.postcode, 'phone', a.phone,
                                  'email', a.email, 'url', a.url, 'opening_hours', a.opening_hours,
                                  'opening_hours_note', a.opening_hours_note, 'cost', a.cost,
                                  'asset_types', jsonb_build_array(i.category), 'status', a.status::text,
                                  'version', a.version),
               :reason, a.status::text, now()
        FROM tmp_upload_in i JOIN asset a ON a.id = i.asset_id
        ORDER BY i.line
        """
    ), params)
