"""Downloads of an area's published assets: CSV, GeoJSON and Open Referral UK JSON, each with the
attribution of the data sources and the moment it was made."""
from __future__ import annotations

import json
from datetime import UTC, datetime

from flask import Blueprint, Response, jsonify

from assetmap.db import areas, catalogue
from assetmap.db import oruk_queries as queries
from assetmap.db.areas import LEVEL_NAMES
from assetmap.domain import oruk_query, oruk_write
from assetmap.domain.attribution import attribution_by_source, oruk_meta
from assetmap.domain.csv_safe import csv_text
from assetmap.domain.tabular import hours_text
from assetmap.domain.vintages import LSOA_LEVELS
from assetmap.errors import BadInputError
from assetmap.importers import oruk_import
from assetmap.importers import tabular as tabular_import
from assetmap.importers.assets import FORMATS
from assetmap.web.cors import allow_any_origin
from assetmap.web.db import get_session
from assetmap.web.urls import describedby, public_url_for

bp = Blueprint("exports", __name__, url_prefix="/exports")

#: The CSV's columns, in order; the bulk upload reads this header back without any mapping.
CSV_COLUMNS = (
    "id", "name", "category", "other_categories", "description", "organisation", "address", "town", "postcode",
    "latitude", "longitude", "phone", "email", "website", "opening_hours", "opening_hours_note", "cost", "is_free",
    "age_groups", "accessibility", "access", "eligibility", "last_verified", "last_modified", "oruk_service_id",
    "source", "attribution", "exported_at",
)


def _area(code: str) -> dict:
    area = areas.get_area(get_session(), code)
    if area["level"] not in ("lad", *LSOA_LEVELS):
        raise BadInputError(f"{code} is a {LEVEL_NAMES.get(area['level'], area['level'])}; "
                            "exports are by local authority or LSOA")
    return area


def _stamp() -> tuple[datetime, str]:
    now = datetime.now(UTC).replace(microsecond=0)
    return now, now.isoformat().replace("+00:00", "Z")


# The dataset each asset ``source`` that is not itself a dataset key belongs to.
_DATASET_OF = {
    **{fmt: spec.dataset_key for fmt, spec in FORMATS.items()},
    oruk_import.SOURCE: oruk_import.DATASET_KEY,
    tabular_import.SOURCE: tabular_import.DATASET_KEY,
}


def _sources(session) -> list[dict]:
    return catalogue.data_sources(session)


def _download(body: str, mimetype: str, filename: str, stamp: str, attribution: str) -> Response:
    response = Response(body, mimetype=mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    response.headers["X-Exported-At"] = stamp
    # HTTP headers are Latin-1 at best: the full text is in the file itself.
    response.headers["X-Attribution"] = attribution.replace("\u00a9", "(c)").encode("ascii", "replace").decode()[:1000]
    return allow_any_origin(response)


def _csv_row(asset: dict, attribution: str, stamp: str) -> list:
    asset_types = [t["label"] for t in asset["terms"] if t["vocabulary"] == "asset-type"]
    org = asset.get("organisation") or {}
    verified = asset.get("last_verified_at")
    return [
        str(asset["uuid"]), asset["name"], asset.get("category") or "",
        "; ".join(t for t in asset_types if t != asset.get("category_label")),
        asset.get("description") or "", org.get("name") or "", asset.get("address") or "", asset.get("town") or "",
        asset.get("postcode") or "",
        "" if asset.get("lat") is None else f"{asset['lat']:.6f}",
        "" if asset.get("lon") is None else f"{asset['lon']:.6f}",
        asset.get("phone") or "", asset.get("email") or "", asset.get("url") or "",
        hours_text(asset.get("opening_hours")), asset.get("opening_hours_note") or "", asset.get("cost") or "",
        {True: "yes", False: "no"}.get(asset.get("is_free"), ""),
        "; ".join(asset.get("age_groups") or ()), "; ".join(asset.get("accessibility") or ()),
        "; ".join(asset.get("access_modes") or ()), asset.get("eligibility_note") or "",
        verified.date().isoformat() if verified else "",
        asset["updated_at"].astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        str(asset["service_id"]), asset.get("source") or "", attribution, stamp,
    ]


def _area_rows(code: str) -> tuple[dict, dict, str, list[tuple[dict, list]]]:
    """The area, its attribution meta, the export time stamp, and each asset with its CSV row:
    what the CSV and GeoJSON exports share."""
    area = _area(code)
    session = get_session()
    sources = _sources(session)
    meta = oruk_meta(sources)
    by_source = attribution_by_source(sources, _DATASET_OF)
    _, stamp = _stamp()
    rows = [(asset, _csv_row(asset, by_source.get(asset.get("source") or "", meta["attribution"]), stamp))
            for asset in queries.assets_in_area(session, area["code"])]
    return area, meta, stamp, rows


@bp.get("/areas/<code>/assets.csv")
def assets_csv(code: str):
    """The area's published assets as a table; what describes it is at ``assets.meta.json``."""
    area, meta, stamp, rows = _area_rows(code)
    response = _download(csv_text(CSV_COLUMNS, (row for _, row in rows)), "text/csv",
                         f"assets-{area['code']}-{stamp[:10]}.csv", stamp, meta["attribution"])
    return describedby(response, public_url_for("exports.assets_meta", code=area["code"]))


@bp.get("/areas/<code>/assets.meta.json")
def assets_meta(code: str):
    """What describes the CSV export: the area, the columns, the licence and attribution."""
    area = _area(code)
    meta = oruk_meta(_sources(get_session()))
    _, stamp = _stamp()
    return allow_any_origin(jsonify({
        "title": f"Community assets in {area['name']}",
        "area": {"code": area["code"], "name": area["name"]},
        "data": public_url_for("exports.assets_csv", code=area["code"]),
        "columns": list(CSV_COLUMNS),
        "described_at": stamp,
        **meta,
    }))


@bp.get("/areas/<code>/assets.geojson")
def assets_geojson(code: str):
    area, meta, stamp, rows = _area_rows(code)
    features = []
    for asset, values in rows:
        row = dict(zip(CSV_COLUMNS, values))
        for key in ("latitude", "longitude", "exported_at"):
            row.pop(key)
        features.append({
            "type": "Feature",
            "id": str(asset["uuid"]),
            "geometry": None if asset.get("lon") is None else {
                "type": "Point", "coordinates": [round(asset["lon"], 6), round(asset["lat"], 6)]},
            "properties": {k: v for k, v in row.items() if v != ""},
        })
    body = {
        "type": "FeatureCollection",
        "name": f"assets-{area['code']}",
        "metadata": {"area": {"code": area["code"], "name": area["name"]}, "exported_at": stamp, **meta},
        "features": features,
    }
    return _download(json.dumps(body, ensure_ascii=False), "application/geo+json",
                     f"assets-{area['code']}-{stamp[:10]}.geojson", stamp, meta["attribution"])


@bp.get("/areas/<code>/assets.oruk.json")
def assets_oruk(code: str):
    area = _area(code)
    session = get_session()
    meta = oruk_meta(_sources(session))
    _, stamp = _stamp()
    services = [oruk_write.service_json(group) for group in queries.services_in_area(session, area["code"])]
    body = oruk_query.page(services, len(services), 1, max(len(services), 1))
    body["meta"] = {**meta, "area": {"code": area["code"], "name": area["name"]}, "exported_at": stamp}
    return _download(json.dumps(body, ensure_ascii=False), "application/json",
                     f"assets-{area['code']}-{stamp[:10]}.oruk.json", stamp, meta["attribution"])
