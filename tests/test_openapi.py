"""The OpenAPI description at /api/openapi.json, its docs page, and a schemathesis run over it:
generated requests to every operation, responses checked against the description, no 500s."""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from assetmap.web.api_docs import build_spec
from tests.factories import make_asset

# Enough examples to reach every parameter, few enough to run in seconds.
MAX_EXAMPLES = 30
# What a response must be. Not "positive data acceptance": a well-formed postcode that no address
# has, or a proximity without a postcode, is rightly a 400 that no OpenAPI schema can foresee.
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]


@pytest.fixture
def published(db_session):
    make_asset(db_session, "Cabin Lane Community Hall", -3.0475, 52.8641, "community-venue", postcode="SY11 1HT",
               opening_hours={"mon": [["09:00", "17:00"]]}, age_groups=["adults"], is_free=True,
               accessibility=["step_free"], phone="01691 111111", url="https://hall.example.org")
    make_asset(db_session, "Oswestry Larder", -3.0398, 52.8558, "food-bank", postcode="SY11 2SA",
               opening_hours={"tue": [["10:00", "12:00"]]}, cost="£3 a week")
    db_session.flush()


def test_api_conforms_to_its_description(app, published):
    """Every operation: generated requests, responses as described, never a server error.

    Schemathesis' Python API, one Hypothesis run per operation against the WSGI app (sharing the
    test's rolled-back transaction), deterministic and bounded.
    """
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    checked, failures = [], []
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def run(case):
            # Plain bodies: schemathesis asks for compressed ones, and over WSGI nothing decodes them.
            response = case.call(headers={"Accept-Encoding": "identity"})
            assert response.status_code < 500, f"{case.method} {case.formatted_path}: {response.text[:300]}"
            case.validate_response(response, checks=CHECKS)

        try:
            run()
        except Exception as error:  # collected, so every operation is run and reported
            failures.append(f"{operation.label}: {str(error)[:800]}")
        checked.append(operation.label)
    assert len(checked) >= 9
    assert not failures, "\n\n".join(failures)


def test_spec_lists_oruk_and_v1(client):
    spec = client.get("/api/openapi.json").get_json()
    assert spec["openapi"] == "3.1.0"
    for path in ("/oruk/", "/oruk/services", "/oruk/services/{id}", "/oruk/service_at_locations",
                 "/oruk/service_at_locations/{id}", "/oruk/taxonomies", "/oruk/taxonomies/{id}",
                 "/oruk/taxonomy_terms", "/oruk/taxonomy_terms/{id}"):
        assert path in spec["paths"], path
    assert any(p.startswith("/api/v1/") for p in spec["paths"])
    dangling = [ref for ref in set(_refs(spec))
                if ref.split("/")[3] not in spec["components"].get(ref.split("/")[2], {})]
    assert not dangling


def _refs(node):
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(node, list):
        for item in node:
            yield from _refs(item)


def test_v1_part_is_merged_with_the_oruk_part():
    spec = build_spec({"/api/v1/ping": {"get": {"responses": {"200": {"description": "pong"}}}}},
                      {"schemas": {"Ping": {"type": "object"}}, "parameters": {"p": {"name": "p", "in": "query"}}})
    assert "/api/v1/ping" in spec["paths"] and "/oruk/services" in spec["paths"]
    assert {"Ping", "Service"} <= set(spec["components"]["schemas"]) and "p" in spec["components"]["parameters"]
    assert set(build_spec()["paths"]) == {p for p in spec["paths"] if p.startswith("/oruk")}


def test_docs_page_lists_every_operation(client):
    response = client.get("/api/docs")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert "<h1>assetmap public APIs</h1>" in page
    assert "GET /oruk/services/{id}" in page and 'id="schema-Service"' in page
    assert 'href="/api/openapi.json"' in page
