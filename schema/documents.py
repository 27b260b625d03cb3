"""Validate one camelops document: JSON Schema first (structure, pointers), pydantic second."""

from __future__ import annotations

from functools import cache
from typing import Any, TypeVar

import fastjsonschema
from jsonschema import Draft202012Validator
from pydantic import BaseModel, ValidationError

from schema.camel.explain import describe, leaf_errors, shown
from schema.diagnostics import Diagnostic, Severity, json_pointer
from schema.models import EnvironmentFile, Integration, Project, SealedSecret
from schema.yaml_loader import YamlDocument

KIND_MODELS: dict[str, type[BaseModel]] = {
    "Project": Project,
    "Integration": Integration,
    "Environment": EnvironmentFile,
    "SealedSecret": SealedSecret,
}
ModelT = TypeVar("ModelT", bound=BaseModel)
# Never echo what was found under encryptedData: it may be a plaintext secret committed by mistake.
SEALED_VALUE_MESSAGE = (
    "not sealed ciphertext (expected 'cops1:...' from `camelops secret seal`); if this is a "
    "plaintext secret, rotate it: it is now in the Git history"
)

DAMAGED_CIPHERTEXT_MESSAGE = (
    "damaged sealed ciphertext: it starts with 'cops1:' but is cut short or holds characters "
    "outside base64url (truncated when copied?); seal the value again with `camelops secret seal`"
)


def sealed_value_message(value: Any) -> str:
    """A value that starts like our ciphertext is damaged ciphertext, not a plaintext secret."""
    if isinstance(value, str) and value.startswith("cops1:"):
        return DAMAGED_CIPHERTEXT_MESSAGE
    return SEALED_VALUE_MESSAGE


@cache
def json_schema(kind: str) -> dict[str, Any]:
    schema = KIND_MODELS[kind].model_json_schema(by_alias=True, mode="validation")
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}


@cache
def _fast(kind: str) -> Any:
    # fastjsonschema speaks draft-07; every keyword pydantic emits here means the same there.
    draft7 = {k: v for k, v in json_schema(kind).items() if k != "$schema"}
    # use_default=False: fastjsonschema would otherwise write defaults into the document.
    return fastjsonschema.compile(draft7, use_default=False)


@cache
def _precise(kind: str) -> Draft202012Validator:
    return Draft202012Validator(json_schema(kind))


def validate_document(
    doc: YamlDocument, model: type[ModelT]
) -> tuple[ModelT | None, list[Diagnostic]]:
    kind = next(k for k, m in KIND_MODELS.items() if m is model)
    problems = _check_kind(doc, kind)
    if problems:
        return None, problems
    try:
        _fast(kind)(doc.data)
    except fastjsonschema.JsonSchemaException:
        return None, _structural(doc, kind)
    try:
        return model.model_validate(doc.data), []
    except ValidationError as exc:
        return None, _semantic(doc, exc)


def _check_kind(doc: YamlDocument, kind: str) -> list[Diagnostic]:
    data = doc.data
    if not isinstance(data, dict):
        line, col = doc.locate(())
        found = "an empty file" if data is None else shown(data)
        message = (
            f"expected a mapping with apiVersion, kind: {kind}, metadata and spec; found {found}"
        )
        return [Diagnostic(doc.path, line, col, Severity.ERROR, message, code="kind")]
    if data.get("kind") != kind:
        line, col = doc.locate(("kind",) if "kind" in data else ())
        message = f"expected kind: {kind}, found {shown(data.get('kind'))}"
        return [Diagnostic(doc.path, line, col, Severity.ERROR, message, "/kind", "kind")]
    return []


def _structural(doc: YamlDocument, kind: str) -> list[Diagnostic]:
    found: dict[tuple[int, int, str], Diagnostic] = {}
    for error in _precise(kind).iter_errors(doc.data):
        for leaf in leaf_errors(error):
            message, key = describe(leaf)
            if kind == "SealedSecret" and list(leaf.absolute_path)[:2] == ["spec", "encryptedData"]:
                message = sealed_value_message(leaf.instance)
            path = [*leaf.absolute_path, *([key] if key else [])]
            line, col = doc.locate(path, at_key=key is not None)
            where = json_pointer(path)
            text = f"{message} (at {where})" if where else message
            found.setdefault(
                (line, col, text),
                Diagnostic(doc.path, line, col, Severity.ERROR, text, where, "schema"),
            )
    return sorted(found.values())


def _semantic(doc: YamlDocument, exc: ValidationError) -> list[Diagnostic]:
    diagnostics = []
    for error in exc.errors(include_url=False):
        path = [p for p in error["loc"] if isinstance(p, (str, int))]
        line, col = doc.locate(path)
        message = str(error["msg"]).removeprefix("Value error, ")
        where = json_pointer(path)
        text = f"{message} (at {where})" if where else message
        diagnostics.append(Diagnostic(doc.path, line, col, Severity.ERROR, text, where, "semantic"))
    return sorted(diagnostics)
