"""Planners' pages: the gap map (need against provision by LSOA), its exports, and the vector
tiles it is drawn from.

``/plan`` takes the same query as ``/api/v1/gaps`` (``lad, category, indicator, group,
radius_m, decay``) plus ``layer`` and ``level`` (the second table: wards, MSOAs or every LSOA,
population-weighted, with the local authority's line); the table of the biggest gaps is the
page, the map an enhancement. ``/plan/indicators`` lets planners and administrators upload a
need indicator keyed by LSOA, MSOA or ward code. ``/plan/gaps.csv`` (a plain table, described by
``/plan/gaps.meta.json``) and ``/plan/gaps.geojson`` export the run with its parameters and the
data's attribution.
"""
from __future__ import annotations

import json
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from flask import Blueprint, Response, abort, current_app, jsonify, render_template, request, url_for
from flask_login import current_user
from werkzeug.utils import secure_filename

from assetmap.db import areas, catalogue, gap_inputs, gap_options, gap_results, gap_runs, gap_tiles, profile_queries
from assetmap.db.areas import LEVEL_NAMES
from assetmap.db.indicators import PARENT_LEVELS
from assetmap.domain.attribution import data_meta
from assetmap.domain.csv_safe import csv_text
from assetmap.domain.gap_analysis import (
    AGGREGATE_LEVELS,
    ALL_AREAS,
    DECAYS,
    FALLBACK_RADIUS_M,
    GROUPS,
    MAX_RADIUS_M,
    VINTAGE_LEVELS,
    rank_gaps,
    shown_level,
)
from assetmap.domain.permissions import can_upload
from assetmap.domain.vintages import vintage_on
from assetmap.errors import BadInputError, ImportFileError, NotFoundError
from assetmap.importers.indicators import import_area_csv
from assetmap.maps.gap_map import BIVARIATE_COLOURS, CLASS_LABELS, LAYERS, LEGEND, build_gap_map
from assetmap.web.auth import login_manager
from assetmap.web.cors import allow_any_origin
from assetmap.web.db import get_session
from assetmap.web.extensions import limiter
from assetmap.web.limits import gap_rate_limit
from assetmap.web.maps import map_parts
from assetmap.web.params import int_arg
from assetmap.web.urls import describedby, public_url_for

bp = Blueprint("plan", __name__)

#: Rows in the ranked table on the page.
TOP_N = 20
#: Rows at most in the table by area: every ward, MSOA or LSOA of a local authority, but of an
#: England-wide run's 33,755 LSOAs the biggest gaps only (every row would make a page of many
#: megabytes; the CSV has them all).
AREA_TABLE_MAX = 500
MVT_MIMETYPE = "application/vnd.mapbox-vector-tile"
METHOD = ("Provision: two-step floating catchment (2SFCA, Luo & Wang 2003; with Gaussian decay the enhanced "
          "2SFCA of Luo & Qi 2009), asset capacity (1 where unknown) per person within the radius of each LSOA's "
          "representative point (PostGIS ST_PointOnSurface in EPSG:27700), counting people and assets across the "
          "boundary; with a rural radius, rural areas (2021 rural-urban classification) use it, each area's own "
          "catchment deciding in both steps (variable-catchment 2SFCA, McGrail & Humphreys 2009). Need: the "
          "indicator as a percentile over the areas shown (100 = most need). Ties take their lowest percentile; an "
          "area with nothing in reach has provision percentile 0 and the class 'no-provision'. "
          "Gap = need percentile - provision percentile.")



def _report(with_assets: bool = True, top: int | None = None, level: str | None = None) -> tuple[dict, object]:
    """The run for this request's query and what describes it; with ``level`` (as the query
    names it), also ``report["level"]``: the stored level that shows the run there
    (:func:`~assetmap.domain.gap_analysis.shown_level`), checked before anything is computed."""
    session = get_session()
    params, options = gap_options.parse_query(session, request.args, current_app.config["DEFAULT_AREAS"])
    shown = None
    if level is not None:
        shown = shown_level(gap_runs.run_level(session, params), level)
        if request.args.get("level"):  # asked for by name: its boundaries must be loaded somewhere
            areas.require_level_loaded(session, shown)
    report = gap_results.gap_report(session, params, with_assets=with_assets, top=top)
    session.commit()  # the run is a stored result: keep it for the tiles and the next visitor
    report["options"] = options
    report["level"] = shown
    return report, params


def _metadata(report: dict, params) -> dict:
    run = report["run"]
    lsoa_level = gap_runs.run_level(get_session(), params, report["indicator"])
    return {
        "title": f"Need and provision: {report['category']['label']} in {report['area']['name']}",
        "parameters": {
            **params.as_dict(),
            "level": lsoa_level,
            "geography": LEVEL_NAMES.get(lsoa_level, lsoa_level),
            "lad_name": report["area"]["name"],
            "category_label": report["category"]["label"],
            "indicator_label": report["indicator"]["label"],
            "indicator_direction": "higher is more need" if report["indicator"]["higher_is_more_need"]
            else "lower is more need (1 = most deprived)",
            "group_label": GROUPS[params.group][1],
            "decay_label": DECAYS[params.decay],
        },
        "method": METHOD,
        "run": {"id": run["id"], "computed_at": run["created_at"].isoformat(),
                "updated_at": run["updated_at"].isoformat()},
        **data_meta(catalogue.data_sources(get_session())),
        "exported_at": datetime.now(UTC).replace(microsecond=0).isoformat(),
    }


def _version(run: dict) -> str:
    """Changes whenever the run's scores do (its tiles' URLs carry it)."""
    return str(round(run["updated_at"].timestamp() * 1_000_000))


@bp.get("/plan")
@limiter.limit(gap_rate_limit)
def gap_map():
    layer = request.args.get("layer") or "gap"
    if layer not in LAYERS:
        raise BadInputError(f"unknown layer {layer!r}; allowed: {', '.join(LAYERS)}",
                            details={"parameter": "layer", "allowed": list(LAYERS)})
    level = (request.args.get("level") or "ward").strip()
    report, params = _report(top=TOP_N, level=level)
    run = report["run"]
    shown = report["level"]
    session = get_session()
    counts = gap_options.category_counts(session, params.lad)
    rural_defaults = gap_options.rural_radii()
    categories = [{**c, "in_area": counts.get(c["slug"], 0),
                   "radius_m": c["catchment_m"] or FALLBACK_RADIUS_M,
                   "rural_m": rural_defaults.get(c["slug"], c["catchment_m"] or FALLBACK_RADIUS_M)}
                  for c in report["options"]["categories"]]
    by_area = gap_results.aggregate_run(session, run, shown)
    by_area["rows"].sort(key=lambda r: (r["gap"] is None, -(r["gap"] or 0.0), r["code"]))
    by_area["count"] = len(by_area["rows"])
    del by_area["rows"][AREA_TABLE_MAX:]
    # The map draws the level the table shows: LSOAs, or the wards or MSOAs they add up to, all of
    # the run's own geography.
    lsoa_level = by_area["lsoa_level"]
    level = next(k for k, v in VINTAGE_LEVELS[lsoa_level].items() if v == shown)  # as the links name it
    if shown == lsoa_level:
        tiles = url_for("plan.lsoa_tile", z=0, x=0, y=0, run=run["id"], v=_version(run))
    else:
        tiles = url_for("plan.level_tile", level=shown, z=0, x=0, y=0, run=run["id"], v=_version(run))
    tiles = tiles.replace("/0/0/0.pbf", "/{z}/{x}/{y}.pbf")
    # An area's profile opens on the run's vintage: a run on LSOA 2011 (IoD 2019) links to IoD 2019.
    profile_args = profile_queries.vintage_args(session, vintage_on(lsoa_level))
    sources = catalogue.data_sources(get_session())
    m = build_gap_map(
        tiles_url=tiles, assets=report["assets"], bounds=report["bounds"],
        category_label=report["category"]["label"], active_layer=layer,
        tile_url=current_app.config["TILE_URL"], attribution=current_app.config["TILE_ATTRIBUTION"],
        profile_url=url_for("profiles.area_profile", code="__code__", **profile_args), tile_layer=shown,
    )
    # Links carry both radii, so a rural radius set equal to the urban one stays so.
    link_args = {**params.as_dict(), "rural_radius_m": params.rural_m}
    query = {**link_args, "layer": layer, "level": level}
    return render_template(
        "plan/gaps.html",
        report=report, params=params, query=query, layer=layer, layers=LAYERS,
        top=report["rows"], summary=run["summary"],
        groups=GROUPS, decays=DECAYS, all_areas=ALL_AREAS,
        legend=LEGEND, bivariate_colours=BIVARIATE_COLOURS, class_labels=CLASS_LABELS,
        larger_radius=_larger_radius(params.radius_m), categories=categories,
        area_label=report["area"]["name"] if params.lad != ALL_AREAS else "all loaded areas",
        rural_loaded=gap_inputs.rural_classification_loaded(session),
        export_args=link_args, profile_args=profile_args, level=level, by_area=by_area,
        level_label=LEVEL_NAMES[shown], lsoa_label=LEVEL_NAMES[lsoa_level],
        levels={key: _capitalised(LEVEL_NAMES[VINTAGE_LEVELS[lsoa_level][key]]) for key in AGGREGATE_LEVELS},
        indicator_level=None if report["indicator"]["area_level"].startswith("lsoa")
        else LEVEL_NAMES.get(report["indicator"]["area_level"], report["indicator"]["area_level"]),
        map_parts=map_parts(m),
        sources=sources,
    )


def _capitalised(label: str) -> str:
    """``label`` with its first letter a capital ("Ward (2024)"), the rest as it is ("MSOA 2021")."""
    return label[:1].upper() + label[1:]


def _larger_radius(radius_m: float) -> float | None:
    """The radius the page suggests when most areas have nothing in reach: double, to 100 m."""
    larger = min(MAX_RADIUS_M, round(2 * radius_m, -2))
    return larger if larger > radius_m else None


CSV_COLUMNS = ("rank", "code", "name", "lad_code", "population", "need", "need_pct", "provision",
               "provision_per_1000", "provision_pct", "nearest_m", "gap", "bivariate_class")


@bp.get("/plan/gaps.csv")
@limiter.limit(gap_rate_limit)
def gaps_csv():
    """Every LSOA of the run, biggest gap first (no-data rows last, by code), as a plain table: the
    parameters, method and attribution are at ``gaps.meta.json`` (the ``Link`` header says where)."""
    report, params = _report(with_assets=False)
    ranked = rank_gaps(report["rows"], len(report["rows"]))
    ranked_codes = {r["code"] for r in ranked}
    rows = ranked + [r for r in report["rows"] if r["code"] not in ranked_codes]
    body = csv_text(CSV_COLUMNS, (
        [i if r["gap"] is not None else "", r["code"], r["name"], r["lad_code"], r["population"], r["need"],
         r["need_pct"], r["provision"], None if r["provision"] is None else r["provision"] * 1000,
         r["provision_pct"], None if r["nearest_m"] is None else round(r["nearest_m"], 1), r["gap"],
         r["bivariate_class"]]
        for i, r in enumerate(rows, start=1)))
    return describedby(_download(body, "text/csv", params, "csv"),
                       public_url_for("plan.gaps_meta", **_query()))


def _query() -> dict:
    """This request's query for a link to its companion (less what url_for reads as its own)."""
    return {k: v for k, v in request.args.items() if not k.startswith("_")}


@bp.get("/plan/gaps.meta.json")
def gaps_meta():
    """What describes ``gaps.csv`` for the same query: the parameters, the method, the run, the
    licence and the attribution."""
    report, params = _report(with_assets=False)
    meta = _metadata(report, params)
    meta["data"] = public_url_for("plan.gaps_csv", **_query())
    meta["columns"] = list(CSV_COLUMNS)
    return allow_any_origin(jsonify(meta))


@bp.get("/plan/gaps.geojson")
@limiter.limit(gap_rate_limit)
def gaps_geojson():
    """The run's LSOAs with every score, as a GeoJSON FeatureCollection carrying the parameters,
    method, licence and attribution as top-level members. England-wide, it is for signed-in
    users only (tens of megabytes)."""
    if (request.args.get("lad") or "").strip() == ALL_AREAS and not current_user.is_authenticated:
        abort(403, "The England-wide GeoJSON is tens of megabytes: sign in to download it, "
                   "or choose a local authority.")
    report, params = _report(with_assets=False)
    meta = _metadata(report, params)
    body = {"type": "FeatureCollection", **meta,
            "features": gap_results.gap_geojson_features(get_session(), report["run"])}
    return _download(json.dumps(body, separators=(",", ":")), "application/geo+json", params, "geojson")


def _download(body: str, mimetype: str, params, ext: str) -> Response:
    response = Response(body, mimetype=mimetype)
    name = f"gaps-{params.lad}-{params.category}-{params.indicator}-{params.group.replace('+', 'plus')}-" \
           f"{params.radius_m:g}m-{params.decay}.{ext}"
    response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    return allow_any_origin(response)


@bp.get("/tiles/lsoa/<int:z>/<int:x>/<int:y>.pbf")
def lsoa_tile(z: int, x: int, y: int):
    """A vector tile of one run's LSOAs (``?run=<id>``). Cached for a day when ``v`` names the
    run's current version (the page's tile URL does), else not cached: an asset change makes
    a new version."""
    run_id = int_arg("run", None)
    if run_id is None:
        raise BadInputError("run must be the id of a gap run", details={"parameter": "run"})
    session = get_session()
    run = gap_runs.current_run(session, run_id)
    if run is None:
        raise NotFoundError(f"no current gap run {run_id}; reload the gap map")
    body = gap_tiles.lsoa_tile(session, run_id, z, x, y, layer=gap_runs.run_level(session, run))
    response = Response(body, mimetype=MVT_MIMETYPE)
    fresh = request.args.get("v") == _version(run)
    response.headers["Cache-Control"] = "public, max-age=86400, immutable" if fresh else "no-cache"
    return allow_any_origin(response)


@bp.get("/tiles/gaps/<level>/<int:z>/<int:x>/<int:y>.pbf")
def level_tile(level: str, z: int, x: int, y: int):
    """A vector tile of one run's wards or MSOAs (``?run=<id>``) with their population-weighted
    scores, cached as :func:`lsoa_tile`'s. ``level`` is ``ward`` or ``msoa`` (of the run's
    geography) or such a level named outright (``ward24``, ``msoa21``); the tile's layer is
    named for the stored level it draws."""
    if level not in PARENT_LEVELS:
        raise BadInputError(f"unknown level {level!r}; allowed: {', '.join(PARENT_LEVELS)}",
                            details={"parameter": "level", "allowed": list(PARENT_LEVELS)})
    try:
        run_id = int(request.args.get("run", ""))
    except ValueError:
        raise BadInputError("run must be the id of a gap run", details={"parameter": "run"}) from None
    session = get_session()
    run = gap_runs.current_run(session, run_id)
    if run is None:
        raise NotFoundError(f"no current gap run {run_id}; reload the gap map")
    shown = shown_level(gap_runs.run_level(session, run), level)
    rows = gap_results.aggregate_run(session, run, shown)["rows"]
    body = gap_tiles.parent_tile(session, shown, rows, z, x, y)
    response = Response(body, mimetype=MVT_MIMETYPE)
    fresh = request.args.get("v") == _version(run)
    response.headers["Cache-Control"] = "public, max-age=86400, immutable" if fresh else "no-cache"
    return allow_any_origin(response)


# --- uploading a need indicator ----------------------------------------------------------------
def _planners_and_admins_only():
    if not current_user.is_authenticated:
        return login_manager.unauthorized()
    if not can_upload(current_user):
        abort(403, "Uploading indicators is for planners and administrators.")
    return None


def _indicator_page(form: dict | None = None, error: str | None = None, result=None, status: int = 200):
    session = get_session()
    options = gap_options.gap_options(session)
    loaded = {r["code"] for r in options["lads"]}
    return render_template("plan/indicators.html", form=form or {}, error=error, result=result,
                           indicators=options["indicators"], level_names=LEVEL_NAMES,
                           default_lad=next((c for c in current_app.config["DEFAULT_AREAS"] if c in loaded),
                                            None)), status


@bp.route("/plan/indicators", methods=["GET", "POST"])
def indicators():
    """Upload a need indicator: a CSV with a column of LSOA, MSOA or ward codes and a column of
    numbers. The report lists each row left out (unknown code, not a number) by line."""
    denied = _planners_and_admins_only()
    if denied is not None:
        return denied
    if request.method == "GET":
        return _indicator_page()
    form = {k: (request.form.get(k) or "").strip()
            for k in ("key", "label", "direction", "code_column", "value_column")}
    file = request.files.get("file")
    if file is None or not file.filename:
        return _indicator_page(form, "Choose a CSV file to upload.", status=400)
    name = Path(file.filename).name[:200]
    session = get_session()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / (secure_filename(name) or "upload.csv")
        file.save(path)
        try:
            report = import_area_csv(session, path, form["key"], form["label"],
                                     higher_is_more_need=form["direction"] != "lower",
                                     code_column=form["code_column"] or None,
                                     value_column=form["value_column"] or None,
                                     source=f"Uploaded by a planner: {name}")
        except ImportFileError as error:
            session.rollback()
            return _indicator_page(form, error.message, status=400)
    report.source = f"{form['label']} ({name})"
    session.commit()
    return _indicator_page(result={"report": report, "key": form["key"], "file": name})
