"""Public pages: the search-first home page, and the area overview map with its list."""
from __future__ import annotations

from flask import Blueprint, current_app, redirect, render_template, request, url_for

from assetmap.db import areas, catalogue
from assetmap.domain.names import readable_items
from assetmap.errors import BadInputError
from assetmap.maps.area_map import build_area_map
from assetmap.web.db import get_session
from assetmap.web.maps import map_parts
from assetmap.web.params import int_arg

bp = Blueprint("public", __name__)

#: Places a page of the home page's list holds: a phone's screen or two, not the whole area.
HOME_PAGE_SIZE = 15
#: Places the area page lists at once; the map shows them all.
AREA_PAGE_SIZE = 100


def _default_area(session) -> str | None:
    loaded = {a["code"] for a in areas.list_local_authorities(session)}
    return next((c for c in current_app.config["DEFAULT_AREAS"] if c in loaded), None)


@bp.route("/")
def home():
    """One search box (postcode, place, or "use my location"), and the default area's places
    below it a page at a time."""
    session = get_session()
    code = _default_area(session)
    if code is None:
        return render_template("public/empty.html"), 200
    page = int_arg("page", 1, 1, 10_000)
    area = areas.get_area(session, code)
    assets = catalogue.assets_in_area(session, code)
    pages = max(1, -(-len(assets) // HOME_PAGE_SIZE))
    shown = readable_items(assets[(page - 1) * HOME_PAGE_SIZE: page * HOME_PAGE_SIZE])
    return render_template(
        "public/home.html",
        area=area,
        authorities=areas.list_local_authorities(session),
        counts=[c for c in catalogue.category_counts(session, code) if c["n"]],
        assets=shown,
        total=len(assets),
        page=min(page, pages),
        pages=pages,
        first=(page - 1) * HOME_PAGE_SIZE + 1,
    )


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
    page = int_arg("page", 1, 1, 10_000)
    assets = readable_items(catalogue.assets_in_area(session, code, chosen or None))
    sources = catalogue.data_sources(session)
    m = build_area_map(
        assets,
        areas.area_outline_geojson(session, code),
        (area["west"], area["south"], area["east"], area["north"]),
        tile_url=current_app.config["TILE_URL"],
        attribution=current_app.config["TILE_ATTRIBUTION"],
        asset_url=lambda a: url_for("finder.asset", asset_id=a["id"]),
    )
    pages = max(1, -(-len(assets) // AREA_PAGE_SIZE))
    return render_template(
        "public/area.html",
        area=area,
        authorities=areas.list_local_authorities(session),
        counts=[c for c in counts if c["n"]],
        chosen=set(chosen),
        assets=assets,
        shown=assets[(page - 1) * AREA_PAGE_SIZE: page * AREA_PAGE_SIZE],
        page=min(page, pages),
        pages=pages,
        first=(page - 1) * AREA_PAGE_SIZE + 1,
        map_parts=map_parts(m),
        sources=sources,
        last_change=catalogue.last_asset_change(session),
    )
