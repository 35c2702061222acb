"""ONS boundary GeoJSON (LSOA, MSOA, ward, local authority), as published: generalised clipped
boundaries in WGS84, including the gzipped England LSOA file (read through GDAL's /vsigzip/)."""
from __future__ import annotations

import re
from pathlib import Path

import pyogrio
import shapely
from shapely.geometry import MultiPolygon, Polygon
from sqlalchemy import text
from sqlalchemy.orm import Session

from assetmap.db.bulk import copy_into_temp, upsert_counts
from assetmap.errors import ImportFileError
from assetmap.importers.report import ImportReport, silent_progress

# Official property names by level; the year digits vary by vintage (LSOA11CD, WD13CD, LAD19CD...).
CODE_FIELDS = [
    (re.compile(r"^LSOA\d\dCD$"), "lsoa"),
    (re.compile(r"^MSOA\d\dCD$"), "msoa"),
    (re.compile(r"^WD\d\dCD$"), "ward"),
    (re.compile(r"^LAD\d\dCD$"), "lad"),
]
LAD_IN_FILE_NAME = re.compile(r"_(E0[6-9]\d{6}|W06\d{6})_")


def _gdal_path(path: Path) -> str:
    return f"/vsigzip/{path}" if path.suffix == ".gz" else str(path)


def _detect_fields(columns: list[str], level: str | None) -> tuple[str, str, str]:
    for pattern, lvl in CODE_FIELDS:
        for col in columns:
            if pattern.match(col) and (level is None or level == lvl):
                name_col = col[:-2] + "NM"
                if name_col not in columns:
                    raise ImportFileError(f"found {col} but no {name_col} name column")
                return col, name_col, lvl
    raise ImportFileError(
        "no ONS code property found (expected e.g. LSOA11CD/LSOA11NM, MSOA11CD, WD13CD, LAD19CD); "
        f"the file has: {', '.join(columns) or 'no properties'}"
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
    code_col, name_col, lvl = _detect_fields(list(gdf.columns), level)
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
        lad = getattr(rec, "LAD_FILE", None) or file_lad
        if lvl == "lad":
            lad = code
        rows.append((code, name or code, lvl, lad, shapely.to_wkb(geom, hex=True, output_dimension=2)))
    bar.close()

    copy_into_temp(
        session, "tmp_area",
        [("code", "varchar(20)"), ("name", "varchar(200)"), ("level", "varchar(10)"), ("lad_code", "varchar(10)"),
         ("wkb", "text")],
        rows,
    )
    report.inserted, report.updated = upsert_counts(
        session,
        """
        INSERT INTO area (code, name, level, lad_code, geom, source)
        SELECT code, name, level, lad_code, ST_GeomFromWKB(decode(wkb, 'hex'), 4326), :source FROM tmp_area
        ON CONFLICT (code) DO UPDATE SET
            name = EXCLUDED.name, level = EXCLUDED.level,
            lad_code = COALESCE(EXCLUDED.lad_code, area.lad_code), geom = EXCLUDED.geom
        WHERE (area.name, area.level, area.lad_code) IS DISTINCT FROM
              (EXCLUDED.name, EXCLUDED.level, COALESCE(EXCLUDED.lad_code, area.lad_code))
           OR area.geom IS NULL OR NOT ST_OrderingEquals(area.geom, EXCLUDED.geom)
        RETURNING (xmax = 0)
        """,
        {"source": path.name},
    )
    report.unchanged = len(rows) - report.inserted - report.updated
    return report


def fill_missing_lad_codes(session: Session) -> int:
    """Give wards and MSOAs without a local authority the one of the LSOA under their inside point."""
    result = session.execute(
        text(
            """
            UPDATE area a SET lad_code = l.lad_code
            FROM area l
            WHERE a.lad_code IS NULL AND a.level IN ('msoa', 'ward')
              AND l.level = 'lsoa' AND l.lad_code IS NOT NULL
              AND ST_Contains(l.geom, ST_PointOnSurface(a.geom))
            """
        )
    )
    return result.rowcount


def derive_lad_geometries(session: Session, lad_codes: list[str] | None = None, progress=silent_progress) -> int:
    """Build each local authority's polygon as the union of its LSOAs (for authorities whose row
    exists, from the IoD import, but has no geometry yet, or those named)."""
    where = "a.geom IS NULL" if lad_codes is None else "a.code = ANY(:codes)"
    codes = session.execute(
        text(f"SELECT a.code FROM area a WHERE a.level = 'lad' AND {where} ORDER BY a.code"), {"codes": lad_codes or []}
    ).scalars().all()
    bar = progress(total=len(codes), desc="local authority outlines")
    done = 0
    for code in codes:
        # Generalised LSOA outlines do not share every vertex, so their union keeps hairline
        # slivers as holes and crumbs; keep each part's exterior ring and drop crumbs (< ~1 ha).
        result = session.execute(
            text(
                """
                UPDATE area SET geom = sub.geom FROM (
                    SELECT ST_Multi(ST_Collect(ST_MakePolygon(ST_ExteriorRing(d.geom)))) AS geom
                    FROM ST_Dump((
                        SELECT ST_CollectionExtract(ST_MakeValid(ST_Union(geom)), 3)
                        FROM area WHERE level = 'lsoa' AND lad_code = :code
                    )) d
                    WHERE ST_Area(d.geom) > 1e-6
                ) sub
                WHERE area.code = :code AND sub.geom IS NOT NULL
                """
            ),
            {"code": code},
        )
        done += result.rowcount
        bar.update(1)
    bar.close()
    return done
