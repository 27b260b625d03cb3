"""The compiled verdict of `render --strict` agrees with jsonschema on the same Kubernetes schemas:
it may never pass an object jsonschema refuses (it gives the verdict; jsonschema only explains)."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from renderers import render_environment
from renderers.kubernetes.kube_schema import KUBERNETES_MINOR, _compiled, _validator, check_objects
from schema.repository import load_repository

EXAMPLE = Path(__file__).resolve().parents[3] / "examples" / "repo-layout"


def rendered() -> list[dict[str, Any]]:
    report = load_repository(EXAMPLE)
    assert report.project is not None
    return render_environment(report.project, "prod")


def mutations(obj: dict[str, Any]) -> list[dict[str, Any]]:
    """Broken copies: an unknown field (strict schemas), a wrong type, an unknown nested field."""
    unknown = copy.deepcopy(obj)
    unknown["spex"] = {}
    wrong_type = copy.deepcopy(obj)
    wrong_type["metadata"]["labels"] = ["not", "a", "map"]
    nested = copy.deepcopy(obj)
    nested["metadata"]["nameSpace"] = "x"
    return [unknown, wrong_type, nested]


def verdicts(obj: dict[str, Any]) -> tuple[bool, bool]:
    api_version, kind = str(obj["apiVersion"]), str(obj["kind"])
    compiled = _compiled(KUBERNETES_MINOR, api_version, kind)
    precise = _validator(KUBERNETES_MINOR, api_version, kind)
    assert compiled is not None
    assert precise is not None
    return compiled.is_valid(obj), not list(precise.iter_errors(obj))


def test_compiled_and_jsonschema_agree_on_valid_and_broken_objects() -> None:
    objects = rendered()
    kinds = {o["kind"] for o in objects}
    assert {"Deployment", "Service", "ConfigMap", "NetworkPolicy"} <= kinds
    checked = 0
    for obj in objects:
        assert verdicts(obj) == (True, True), obj["kind"]
        for broken in mutations(obj):
            assert verdicts(broken) == (False, False), (obj["kind"], broken)
            checked += 1
    assert checked >= 3 * len(objects)


def test_check_objects_still_explains_a_refused_object() -> None:
    deployment = next(o for o in rendered() if o["kind"] == "Deployment")
    broken = copy.deepcopy(deployment)
    broken["spec"]["replicas"] = "three"
    problems = check_objects([broken])
    assert [p.message for p in problems] == [
        "/spec/replicas: 'three' is not of type 'integer', 'null'"
    ]


@pytest.mark.parametrize("kind", ["Deployment"])
def test_jsonschema_is_the_reference(kind: str) -> None:
    """Guard: the explaining validator is the pure-Python one the verdict is compared with."""
    obj = next(o for o in rendered() if o["kind"] == kind)
    assert isinstance(
        _validator(KUBERNETES_MINOR, obj["apiVersion"], kind), jsonschema.Draft202012Validator
    )
