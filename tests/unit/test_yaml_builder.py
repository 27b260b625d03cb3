"""The plain builder against PyYAML's constructor on the same composed graphs: the builder is
a faster road to the same data, so on every document both give the same values of the same
types, or the same refusal."""

from __future__ import annotations

import math
import random
from pathlib import Path
from typing import Any

import pytest

from schema import yaml_loader
from schema.diagnostics import InvalidFileError
from schema.limits import LoadLimits
from schema.yaml_loader import _Loader, load_yaml

ROOT = Path(__file__).resolve().parents[2]
LIMITS = LoadLimits()


def typed(value: Any) -> Any:
    """Values with their types spelled out: 1, 1.0 and True compare equal in Python."""
    if isinstance(value, dict):
        return ("map", [(typed(k), typed(v)) for k, v in value.items()])
    if isinstance(value, list):
        return ("seq", [typed(v) for v in value])
    if isinstance(value, float) and math.isnan(value):
        return ("float", "nan")
    return (type(value).__name__, value)


def by_constructor(text: str) -> Any:
    """What PyYAML's constructor makes of the document (the loader's own checks aside)."""
    loader = _Loader(text)
    try:
        return loader.construct_document(loader.get_single_node())
    finally:
        loader.dispose()


def outcome(load: Any) -> tuple[str, Any]:
    try:
        return "data", typed(load())
    except InvalidFileError as exc:
        return "refused", [d.format_text() for d in exc.diagnostics]


def repository_yaml() -> list[Path]:
    folders = ("examples", "tests/golden", "tests/unit/validate_corpus/base", "tests/fixtures")
    return sorted(
        path
        for folder in folders
        for pattern in ("*.yaml", "*.yml")
        for path in (ROOT / folder).rglob(pattern)
        if path.is_file()
    )


def test_every_yaml_file_of_the_repository_loads_as_the_constructor_reads_it() -> None:
    paths = repository_yaml()
    assert len(paths) > 50, "the corpus went missing"
    for path in paths:
        text = path.read_text(encoding="utf-8")
        if text.count("\n---") or not text.strip():
            continue  # multi-document streams are refused before either runs
        assert typed(load_yaml(text, str(path), LIMITS).data) == typed(by_constructor(text)), path


SCALARS = [
    "a", "'quoted'", '"1"', "1", "-7", "+3", "0o17", "0x1F", "0644", "1.5", "-2e3", ".5",
    ".inf", "-.Inf", ".NaN", "true", "False", "TRUE", "yes", "on", "~", "null", "Null", "",
    "2024-01-01", "1_000", "0b101", "!!str 12", "!!int 12", "!!float 3", "!!bool true",
    "!!null ~", "!!int abc", "!!float x", "!!bool yes", "!!null nil", "!!binary aGk=",
    "!custom x", "12345678901234567890123456789012345678901234567890123456789012345",
]  # fmt: skip
KEYS = ["a", "b", "1", "'1'", "01", "true", "null", "!!str 2", "!!int 3", "? [x]", "a"]


def random_document(rng: random.Random, depth: int = 0) -> str:
    """A flow-style document: nested maps and lists of assorted scalars, keys that repeat or
    read as numbers, explicit tags, and now and then an anchor with its alias."""
    if depth > 3 or rng.random() < 0.3:
        return rng.choice(SCALARS)
    if rng.random() < 0.5:
        items = [random_document(rng, depth + 1) for _ in range(rng.randint(0, 4))]
        return "[" + ", ".join(items) + "]"
    pairs = [
        f"{rng.choice(KEYS)}: {random_document(rng, depth + 1)}" for _ in range(rng.randint(0, 4))
    ]
    body = "{" + ", ".join(pairs) + "}"
    if rng.random() < 0.1:
        return f"{{first: &shared {body}, second: *shared}}"
    return body


def constructor_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """load_yaml as it was before the builder: every document through the constructor."""
    monkeypatch.setattr(
        yaml_loader._PlainBuilder,
        "document",
        lambda builder, root: builder.loader.construct_document(root),
    )


@pytest.mark.parametrize("seed", range(4))
def test_random_documents_give_the_constructors_data_or_its_refusal(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(seed)
    texts = [random_document(rng) for _ in range(500)]
    ours = [outcome(lambda t=t: load_yaml(t, "x.yaml", LIMITS).data) for t in texts]
    constructor_only(monkeypatch)
    theirs = [outcome(lambda t=t: load_yaml(t, "x.yaml", LIMITS).data) for t in texts]
    for text, mine, reference in zip(texts, ours, theirs, strict=True):
        assert mine == reference, text
    refused = sum(1 for kind, _ in ours if kind == "refused")
    assert 0 < refused < len(texts), "the corpus lost either its valid or its hostile documents"


def test_an_alias_is_the_same_object_twice_as_pyyaml_builds_it() -> None:
    data = load_yaml("a: &x {k: [1, 2]}\nb: *x\n", "x.yaml", LIMITS).data
    assert data["a"] is data["b"]
    assert data == {"a": {"k": [1, 2]}, "b": {"k": [1, 2]}}


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("a: !!int abc\n", "!!int is not a YAML 1.2 integer"),
        ("a: !!int 0b101\n", "!!int is not a YAML 1.2 integer"),
        ("a: !!float 1_0.5\n", "!!float is not a YAML 1.2 number"),
        ("a: !!bool yes\n", "!!bool is not a YAML 1.2 boolean"),
        ("a: !!null nil\n", "!!null is not a YAML 1.2 null"),
    ],
)
def test_an_explicit_tag_on_a_value_of_another_type_is_refused_not_a_crash(
    text: str, kind: str
) -> None:
    with pytest.raises(InvalidFileError) as caught:
        load_yaml(text, "x.yaml", LIMITS)
    shown = caught.value.diagnostics[0].format_text()
    assert shown.startswith(f"x.yaml:1:4: error: the value tagged {kind}"), shown
    assert text.rsplit(maxsplit=1)[-1] not in shown  # the value is not echoed: it could be a secret


def test_the_builder_itself_builds_the_repositorys_files(monkeypatch: pytest.MonkeyPatch) -> None:
    """Not a fallback in disguise: ordinary config and route files never reach the
    constructor."""

    def refuse(*_: object) -> None:
        raise AssertionError("handed to the constructor")

    monkeypatch.setattr(_Loader, "construct_document", refuse)
    built = 0
    for path in repository_yaml():
        text = path.read_text(encoding="utf-8")
        if "\n---" in text or not text.strip() or "!!" in text:
            continue
        load_yaml(text, str(path), LIMITS)
        built += 1
    assert built > 50
