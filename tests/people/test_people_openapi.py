"""The controller's OpenAPI document, and a bounded schemathesis run against it: no 5xx, ever."""

from __future__ import annotations

import re

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from support.world import World, make_world

TOKEN: dict[str, str] = {}


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> World:
    w = make_world(tmp_path_factory.mktemp("openapi"))
    yield w
    w.controller.stop()


@pytest.fixture(scope="module")
def api_schema(world):
    TOKEN["root"] = world.tokens["root"]
    return schemathesis.openapi.from_wsgi("/api/openapi.json", world.app)


def _api_rules(world) -> dict[str, set[str]]:
    """Every ``/api/...`` URL rule of the app (in OpenAPI's ``{name}`` form) and its methods, whoever registers it."""
    rules: dict[str, set[str]] = {}
    for rule in world.app.url_map.iter_rules():
        if rule.rule.startswith("/api/"):
            path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule)
            rules.setdefault(path, set()).update(m.lower() for m in rule.methods - {"HEAD", "OPTIONS"})
    return rules


def test_document_covers_every_api_route_by_path(world):
    """Routes are found by their ``/api/`` prefix, not by blueprint, so a new module cannot slip past."""
    doc = world.client().get("/api/openapi.json").json
    assert doc["openapi"].startswith("3.")
    documented = {p: {m for m in ops if m in ("get", "post", "put", "patch", "delete")} for p, ops in doc["paths"].items()}
    served = _api_rules(world)
    missing = sorted(f"{m.upper()} {p}" for p, ms in served.items() for m in ms - documented.get(p, set()))
    stale = sorted(f"{m.upper()} {p}" for p, ms in documented.items() for m in ms - served.get(p, set()))
    assert missing == [] and stale == [], {"undocumented": missing, "documented but not served": stale}


def _api_modules(world) -> dict[str, str]:
    return {rule.rule: world.app.view_functions[rule.endpoint].__module__
            for rule in world.app.url_map.iter_rules() if rule.rule.startswith("/api/")}


def test_api_routes_live_in_api_modules(world):
    outside = {r: m for r, m in _api_modules(world).items()
               if not re.fullmatch(r"web\.api(_[a-z]+)?", m)}
    assert outside == {}


def test_no_server_errors_on_generated_requests(api_schema):
    """Every operation, with schema-valid and schema-breaking data, a few examples each (bounded)."""
    headers = {"Authorization": f"Bearer {TOKEN['root']}"}
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 70  # every documented operation, the fleet and page endpoints included
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=6, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def check(case):
            case.call_and_validate(headers=headers, checks=[not_a_server_error])

        check()
