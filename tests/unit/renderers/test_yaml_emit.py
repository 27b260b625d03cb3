"""The manifest YAML emitter: whatever it writes, PyYAML (YAML 1.1 resolver) reads back equal."""

from __future__ import annotations

import random
from typing import Any

import pytest
import yaml

from renderers import yaml_emit
from renderers.yaml_emit import dump

AWKWARD = [
    "",
    "\n",
    "a\n",
    "a",
    "a\n\n",
    " lead\nx\n",
    "\n\nx",
    "x\n  \ny",
    "x\ty\n",
    "yes",
    "No",
    "ON",
    "y",
    "0644",
    "1e3",
    "2001-12-14",
    "null",
    "~",
    "-",
    "a: b",
    "a:",
    "#x",
    "x #y",
    "tab\tx",
    "ümlaut",
    "🐪",
    "\u2028",
    "\r\n",
    "=",
    "<<",
    "- x",
    "[x]",
    "{x}",
    "*a",
    "&a",
    "!t",
    "%x",
    "@x",
    "`x",
    "'x'",
    '"x"',
    "a,b",
    "(x)",
    "$(X)",
    "a b",
    "a  b",
    "a ",
    " a",
    "\x85",
    "\ufeff",
    "1.0",
    ".5",
    "+1",
    "0x1f",
    "0o7",
    "1_000",
    "1:20",
    ".inf",
    "\x00",
    "\x1b[0m",
    "a\\b",
    "line\r\nwindows\r\n",
    "trailing \nspaces \n",
    "\ttabbed\nstart\n",
    "x\n\n\n",
]


@pytest.mark.parametrize("text", AWKWARD)
def test_awkward_strings_round_trip_in_every_position(text: str) -> None:
    for value in (text, {"k": text}, [text], {"k": [text, {"a": text}]}, {text or "e": 1}):
        assert yaml.safe_load(dump(value)) == value, repr(dump(value))


@pytest.mark.parametrize(
    "value",
    [
        1,
        -3,
        0.05,
        1e-05,
        1e20,
        -0.0,
        float("inf"),
        -float("inf"),
        True,
        False,
        None,
        [],
        {},
        [[1, [2]], []],
        {"a": {}},
        {"a": []},
        12345678901234567890,
    ],
)
def test_other_scalars_and_empty_collections(value: Any) -> None:
    assert yaml.safe_load(dump({"k": value})) == {"k": value}
    assert yaml.safe_load(dump(value)) == value


def test_nan_round_trips() -> None:
    back = yaml.safe_load(dump({"k": float("nan")}))["k"]
    assert back != back


def test_keys_are_sorted_and_lists_keep_order() -> None:
    assert dump({"b": [3, 1], "a": 1}) == "a: 1\nb:\n- 3\n- 1\n"


def test_multi_line_text_is_a_literal_block() -> None:
    assert dump({"r": "- route:\n    id: x\n"}) == "r: |\n  - route:\n      id: x\n"


def test_unsupported_values_are_refused() -> None:
    with pytest.raises(TypeError):
        dump({"k": object()})
    with pytest.raises(TypeError):
        dump({1: "int key"})


def random_text(rng: random.Random) -> str:
    alphabet = "ab :#-\n\t\r'\"\\{}[],&*!|>%@`~=?yY0123456789.eE+é🐪\u2028\x85\x00\x1f"
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))


def random_value(rng: random.Random, depth: int = 0) -> Any:
    roll = rng.random()
    if depth > 3 or roll < 0.5:
        return rng.choice([random_text(rng), rng.randint(-9, 99), rng.random(), None, True])
    if roll < 0.75:
        return [random_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return {random_text(rng): random_value(rng, depth + 1) for _ in range(rng.randint(0, 3))}


def test_random_documents_round_trip() -> None:
    rng = random.Random(20261123)
    for _ in range(3000):
        value = random_value(rng)
        assert yaml.safe_load(dump(value)) == value, repr(value)


def test_the_memory_of_written_strings_stays_bounded_and_changes_nothing() -> None:
    # the emitter remembers how it wrote each short string; a long-running control plane
    # renders without end, so that memory has a ceiling, and what it returns equals a fresh write
    many = {f"key-{n}": f"value: {n}" for n in range(yaml_emit._STRINGS_MAX + 500)}
    text = yaml_emit.dump(many)
    assert len(yaml_emit._STRINGS) <= yaml_emit._STRINGS_MAX
    assert yaml.safe_load(text) == many
    assert yaml_emit.dump(many) == text
    assert yaml_emit.scalar("value: 1") == yaml_emit.quoted("value: 1")
    assert yaml_emit.scalar("x" * 300) == "x" * 300  # too long to remember, written all the same
    assert "x" * 300 not in yaml_emit._STRINGS
