"""The finder's JSON API, /api/v1: assets near a place as GeoJSON, one asset, a postcode, and the
categories. Public data only, read-only; every response carries licence and attribution ``meta``.
Its OpenAPI description is :func:`assetmap.web.openapi_finder.openapi_paths`.
"""
from __future__ import annotations

import json
import time
from datetime import datetime

from flask import Blueprint, current_app, jsonify, request, url_for

from assetmap.db import catalogue, finder
from assetmap.domain.attribution import data_meta
from assetmap.domain.search import open_now_probe, parse_finder_query, postcode_where
from assetmap.web.cors import open_blueprint
from assetmap.web.db import get_reader
from assetmap.web.finder import current_time, stale_before, vocabularies
from assetmap.web.urls import public_url_for

bp = Blueprint("api", __name__, url_prefix="/api/v1")


open_blueprint(bp)  # open data, read-only, no credentials: any site may use it from the browser


#: How long a worker reuses the licence and attribution it read (they change only on an import).
SOURCES_TTL_S = 30.0


def _sources(db) -> dict:
    """The licence and attribution lines of the imported data (:func:`data_meta`), read at most
    every ``ASSETMAP_API_SOURCES_TTL`` seconds (default :data:`SOURCES_TTL_S`; 0: every request) per app."""
    ttl = float(current_app.config.get("ASSETMAP_API_SOURCES_TTL", SOURCES_TTL_S))
    cached = current_app.extensions.get("assetmap.api_sources")
    now = time.monotonic()
    if cached is not None and now - cached[0] < ttl:
        return cached[1]
    value = data_meta(catalogue.data_sources(db))
    current_app.extensions["assetmap.api_sources"] = (now, value)
    return value


def _meta(db, at: datetime, **extra) -> dict:
    meta = _sources(db)
    return {
        "licence": meta["licence"],
        "attribution": list(meta["attribution"]),
        "generated_at": at.isoformat(),
        **extra,
    }


def _asset_url_prefix() -> str:
    """The asset page's URL less the id (one url_for per response, not one per feature)."""
    return public_url_for("finder.asset", asset_id=0)[:-1]


def _json_with_features(head: dict, features: list[str], tail: dict):
    """A JSON object of ``head``'s members, then ``features`` (GeoJSON Feature texts that
    PostgreSQL wrote, spliced in as they are), then ``tail``'s members."""
    encode = current_app.json.dumps
    members = [f"{encode(k)}:{encode(v)}" for k, v in head.items()]
    members.append(f'"features":[{",".join(features)}]')
    members += [f"{encode(k)}:{encode(v)}" for k, v in tail.items()]
    return current_app.response_class("{" + ",".join(members) + "}\n", mimetype="application/json")


@bp.get("/assets")
def assets():
    db = get_reader()
    at = current_time()
    query = parse_finder_query(request.args.to_dict(flat=False), vocabularies(db), api=True)
    result = finder.find(db, query, open_now_probe(at), stale_before=stale_before(at),
                         features=finder.Features(_asset_url_prefix()), home=current_app.config["DEFAULT_AREAS"])
    total, more = result["total"], result["has_more"]
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
    meta = _meta(
        db, at,
        location=None if location is None else {
            "kind": location["kind"], "label": location["label"],
            "lat": round(location["lat"], 6), "lon": round(location["lon"], 6),
        },
        radius_m=query.radius_m if location else None,
        widened=result["widened"],
        notices=list(query.notices),
        order="distance" if location else "id",
        paging=paging,
    )
    return _json_with_features({"type": "FeatureCollection"}, [i["feature"] for i in result["items"]],
                               {"meta": meta})


@bp.get("/assets/<int:asset_id>")
def asset(asset_id: int):
    db = get_reader()
    at = current_time()
    item = finder.get_asset(db, asset_id, open_now_probe(at),
                            finder.Features(_asset_url_prefix(), stale_before=stale_before(at)))
    body = {**json.loads(item["feature"]), "meta": _meta(db, at)}
    return jsonify(body)


@bp.get("/postcodes/<path:postcode>")
def postcode(postcode: str):
    db = get_reader()
    info = finder.postcode_info(db, postcode_where(postcode))
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
    body["meta"] = _meta(db, current_time())
    return jsonify(body)


@bp.get("/categories")
def categories():
    db = get_reader()
    body = {**finder.list_categories(db), "meta": _meta(db, current_time())}
    return jsonify(body)
