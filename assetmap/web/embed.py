"""The embeddable finder: ``/embed/find``, a compact search that partner websites (GP surgeries,
councils, charities) show in an iframe, and ``/embed``, the page that gives them the one line to
paste (``static/embed.js`` reads its ``data-postcode``, ``data-category`` and ``data-area``).

``/embed/find`` may be framed by any site: its Content-Security-Policy says ``frame-ancestors *``
(and so no ``X-Frame-Options``). It sets no cookie and keeps nothing about who searched: the
partner's visitors are not tracked by being shown it. Results open the full pages in a new tab.
"""
from __future__ import annotations

from flask import Blueprint, current_app, make_response, render_template, request, url_for

from assetmap.db import areas, finder
from assetmap.domain.names import readable_items
from assetmap.domain.search import describe_distance, open_now_probe, parse_finder_query
from assetmap.errors import BadInputError, NotFoundError
from assetmap.web.db import get_session
from assetmap.web.finder import current_time, stale_before, vocabularies

bp = Blueprint("embed", __name__)

#: Results the compact finder lists (the full finder pages on).
EMBED_RESULTS = 8
# Only the app's own stylesheet and no scripts at all; framing allowed from anywhere.
EMBED_CSP = ("default-src 'self'; script-src 'none'; style-src 'self'; img-src 'self' data:; "
             "connect-src 'none'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors *")


def _embed_args(args) -> dict[str, list[str]]:
    """The finder arguments of an embedded search: ``where`` typed (or ``postcode``), else the
    partner's ``area``; ``category`` as given; nothing else."""
    where = (args.get("where") or args.get("postcode") or "").strip() or (args.get("area") or "").strip()
    out: dict[str, list[str]] = {"per_page": [str(EMBED_RESULTS)]}
    if where:
        out["where"] = [where]
    categories = [c for c in args.getlist("category") if c.strip()]
    if categories:
        out["category"] = categories
    return out


@bp.route("/embed/find")
def find():
    session = get_session()
    at = current_time()
    vocab = vocabularies(session)
    args = _embed_args(request.args)
    problem, result, query = None, None, None
    try:
        query = parse_finder_query(args, vocab)
        if query.where is not None:
            result = finder.find(session, query, open_now_probe(at), stale_before=stale_before(at),
                                 home=current_app.config["DEFAULT_AREAS"])
            result["items"] = readable_items(result["items"])
    except (BadInputError, NotFoundError) as error:
        problem = error
    full_args = {k: v for k, v in args.items() if k != "per_page"}
    body = render_template(
        "finder/embed_find.html",
        problem=problem, result=result, query=query, at=at,
        where=args.get("where", [""])[0], area=request.args.get("area", ""),
        category=args.get("category", []), categories=vocab("asset-type"),
        describe_distance=describe_distance,
        full_url=url_for("finder.find", _external=True, **full_args),
        home_url=url_for("public.home", _external=True),
    )
    response = make_response(body, problem.http_status if problem else 200)
    response.headers["Content-Security-Policy"] = EMBED_CSP
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@bp.route("/embed")
def demo():
    """The snippet to copy, with a preview of what it shows."""
    session = get_session()
    vocab = vocabularies(session)
    postcode = (request.args.get("postcode") or "").strip()[:10]
    category = (request.args.get("category") or "").strip()
    area = (request.args.get("area") or "").strip()[:12]
    if category and category not in vocab("asset-type"):
        raise BadInputError(f"unknown category {category[:40]!r}", details={"parameter": "category",
                                                                        "allowed": list(vocab("asset-type"))})
    attrs = {"data-postcode": postcode, "data-category": category, "data-area": area}
    preview = url_for("embed.find", **{k: v for k, v in (("postcode", postcode), ("category", category),
                                                        ("area", area)) if v})
    return render_template(
        "finder/embed_demo.html",
        script_url=url_for("static", filename="embed.js", _external=True),
        attrs={k: v for k, v in attrs.items() if v},
        postcode=postcode, category=category, area=area,
        categories=vocab("asset-type"), authorities=areas.list_local_authorities(session),
        preview_url=preview,
    )
