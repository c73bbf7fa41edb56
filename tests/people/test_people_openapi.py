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


def test_document_covers_every_rule_of_the_json_api_blueprints(world):
    doc = world.client().get("/api/openapi.json").json
    assert doc["openapi"].startswith("3.")
    documented = {p.replace("{", "<").replace("}", ">") for p in doc["paths"]}
    for rule in world.app.url_map.iter_rules():
        if rule.endpoint.split(".")[0] in ("api", "api_people", "api_schedule", "api_security", "api_fleet"):
            assert re.sub(r"<\w+:", "<", rule.rule) in documented, rule.rule


def test_no_server_errors_on_generated_requests(api_schema):
    """Every operation, with schema-valid and schema-breaking data, a few examples each (bounded)."""
    headers = {"Authorization": f"Bearer {TOKEN['root']}"}
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 15
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=6, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def check(case):
            case.call_and_validate(headers=headers, checks=[not_a_server_error])

        check()
