"""Community assets from official lists and GeoJSON layers, as published.

Each format (:data:`FORMATS`) reads its file into rows (:mod:`assetmap.importers.asset_formats`);
this module checks them and hands them to :func:`assetmap.db.assets.upsert_from_import`, which
places them set-based (latitude/longitude when given, else the Code-Point position of the
postcode) and upserts them by ``(source, source_id)`` inside the caller's transaction, writing one
``revision`` per inserted or changed asset. Re-importing the same file changes nothing. The
report carries the change set (``report.changes``) for the gap refresh after the commit.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from pathlib import Path

from sqlalchemy.orm import Session

from assetmap.db.assets import ImportRow, upsert_from_import
from assetmap.db.uploads import asset_types
from assetmap.domain import validation
from assetmap.domain.postcodes import normalise_postcode, postcode_area
from assetmap.errors import BadInputError, ImportFileError
from assetmap.importers import asset_formats as af
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
        (*_BASE_FIELDS, "organisation_id", "email", "url", "opening_hours_note"),
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
        (*_BASE_FIELDS, "organisation_id", "phone"),
        _fixed(af.read_epraccur),
    ),
    "givefood": FormatSpec(
        "givefood",
        "Give Food food banks CSV (latitude/longitude); closed ones left out",
        "food-bank",
        (*_BASE_FIELDS, "organisation_id", "url"),
        _fixed(af.read_givefood),
    ),
    "geojson": FormatSpec(
        "gm-data-lab",
        "A GeoJSON point or polygon layer in WGS84 (e.g. Trafford Data Lab's Greater Manchester extracts); "
        "category from --category or the file name",
        None,
        (*_BASE_FIELDS, "organisation_id", "phone", "email", "url", "opening_hours", "opening_hours_note"),
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
        from assetmap.importers.oruk_import import import_oruk

        return import_oruk(session, path, publish=publish, progress=progress, category=category)
    if not path.is_file():
        raise ImportFileError(f"file not found: {path}")
    slug = category or spec.category or ((_layer(path) or (None,))[0])
    terms = {t["slug"]: t["label"] for t in asset_types(session)[1]}
    if slug is None:
        raise BadInputError(
            f"cannot tell what kind of asset {path.name} holds; pass --category (one of: {', '.join(sorted(terms))})"
        )
    if slug not in terms:
        raise BadInputError(f"unknown category {slug!r}; choose one of: {', '.join(sorted(terms))}")
    areas = sorted({a.strip().upper() for a in only_postcode_areas or [] if a.strip()}) or None
    label = terms[slug]
    report = ImportReport(source=f"{fmt} ({path.name})")

    bar = progress(total=None, desc=f"{fmt}: reading")
    rows = []
    for row in spec.read(path, report, slug, label):
        rows.append(row)
        bar.update(1)
    bar.close()
    records = _check_rows(rows, report, areas, slug)

    bar = progress(total=1, desc=f"{fmt}: database")
    outcome = upsert_from_import(session, records, source=fmt, fields=spec.fields, publish=publish,
                                 reason=f"import {fmt}: {path.name}")
    bar.update(1)
    bar.close()
    for line, column, value in outcome.unlocated:
        report.problem(line, "unknown postcode", column, value)
    report.inserted, report.updated, report.unchanged = outcome.inserted, outcome.updated, outcome.unchanged
    report.changes = outcome.changes
    return report


# --- checks in Python: names, postcodes, duplicates -------------------------------------------------
def _check_rows(rows: list[af.AssetRow], report: ImportReport, areas: list[str] | None,
                category: str) -> list[ImportRow]:
    """Rows that pass, to write; the others are reported."""
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
                report.problem(row.line, "duplicate source id", row.id_column,
                               f"{row.source_id} (first on line {first.line})")
            continue
        seen[row.source_id] = row
        try:
            extra = json.dumps(row.extra, allow_nan=False, ensure_ascii=False, sort_keys=True)
        except ValueError:
            report.problem(row.line, "a value is not a finite number", None)
            continue
        out.append(ImportRow(
            line=row.line, source_id=row.source_id, name=row.name, category=category, lon=row.lon, lat=row.lat,
            postcode=postcode, postcode_raw=row.postcode, postcode_column=row.postcode_column,
            org_name=row.organisation, org_key=row.organisation_key, address=row.address, phone=row.phone,
            email=row.email, url=row.url,
            opening_hours=None if row.opening_hours is None else json.dumps(row.opening_hours),
            opening_hours_note=row.opening_hours_note, extra=extra,
        ))
    return out
