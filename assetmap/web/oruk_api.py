"""The Open Referral UK API (profile v3, HSDS 3.0): public, read-only, no key, open to any origin.

Each view parses its parameters (400 for bad ones), calls one query of :mod:`assetmap.db.oruk_queries`
and writes the result with :mod:`assetmap.domain.oruk_write`.
"""
from __future__ import annotations

import uuid

from flask import Blueprint, jsonify, request

from assetmap.db import catalogue
from assetmap.db import oruk_queries as queries
from assetmap.domain import oruk_common, oruk_organizations, oruk_query, oruk_write
from assetmap.domain.attribution import oruk_meta
from assetmap.errors import BadInputError
from assetmap.web.cors import allow_any_origin
from assetmap.web.db import get_session
from assetmap.web.urls import public_url_for

bp = Blueprint("oruk", __name__, url_prefix="/oruk")

PROFILE_URL = "https://github.com/OpenReferralUK/uk-profile"


@bp.after_app_request
def _open_to_all(response):
    # The profile asks every response, errors included, to be readable from any web page.
    if request.path == "/oruk" or request.path.startswith("/oruk/"):
        allow_any_origin(response)
        if response.status_code == 200:
            response.headers.setdefault("Cache-Control", "public, max-age=60")
    return response


def _id(raw: str, what: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise BadInputError(f"{what} id must be a UUID, not {raw!r}") from None


def _meta() -> dict:
    return oruk_meta(catalogue.data_sources(get_session()))


def _page(contents: list, total: int, page: int, per_page: int):
    body = oruk_query.page(contents, total, page, per_page)
    body["meta"] = _meta()
    return jsonify(body)


@bp.get("/")
def root():
    """Which version of the standard this API speaks, and where its description is."""
    return jsonify({
        "version": oruk_common.HSDS_VERSION,
        "profile": PROFILE_URL,
        "openapi_url": public_url_for("openapi.spec"),
        "meta": _meta(),
    })


@bp.get("/services")
def services():
    page, per_page = oruk_query.parse_page(request.args)
    query = oruk_query.parse_service_query(request.args)
    total, groups = queries.list_services(get_session(), query, page, per_page)
    return _page([oruk_write.service_summary_json(g) for g in groups], total, page, per_page)


@bp.get("/services/<service_id>")
def service(service_id: str):
    return jsonify(oruk_write.service_json(queries.get_service(get_session(), _id(service_id, "service"))))


@bp.get("/service_at_locations")
def service_at_locations():
    page, per_page = oruk_query.parse_page(request.args)
    query = oruk_query.parse_service_query(request.args)
    total, rows = queries.list_service_at_locations(get_session(), query, page, per_page)
    return _page([oruk_write.service_at_location_json(a, g, full=False) for a, g in rows], total, page, per_page)


@bp.get("/service_at_locations/<sal_id>")
def service_at_location(sal_id: str):
    asset, service_assets = queries.get_service_at_location(get_session(), _id(sal_id, "service_at_location"))
    return jsonify(oruk_write.service_at_location_json(asset, service_assets))


@bp.get("/organizations")
def organizations():
    page, per_page = oruk_query.parse_page(request.args)
    query = oruk_query.parse_service_query(request.args)
    total, orgs = queries.list_organizations(get_session(), query, page, per_page)
    return _page([oruk_organizations.organization_summary_json(o) for o in orgs], total, page, per_page)


@bp.get("/organizations/<organization_id>")
def organization(organization_id: str):
    full_service = oruk_organizations.parse_full_service(request.args)
    org, services = queries.get_organization(get_session(), _id(organization_id, "organization"))
    return jsonify(oruk_organizations.organization_json(org, services, full_service))


@bp.get("/taxonomies")
def taxonomies():
    page, per_page = oruk_query.parse_page(request.args)
    found = queries.list_taxonomies(get_session())
    chosen = found[(page - 1) * per_page: page * per_page]
    return _page([oruk_write.taxonomy_json(t) for t in chosen], len(found), page, per_page)


@bp.get("/taxonomies/<taxonomy_id>")
def taxonomy(taxonomy_id: str):
    found = queries.get_taxonomy(get_session(), _id(taxonomy_id, "taxonomy"))
    return jsonify(oruk_write.taxonomy_json(found, found["terms"]))


@bp.get("/taxonomy_terms")
def taxonomy_terms():
    page, per_page = oruk_query.parse_page(request.args)
    taxonomy_id = request.args.get("taxonomy_id")
    total, terms = queries.list_taxonomy_terms(
        get_session(), page, per_page, taxonomy_id=_id(taxonomy_id, "taxonomy") if taxonomy_id else None)
    return _page([oruk_write.taxonomy_term_json(t) for t in terms], total, page, per_page)


@bp.get("/taxonomy_terms/<term_id>")
def taxonomy_term(term_id: str):
    return jsonify(oruk_write.taxonomy_term_json(
        queries.get_taxonomy_term(get_session(), _id(term_id, "taxonomy term"))))
