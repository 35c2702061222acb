"""ONS boundary GeoJSON (LSOA, MSOA, ward, local authority), as published: generalised clipped
boundaries in WGS84, including the gzipped England LSOA file (read through GDAL's /vsigzip/)."""
from __future__ import annotations

import re
from pathlib import Path

import pyogrio
import shapely
from shapely.geometry import MultiPolygon, Polygon
from sqlalchemy.orm import Session

from assetmap.db import areas as db_areas
from assetmap.db.areas import apply_area_names, upsert_areas
from assetmap.errors import ImportFileError
from assetmap.importers.report import ImportReport, silent_progress

# Official property names; the year digits say the vintage (LSOA11CD, LSOA21CD, WD13CD, WD22CD...),
# and the level stored carries it (see migration 0012): 2011 geography keeps "lsoa"/"msoa"/"ward".
CODE_FIELD = re.compile(r"^(?P<kind>LSOA|MSOA|WD|LAD)(?P<year>\d\d)CD$")
LAD_IN_FILE_NAME = re.compile(r"_(E0[6-9]\d{6}|W06\d{6})_")
# Files from other publishers (Trafford Data Lab) name their properties area_code/area_name; the
# level then comes from the file's name (lsoa21_..., msoa21_..., wards23_...) or is given.
GENERIC_FIELDS = ("area_code", "area_name")
LEVEL_IN_FILE_NAME = re.compile(r"^(?P<kind>lsoa|msoa|wards?)(?P<year>\d\d)_")
BOUNDARY_LEVELS = ("lsoa", "msoa", "ward", "lad", "lsoa21", "msoa21", "ward24")


def level_of(kind: str, year: int) -> str:
    """The stored level of an ONS geography of this kind and vintage year (two digits).

    >>> level_of("LSOA", 11), level_of("LSOA", 21), level_of("MSOA", 21), level_of("WD", 13), level_of("WD", 23)
    ('lsoa', 'lsoa21', 'msoa21', 'ward', 'ward24')
    >>> level_of("LAD", 24)
    'lad'
    """
    kind = kind.upper()
    if kind == "LAD":
        return "lad"
    if kind in ("WD", "WARD", "WARDS"):
        return "ward24" if year >= 22 else "ward"
    base = kind.lower()
    return f"{base}21" if year >= 21 else base


def _gdal_path(path: Path) -> str:
    return f"/vsigzip/{path}" if path.suffix == ".gz" else str(path)


def _detect_fields(columns: list[str], level: str | None, file_name: str = "") -> tuple[str, str, str]:
    for col in columns:
        m = CODE_FIELD.match(col)
        if m is None:
            continue
        lvl = level_of(m.group("kind"), int(m.group("year")))
        if level is not None and level != lvl:
            continue
        name_col = col[:-2] + "NM"
        if name_col not in columns:
            raise ImportFileError(f"found {col} but no {name_col} name column")
        return col, name_col, lvl
    if all(c in columns for c in GENERIC_FIELDS):
        m = LEVEL_IN_FILE_NAME.match(file_name.lower())
        lvl = level or (level_of(m.group("kind"), int(m.group("year"))) if m else None)
        if lvl is None:
            raise ImportFileError(f"{file_name}: the properties area_code/area_name do not say the level; "
                                  "name it (lsoa21, msoa21, ward24, ...)")
        return GENERIC_FIELDS[0], GENERIC_FIELDS[1], lvl
    raise ImportFileError(
        "no ONS code property found (expected e.g. LSOA21CD/LSOA21NM, LSOA11CD, MSOA21CD, WD22CD, LAD24CD, "
        f"or area_code/area_name); the file has: {', '.join(columns) or 'no properties'}"
    )


def _as_multipolygon(geom):
    if geom is None or geom.is_empty:
        return None
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
    if isinstance(geom, Polygon):
        return MultiPolygon([geom])
    if isinstance(geom, MultiPolygon):
        return geom
    polys = [g for g in getattr(geom, "geoms", []) if isinstance(g, (Polygon, MultiPolygon))]
    parts = []
    for p in polys:
        parts.extend(p.geoms if isinstance(p, MultiPolygon) else [p])
    return MultiPolygon(parts) if parts else None


def import_boundaries(
    session: Session, path: Path, level: str | None = None, lad_code: str | None = None, progress=silent_progress
) -> ImportReport:
    """Import an ONS boundary file into ``area``. The level is read from the official code property
    (or forced with ``level``); the local authority from a ``LAD_FILE`` property, ``lad_code``, or the
    file name (``lsoa11_E06000051_shropshire.geojson``)."""
    path = Path(path)
    report = ImportReport(source=f"boundaries ({path.name})")
    if not path.exists():
        raise ImportFileError(f"file not found: {path}")
    try:
        info = pyogrio.read_info(_gdal_path(path))
        gdf = pyogrio.read_dataframe(_gdal_path(path))
    except Exception as exc:  # pyogrio raises DataSourceError and friends with GDAL's message
        raise ImportFileError(f"cannot read {path.name} as a vector file: {str(exc).splitlines()[0]}") from None
    crs = info.get("crs")
    if not crs:
        raise ImportFileError(f"{path.name} has no coordinate reference system; expected WGS84 (EPSG:4326)")
    if gdf.crs is not None and gdf.crs.to_epsg() != 4326:
        gdf = gdf.to_crs(4326)
    minx, miny, maxx, maxy = gdf.total_bounds if len(gdf) else (0, 0, 0, 0)
    if len(gdf) and (abs(minx) > 180 or abs(maxx) > 180 or abs(miny) > 90 or abs(maxy) > 90):
        raise ImportFileError(
            f"{path.name}: coordinates ({minx:.0f}, {miny:.0f}) are not longitude/latitude: the file says "
            f"{crs} but looks like British National Grid metres; re-export it in EPSG:4326"
        )
    code_col, name_col, lvl = _detect_fields(list(gdf.columns), level, path.name)
    file_lad = lad_code or (m.group(1) if (m := LAD_IN_FILE_NAME.search(path.name)) else None)

    rows = []
    seen = set()
    bar = progress(total=len(gdf), desc=f"{lvl} boundaries")
    for i, rec in enumerate(gdf.itertuples(index=False)):
        report.read += 1
        bar.update(1)
        code = getattr(rec, code_col)
        name = getattr(rec, name_col)
        if not code:
            report.problem(i + 1, "no area code", code_col)
            continue
        if code in seen:
            report.problem(i + 1, "duplicate area code", code_col, code)
            continue
        seen.add(code)
        geom = _as_multipolygon(rec.geometry)
        if geom is None:
            report.problem(i + 1, "no polygon geometry", "geometry", code)
            continue
        lad = (getattr(rec, "LAD_FILE", None) or getattr(rec, "LAD24CD", None)
               or getattr(rec, "local_authority_area_code", None) or file_lad)
        if lvl == "lad":
            lad = code
        rows.append((code, name or code, lvl, lad, shapely.to_wkb(geom, hex=True, output_dimension=2)))
    bar.close()

    report.inserted, report.updated = upsert_areas(session, rows, path.name)
    report.unchanged = len(rows) - report.inserted - report.updated
    apply_area_names(session)
    return report


def fill_missing_lad_codes(session: Session) -> int:
    """Give wards and MSOAs without a local authority the one of the LSOA under their inside point."""
    return db_areas.fill_missing_lad_codes(session)


def derive_lad_geometries(session: Session, lad_codes: list[str] | None = None, progress=silent_progress) -> int:
    """Build each local authority's polygon as the union of its LSOAs (for authorities whose row
    exists, from the IoD import, but has no geometry yet, or those named)."""
    codes = db_areas.lad_codes_to_outline(session, lad_codes)
    bar = progress(total=len(codes), desc="local authority outlines")
    done = 0
    for code in codes:
        done += db_areas.outline_lad_from_lsoas(session, code)
        bar.update(1)
    bar.close()
    return done
