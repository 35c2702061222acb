"""The OpenAPI 3.1 description of the public APIs (``/oruk`` and, when present, ``/api/v1``),
served at ``/api/openapi.json``, and a readable page of it at ``/api/docs``.

:func:`build_spec` is a pure function of the ``/api/v1`` part it is given, so tests can check the
document without a running app.
"""
from __future__ import annotations

import copy

from flask import Blueprint, jsonify, render_template, url_for

from assetmap.domain import oruk_common, oruk_query
from assetmap.domain.opening_hours import HSDS_BYDAY
from assetmap.web import openapi_finder
from assetmap.web.cors import allow_any_origin

bp = Blueprint("openapi", __name__, url_prefix="/api")

_UUID = {"type": "string", "format": "uuid"}
_TEXT = {"type": "string"}


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


def _array(item: dict) -> dict:
    return {"type": "array", "items": item}


def _object(properties: dict, required: list[str] | None = None, description: str | None = None) -> dict:
    out: dict = {"type": "object", "properties": properties}
    if required:
        out["required"] = required
    if description:
        out["description"] = description
    return out


_WITH_ID = _object({"id": _UUID}, ["id"], "Kept as the publisher of the service gave it.")

SCHEMAS: dict[str, dict] = {
    "Meta": _object({
        "licence": _TEXT,
        "attribution": _TEXT,
        "sources": _array(_object({"title": _TEXT, "publisher": _TEXT, "licence": _TEXT,
                                   "updated": {"type": "string", "format": "date-time"}}, ["title"])),
    }, ["licence", "attribution", "sources"], "Licence and attribution of the data sources behind the response."),
    "Error": _object({
        "error": _object({"status": {"type": "integer"}, "title": _TEXT, "message": _TEXT},
                         ["status", "title", "message"]),
    }, ["error"]),
    "ApiInfo": _object({
        "version": _TEXT,
        "profile": {"type": "string", "format": "uri"},
        "openapi_url": {"type": "string", "format": "uri"},
        "meta": _ref("Meta"),
    }, ["version", "profile", "openapi_url"]),
    "Organization": _object({
        "id": _UUID, "name": _TEXT, "description": _TEXT,
        "email": {"type": "string", "format": "email"}, "website": {"type": "string", "format": "uri"},
    }, ["id", "name", "description"]),
    "TaxonomyTerm": _object({
        "id": _UUID, "name": _TEXT, "description": _TEXT, "parent_id": _UUID, "taxonomy": _TEXT,
        "taxonomy_id": _UUID, "term": _TEXT,
    }, ["id", "name", "description"]),
    "Taxonomy": _object({
        "id": _UUID, "name": _TEXT, "description": _TEXT, "uri": {"type": "string", "format": "uri"},
        "version": _TEXT, "taxonomy_terms": _array(_ref("TaxonomyTerm")),
    }, ["id", "name", "description"]),
    "Attribute": _object({
        "id": _UUID, "link_id": _UUID, "link_type": _TEXT, "link_entity": _TEXT, "taxonomy_term_id": _UUID,
        "taxonomy_term": _ref("TaxonomyTerm"),
    }, ["id"]),
    "Schedule": _object({
        "id": _UUID, "service_id": _UUID, "service_at_location_id": _UUID,
        "freq": {"type": "string", "enum": ["WEEKLY", "MONTHLY"]},
        "byday": {"type": "string", "description": "Days as RFC 5545 codes, e.g. MO,TU,WE."},
        "opens_at": {"type": "string", "description": "London wall-clock time, HH:MM:SS."},
        "closes_at": {"type": "string", "description": "Before opens_at: the next morning. 23:59:59: midnight."},
        "description": _TEXT,
    }, ["id"], "A weekly period of opening, or (description only) a note on opening."),
    "Phone": _object({"id": _UUID, "service_id": _UUID, "service_at_location_id": _UUID, "number": _TEXT},
                     ["id", "number"]),
    "CostOption": _object({"id": _UUID, "service_id": _UUID, "option": _TEXT, "amount": {"type": "number"},
                           "amount_description": _TEXT}, ["id"]),
    "Address": _object({
        "id": _UUID, "location_id": _UUID, "attention": _TEXT, "address_1": _TEXT, "city": _TEXT, "region": _TEXT,
        "state_province": _TEXT, "postal_code": _TEXT, "country": _TEXT,
        "address_type": {"type": "string", "enum": ["physical", "postal", "virtual"]},
    }, ["id", "address_1", "city", "state_province", "postal_code", "country", "address_type"]),
    "Accessibility": _object({"id": _UUID, "location_id": _UUID, "description": _TEXT, "details": _TEXT,
                              "url": {"type": "string", "format": "uri"}, "accessibility": _TEXT}, ["id"]),
    "LocationSummary": _object({
        "id": _UUID, "location_type": {"type": "string", "enum": ["physical", "postal", "virtual"]},
        "name": _TEXT, "description": _TEXT, "latitude": {"type": "number", "minimum": -90, "maximum": 90},
        "longitude": {"type": "number", "minimum": -180, "maximum": 180}, "external_identifier": _TEXT,
        "external_identifier_type": _TEXT,
    }, ["id", "location_type"]),
    "Location": {"allOf": [_ref("LocationSummary"), _object({
        "addresses": _array(_ref("Address")), "accessibility": _array(_ref("Accessibility")),
    })]},
    "ServiceSummary": _object({
        "id": _UUID, "organization_id": _UUID, "name": _TEXT, "description": _TEXT,
        "url": {"type": "string", "format": "uri"}, "email": {"type": "string", "format": "email"},
        "status": {"type": "string", "enum": ["active", "inactive", "defunct", "temporarily closed"]},
        "fees": _TEXT, "accreditations": _TEXT, "eligibility_description": _TEXT,
        "minimum_age": {"type": "number"}, "maximum_age": {"type": "number"},
        "assured_date": {"type": "string", "format": "date"}, "assurer_email": _TEXT, "alert": _TEXT,
        "last_modified": {"type": "string", "format": "date-time"}, "organization": _ref("Organization"),
    }, ["id", "name", "status"]),
    "ServiceAtLocationInService": _object({
        "id": _UUID, "service_id": _UUID, "location_id": _UUID, "location": _ref("Location"),
    }, ["id"]),
    "Service": {"allOf": [_ref("ServiceSummary"), _object({
        "schedules": _array(_ref("Schedule")),
        "service_areas": _array(_WITH_ID),
        "service_at_locations": _array(_ref("ServiceAtLocationInService")),
        "languages": _array(_WITH_ID),
        "funding": _array(_WITH_ID),
        "cost_options": _array(_ref("CostOption")),
        "contacts": _array(_WITH_ID),
        "phones": _array(_ref("Phone")),
        "attributes": _array(_ref("Attribute")),
    })]},
    "OrganizationIdentifier": _object({
        "id": _UUID, "organization_id": _UUID,
        "identifier_scheme": {"type": "string", "description": "Its list on org-id.guide, e.g. GB-CHC."},
        "identifier_type": _TEXT, "identifier": _TEXT,
    }, ["id", "identifier_type", "identifier"]),
    "OrganizationWithServices": {"allOf": [_ref("Organization"), _object({
        "organization_identifiers": _array(_ref("OrganizationIdentifier")),
        "services": _array({"anyOf": [_ref("ServiceSummary"), _ref("Service")]}),
    }, ["organization_identifiers", "services"])]},
    "ServiceAtLocationSummary": _object({
        "id": _UUID, "service_id": _UUID, "location_id": _UUID, "location": _ref("LocationSummary"),
        "service": _ref("ServiceSummary"),
    }, ["id"]),
    "ServiceAtLocation": _object({
        "id": _UUID, "service_id": _UUID, "location_id": _UUID, "location": _ref("Location"),
        "service": _ref("Service"),
    }, ["id"]),
}


def _page_of(item: str) -> dict:
    return _object({
        "total_items": {"type": "integer", "minimum": 0},
        "total_pages": {"type": "integer", "minimum": 0},
        "page_number": {"type": "integer", "minimum": 1},
        "size": {"type": "integer", "minimum": 0},
        "first_page": {"type": "boolean"},
        "last_page": {"type": "boolean"},
        "empty": {"type": "boolean"},
        "contents": _array(_ref(item)),
        "meta": _ref("Meta"),
    }, ["total_items", "total_pages", "page_number", "size", "first_page", "last_page", "empty", "contents"])


def _param(name: str, schema: dict, description: str, where: str = "query", required: bool = False) -> dict:
    return {"name": name, "in": where, "required": required, "description": description, "schema": schema}


_PAGING = [
    _param("page", {"type": "integer", "minimum": 1, "maximum": 1_000_000, "default": 1}, "Page number, from 1."),
    _param("per_page", {"type": "integer", "minimum": 1, "maximum": oruk_query.MAX_PER_PAGE,
                        "default": oruk_query.DEFAULT_PER_PAGE}, "Items on a page."),
]
_FILTERS = [
    _param("search", {"type": "string", "maxLength": 200},
           "Words to find in the name or description (or the organisation's name)."),
    _param("taxonomy_term_id", _UUID, "Only services with this taxonomy term (or a term under it)."),
    _param("taxonomy_id", _UUID, "Only services with a term of this taxonomy."),
    _param("postcode", {"type": "string", "maxLength": 10},
           "A UK postcode: results are ordered by distance from it."),
    _param("proximity", {"type": "number", "minimum": 1, "maximum": 200000},
           "With postcode: only services within this many metres of it."),
    _param("minimum_age", {"type": "number", "minimum": 0, "maximum": 150},
           "Only services whose lowest age is at least this (no lower limit counts as 0)."),
    _param("maximum_age", {"type": "number", "minimum": 0, "maximum": 150},
           "Only services whose highest age is at most this (services with no upper limit are left out)."),
    _param("day", {"type": "string", "enum": list(HSDS_BYDAY.values())}, "Only services open on this day."),
    _param("start_time", {"type": "string", "pattern": r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$"},
           "Only services with a period opening at or after this time (London, HH:MM)."),
    _param("end_time", {"type": "string", "pattern": r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$"},
           "Only services with a period closing at or before this time (London, HH:MM)."),
    _param("modified_after", {"type": "string", "format": "date-time"},
           "Only services changed at or after this moment."),
]


def _json(schema: dict, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


_ERRORS = {
    "400": _json(_ref("Error"), "A parameter is not valid; the message says which and why."),
}
_NOT_FOUND = {"404": _json(_ref("Error"), "Nothing published has this id.")}


def _get(operation_id: str, summary: str, schema: dict, parameters: list | None = None, *,
         by_id: bool = False, tag: str = "Open Referral UK") -> dict:
    responses = {"200": _json(schema, summary)}
    if parameters:
        responses.update(_ERRORS)
    if by_id:
        responses.update(_NOT_FOUND)
    op = {"operationId": operation_id, "summary": summary, "tags": [tag], "responses": responses}
    if parameters:
        op["parameters"] = parameters
    return {"get": op}


def _by_id(what: str) -> list[dict]:
    return [_param("id", {"type": "string"}, f"The {what}'s id (a UUID).", where="path", required=True)]


def oruk_paths() -> dict:
    """The ``/oruk`` paths of the API."""
    return {
        "/oruk/": _get("getApiInfo", "The version of the standard this API follows.", _ref("ApiInfo")),
        "/oruk/services": _get("listServices", "Published services, a page at a time.",
                               _page_of("ServiceSummary"), _PAGING + _FILTERS),
        "/oruk/services/{id}": _get("getService", "A service with its locations, hours, contacts and terms.",
                                    _ref("Service"), _by_id("service"), by_id=True),
        "/oruk/service_at_locations": _get("listServiceAtLocations", "Services at their locations, a page at a time.",
                                           _page_of("ServiceAtLocationSummary"), _PAGING + _FILTERS),
        "/oruk/service_at_locations/{id}": _get("getServiceAtLocation", "A service at one location, in full.",
                                                _ref("ServiceAtLocation"), _by_id("service_at_location"), by_id=True),
        "/oruk/organizations": _get(
            "listOrganizations", "Organisations running published services (the filters choose the services), "
            "a page at a time.", _page_of("Organization"), _PAGING + _FILTERS),
        "/oruk/organizations/{id}": _get(
            "getOrganization", "An organisation with its identifiers and its published services.",
            _ref("OrganizationWithServices"),
            _by_id("organization") + [_param("full_service", {"type": "boolean", "default": False},
                                             "Each service whole, not just its one-to-one fields.")],
            by_id=True),
        "/oruk/taxonomies": _get("listTaxonomies", "The vocabularies services are classified with.",
                                 _page_of("Taxonomy"), _PAGING),
        "/oruk/taxonomies/{id}": _get("getTaxonomy", "A vocabulary with its terms.", _ref("Taxonomy"),
                                      _by_id("taxonomy"), by_id=True),
        "/oruk/taxonomy_terms": _get("listTaxonomyTerms", "Terms of every vocabulary, a page at a time.",
                                     _page_of("TaxonomyTerm"),
                                     _PAGING + [_param("taxonomy_id", _UUID, "Only the terms of this taxonomy.")]),
        "/oruk/taxonomy_terms/{id}": _get("getTaxonomyTerm", "One taxonomy term.", _ref("TaxonomyTerm"),
                                          _by_id("taxonomy term"), by_id=True),
    }


def build_spec(v1_paths: dict | None = None, v1_components: dict | None = None, openapi_url: str | None = None) -> dict:
    """The OpenAPI 3.1 document: ``/oruk`` plus the ``/api/v1`` paths and components given.

    Examples
    --------
    >>> spec = build_spec()
    >>> spec["openapi"], "/oruk/services" in spec["paths"]
    ('3.1.0', True)
    """
    components = copy.deepcopy(v1_components or {})
    schemas = {**copy.deepcopy(SCHEMAS), **components.pop("schemas", {})}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "assetmap public APIs",
            "version": "1.0.0",
            "description": (
                "Community assets as open data. /oruk follows the Open Referral UK profile (v3, HSDS "
                f"{oruk_common.HSDS_VERSION}): read-only, no key, CORS open to any origin. Only published entries "
                "appear. Ids are stable UUIDs. Lists are ordered stably, so paging neither skips nor repeats."
            ),
            "license": {"name": "Open Government Licence v3.0 (data: see each response's meta)",
                        "url": "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/"},
        },
        "servers": [{"url": "/"}],
        "tags": [{"name": "Open Referral UK", "description": "The Open Referral UK v3 profile (HSDS 3.0)."}],
        "paths": {**oruk_paths(), **copy.deepcopy(v1_paths or {})},
        "components": {"schemas": schemas, **components},
    }


@bp.get("/openapi.json")
def spec():
    response = jsonify(build_spec(openapi_finder.openapi_paths(), openapi_finder.openapi_components()))
    return allow_any_origin(response)


def _schema_label(schema: dict) -> str:
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    if schema.get("type") == "array":
        return f"list of {_schema_label(schema.get('items', {}))}"
    if "allOf" in schema:
        return " + ".join(_schema_label(s) for s in schema["allOf"])
    kind = schema.get("type", "any")
    if schema.get("format"):
        kind += f" ({schema['format']})"
    if schema.get("enum"):
        kind += ": " + ", ".join(str(v) for v in schema["enum"])
    return kind


@bp.get("/docs")
def docs():
    """The API description as a page people can read."""
    document = build_spec(openapi_finder.openapi_paths(), openapi_finder.openapi_components())
    operations = []
    for path, item in document["paths"].items():
        for method, op in item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            params = [*item.get("parameters", ()), *op.get("parameters", ())]
            operations.append({
                "method": method.upper(), "path": path, "anchor": op.get("operationId") or path,
                "summary": op.get("summary") or "", "description": op.get("description") or "",
                "parameters": [{"name": p.get("name"), "in": p.get("in"), "required": p.get("required", False),
                                "type": _schema_label(p.get("schema", {})), "description": p.get("description", "")}
                               for p in params if "name" in p],
                "responses": [{"status": status, "description": r.get("description", ""),
                               "schema": _schema_label(((r.get("content") or {}).get("application/json") or {})
                                                       .get("schema", {}))}
                              for status, r in op.get("responses", {}).items()],
            })
    schemas = []
    for name, schema in document["components"]["schemas"].items():
        parts = schema.get("allOf", [schema])
        props, required = [], set()
        for part in parts:
            if "$ref" in part:
                props.append({"name": "…", "type": "everything in " + _schema_label(part), "required": False})
                continue
            required |= set(part.get("required", ()))
            props.extend({"name": k, "type": _schema_label(v), "description": v.get("description", "")}
                         for k, v in part.get("properties", {}).items())
        for p in props:
            p["required"] = p["name"] in required
        schemas.append({"name": name, "description": schema.get("description", ""), "properties": props})
    return render_template("api/docs.html", info=document["info"], operations=operations, schemas=schemas,
                           spec_url=url_for("openapi.spec"))
