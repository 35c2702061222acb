"""Community assets from official lists and GeoJSON layers, as published.

Each format (:data:`FORMATS`) reads its file into rows (:mod:`assetmap.importers.asset_formats`);
this module then places them set-based in SQL (latitude/longitude when given, else the Code-Point
position of the postcode), and upserts them by ``(source, source_id)`` inside the caller's
transaction, writing one ``revision`` per inserted or changed asset. Re-importing the same file
changes nothing.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Callable, Iterator

from sqlalchemy import text
from sqlalchemy.orm import Session

from assetmap.domain import validation
from assetmap.domain.postcodes import normalise_postcode, postcode_area
from assetmap.errors import BadInputError, ImportFileError
from assetmap.importers import asset_formats as af
from assetmap.importers._bulk import copy_into_temp
from assetmap.importers.report import ImportReport, silent_progress

# Asset fields an import writes, compared on re-import. Each format lists the ones its file
# gives, so fields that moderators fill in (town, cost, access...) are never blanked by an import.
_BASE_FIELDS = ("name", "location", "address", "postcode", "extra")


@dataclass(frozen=True)
class FormatSpec:
    """An importable file format.

    dataset_key : key in data/datasets.json (provenance and attribution)
    description : what file it reads
    category : asset-type slug of every row, or None when given by ``--category`` or the file name
    fields : the asset fields the file provides (others are left alone on update)
    read : ``read(path, report, category, label)`` yielding :class:`~asset_formats.AssetRow`
    """

    dataset_key: str
    description: str
    category: str | None
    fields: tuple[str, ...]
    read: Callable[..., Iterator[af.AssetRow]]


# GeoJSON layers whose category the file name tells (case-insensitive prefix of the file's stem),
# with the name of features that carry none ("Unknown" names fall back to their classification).
GEOJSON_LAYERS: dict[str, tuple[str, str | None]] = {
    "gm_libraries": ("library", None),
    "gm_pharmacies": ("pharmacy", None),
    "gm_dentists": ("dentist", None),
    "gm_food_banks": ("food-bank", None),
    "gm_jobcentreplus": ("jobcentre", None),
    "gm_green_flags": ("green-space", None),
    "gm_greenspace_access_points": ("green-space", "Green space access point"),
    "gm_post_offices": ("post-office", None),
    "gm_hospitals": ("hospital", None),
    "gm_places_of_worship_raw": ("place-of-worship", None),
    "gm_polling_stations": ("polling-station-venue", None),
}


def _layer(path: Path) -> tuple[str, str | None] | None:
    stem = path.name.lower().split(".")[0]
    matches = [key for key in GEOJSON_LAYERS if stem.startswith(key)]
    return GEOJSON_LAYERS[max(matches, key=len)] if matches else None


def _read_geojson(path: Path, report: ImportReport, category: str, label: str):
    layer = _layer(path)
    default_name = (layer[1] if layer and layer[0] == category and layer[1] else None) or label
    return af.read_geojson(path, report, category, default_name)


def _fixed(reader):
    def read(path, report, category, label):
        return reader(path, report)
    return read


FORMATS: dict[str, FormatSpec] = {
    "libraries": FormatSpec(
        "libraries-2023",
        "Public libraries in England basic dataset (libraries_england_2023.csv): open, public libraries",
        "library",
        (*_BASE_FIELDS, "email", "url", "opening_hours_note"),
        _fixed(af.read_libraries),
    ),
    "nhsbsa-pharmacies": FormatSpec(
        "nhsbsa-pharmacies",
        "NHSBSA consolidated pharmaceutical list (consol_pharmacy_list_*.csv), with opening hours",
        "pharmacy",
        (*_BASE_FIELDS, "organisation_id", "opening_hours", "opening_hours_note"),
        _fixed(af.read_nhsbsa_pharmacies),
    ),
    "epraccur": FormatSpec(
        "ods-gp-practices",
        "NHS England ODS GP practices (epraccur.csv, no header, Latin-1): active GP practices",
        "gp-practice",
        (*_BASE_FIELDS, "phone"),
        _fixed(af.read_epraccur),
    ),
    "givefood": FormatSpec(
        "givefood",
        "Give Food food banks CSV (latitude/longitude); closed ones left out",
        "food-bank",
        (*_BASE_FIELDS, "url"),
        _fixed(af.read_givefood),
    ),
    "geojson": FormatSpec(
        "gm-data-lab",
        "A GeoJSON point or polygon layer in WGS84 (e.g. Trafford Data Lab's Greater Manchester extracts); "
        "category from --category or the file name",
        None,
        (*_BASE_FIELDS, "phone", "email", "url", "opening_hours", "opening_hours_note"),
        _read_geojson,
    ),
    # Open Referral UK has its own importer (services, locations, schedules, taxonomies).
    "oruk": FormatSpec(
        "oruk-import",
        "Open Referral UK v3 JSON: a file or folder of full services or saved /services pages",
        None, (), None,
    ),
}

# Fields whose column has a length (a longer value would abort the whole import).
_LIMITED = ("name", "source_id", "phone", "email", "url", "organisation")


def import_assets(
    session: Session,
    path: Path,
    fmt: str,
    category: str | None = None,
    publish: bool = True,
    progress=silent_progress,
    only_postcode_areas: list[str] | None = None,
) -> ImportReport:
    """Import a list of community assets in format ``fmt`` (a key of :data:`FORMATS`).

    Parameters
    ----------
    session : a session inside the caller's transaction; nothing is committed here
    path : the file, as published
    fmt : ``libraries``, ``nhsbsa-pharmacies``, ``epraccur``, ``givefood`` or ``geojson``
    category : asset-type slug; default the format's, or for GeoJSON one inferred from the file name
    publish : new assets are published (True) or wait for moderation (False); the status of assets
        already in the database is left as moderators set it
    progress : ``progress(total=..., desc=...)`` factory of progress bars
    only_postcode_areas : e.g. ``["SY", "TF"]``: rows whose postcode lies elsewhere are skipped
        (counted, not problems); rows located by coordinates and without a postcode are kept

    Returns
    -------
    ImportReport
        Rows read, inserted, updated, unchanged and skipped (deliberate omissions by reason), and
        problems: rows that could not be imported, with line number, column and value.

    Examples
    --------
    >>> report = import_assets(session, "libraries_england_2023.csv", "libraries")  # doctest: +SKIP
    >>> report.inserted, report.skipped_reasons["closed (a year in the closed column)"]  # doctest: +SKIP
    (2927, 349)
    """
    spec = FORMATS.get(fmt)
    if spec is None:
        raise BadInputError(f"unknown asset format {fmt!r}; choose one of: {', '.join(sorted(FORMATS))}")
    path = Path(path)
    if fmt == "oruk":
        from assetmap.importers.oruk import import_oruk

        return import_oruk(session, path, publish=publish, progress=progress, category=category)
    if not path.is_file():
        raise ImportFileError(f"file not found: {path}")
    slug = category or spec.category or ((_layer(path) or (None,))[0])
    terms = {term_slug: (tid, term_label) for term_slug, tid, term_label in session.execute(
        text("SELECT slug, id, label FROM taxonomy_term WHERE vocabulary = 'asset-type'")).all()}
    if slug is None:
        raise BadInputError(
            f"cannot tell what kind of asset {path.name} holds; pass --category (one of: {', '.join(sorted(terms))})"
        )
    if slug not in terms:
        raise BadInputError(f"unknown category {slug!r}; choose one of: {', '.join(sorted(terms))}")
    areas = sorted({a.strip().upper() for a in only_postcode_areas or [] if a.strip()}) or None
    term_id, label = terms[slug]
    report = ImportReport(source=f"{fmt} ({path.name})")

    bar = progress(total=None, desc=f"{fmt}: reading")
    rows = []
    for row in spec.read(path, report, slug, label):
        rows.append(row)
        bar.update(1)
    bar.close()
    records = _check_rows(rows, report, areas)

    session.flush()  # the ORM's pending changes first: the rest is SQL on the same transaction
    bar = progress(total=5, desc=f"{fmt}: database")
    _load(session, records)
    bar.update(1)
    _locate(session, report)
    bar.update(1)
    _upsert_organisations(session, fmt)
    bar.update(1)
    _stage(session, fmt)
    bar.update(1)
    _write(session, report, fmt, spec.fields, term_id, slug, publish, f"import {fmt}: {path.name}")
    bar.update(1)
    bar.close()
    session.expire_all()  # Asset objects loaded before the import now see its changes
    return report


# --- checks in Python: names, postcodes, duplicates -------------------------------------------------
def _check_rows(rows: list[af.AssetRow], report: ImportReport, areas: list[str] | None) -> list[tuple]:
    """Rows that pass, as tuples for COPY; the others are reported."""
    seen: dict[str, af.AssetRow] = {}
    out = []
    for row in rows:
        postcode = normalise_postcode(row.postcode)
        if row.lon is None:
            if not row.postcode:
                report.problem(row.line, "no postcode", row.postcode_column)
                continue
            if postcode is None:
                report.problem(row.line, "malformed postcode", row.postcode_column, row.postcode)
                continue
        elif row.postcode and postcode is None:
            row.extra = {**row.extra, "postcode_as_published": row.postcode}
        if areas and postcode and postcode_area(postcode) not in areas:
            report.skip(f"outside the postcode areas imported ({', '.join(areas)})")
            continue
        if not row.name:
            report.problem(row.line, "no name", "name")
            continue
        too_long = next(
            (k for k in _LIMITED if validation.too_long(k, getattr(row, k))), None
        )
        if too_long:
            report.problem(row.line, f"{too_long} longer than {validation.MAX_LENGTHS[too_long]} characters",
                           too_long, (getattr(row, too_long) or "")[:60])
            continue
        first = seen.get(row.source_id)
        if first is not None:
            if replace(first, line=0) == replace(row, line=0):
                report.skip("repeated row (identical to an earlier one)")
            else:
                report.problem(row.line, "duplicate source id", row.id_column, f"{row.source_id} (first on line {first.line})")
            continue
        seen[row.source_id] = row
        try:
            extra = json.dumps(row.extra, allow_nan=False, ensure_ascii=False, sort_keys=True)
        except ValueError:
            report.problem(row.line, "a value is not a finite number", None)
            continue
        out.append((
            row.line, row.source_id, row.name, postcode, row.postcode, row.postcode_column,
            row.lon, row.lat, row.address, row.phone, row.email, row.url,
            None if row.opening_hours is None else json.dumps(row.opening_hours),
            row.opening_hours_note, row.organisation, extra,
        ))
    return out


# --- SQL: load, locate, upsert -------------------------------------------------------------------
_IN_COLUMNS = [
    ("line", "int"), ("source_id", "text"), ("name", "text"), ("postcode", "text"), ("postcode_raw", "text"),
    ("postcode_column", "text"), ("lon", "float8"), ("lat", "float8"), ("address", "text"), ("phone", "text"),
    ("email", "text"), ("url", "text"), ("opening_hours", "jsonb"), ("opening_hours_note", "text"),
    ("org_name", "text"), ("extra", "jsonb"),
]


def _temp_table(session: Session, name: str, select_sql: str, params: dict | None = None) -> None:
    session.execute(text(f"DROP TABLE IF EXISTS {name}"))
    session.execute(text(f"CREATE TEMP TABLE {name} ON COMMIT DROP AS {select_sql}"), params or {})


def _load(session: Session, records: list[tuple]) -> None:
    copy_into_temp(session, "tmp_asset_in", _IN_COLUMNS, records)
    session.execute(text("ANALYZE tmp_asset_in"))


def _locate(session: Session, report: ImportReport) -> None:
    """Coordinates when given, else the postcode's Code-Point position; the rest are problems."""
    _temp_table(
        session,
        "tmp_asset_located",
        """
        SELECT i.*, CASE WHEN i.lon IS NOT NULL THEN ST_SetSRID(ST_MakePoint(i.lon, i.lat), 4326)
                         ELSE p.location END AS location
        FROM tmp_asset_in i LEFT JOIN postcode p ON i.lon IS NULL AND p.postcode = i.postcode
        """,
    )
    unknown = session.execute(text(
        "SELECT line, postcode_column, postcode_raw FROM tmp_asset_located WHERE location IS NULL ORDER BY line"
    )).all()
    for line, column, value in unknown:
        report.problem(line, "unknown postcode", column, value)


def _upsert_organisations(session: Session, source: str) -> None:
    """Organisations named in the file, keyed by (source, name)."""
    session.execute(text(
        """
        INSERT INTO organisation (uuid, name, source, source_id)
        SELECT gen_random_uuid(), org_name, :source, org_name
        FROM (SELECT DISTINCT org_name FROM tmp_asset_located
              WHERE org_name IS NOT NULL AND location IS NOT NULL) o
        ON CONFLICT (source, source_id) DO NOTHING
        """
    ), {"source": source})


def _stage(session: Session, source: str) -> None:
    """The new values of each located row, with the id of the asset it updates (if any)."""
    _temp_table(
        session,
        "tmp_asset_new",
        """
        SELECT l.line, l.source_id, l.name, o.id AS organisation_id, l.location, l.address, l.postcode,
               l.phone, l.email, l.url, l.opening_hours, l.opening_hours_note, l.extra,
               a.id AS asset_id, a.id IS NULL AS is_new
        FROM tmp_asset_located l
        LEFT JOIN organisation o ON o.source = :source AND o.source_id = l.org_name
        LEFT JOIN asset a ON a.source = :source AND a.source_id = l.source_id
        WHERE l.location IS NOT NULL
        """,
        {"source": source},
    )


def _as_json(field: str, alias: str) -> str:
    """A field as revision JSON, in the normal form of :mod:`assetmap.domain.revisions`
    (location as ``[lon, lat]`` to 6 decimal places)."""
    if field == "location":
        return (f"CASE WHEN {alias}.location IS NULL THEN NULL ELSE jsonb_build_array("
                f"round(ST_X({alias}.location)::numeric, 6), round(ST_Y({alias}.location)::numeric, 6)) END")
    return f"to_jsonb({alias}.{field})"


# The asset as kept in a revision's snapshot (after the change).
_SNAPSHOT_FIELDS = (
    "uuid", "name", "description", "organisation_id", "location", "address", "town", "postcode", "phone",
    "email", "url", "opening_hours", "opening_hours_note", "status", "source", "source_id", "extra", "version",
)
_SNAPSHOT = (
    "jsonb_build_object("
    + ", ".join(f"'{f}', {_as_json(f, 'a')}" for f in _SNAPSHOT_FIELDS)
    + ", 'asset_types', (SELECT COALESCE(jsonb_agg(t.slug ORDER BY t.slug), '[]'::jsonb) FROM asset_term x"
      " JOIN taxonomy_term t ON t.id = x.term_id AND t.vocabulary = 'asset-type' WHERE x.asset_id = a.id))"
)


def _write(session: Session, report: ImportReport, source: str, fields: tuple[str, ...], term_id: int,
           slug: str, publish: bool, reason: str) -> None:
    params = {"source": source, "term_id": term_id, "slug": slug, "reason": reason,
              "status": "published" if publish else "pending"}
    # What changed in assets already imported: {field: [old, new]}, plus a missing category.
    changes = " || ".join(
        f"CASE WHEN a.{f} IS DISTINCT FROM n.{f} THEN jsonb_build_object('{f}', "
        f"jsonb_build_array({_as_json(f, 'a')}, {_as_json(f, 'n')})) ELSE '{{}}'::jsonb END"
        for f in fields
    )
    _temp_table(
        session,
        "tmp_asset_diff",
        f"""
        SELECT asset_id, changes FROM (
            SELECT n.asset_id, {changes}
                   || CASE WHEN EXISTS (SELECT 1 FROM asset_term x WHERE x.asset_id = a.id AND x.term_id = :term_id)
                           THEN '{{}}'::jsonb
                           ELSE jsonb_build_object('asset_types', jsonb_build_array(
                               (SELECT COALESCE(jsonb_agg(t.slug ORDER BY t.slug), '[]'::jsonb) FROM asset_term x
                                JOIN taxonomy_term t ON t.id = x.term_id AND t.vocabulary = 'asset-type'
                                WHERE x.asset_id = a.id),
                               (SELECT jsonb_agg(u.slug ORDER BY u.slug) FROM (
                                   SELECT t.slug FROM asset_term x
                                   JOIN taxonomy_term t ON t.id = x.term_id AND t.vocabulary = 'asset-type'
                                   WHERE x.asset_id = a.id
                                   UNION SELECT CAST(:slug AS text)) u))) END AS changes
            FROM tmp_asset_new n JOIN asset a ON a.id = n.asset_id
        ) d WHERE changes <> '{{}}'::jsonb
        """,
        params,
    )
    sets = ", ".join(f"{f} = n.{f}" for f in fields)
    report.updated = session.execute(text(
        f"""
        UPDATE asset a SET {sets}, version = a.version + 1, updated_at = now()
        FROM tmp_asset_new n JOIN tmp_asset_diff d ON d.asset_id = n.asset_id
        WHERE a.id = n.asset_id
        """
    )).rowcount

    cols = ", ".join(fields)
    report.inserted = session.execute(text(
        f"""
        INSERT INTO asset (uuid, {cols}, status, source, source_id, access_modes, age_groups, accessibility,
                           version, created_at, updated_at)
        SELECT gen_random_uuid(), {", ".join(f"n.{f}" for f in fields)}, CAST(:status AS asset_status), :source,
               n.source_id, '{{}}', '{{}}', '{{}}', 1, now(), now()
        FROM tmp_asset_new n WHERE n.is_new ORDER BY n.line
        """
    ), params).rowcount
    session.execute(text(
        """
        UPDATE tmp_asset_new n SET asset_id = a.id FROM asset a
        WHERE n.is_new AND a.source = :source AND a.source_id = n.source_id
        """
    ), params)
    session.execute(text(
        """
        INSERT INTO asset_term (asset_id, term_id) SELECT asset_id, :term_id FROM tmp_asset_new
        ON CONFLICT DO NOTHING
        """
    ), params)
    # One revision per inserted or changed asset, in this transaction.
    session.execute(text(
        f"""
        INSERT INTO revision (asset_id, action, changes, snapshot, reason, status_after, created_at)
        SELECT a.id, 'import', d.changes, {_SNAPSHOT}, :reason, a.status::text, now()
        FROM tmp_asset_diff d JOIN asset a ON a.id = d.asset_id
        ORDER BY a.id
        """
    ), params)
    session.execute(text(
        f"""
        WITH s AS MATERIALIZED (
            SELECT a.id, a.status::text AS status, {_SNAPSHOT} AS snapshot
            FROM tmp_asset_new n JOIN asset a ON a.id = n.asset_id WHERE n.is_new
        )
        INSERT INTO revision (asset_id, action, changes, snapshot, reason, status_after, created_at)
        SELECT s.id, 'import',
               (SELECT COALESCE(jsonb_object_agg(k, jsonb_build_array(NULL, v)), '{{}}'::jsonb)
                FROM jsonb_each(s.snapshot) AS e(k, v)
                WHERE v <> 'null'::jsonb AND v <> '[]'::jsonb AND k NOT IN ('uuid', 'version', 'source', 'source_id')),
               s.snapshot, :reason, s.status, now()
        FROM s ORDER BY s.id
        """
    ), params)
    located = session.execute(text("SELECT count(*) FROM tmp_asset_new")).scalar_one()
    report.unchanged = located - report.inserted - report.updated
