"""The finder's pages: search near a postcode or place (/find), one asset (/assets/<id>), and a
printable, shareable shortlist (/shortlist?ids=3,1,2).

The results list is the page; the map shows the same entries, numbered alike. Everything works
without JavaScript; static/js/finder.js only adds "use my location" and a print button.
"""
from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, current_app, redirect, render_template, request, url_for

from assetmap.db import finder
from assetmap.domain.names import readable_items
from assetmap.domain.opening_hours import DAY_LABELS, LONDON
from assetmap.domain.search import (
    ACCESS_MODES,
    ACCESSIBILITY,
    AGE_GROUPS,
    DEFAULT_RADIUS_M,
    classify_where,
    describe_distance,
    open_now_probe,
    opening_status,
    opening_week,
    parse_finder_query,
    parse_ids,
)
from assetmap.domain.staleness import is_stale
from assetmap.domain.staleness import stale_before as _stale_before
from assetmap.errors import BadInputError, NotFoundError
from assetmap.maps.finder_map import build_asset_map, build_finder_map
from assetmap.web.db import get_session
from assetmap.web.maps import map_parts as embed_map
from assetmap.web.urls import public_url_for

bp = Blueprint("finder", __name__)

#: Radius choices offered on the page (metres); any other value still works in the URL.
RADIUS_CHOICES = (1_000, 2_000, 5_000, 10_000, 25_000, 50_000)
DIRECTIONS_URL = "https://www.openstreetmap.org/directions?to={lat:.6f},{lon:.6f}"


def current_time() -> datetime:
    """Now, from ``FINDER_CLOCK`` when set (tests fix the clock), as an aware UTC datetime."""
    clock = current_app.config.get("FINDER_CLOCK")
    return clock() if clock else datetime.now(UTC)


def stale_months() -> int:
    """``ASSETMAP_STALE_MONTHS`` as the app was configured (:func:`assetmap.config.stale_months`)."""
    return int(current_app.config["ASSETMAP_STALE_MONTHS"])


def stale_before(at: datetime) -> datetime:
    """Entries last checked before this sink in the results."""
    return _stale_before(at, stale_months())


def vocabularies(session):
    """``vocabularies("asset-type") -> {slug: label}``, each read at most once per request."""
    cache: dict[str, dict[str, str]] = {}

    def read(vocabulary: str) -> dict[str, str]:
        if vocabulary not in cache:
            cache[vocabulary] = finder.vocabulary_terms(session, vocabulary)
        return cache[vocabulary]

    return read



def _asset_href(item: dict) -> str:
    return url_for("finder.asset", asset_id=item["id"])


def _chosen(args) -> dict[str, set[str]]:
    """The values ticked in the form, as sent (also when they did not pass the checks)."""
    names = ("category", "wellbeing", "access", "age_group", "accessibility")
    return {n: {part.strip() for v in args.getlist(n) for part in v.split(",") if part.strip()} for n in names}


def _safe_href(url: str | None) -> str | None:
    """A stored web address as a link only when it is http(s): never ``javascript:`` and the like."""
    return url if url and url.lower().startswith(("https://", "http://")) else None


def _search_url(where: str) -> str:
    """This search again with ``where`` as the place (a suggestion), keeping the filters."""
    args = {k: v for k, v in request.args.to_dict(flat=False).items() if k not in ("where", "lat", "lon", "page")}
    return url_for("finder.find", where=where, **args)


@bp.context_processor
def _helpers():
    return {
        "describe_distance": describe_distance,
        "safe_href": _safe_href,
        "search_url": _search_url,
        "opening_status": opening_status,
        "access_labels": ACCESS_MODES,
        "age_labels": AGE_GROUPS,
        "accessibility_labels": ACCESSIBILITY,
        "asset_href": _asset_href,
        "london": LONDON,
    }


@bp.route("/find")
def find():
    session = get_session()
    at = current_time()
    vocab = vocabularies(session)
    page = {
        "args": request.args,
        "chosen": _chosen(request.args),
        "categories": vocab("asset-type"),
        "wellbeing_terms": vocab("five-ways"),
        "radius_choices": RADIUS_CHOICES,
        "at": at,
    }
    try:
        query = parse_finder_query(request.args.to_dict(flat=False), vocab)
        result = None
        if query.where is not None:
            result = finder.find(session, query, open_now_probe(at), stale_before=stale_before(at),
                                 with_area_services=True, home=current_app.config["DEFAULT_AREAS"])
    except (BadInputError, NotFoundError) as error:
        return render_template("finder/find.html", problem=error, query=None, result=None,
                               radius_m=_radius_arg(), **page), error.http_status
    if result:
        result["items"] = readable_items(result["items"])
        result["area_services"] = readable_items(result["area_services"])
    map_parts = None
    if result and result["items"]:
        # The data's sources are credited in the page footer; on a phone the map keeps its space.
        m = build_finder_map(
            result["items"], result["location"], query.radius_m,
            tile_url=current_app.config["TILE_URL"], attribution=current_app.config["TILE_ATTRIBUTION"],
            asset_url=_asset_href, distance_text=describe_distance, first_number=query.offset + 1,
        )
        map_parts = embed_map(m)
    return render_template("finder/find.html", problem=None, query=query, result=result, map_parts=map_parts,
                           radius_m=query.radius_m, **page)


def _radius_arg() -> int:
    try:
        return int(float(request.args.get("radius_m", DEFAULT_RADIUS_M)))
    except (ValueError, OverflowError):  # not a number, or "inf"
        return DEFAULT_RADIUS_M


@bp.route("/assets/<int:asset_id>")
def asset(asset_id: int):
    session = get_session()
    at = current_time()
    probe = open_now_probe(at)
    item = readable_items([finder.get_asset(session, asset_id, probe)])[0]
    map_parts = None
    if item["lat"] is not None:
        m = build_asset_map(item, tile_url=current_app.config["TILE_URL"],
                            attribution=current_app.config["TILE_ATTRIBUTION"])
        map_parts = embed_map(m)
    return render_template(
        "finder/asset.html",
        item=item,
        week=opening_week(item["opening_hours"]),
        status=opening_status(item["opening_hours"], at),
        today=DAY_LABELS[probe.today],
        stale=is_stale(item["last_verified_at"], item["created_at"], at, stale_months()),
        directions_url=DIRECTIONS_URL.format(lat=item["lat"], lon=item["lon"]) if item["lat"] is not None else None,
        suggest_change_url=url_for("contribute.change", asset_id=item["id"]),
        report_problem_url=url_for("contribute.problem", asset_id=item["id"]),
        map_parts=map_parts,
        at=at,
    )


def _shortlist_origin(session, text: str | None) -> dict | None:
    """Where the printed list measures distances from: a postcode, district or place, as the
    search box reads it (BadInputError/NotFoundError with suggestions when it is not known)."""
    if not text or not text.strip():
        return None
    if "\x00" in text or len(text) > 100:
        raise BadInputError("from must be a postcode or place name", details={"parameter": "from"})
    return finder.locate(session, classify_where(text), current_app.config["DEFAULT_AREAS"])


@bp.route("/shortlist")
def shortlist():
    raw = request.args.getlist("ids")
    ids = parse_ids(raw)
    canonical = ",".join(str(i) for i in ids)
    origin_text = (request.args.get("from") or "").strip()
    if ids and raw != [canonical]:
        # One short address to share or print: /shortlist?ids=3,1,2
        extra = {"from": origin_text} if origin_text else {}
        return redirect(url_for("finder.shortlist", **extra) + ("&" if extra else "?") + "ids=" + canonical)
    at = current_time()
    session = get_session()
    problem, origin, distances = None, None, {}
    try:
        origin = _shortlist_origin(session, origin_text)
    except (BadInputError, NotFoundError) as error:
        problem = error
    items = readable_items(finder.get_assets(session, ids, open_now_probe(at)))
    if origin is not None:
        distances = finder.distances_from(session, [i["id"] for i in items], origin["lat"], origin["lon"])
    return render_template(
        "finder/shortlist.html",
        items=[{**i, "week": opening_week(i["opening_hours"]), "distance_m": distances.get(i["id"])} for i in items],
        ids=canonical,
        missing=len(ids) - len(items),
        share_url=public_url_for("finder.shortlist") + ("?ids=" + canonical if ids else ""),
        origin=origin,
        origin_text=origin_text,
        problem=problem,
        at=at,
    ), (problem.http_status if problem else 200)
