"""Helpers for the Open Referral UK, export and upload tests: the published ORUK v3 schemas as
validators, the project's own ORUK fixtures, and signing in as a planner or an administrator."""
from __future__ import annotations

import json
import os
from functools import cache
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator, FormatChecker
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from assetmap.config import data_dir

PROJECT = Path(__file__).resolve().parent.parent
ORUK_DATA = PROJECT / "tests" / "data" / "oruk"
# The specs sit beside the open data in shared/ (ASSETMAP_DATA_DIR points at shared/data).
SPEC_DIR = Path(os.environ.get("ASSETMAP_ORUK_SPEC", data_dir().parent / "specs" / "oruk-v3")).resolve()


def spec_dir() -> Path:
    if not (SPEC_DIR / "schema" / "compiled" / "service.json").exists():
        pytest.fail(f"the ORUK v3 schemas are not at {SPEC_DIR}; set ASSETMAP_ORUK_SPEC")
    return SPEC_DIR


@cache
def _registry() -> Registry:
    resources = []
    for f in sorted((spec_dir() / "schema").glob("*.json")):
        if f.name == "openapi.json":
            continue
        resources.append((f.name, Resource.from_contents(json.loads(f.read_text()), default_specification=DRAFT202012)))
    return Registry().with_resources(resources)


@cache
def validator(name: str) -> Draft202012Validator:
    """A validator for ``compiled/<name>.json`` when it exists, else ``schema/<name>.json``."""
    compiled = spec_dir() / "schema" / "compiled" / f"{name}.json"
    path = compiled if compiled.exists() else spec_dir() / "schema" / f"{name}.json"
    schema = json.loads(path.read_text())
    schema.setdefault("$id", path.name)
    return Draft202012Validator(schema, registry=_registry(), format_checker=FormatChecker())


@cache
def page_validator() -> Draft202012Validator:
    """The profile's page wrapper (``components.schemas.Page`` of its OpenAPI), with every key required."""
    page = json.loads((spec_dir() / "schema" / "openapi.json").read_text())["components"]["schemas"]["Page"]
    schema = {**page, "required": sorted(page["properties"]) + ["contents"]}
    return Draft202012Validator(schema, format_checker=FormatChecker())


def assert_valid(name: str, instance) -> None:
    """Fail with every schema error, each with its path, if ``instance`` is not a valid ``name``."""
    errors = sorted(validator(name).iter_errors(instance), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:20])


def assert_valid_page(body: dict, item: str) -> None:
    errors = list(page_validator().iter_errors(body))
    assert not errors, [e.message for e in errors]
    assert body["size"] == len(body["contents"])
    for content in body["contents"]:
        assert_valid(item, content)
