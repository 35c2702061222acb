"""The finder's JSON API, /api/v1: assets near a place as GeoJSON, one asset, a postcode, and the
categories. Public data only, read-only; every response carries licence and attribution ``meta``.
Its OpenAPI description is :func:`assetmap.web.openapi_v1.openapi_paths`.
"""
from __future__ import annotations

import time
from datetime import datetime

from flask import Blueprint, current_app, jsonify, request, url_for

from assetmap.db import catalogue, finder
from assetmap.domain.search import open_now_probe, parse_finder_query, postcode_where
from assetmap.web.db import get_session
from assetmap.web.finder import current_time, stale_before, vocabularies

bp = Blueprint("api", __name__, url_prefix="/api/v1")


@bp.after_request
def _public(response):
    # Open data, read-only, no credentials: any site may use it from the browser.
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


#: How long a worker reuses the licence and attribution it read (they change only on an import).
SOURCES_TTL_S = 30.0


def _sources(session) -> tuple[str, list[str]]:
    """The licence and attribution lines of the imported data, read at most every
    ``ASSETMAP_API_SOURCES_TTL`` seconds (default :data:`SOURCES_TTL_S`; 0: every request) per app."""
    ttl = float(current_app.config.get("ASSETMAP_API_SOURCES_TTL", SOURCES_TTL_S))
    cached = current_app.extensions.get("assetmap.api_sources")
    now = time.monotonic()
    if cached is not None and now - cached[0] < ttl:
        return cached[1]
    sources = catalogue.data_sources(session)
    licences = sorted({s["licence"] for s in sources if s["licence"]})
    value = ("; ".join(licences) or "Open Government Licence v3.0",
             [s["attribution"] or s["title"] for s in sources])
    current_app.extensions["assetmap.api_sources"] = (now, value)
    return value


def _meta(session, at: datetime, **extra) -> dict:
    licence, attribution = _sources(session)
    return {
        "licence": licence,
        "attribution": list(attribution),
        "generated_at": at.isoformat(),
        **extra,
    }


def _read_done(session) -> None:
    """End a view's read-only transaction with a COMMIT. Closing the session would roll it back,
    and after a ROLLBACK psycopg drops the connection's prepared statements (the rollback may
    have undone a PREPARE), so its automatic preparing (from a statement's fifth run on a
    connection) would never start and every search would be parsed and planned afresh: about
    0.9 ms of PostgreSQL CPU a request."""
    session.commit()


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def _asset_url_prefix() -> str:
    """The asset page's URL less the id (one url_for per response, not one per feature)."""
    return url_for("finder.asset", asset_id=0, _external=True)[:-1]


def _feature(item: dict, page_prefix: str) -> dict:
    geometry = None
    if item["lat"] is not None:
        geometry = {"type": "Point", "coordinates": [round(item["lon"], 6), round(item["lat"], 6)]}
    distance = item.get("distance_m")
    return {
        "type": "Feature",
        "id": item["id"],
        "geometry": geometry,
        "properties": {
            "id": item["id"],
            "uuid": str(item["uuid"]),
            "name": item["name"],
            "description": item["description"],
            "category": item["category"],
            "category_label": item["category_label"],
            "categories": item["categories"],
            "wellbeing": item["wellbeing"],
            "organisation": item["organisation"],
            "address": item["address"],
            "town": item["town"],
            "postcode": item["postcode"],
            "phone": item["phone"],
            "email": item["email"],
            "url": item["url"],
            "opening_hours": item["opening_hours"] if isinstance(item["opening_hours"], dict) else None,
            "opening_hours_note": item["opening_hours_note"],
            "open_now": item["open_now"],
            "cost": item["cost"],
            "is_free": item["is_free"],
            "access_modes": item["access_modes"],
            "age_groups": item["age_groups"],
            "eligibility_note": item["eligibility_note"],
            "accessibility": item["accessibility"],
            "accepting_referrals": item["accepting_referrals"],
            "service_area": item["service_area"],
            "last_verified_at": _iso(item["last_verified_at"]),
            "updated_at": _iso(item["updated_at"]),
            "stale": item.get("stale"),
            "distance_m": round(distance, 1) if distance is not None else None,
            "within_radius": item.get("within_radius"),
            "page_url": f"{page_prefix}{item['id']}",
        },
    }


@bp.get("/assets")
def assets():
    session = get_session()
    at = current_time()
    query = parse_finder_query(request.args.to_dict(flat=False), vocabularies(session), api=True)
    result = finder.find(session, query, open_now_probe(at), stale_before=stale_before(at))
    total, more = result["total"], result["has_more"]
    prefix = _asset_url_prefix()
    location = result["location"]
    paging = {
        "page": query.page,
        "per_page": query.per_page,
        "total": total,
        "total_is_lower_bound": result["total_is_lower_bound"],
        "pages": query.page + more,
        "next": url_for("api.assets", **query.to_args(page=query.page + 1, api=True)) if more else None,
        "prev": url_for("api.assets", **query.to_args(page=query.page - 1, api=True)) if query.page > 1 else None,
    }
    body = {
        "type": "FeatureCollection",
        "features": [_feature(i, prefix) for i in result["items"]],
        "meta": _meta(
            session, at,
            location=None if location is None else {
                "kind": location["kind"], "label": location["label"],
                "lat": round(location["lat"], 6), "lon": round(location["lon"], 6),
            },
            radius_m=query.radius_m if location else None,
            widened=result["widened"],
            notices=list(query.notices),
            order="distance" if location else "id",
            paging=paging,
        ),
    }
    _read_done(session)
    return jsonify(body)


@bp.get("/assets/<int:asset_id>")
def asset(asset_id: int):
    session = get_session()
    at = current_time()
    item = finder.get_asset(session, asset_id, open_now_probe(at))
    checked = item["last_verified_at"] or item["created_at"]
    item["stale"] = checked < stale_before(at)
    body = {**_feature(item, _asset_url_prefix()), "meta": _meta(session, at)}
    _read_done(session)
    return jsonify(body)


@bp.get("/postcodes/<path:postcode>")
def postcode(postcode: str):
    session = get_session()
    info = finder.postcode_info(session, postcode_where(postcode))
    body = {
        "kind": info["kind"],
        "postcode": info.get("postcode"),
        "outward": info["outward"],
        "lat": round(info["lat"], 6),
        "lon": round(info["lon"], 6),
        "lad_code": info.get("lad_code"),
        "ward_code": info.get("ward_code"),
        "postcodes": info.get("postcodes"),
    }
    body["meta"] = _meta(session, current_time())
    _read_done(session)
    return jsonify(body)


@bp.get("/categories")
def categories():
    session = get_session()
    body = {**finder.list_categories(session), "meta": _meta(session, current_time())}
    _read_done(session)
    return jsonify(body)
