"""The gap analysis as JSON, /api/v1: ``GET /gaps`` (one row per LSOA of a local authority, or
with ``level=ward|msoa`` per ward or MSOA, population-weighted; all of the indicator's geography,
which ``meta.parameters.level`` names: ``lsoa21``/``ward24``/``msoa21`` for IoD 2025, ``lsoa``/
``ward``/``msoa`` for IoD 2019; a level whose boundaries are not loaded is a 400 naming those that are) and
``GET /indicators`` (the need indicators a query may name). ``GET /categories`` is the finder's
(:mod:`assetmap.web.api`). Every response carries licence and attribution ``meta``; an unknown
value is a 400 whose body lists the allowed ones.
"""
from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, current_app, jsonify, request

from assetmap.db import areas, catalogue, gap_options, gap_results, gap_runs
from assetmap.db.areas import LEVEL_NAMES
from assetmap.domain.attribution import data_meta
from assetmap.domain.gap_analysis import DECAYS, GROUPS, shown_level
from assetmap.web.cors import open_blueprint
from assetmap.web.db import get_session
from assetmap.web.extensions import limited_in_api, limiter
from assetmap.web.limits import gap_rate_limit

bp = Blueprint("api_gaps", __name__, url_prefix="/api/v1")

#: What the LSOA rows' ``code``, ``name`` and ``population`` are, by the run's LSOA level.
_LSOA_FIELDS = {
    "lsoa21": {
        "code": "LSOA 2021 code",
        "name": "LSOA 2021 name: its MSOA's House of Commons Library name and the ONS name, "
                "e.g. 'Oswestry East (Shropshire 008A)'",
        "population": "people in the population group: Census 2021 usual residents; the age groups are estimates "
                      "(the Census 2021 total times the IoD 2019 mid-2015 age shares carried through the "
                      "LSOA 2011 -> 2021 lookup)",
    },
    "lsoa": {
        "code": "LSOA 2011 code",
        "name": "LSOA 2011 name: its MSOA's House of Commons Library name and the ONS name",
        "population": "people in the population group (IoD 2019 File 6, mid-2015)",
    },
}
FIELDS = {
    **_LSOA_FIELDS["lsoa21"],
    "need": "the indicator's value (null: no data)",
    "need_pct": "need percentile over the local authority's LSOAs, 100 = most need; ties take the lowest",
    "provision": "raw E2SFCA (decay=gaussian) or 2SFCA (decay=none) score: asset capacity per person "
                 "within radius_m of the LSOA's ST_PointOnSurface in EPSG:27700",
    "provision_pct": "provision percentile over the same LSOAs, 100 = most provision; 0 where nothing is in "
                     "reach; ties take the lowest",
    "nearest_m": "metres to the nearest asset of the category (null: none loaded)",
    "gap": "need_pct - provision_pct (null when need is missing)",
    "class": "'no-provision' (nothing within reach, provision_pct 0), else the 3x3 bivariate class "
             "'<low|mid|high>-need/<low|mid|high>-provision', or 'no-data'",
}


open_blueprint(bp)


def _meta(session, **extra) -> dict:
    return {
        **data_meta(catalogue.data_sources(session)),
        "generated_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
        **extra,
    }


AGGREGATE_FIELDS = {
    "code": "ward or MSOA code, of the run's geography (meta.parameters.level): 2024 wards and 2021 MSOAs for "
            "an indicator on LSOA 2021, the 2011-era ones for one on LSOA 2011 (which LSOAs are in it: meta.method)",
    "name": "ward name, or the MSOA's House of Commons Library name",
    "areas": "LSOAs in it",
    "population": "people in the population group, summed over its LSOAs",
    "need": "population-weighted mean of the LSOAs' indicator values (LSOAs with no data left out)",
    "need_pct": "population-weighted mean of the LSOAs' need percentiles",
    "provision": "population-weighted mean of the LSOAs' raw (E)2SFCA scores",
    "provision_pct": "population-weighted mean of the LSOAs' provision percentiles",
    "gap": "need_pct - provision_pct (of the aggregated percentiles)",
    "class": "'no-provision' when none of its LSOAs has anything within reach, else the 3x3 bivariate class "
             "of the aggregated percentiles, or 'no-data'",
}


@bp.get("/gaps")
@limited_in_api
@limiter.limit(gap_rate_limit)
def gap_rows():
    session = get_session()
    level = (request.args.get("level") or "lsoa").strip()
    params, _ = gap_options.parse_query(session, request.args, current_app.config["DEFAULT_AREAS"])
    lsoa_level = gap_runs.run_level(session, params)
    shown = shown_level(lsoa_level, level)  # the level of the run's own geography: ward -> ward24 on LSOA 2021
    areas.require_level_loaded(session, shown)
    run = gap_runs.ensure_run(session, params)
    parameters = {**params.as_dict(), "level": shown, "geography": LEVEL_NAMES.get(shown, shown)}
    run_meta = {"id": run["id"], "computed_at": run["created_at"].isoformat(),
                "updated_at": run["updated_at"].isoformat(), "assets_counted": run["summary"].get("supply")}
    if shown != lsoa_level:
        aggregated = gap_results.aggregate_run(session, run, shown)
        session.commit()
        return jsonify({
            "rows": [{
                "code": r["code"], "name": r["name"], "areas": r["areas"], "population": r["population"],
                "need": r["need"], "need_pct": r["need_pct"], "provision": r["provision"],
                "provision_pct": r["provision_pct"], "gap": r["gap"], "class": r["bivariate_class"],
            } for r in aggregated["rows"]],
            "meta": _meta(session, parameters=parameters, run=run_meta, fields=AGGREGATE_FIELDS,
                          lsoas_in_no_area=aggregated["unassigned"],
                          method="LSOA scores population-weighted (by the population group) over the LSOAs in "
                                 "each area: an LSOA's MSOA and 2024 ward as the ONS publishes them (the ward by "
                                 "best fit), a 2011-era ward by where the LSOA's representative point lies",
                          order="code"),
        })
    rows = gap_results.run_scores(session, run["id"])
    session.commit()
    return jsonify({
        "rows": [{
            "code": r["code"], "name": r["name"], "population": r["population"], "need": r["need"],
            "need_pct": r["need_pct"], "provision": r["provision"], "provision_pct": r["provision_pct"],
            "nearest_m": r["nearest_m"], "gap": r["gap"], "class": r["bivariate_class"],
        } for r in rows],
        "meta": _meta(session, parameters=parameters, run=run_meta,
                      fields={**FIELDS, **_LSOA_FIELDS.get(lsoa_level, {})},
                      groups={k: v[1] for k, v in GROUPS.items()}, decays=DECAYS, order="code"),
    })


@bp.get("/indicators")
def indicators():
    session = get_session()
    rows = gap_options.gap_options(session)["indicators"]
    return jsonify({
        "indicators": [{
            "key": r["key"], "label": r["label"], "unit": r["unit"], "source": r["source"], "year": r["year"],
            "higher_is_more_need": r["higher_is_more_need"],
            "direction": "higher is more need" if r["higher_is_more_need"] else "lower is more need",
            "area_level": r["area_level"],
        } for r in rows],
        "meta": _meta(session, order="import"),
    })
