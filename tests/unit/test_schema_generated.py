"""The committed JSON Schemas and reference doc match the models (`make schema` regenerates)."""

from __future__ import annotations

import json

from schema.generate import main, rendered_files


def test_committed_files_match_the_models() -> None:
    stale = [
        str(p) for p, text in rendered_files().items() if not p.exists() or p.read_text() != text
    ]
    assert not stale, f"run `make schema`: stale {stale}"
    assert main(["--check"]) == 0


def test_published_schemas_are_strict() -> None:
    for path, text in rendered_files().items():
        if path.suffix != ".json":
            continue
        schema = json.loads(text)
        assert schema["additionalProperties"] is False, path
        assert schema["$id"].endswith(path.name)
