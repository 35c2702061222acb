"""No 500 from bad input, anywhere: every registered route, with hostile values in every query
parameter and form field its code reads, as each kind of visitor, answers below 500.

The parameters a route reads are found in the source of its view's module and of the domain modules
that module uses (``args.get("x")``, ``form.get("x")``, ``int_arg("x", ...)``, the finder's parameter
specs), so a parameter added later is walked too. schemathesis covers the JSON APIs against their
OpenAPI description (tests/test_openapi.py); this covers the HTML pages and the form posts.
"""
from __future__ import annotations

import importlib
import inspect
import re
from pathlib import Path

import pytest

from assetmap.domain import search
from tests.contribute_fixtures import make_user, sign_in
from tests.factories import make_asset

HOSTILE = {
    "too-big": "99999999999999999999",
    "nul": "a\x00b",
    "long": "x" * 3000,
    "wrong-type": "[{\"a\": 1}]",
}
ROLES = ["anonymous", "volunteer", "moderator", "planner", "admin"]
# Every parameter one at a time as a visitor and as an administrator (who reaches every page); the
# other roles get the hostile paths and every parameter at once, to keep the walk quick.
FULL_WALK = {"anonymous", "admin"}
_READS = re.compile(r"""(?:args|form|request\.args|request\.form)\.get(?:list)?\(\s*["'](\w+)["']"""
                    r"""|(?:int_arg|_float_arg|_first|_number|_integer|_boolean|whole_number_arg)\((?:args,\s*)?["'](\w+)["']""")
NO_CSRF = pytest.mark.app_config(WTF_CSRF_ENABLED=False, RATELIMIT_ENABLED=False)
SKIP = {"static", "vendor.vendor_file", "auth.logout"}  # files on disk; logout is walked last by sign-out


def _names_in(module) -> set[str]:
    source = inspect.getsource(module)
    names = {a or b for a, b in _READS.findall(source)}
    for domain in re.findall(r"from assetmap\.domain(?:\.(\w+))? import ([\w, ()\n]+)", source):
        for part in [domain[0]] if domain[0] else re.findall(r"\w+", domain[1]):
            try:
                names |= {a or b for a, b in _READS.findall(inspect.getsource(
                    importlib.import_module(f"assetmap.domain.{part}")))}
            except (ModuleNotFoundError, TypeError, OSError):
                pass
    if "search" in source:
        names |= {spec.name for spec in search.PARAMETERS} if hasattr(search, "PARAMETERS") else set()
    return names


def _module_params(app) -> dict[str, set[str]]:
    modules = {}
    for view in app.view_functions.values():
        module = inspect.getmodule(view)
        if module is not None and module.__name__ not in modules:
            modules[module.__name__] = _names_in(module)
    return modules


def _urls(rule, asset_id: int) -> list[str]:
    """The rule filled in with a real id, and with hostile path parts."""
    real = {name: asset_id if conv.__class__.__name__ == "DatabaseInteger" else "E06000051"
            for name, conv in rule._converters.items()}
    urls = [_build(rule, real)]
    for value in ("99999999999999999999", "a%00b", "x" * 300):
        urls.append(_build(rule, dict.fromkeys(rule._converters, value)))
    return urls


def _build(rule, values: dict) -> str:
    return re.sub(r"<(?:[^:<>]+:)?(\w+)>", lambda m: str(values[m.group(1)]), rule.rule)


@pytest.fixture
def asset_id(db_session):
    asset = make_asset(db_session, name="Walker Hall", cost="free")
    db_session.commit()
    return asset.id


def _client(app, db_session, role: str):
    client = app.test_client()
    if role != "anonymous":
        make_user(db_session, f"{role}@example.org", role)
        db_session.commit()
        assert sign_in(client, f"{role}@example.org").status_code == 302
    return client


@NO_CSRF
@pytest.mark.parametrize("role", ROLES)
def test_no_route_answers_5xx_to_hostile_input(app, db_session, asset_id, role):
    client = _client(app, db_session, role)
    params = _module_params(app)
    failures = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint in SKIP:
            continue
        module = inspect.getmodule(app.view_functions[rule.endpoint]).__name__
        names = sorted(params.get(module, set())) or ["q"]
        for url in _urls(rule, asset_id):
            for method in sorted(rule.methods & {"GET", "POST"}):
                call = client.get if method == "GET" else client.post
                response = call(url)
                if response.status_code >= 500:
                    failures.append(f"{method} {url[:80]} -> {response.status_code}")
        url = _build(rule, {name: asset_id if "int" in type(conv).__name__.lower() else "E06000051"
                            for name, conv in rule._converters.items()})
        if role not in FULL_WALK:
            for label, value in HOSTILE.items():
                for method in sorted(rule.methods & {"GET", "POST"}):
                    everything = dict.fromkeys(names, value)
                    response = (client.get(url, query_string=everything) if method == "GET"
                                else client.post(url, data=everything))
                    if response.status_code >= 500:
                        failures.append(f"{method} {url} all={label} -> {response.status_code}")
            continue
        for name in names:
            for label, value in HOSTILE.items():
                for method in sorted(rule.methods & {"GET", "POST"}):
                    if method == "GET":
                        response = client.get(url, query_string={name: value})
                    else:
                        response = client.post(url, data={name: value})
                    if response.status_code >= 500:
                        failures.append(f"{method} {url} {name}={label} -> {response.status_code}")
    assert not failures, "\n".join(failures[:60])


@NO_CSRF
def test_the_reported_500s_are_400s_naming_the_parameter(app, db_session):
    admin = _client(app, db_session, "admin")
    for url, name in [("/contribute/duplicates?name=Hall&lat=52.86&lon=-3.05&exclude=99999999999999999999", "exclude"),
                      ("/moderate?page=99999999999999999999", "page"),
                      ("/moderate/stale?page=99999999999999999999", "page"),
                      ("/moderate/stale?area=a%00b", "area"), ("/moderate/stale?source=a%00b", "source")]:
        response = admin.get(url)
        assert response.status_code == 400, url
        assert name in response.get_data(as_text=True), url


@NO_CSRF
def test_an_id_too_big_for_the_database_is_a_404(client):
    assert client.get("/assets/99999999999999999999").status_code == 404
    assert client.get("/api/v1/assets/99999999999999999999").status_code == 404


@NO_CSRF
def test_nul_in_a_form_field_or_a_json_body_nested_too_deep(app, db_session):
    admin = _client(app, db_session, "admin")
    response = admin.post("/contribute", data={"name": "Hall\x00"})
    assert response.status_code == 400 and "name" in response.get_data(as_text=True)
    deep = "[" * 100_000 + "]" * 100_000
    response = admin.post("/profile/custom", data=deep, content_type="application/json")
    assert response.status_code == 400


def test_the_walker_finds_the_parameters():
    # the discovery the walk relies on finds the parameters the issue named
    from assetmap.web import contribute, moderate
    assert {"exclude", "name", "lat", "lon"} <= _names_in(contribute)
    assert {"page", "area", "source", "kind"} <= _names_in(moderate)
    assert Path(inspect.getsourcefile(moderate)).exists()
