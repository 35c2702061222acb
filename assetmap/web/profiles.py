"""Area profiles: an LSOA, a set of LSOAs, a ward, MSOA, town, local authority, or an area drawn
on the map or uploaded as GeoJSON. Printable (print styles in static/css/app.css).

Built on IoD 2025 and LSOA 2021 unless ``vintage=2019`` asks for IoD 2019 on LSOA 2011
(:mod:`assetmap.domain.vintages`)."""
from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, url_for

from assetmap import charts
from assetmap.db import areas, catalogue, profile_queries
from assetmap.domain import area_profile as domain
from assetmap.errors import BadInputError
from assetmap.maps.profile_map import build_draw_map, build_profile_map
from assetmap.web.db import get_session
from assetmap.web.extensions import limiter
from assetmap.web.limits import gap_rate_limit
from assetmap.web.maps import map_parts

bp = Blueprint("profiles", __name__)


@bp.record_once
def _defaults(state) -> None:
    state.app.config.setdefault("ASSETMAP_PROFILE_SAVE_LIMIT", "60 per hour")



@bp.route("/profile")
def index():
    """The areas to choose from, of the geography of the vintage asked for (``vintage=2019``: the
    2011 wards and MSOAs), each opening its profile on that vintage."""
    session = get_session()
    vintage = profile_queries.vintage_of(session, request.args.get("vintage"))
    return render_template("profiles/index.html", choices=profile_queries.list_profile_choices(session, vintage))


@bp.route("/profile/pick")
def pick():
    """The index page's forms: a code chosen from a list or typed in, and the vintage of the list."""
    session = get_session()
    vintage_args = profile_queries.vintage_args(
        session, profile_queries.vintage_of(session, request.args.get("vintage")))
    code = (request.args.get("code") or "").strip()
    codes = [c for c in code.replace(";", ",").replace(" ", ",").split(",") if c]
    if not codes:  # nothing, or only separators, like ","
        return redirect(url_for("profiles.index", **vintage_args))
    if len(codes) > 1:
        return redirect(url_for("profiles.lsoas", codes=",".join(codes), **vintage_args))
    return redirect(url_for("profiles.area_profile", code=codes[0], **vintage_args))


@bp.route("/profile/lsoas")
@limiter.limit(gap_rate_limit)
def lsoas():
    session = get_session()
    codes = (request.args.get("codes") or "").replace(" ", ",").split(",")
    vintage = profile_queries.vintage_of(session, request.args.get("vintage"))
    profile = profile_queries.build_profile(session, profile_queries.describe_lsoas(session, codes, vintage), vintage)
    session.commit()  # gap runs computed for this profile are kept for the next
    return _render_profile(profile)


@bp.route("/profile/custom", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["ASSETMAP_PROFILE_SAVE_LIMIT"], methods=["POST"])
def custom():
    session = get_session()
    if request.method == "GET":
        return _render_custom_form(session)
    upload = request.files.get("file")
    data = upload.read(domain.MAX_UPLOAD_BYTES + 1) if upload and upload.filename else request.form.get("geojson", "")
    try:
        geometry = domain.parse_custom_area(data)
        profile_queries.check_custom_area(session, geometry)
    except BadInputError as exc:
        return _render_custom_form(session, error=exc.message), 400
    code = profile_queries.save_custom_area(session, geometry, request.form.get("name"))
    session.commit()
    return redirect(url_for("profiles.area_profile", code=code), code=303)


@bp.route("/profile/<code>")
@limiter.limit(gap_rate_limit)
def area_profile(code: str):
    session = get_session()
    vintage = profile_queries.vintage_of(session, request.args.get("vintage"))
    profile = profile_queries.build_profile(session, profile_queries.describe_area(session, code, vintage), vintage)
    session.commit()  # gap runs computed for this profile are kept for the next
    return _render_profile(profile)


def _render_custom_form(session, error: str | None = None):
    authorities = areas.list_local_authorities(session)
    outlines = [{"name": a["name"], "geometry": areas.area_outline_geojson(session, a["code"], 0.002)}
                for a in authorities]
    default = next((c for c in current_app.config["DEFAULT_AREAS"] if c in {a["code"] for a in authorities}), None)
    bounds = None
    if default:
        a = areas.get_area(session, default)
        bounds = (a["west"], a["south"], a["east"], a["north"])
    m, drawn_name = build_draw_map(bounds, outlines, tile_url=current_app.config["TILE_URL"],
                                   attribution=current_app.config["TILE_ATTRIBUTION"])
    return render_template(
        "profiles/custom.html",
        map_parts=map_parts(m),
        map_name=m.get_name(),
        drawn_name=drawn_name,
        error=error,
        geojson=request.form.get("geojson", "") if request.method == "POST" else "",
        name=request.form.get("name", "") if request.method == "POST" else "",
        max_km2=profile_queries.MAX_CUSTOM_AREA_KM2,
        max_mb=domain.MAX_UPLOAD_BYTES // 1024 // 1024,
    )


def _render_profile(profile: dict):
    area = profile["area"]
    sources = catalogue.data_sources(get_session())
    m = build_profile_map(
        profile["outline"],
        profile["asset_list"],
        (area["west"], area["south"], area["east"], area["north"]),
        tile_url=current_app.config["TILE_URL"],
        attribution=current_app.config["TILE_ATTRIBUTION"],
    )
    lad_name = area.get("lad_name") or profile["lad_code"]
    radar = None
    if len(profile["radar"]) >= 3:
        radar = charts.radar_svg(
            profile["radar"],
            title=f"Need in {area['name']} against the {lad_name} average",
            series_label=area["name"], reference_label=f"{lad_name} average", chart_id="need-radar",
        )
    quarters = charts.bar_svg(
        [{"label": q["label"], "value": q["published"]} for q in profile["quarters"]],
        title=f"Published places in {area['name']} at the end of each quarter",
        value_label="published places", chart_id="quarters-chart",
    ) if profile["quarters"] else None
    return render_template(
        "profiles/profile.html",
        profile=profile,
        area=area,
        lad_name=lad_name,
        radar_svg=radar,
        quarters_svg=quarters,
        map_parts=map_parts(m),
        sources=sources,
        last_change=catalogue.last_asset_change(get_session()),
    )
