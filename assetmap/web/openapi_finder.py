"""The OpenAPI description of the finder's API (/api/v1), for the combined spec at /api/openapi.json.

:func:`openapi_paths` and :func:`openapi_components` return the ``paths`` and ``components`` of an
OpenAPI 3.1 document (:mod:`assetmap.web.api_docs` merges them with the ``/oruk`` part); the
schemas are JSON Schema 2020-12 (nullable values are ``type: [..., "null"]``), so the tests check
real responses against them with ``jsonschema``. The query parameters come from
:data:`assetmap.domain.search.PARAMETERS`, the same table the API's parser reads.
"""
from __future__ import annotations

import copy

from assetmap.domain.gap_ranks import BIVARIATE_CLASSES, NO_DATA, NO_PROVISION
from assetmap.domain.search import PARAMETERS

__all__ = ["GAP_CLASSES", "openapi_components", "openapi_paths"]


def _nullable(schema: dict) -> dict:
    kind = schema["type"]
    return {**schema, "type": [*kind, "null"] if isinstance(kind, list) else [kind, "null"]}


_STRING = {"type": "string"}
_SLUG_LABEL = {
    "type": "object",
    "required": ["slug", "label"],
    "additionalProperties": False,
    "properties": {"slug": _STRING, "label": _STRING},
}
_ERROR = {
    "type": "object",
    "required": ["error"],
    "additionalProperties": False,
    "properties": {
        "error": {
            "type": "object",
            "required": ["status", "title", "message"],
            "properties": {
                "status": {"type": "integer"},
                "title": _STRING,
                "message": _STRING,
                "parameter": {"type": "string", "description": "The query parameter at fault."},
                "allowed": {"type": "array", "items": _STRING, "description": "The values that parameter takes."},
                "suggestions": {
                    "type": "array", "items": _STRING,
                    "description": "What to try instead: the postcode district and neighbouring postcodes of an "
                                   "unknown postcode, the nearest known districts, or place names spelt alike.",
                },
            },
        }
    },
}
_META = {
    "type": "object",
    "required": ["licence", "attribution", "generated_at"],
    "properties": {
        "licence": {"type": "string", "description": "Licences of the data shown."},
        "attribution": {"type": "array", "items": _STRING, "description": "Attribution each source requires."},
        "generated_at": {"type": "string", "format": "date-time"},
    },
}
_ASSET_PROPERTIES = {
    "type": "object",
    "additionalProperties": False,
    "required": ["id", "uuid", "name", "category", "open_now", "distance_m", "page_url"],
    "properties": {
        "id": {"type": "integer"},
        "uuid": {"type": "string", "format": "uuid"},
        "name": _STRING,
        "description": _nullable(_STRING),
        "category": {**_nullable(_STRING), "description": "Slug of the main asset type (see /api/v1/categories)."},
        "category_label": _nullable(_STRING),
        "categories": {"type": "array", "items": _SLUG_LABEL},
        "wellbeing": {"type": "array", "items": _SLUG_LABEL, "description": "Five Ways to Wellbeing."},
        "organisation": {**_nullable(_STRING), "description": "Who runs it."},
        "address": _nullable(_STRING),
        "town": _nullable(_STRING),
        "postcode": _nullable(_STRING),
        "phone": _nullable(_STRING),
        "email": _nullable(_STRING),
        "url": _nullable(_STRING),
        "opening_hours": {
            "type": ["object", "null"],
            "description": "Weekly hours, London wall clock: {\"mon\": [[\"09:00\", \"13:00\"], ...]}; a missing "
                           "day is not known, an empty list is closed, a closing time before the opening time "
                           "is the next morning.",
            "propertyNames": {"enum": ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]},
        },
        "opening_hours_note": _nullable(_STRING),
        "open_now": {"type": ["boolean", "null"], "description": "At the time of the response, in Europe/London; "
                                                                 "null when today's hours are not known."},
        "cost": _nullable(_STRING),
        "is_free": {"type": ["boolean", "null"]},
        "access_modes": {"type": "array", "items": _STRING},
        "age_groups": {"type": "array", "items": _STRING},
        "eligibility_note": _nullable(_STRING),
        "accessibility": {"type": "array", "items": _STRING},
        "accepting_referrals": {"type": ["boolean", "null"]},
        "service_area": {**_nullable(_STRING), "description": "Name of the area it serves, if it serves one."},
        "last_verified_at": {"type": ["string", "null"], "format": "date-time"},
        "updated_at": {"type": ["string", "null"], "format": "date-time"},
        "stale": {"type": ["boolean", "null"],
                  "description": "Not checked for 12 months: listed after the entries that were."},
        "distance_m": {"type": ["number", "null"], "description": "Straight-line distance on the sphere, metres."},
        "within_radius": {"type": ["boolean", "null"]},
        "page_url": {"type": "string", "format": "uri"},
    },
}
_POINT = {
    "type": "object",
    "required": ["type", "coordinates"],
    "additionalProperties": False,
    "properties": {
        "type": {"const": "Point"},
        "coordinates": {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2},
    },
}
_FEATURE = {
    "type": "object",
    "required": ["type", "id", "geometry", "properties"],
    "properties": {
        "type": {"const": "Feature"},
        "id": {"type": "integer"},
        "geometry": {"oneOf": [{"$ref": "#/components/schemas/FinderPoint"}, {"type": "null"}]},
        "properties": {"$ref": "#/components/schemas/FinderAssetProperties"},
    },
}
_PAGING = {
    "type": "object",
    "additionalProperties": False,
    "required": ["page", "per_page", "total", "total_is_lower_bound", "pages", "next", "prev"],
    "properties": {
        "page": {"type": "integer", "minimum": 1},
        "per_page": {"type": "integer", "minimum": 1},
        "total": {"type": "integer", "minimum": 0,
                  "description": "Matches as far as this page; exact unless total_is_lower_bound."},
        "total_is_lower_bound": {"type": "boolean",
                                 "description": "There are more (on the next page): matches are not counted "
                                                "beyond the page, which in a city would cost more than the search."},
        "pages": {"type": "integer", "minimum": 1, "description": "At least this many (exact unless "
                                                                  "total_is_lower_bound)."},
        "next": {"type": ["string", "null"], "description": "The next page, when it has something."},
        "prev": {"type": ["string", "null"]},
    },
}
_COLLECTION = {
    "type": "object",
    "required": ["type", "features", "meta"],
    "properties": {
        "type": {"const": "FeatureCollection"},
        "features": {"type": "array", "items": {"$ref": "#/components/schemas/FinderAssetFeature"}},
        "meta": {
            "allOf": [{"$ref": "#/components/schemas/FinderMeta"}],
            "required": ["location", "radius_m", "widened", "notices", "order", "paging"],
            "properties": {
                "location": {
                    "type": ["object", "null"],
                    "required": ["kind", "label", "lat", "lon"],
                    "properties": {
                        "kind": {"enum": ["postcode", "outward", "place", "area", "point"]},
                        "label": _STRING, "lat": {"type": "number"}, "lon": {"type": "number"},
                    },
                },
                "radius_m": {"type": ["integer", "null"]},
                "widened": {"type": "boolean", "description": "Too few matched within the radius, so the nearest "
                                                              "are listed anyway (see within_radius)."},
                "notices": {"type": "array", "items": _STRING,
                            "description": "Things changed from the request, such as a radius reduced."},
                "order": {"enum": ["distance", "id"]},
                "paging": {"$ref": "#/components/schemas/FinderPaging"},
            },
        },
    },
}
_ASSET_RESPONSE = {
    "allOf": [{"$ref": "#/components/schemas/FinderAssetFeature"}],
    "required": ["meta"],
    "properties": {"meta": {"$ref": "#/components/schemas/FinderMeta"}},
}
_POSTCODE = {
    "type": "object",
    "required": ["kind", "postcode", "outward", "lat", "lon", "meta"],
    "properties": {
        "kind": {"enum": ["postcode", "outward"]},
        "postcode": {**_nullable(_STRING), "description": "The postcode, normalised (null for a district)."},
        "outward": _STRING,
        "lat": {"type": "number"},
        "lon": {"type": "number", "description": "The postcode's position, or the centroid of a district's postcodes."},
        "lad_code": _nullable(_STRING),
        "ward_code": _nullable(_STRING),
        "postcodes": {"type": ["integer", "null"], "description": "How many postcodes a district has."},
        "meta": {"$ref": "#/components/schemas/FinderMeta"},
    },
}
_TERM = {
    "type": "object",
    "required": ["slug", "label"],
    "properties": {"slug": _STRING, "label": _STRING, "description": _nullable(_STRING),
                   "catchment_m": {"type": ["number", "null"]}},
}
_CATEGORIES = {
    "type": "object",
    "required": ["categories", "wellbeing", "meta"],
    "properties": {
        "categories": {"type": "array", "items": _TERM, "description": "Asset types: the values of `category`."},
        "wellbeing": {"type": "array", "items": _TERM,
                      "description": "Five Ways to Wellbeing: the values of `wellbeing`."},
        "meta": {"$ref": "#/components/schemas/FinderMeta"},
    },
}


def _parameter(spec) -> dict:
    if spec.kind == "choices":
        items: dict = {"type": "string"}
        if spec.choices is not None:
            items["enum"] = list(spec.choices)
        schema: dict = {"type": "array", "items": items}
        description = spec.description + " Repeat the parameter or separate values with commas."
        if spec.vocabulary:
            description += " Allowed values: the slugs listed by /api/v1/categories."
        return {"name": spec.name, "in": "query", "description": description, "schema": schema,
                "style": "form", "explode": True}
    schema = {"text": {"type": "string", "maxLength": 100}, "number": {"type": "number"},
              "integer": {"type": "integer"}, "boolean": {"type": "boolean"}}[spec.kind]
    schema = dict(schema)
    if spec.minimum is not None:
        schema["minimum"] = spec.minimum
    if spec.maximum is not None and spec.name not in ("radius_m", "per_page"):  # larger ones are reduced, not refused
        schema["maximum"] = spec.maximum
    if spec.default not in (None, False):
        schema["default"] = spec.default
    return {"name": spec.name, "in": "query", "description": spec.description, "schema": schema}


def _json(ref: str, description: str) -> dict:
    return {"description": description, "content": {"application/json": {"schema": {"$ref": ref}}}}


_ERRORS = {
    "400": _json("#/components/schemas/FinderError", "The request is not valid: the message says why, naming the "
                                               "parameter and the allowed values."),
    "404": _json("#/components/schemas/FinderError", "Not found, with suggestions where there are some."),
}


_PARAMETERS = {f"finder_{p.name}": _parameter(p) for p in PARAMETERS if not p.page_only}
_PATHS = {
    "/api/v1/assets": {
        "get": {
            "operationId": "finderListAssets",
            "summary": "Published assets near a postcode, place or point, nearest first (GeoJSON)",
            "description": (
                "Give one of `postcode`, `place` or `lat` + `lon`. Results are ordered by straight-line "
                "distance (ties by id), with entries not checked for 12 months after the others. With "
                "fewer than 5 matches within the radius, the nearest 10 (out to 100 km) are listed and "
                "`meta.widened` is true. Without a location, every published match is listed by id. "
                "Unknown parameters and values are refused with 400, listing the allowed ones."
            ),
            "tags": ["finder"],
            "parameters": [{"$ref": f"#/components/parameters/{name}"} for name in _PARAMETERS],
            "responses": {
                "200": _json("#/components/schemas/FinderAssetCollection", "A page of matching assets."),
                **_ERRORS,
            },
        }
    },
    "/api/v1/assets/{id}": {
        "get": {
            "operationId": "finderGetAsset",
            "summary": "One published asset (GeoJSON Feature)",
            "tags": ["finder"],
            "parameters": [{"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}}],
            "responses": {"200": _json("#/components/schemas/FinderAssetResponse", "The asset."), **_ERRORS},
        }
    },
    "/api/v1/postcodes/{postcode}": {
        "get": {
            "operationId": "finderGetPostcode",
            "summary": "Where a postcode (SY11 1QD) or a postcode district (SY11) is",
            "tags": ["finder"],
            "parameters": [{"name": "postcode", "in": "path", "required": True, "schema": {"type": "string"}}],
            "responses": {"200": _json("#/components/schemas/FinderPostcode", "Its position."), **_ERRORS},
        }
    },
    "/api/v1/categories": {
        "get": {
            "operationId": "finderListCategories",
            "summary": "The asset types and Five Ways to Wellbeing the filters take",
            "tags": ["finder"],
            "responses": {"200": _json("#/components/schemas/FinderCategories", "The vocabularies.")},
        }
    },
}
#: The classes of /api/v1/gaps rows, as the gap page's key and table name them.
GAP_CLASSES = [*BIVARIATE_CLASSES, NO_PROVISION, NO_DATA]
_NUMBER_OR_NULL = {"type": ["number", "null"]}
_GAP_ROW = {
    "type": "object",
    "required": ["code", "name", "population", "need", "need_pct", "provision", "provision_pct", "gap", "class"],
    "properties": {
        "code": {"type": "string", "description": "Area code (LSOA, ward or MSOA, as `level` asks, of the "
                                                  "indicator's geography: meta.parameters.level names it)."},
        "name": _STRING,
        "areas": {"type": "integer", "description": "Small areas in it (ward and MSOA rows only)."},
        "population": _NUMBER_OR_NULL,
        "need": {**_NUMBER_OR_NULL, "description": "The indicator's value (null: no data)."},
        "need_pct": {**_NUMBER_OR_NULL, "description": "Need percentile, 100 = most need; ties take the lowest."},
        "provision": {**_NUMBER_OR_NULL, "description": "(E)2SFCA score: capacity per person within reach; 0: none."},
        "provision_pct": {**_NUMBER_OR_NULL,
                          "description": "Provision percentile, 100 = most; 0 where nothing is in reach; ties take "
                                         "the lowest."},
        "nearest_m": {**_NUMBER_OR_NULL, "description": "Metres to the nearest asset (small-area rows only)."},
        "gap": {**_NUMBER_OR_NULL, "description": "need_pct - provision_pct (null when need is missing)."},
        "class": {"type": "string", "enum": GAP_CLASSES,
                  "description": "'no-provision' (nothing within reach), one of the nine "
                                 "'<low|mid|high>-need/<low|mid|high>-provision' classes, or 'no-data'."},
    },
}
_GAP_ROWS = {
    "type": "object",
    "required": ["rows", "meta"],
    "properties": {
        "rows": {"type": "array", "items": {"$ref": "#/components/schemas/GapRow"}},
        "meta": {"type": "object", "description": "Parameters (with `level`, the level of the rows' geography: "
                                                  "lsoa21, ward24, msoa21 for IoD 2025; lsoa, ward, msoa for IoD "
                                                  "2019), run, field descriptions, licence and attribution."},
    },
}
_PATHS["/api/v1/gaps"] = {
    "get": {
        "operationId": "gapRows",
        "summary": "Need, provision, gap and class of every area of a local authority for one category",
        "description": "Takes the query of the /plan page (`lad, category, indicator, group, radius_m, "
                       "rural_radius_m, decay, level`); unknown values are refused with 400, listing the "
                       "allowed ones.",
        "tags": ["gaps"],
        "parameters": [
            {"name": name, "in": "query", "schema": {"type": "number" if name.endswith("_m") else "string"}}
            for name in ("lad", "category", "indicator", "group", "radius_m", "rural_radius_m", "decay", "level")
        ],
        "responses": {"200": _json("#/components/schemas/GapRows", "One row per area, by code."), **_ERRORS},
    }
}
_SCHEMAS = {
    "GapRow": _GAP_ROW,
    "GapRows": _GAP_ROWS,
    "FinderError": _ERROR,
    "FinderMeta": _META,
    "FinderPoint": _POINT,
    "FinderAssetProperties": _ASSET_PROPERTIES,
    "FinderAssetFeature": _FEATURE,
    "FinderPaging": _PAGING,
    "FinderAssetCollection": _COLLECTION,
    "FinderAssetResponse": _ASSET_RESPONSE,
    "FinderPostcode": _POSTCODE,
    "FinderCategories": _CATEGORIES,
}


def openapi_paths() -> dict:
    """The ``paths`` of /api/v1 (OpenAPI 3.1), a fresh copy each call.

    Their ``$ref`` point into :func:`openapi_components`; :mod:`assetmap.web.api_docs` merges both
    into the document served at /api/openapi.json.

    Examples
    --------
    >>> sorted(openapi_paths())
    ['/api/v1/assets', '/api/v1/assets/{id}', '/api/v1/categories', '/api/v1/gaps', '/api/v1/postcodes/{postcode}']
    """
    return copy.deepcopy(_PATHS)


def openapi_components() -> dict:
    """The ``components`` (``schemas`` and ``parameters``) the paths refer to, a fresh copy each call.

    Schema names all start with ``Finder`` or ``Gap`` and parameter names with ``finder_``, so
    they cannot clash with other parts of the document.

    Examples
    --------
    >>> sorted(openapi_components())
    ['parameters', 'schemas']
    """
    return copy.deepcopy({"schemas": _SCHEMAS, "parameters": _PARAMETERS})
