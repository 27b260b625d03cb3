"""The fast verdict agrees with jsonschema on the lenient Camel schema, both ways."""

from __future__ import annotations

from typing import Any

import pytest
from jsonschema import Draft7Validator

from schema.camel.catalog import load_catalog
from schema.camel.fast_check import FastChecker, UnsupportedSchemaError

ROUTES: list[Any] = [
    [{"route": {"from": {"uri": "timer:x", "steps": [{"log": "${body}"}]}}}],
    [{"from": {"uri": "direct:a", "steps": [{"setBody": {"simple": "x"}}, {"to": "log:y"}]}}],
    [{"route": {"from": {"uri": "direct:a", "steps": [{"tansform": {"simple": "x"}}]}}}],
    [{"route": {"from": {"uri": "direct:a", "steps": [{"log": "a", "to": "b"}]}}}],
    [
        {
            "route": {
                "from": {
                    "uri": "direct:a",
                    "steps": [{"delay": {"constant": 1, "asyncDelayed": "{{d}}"}}],
                }
            }
        }
    ],
    [
        {
            "route": {
                "from": {
                    "uri": "direct:a",
                    "steps": [{"delay": {"constant": 1, "asyncDelayed": "maybe"}}],
                }
            }
        }
    ],
    [{"route": {"from": {"steps": []}}}],
    [{"beans": [{"name": "a", "type": "com.example.A"}]}],
    [
        {
            "route": {
                "from": {
                    "uri": "direct:a",
                    "steps": [{"log": {"message": "x", "loggingLevel": "LOUD"}}],
                }
            }
        }
    ],
    [
        {
            "route": {
                "from": {
                    "uri": "direct:a",
                    "steps": [{"log": {"message": "x", "logging-level": "INFO"}}],
                }
            }
        }
    ],
]


@pytest.mark.parametrize("routes", ROUTES)
def test_fast_checker_agrees_with_jsonschema(routes: Any) -> None:
    schema = load_catalog("4.18.4").yaml_dsl_schema
    precise = not list(Draft7Validator(schema).iter_errors(routes))
    assert FastChecker(schema).is_valid(routes) == precise


def test_both_verdicts_occur() -> None:
    schema = load_catalog("4.18.4").yaml_dsl_schema
    verdicts = {FastChecker(schema).is_valid(r) for r in ROUTES}
    assert verdicts == {True, False}


def test_unknown_keywords_refuse_to_compile() -> None:
    with pytest.raises(UnsupportedSchemaError):
        FastChecker({"type": "object", "dependentRequired": {"a": ["b"]}})
