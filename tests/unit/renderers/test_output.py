"""Deterministic YAML/JSON, file names, and the Kubernetes schema check."""

from __future__ import annotations

import json

import pytest
import yaml

from renderers.kubernetes.kube_schema import check_objects
from renderers.output import OutputFormat, file_name, render_files, to_stream, to_yaml

SHARED = {"drop": ["ALL"]}


def obj(kind: str, name: str, **extra: object) -> dict[str, object]:
    return {"apiVersion": "v1", "kind": kind, "metadata": {"name": name}, **extra}


def test_yaml_is_sorted_and_alias_free() -> None:
    text = to_yaml({"b": SHARED, "a": SHARED, "c": "x"})
    assert "&" not in text
    assert "*" not in text
    assert text.index("a:") < text.index("b:") < text.index("c:")


def test_multi_line_text_is_a_block_literal_that_round_trips() -> None:
    value = "- route:\n    id: x\n"
    text = to_yaml({"data": {"r.yaml": value}})
    assert "r.yaml: |" in text
    assert yaml.safe_load(text) == {"data": {"r.yaml": value}}


@pytest.mark.parametrize(
    "value", ["trailing spaces  \nnext", "yes", "0644", "null", "tab\there", "ünïcode\n", "a: b"]
)
def test_awkward_strings_round_trip(value: str) -> None:
    assert yaml.safe_load(to_yaml({"v": value})) == {"v": value}


def test_file_names_and_duplicates() -> None:
    assert file_name(obj("ConfigMap", "a")) == "configmap-a.yaml"
    assert file_name(obj("ConfigMap", "a"), OutputFormat.JSON) == "configmap-a.json"
    with pytest.raises(ValueError, match=r"configmap-a\.yaml"):
        render_files([obj("ConfigMap", "a"), obj("ConfigMap", "a")])


def test_streams() -> None:
    objects = [obj("ConfigMap", "a"), obj("ConfigMap", "b")]
    assert [d["metadata"]["name"] for d in yaml.safe_load_all(to_stream(objects))] == ["a", "b"]
    listing = json.loads(to_stream(objects, OutputFormat.JSON))
    assert listing["kind"] == "List"
    assert len(listing["items"]) == 2


def test_schema_check_reports_every_problem_with_a_pointer() -> None:
    bad = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "d"},
        "spec": {"replicas": "two", "bogus": True, "selector": {}, "template": {}},
    }
    messages = [p.format_text() for p in check_objects([bad])]
    assert any("/spec/replicas" in m for m in messages)
    assert any("bogus" in m for m in messages)


def test_schema_check_knows_no_made_up_kinds() -> None:
    [problem] = check_objects(
        [{"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}}]
    )
    assert "no schema" in problem.message


def test_schema_check_accepts_a_good_object() -> None:
    assert check_objects([obj("ConfigMap", "a", data={"k": "v"})]) == []
