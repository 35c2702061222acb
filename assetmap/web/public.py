"""Public pages: the area overview map with its list."""
from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, url_for

from assetmap.db import areas, catalogue
from assetmap.errors import BadInputError
from assetmap.maps.area_map import build_area_map
from assetmap.web.db import get_session
from assetmap.web.maps import map_parts

bp = Blueprint("public", __name__)


@bp.route("/")
def home():
    session = get_session()
    loaded = {a["code"] for a in areas.list_local_authorities(session)}
    default = next((c for c in current_app.config["DEFAULT_AREAS"] if c in loaded), None)
    if default is None:
        return render_template("public/empty.html"), 200
    # The query goes along, less what url_for would read as its own arguments (code, _external, ...).
    query = {k: v for k, v in request.args.lists() if k != "code" and not k.startswith("_")}
    return redirect(url_for("public.area", code=default, **query))


@bp.route("/areas")
def pick_area():
    code = request.args.get("code", "").strip()
    if not code:
        return redirect(url_for("public.home"))
    return redirect(url_for("public.area", code=code))


@bp.route("/areas/<code>")
def area(code: str):
    session = get_session()
    area = areas.get_area(session, code)
    if area["level"] != "lad":
        raise BadInputError(f"{code} is not a local authority; pick one from the list")
    counts = catalogue.category_counts(session, code)
    allowed = {c["slug"] for c in counts}
    chosen = [c for c in request.args.getlist("category") if c]
    unknown = sorted(set(chosen) - allowed)
    if unknown:
        raise BadInputError(f"unknown category {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}")
    assets = catalogue.assets_in_area(session, code, chosen or None)
    sources = catalogue.data_sources(session)
    m = build_area_map(
        assets,
        areas.area_outline_geojson(session, code),
        (area["west"], area["south"], area["east"], area["north"]),
        tile_url=current_app.config["TILE_URL"],
        attribution=current_app.config["TILE_ATTRIBUTION"],
        asset_url=lambda a: url_for("finder.asset", asset_id=a["id"]),
    )
    return render_template(
        "public/area.html",
        area=area,
        authorities=areas.list_local_authorities(session),
        counts=[c for c in counts if c["n"]],
        chosen=set(chosen),
        assets=assets,
        map_parts=map_parts(m),
        sources=sources,
        last_change=catalogue.last_asset_change(session),
    )
