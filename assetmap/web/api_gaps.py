"""The gap analysis as JSON, /api/v1: ``GET /gaps`` (one row per LSOA of a local authority) and
``GET /indicators`` (the need indicators a query may name). ``GET /categories`` is the finder's
(:mod:`assetmap.web.api`). Every response carries licence and attribution ``meta``; an unknown
value is a 400 whose body lists the allowed ones.
"""
from __future__ import annotations

from datetime import datetime, timezone

from flask import Blueprint, current_app, jsonify, request

from assetmap.db import catalogue, gaps
from assetmap.domain.gap_analysis import DECAYS, GROUPS
from assetmap.web.db import get_session

bp = Blueprint("api_gaps", __name__, url_prefix="/api/v1")

FIELDS = {
    "code": "LSOA 2011 code",
    "name": "LSOA 2011 name",
    "population": "people in the population group (IoD 2019 File 6, mid-2015)",
    "need": "the indicator's value (null: no data)",
    "need_pct": "need percentile over the local authority's LSOAs, 100 = most need",
    "provision": "raw E2SFCA (decay=gaussian) or 2SFCA (decay=none) score: asset capacity per person "
                 "within radius_m of the LSOA's ST_PointOnSurface in EPSG:27700",
    "provision_pct": "provision percentile over the same LSOAs, 100 = most provision",
    "nearest_m": "metres to the nearest asset of the category (null: none loaded)",
    "gap": "need_pct - provision_pct (null when need is missing)",
    "class": "3x3 bivariate class '<low|mid|high>-need/<low|mid|high>-provision', or 'no-data'",
}


@bp.after_request
def _public(response):
    response.headers["Access-Control-Allow-Origin"] = "*"
    return response


def _meta(session, **extra) -> dict:
    sources = catalogue.data_sources(session)
    return {
        "licence": "; ".join(sorted({s["licence"] for s in sources if s["licence"]})) or "Open Government Licence v3.0",
        "attribution": [s["attribution"] or s["title"] for s in sources],
        "generated_at": datetime.now(timezone.utc).replace(microsecond=0).isoformat(),
        **extra,
    }


@bp.get("/gaps")
def gap_rows():
    session = get_session()
    params, _ = gaps.parse_query(session, request.args, current_app.config["DEFAULT_AREAS"])
    run = gaps.ensure_run(session, params)
    rows = gaps.run_scores(session, run["id"])
    session.commit()
    return jsonify({
        "rows": [{
            "code": r["code"], "name": r["name"], "population": r["population"], "need": r["need"],
            "need_pct": r["need_pct"], "provision": r["provision"], "provision_pct": r["provision_pct"],
            "nearest_m": r["nearest_m"], "gap": r["gap"], "class": r["bivariate_class"],
        } for r in rows],
        "meta": _meta(session, parameters=params.as_dict(), run={
            "id": run["id"], "computed_at": run["created_at"].isoformat(), "updated_at": run["updated_at"].isoformat(),
            "assets_counted": run["summary"].get("supply"),
        }, fields=FIELDS, groups={k: v[1] for k, v in GROUPS.items()}, decays=DECAYS, order="code"),
    })


@bp.get("/indicators")
def indicators():
    session = get_session()
    rows = gaps.gap_options(session)["indicators"]
    return jsonify({
        "indicators": [{
            "key": r["key"], "label": r["label"], "unit": r["unit"], "source": r["source"], "year": r["year"],
            "higher_is_more_need": r["higher_is_more_need"],
            "direction": "higher is more need" if r["higher_is_more_need"] else "lower is more need",
        } for r in rows],
        "meta": _meta(session, order="import"),
    })
