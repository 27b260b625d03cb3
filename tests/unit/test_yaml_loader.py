"""Safe YAML loading: YAML 1.2 scalars, positions, and refusal of hostile documents."""

from __future__ import annotations

import pytest

from schema.diagnostics import InvalidFileError
from schema.limits import LoadLimits
from schema.yaml_loader import load_yaml

LIMITS = LoadLimits()


def test_yaml_1_2_core_scalars_like_camel() -> None:
    text = "a: yes\nb: on\nc: 0644\nd: 2024-01-01\ne: true\nf: 0x1f\ng: ~\nh: 1.5\ni: 0o17\n"
    data = load_yaml(text, "x.yaml", LIMITS).data
    assert data == {
        "a": "yes",
        "b": "on",
        "c": 644,
        "d": "2024-01-01",
        "e": True,
        "f": 31,
        "g": None,
        "h": 1.5,
        "i": 15,
    }


def test_locate_finds_values_and_keys() -> None:
    doc = load_yaml("spec:\n  routes:\n    - a\n    - b\n", "x.yaml", LIMITS)
    assert doc.locate(("spec", "routes", 1)) == (4, 7)
    assert doc.locate(("spec", "routes"), at_key=True) == (2, 3)
    assert doc.locate(("spec", "missing")) == (2, 3)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a: 1\nb: 2\na: 3\n", "x.yaml:3:1: error: duplicate key 'a' (first defined on line 1)"),
        ("a: [1, 2\n", "x.yaml:2:1: error: invalid YAML"),
        ("&a [*a]\n", "x.yaml:1:1: error: recursive alias"),
        (
            "a: !!binary aGVsbG8=\n",
            "x.yaml:1:4: error: invalid YAML: the tag tag:yaml.org,2002:binary",
        ),
        ("a: !!python/name:os.system\n", "x.yaml:1:4: error: invalid YAML: could not determine"),
        ("? [a, b]\n: c\n", "x.yaml:1:3: error: mapping keys must be plain scalars"),
        ("a: 1\n---\nb: 2\n", "x.yaml:2:1: error: invalid YAML: expected a single document"),
        ("a:\n  n: " + "9" * 5000 + "\n", "x.yaml:2:6: error: an integer of 5000 characters"),
        ("a: 0x" + "f" * 70 + "\n", "x.yaml:1:4: error: an integer of 72 characters"),
    ],
)
def test_hostile_documents_are_refused(text: str, expected: str) -> None:
    with pytest.raises(InvalidFileError) as caught:
        load_yaml(text, "x.yaml", LIMITS)
    assert caught.value.diagnostics[0].format_text().startswith(expected)


def test_billion_laughs_is_stopped_before_construction() -> None:
    lines = ["l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 9)}]" for i in range(1, 10)]
    with pytest.raises(InvalidFileError) as caught:
        load_yaml("\n".join(lines), "bomb.yaml", LIMITS)
    assert "YAML bomb" in caught.value.diagnostics[0].message


def test_shared_anchors_under_the_cap_still_load() -> None:
    doc = load_yaml("base: &b {x: 1}\none: *b\ntwo: *b\n", "x.yaml", LIMITS)
    assert doc.data["two"] == {"x": 1}
