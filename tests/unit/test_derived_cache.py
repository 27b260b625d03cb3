"""The start-up cache never changes a verdict: stale, damaged or foreign entries are not used."""

from __future__ import annotations

import ast
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from schema import derived_cache
from schema.camel import catalog as catalog_module
from schema.camel.catalog import load_catalog
from schema.camel.xml_routes import validate_xml_routes

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "repo-layout"
BROKEN_PROJECT = (
    "apiVersion: camelops.io/v1\nkind: Project\nmetadata: {name: shop}\nspec: {nope: 1}\n"
)


def validate(repo: Path, cache: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, derived_cache.ENV_DIR: str(cache)}
    return subprocess.run(
        [sys.executable, "-m", "camelops", "validate", str(repo)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        check=False,
    )


def test_a_cold_and_a_warm_run_give_the_same_verdicts(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "camelops.yaml").write_text(BROKEN_PROJECT)
    cold = [validate(EXAMPLE, cache), validate(broken, cache)]
    entries = sorted(p.name for p in cache.iterdir())
    assert any(name.endswith(".code") for name in entries), entries
    assert any(name.endswith(".value") for name in entries), entries
    assert oct(cache.stat().st_mode & 0o777) == oct(0o700)
    warm = [validate(EXAMPLE, cache), validate(broken, cache)]
    assert [(r.returncode, r.stdout) for r in warm] == [(r.returncode, r.stdout) for r in cold]
    assert cold[0].returncode == 0
    assert cold[1].returncode != 0
    assert "nope" in cold[1].stdout + cold[1].stderr


def test_a_damaged_entry_is_derived_again(tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    first = validate(EXAMPLE, cache)
    for entry in cache.iterdir():
        entry.write_bytes(b"\x00garbage")
    again = validate(EXAMPLE, cache)
    assert (again.returncode, again.stdout) == (first.returncode, first.stdout)
    assert again.stderr == ""


def test_entries_are_named_by_their_inputs() -> None:
    assert derived_cache.digest("a", "b") == derived_cache.digest("a", "b")
    assert derived_cache.digest("a", "b") != derived_cache.digest("a", "c")
    assert derived_cache.digest("ab", "") != derived_cache.digest("a", "b")


def test_a_directory_others_can_write_is_not_read(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(derived_cache.ENV_DIR, str(tmp_path / "cache"))
    derived_cache.store_value("entry", {"ok": True})
    assert derived_cache.load_value("entry") == {"ok": True}
    (tmp_path / "cache").chmod(0o777)
    assert derived_cache.load_value("entry") is None


def test_an_unwritable_cache_only_costs_the_speed_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv(derived_cache.ENV_DIR, str(blocker / "cache"))
    derived_cache.store_value("entry", [1])
    assert derived_cache.load_value("entry") is None
    assert validate(EXAMPLE, blocker / "cache").returncode == 0


XML_ROUTE = (EXAMPLE / "integrations/nightly-report/routes/report.camel.xml").read_text()


def test_only_an_xsd_pass_is_remembered(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(derived_cache.ENV_DIR, str(tmp_path / "cache"))
    catalog = load_catalog("4.18.4")
    cache = tmp_path / "cache"
    before = set(cache.iterdir()) if cache.exists() else set()  # the lenient schema, if new
    broken = XML_ROUTE.replace("<setBody>", "<setBdy>").replace("</setBody>", "</setBdy>")
    for _ in range(2):  # cold, then warm: the same findings
        diagnostics, _consumed = validate_xml_routes("r.camel.xml", broken, catalog)
        assert any("setBdy" in d.message for d in diagnostics), diagnostics
    assert (set(cache.iterdir()) if cache.exists() else set()) == before
    assert validate_xml_routes("r.camel.xml", XML_ROUTE, catalog)[0] == []
    assert len(set(cache.iterdir()) - before) == 1
    assert validate_xml_routes("r.camel.xml", XML_ROUTE, catalog)[0] == []
    # the same file with one change is judged by the XSD again, not by the remembered pass
    diagnostics, _consumed = validate_xml_routes("r.camel.xml", broken, catalog)
    assert any("setBdy" in d.message for d in diagnostics), diagnostics


def test_the_models_import_nothing_else_of_ours() -> None:
    # Document validators and the records' plan are named by schema/models/*.py and
    # schema/model_rules.py alone (schema/documents.py): a model that took a constant from
    # another module of ours could change without a new name.
    ours = {"schema", "camelops", "contract", "reconciler", "renderers", "runner", "portal"}
    named = [*(ROOT / "schema" / "models").glob("*.py"), ROOT / "schema" / "model_rules.py"]
    for path in named:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom):
                modules = [node.module or ""]
            elif isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            else:
                continue
            for module in modules:
                top = module.split(".", 1)[0]
                allowed = module.startswith("schema.models") or module == "schema.model_rules"
                assert top not in ours or allowed, (path.name, module)


def test_a_changed_components_file_is_read_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(derived_cache.ENV_DIR, str(tmp_path / "cache"))
    published = tmp_path / "components.json"
    published.write_text('{"timer": {"syntax": "timer:name"}}')
    assert catalog_module._component_texts(published) == {"timer": '{"syntax": "timer:name"}'}
    assert catalog_module._component_texts(published) == {"timer": '{"syntax": "timer:name"}'}
    published.write_text('{"timer": {"syntax": "timer:other"}, "log": {}}')
    assert catalog_module._component_texts(published) == {
        "timer": '{"syntax": "timer:other"}',
        "log": "{}",
    }


def test_components_are_those_of_the_published_catalog() -> None:
    catalog = load_catalog("4.18.4")
    published = json.loads((catalog.xsd_path.parent / "components.json").read_text())
    assert list(catalog.components) == list(published)
    jms = catalog.components["jms"]
    assert set(jms.options) == set(published["jms"]["options"])
    assert jms.syntax == published["jms"]["syntax"]


def test_catalog_entries_are_named_by_the_digests_the_set_up_recorded() -> None:
    """catalog.json records each extracted file's SHA-256: a stale record would name a stale
    entry, so every record must be the file's digest as it is now."""
    data = catalog_module.DATA_DIR
    manifest = json.loads((data / "catalog.json").read_text())
    for version in manifest["camelVersions"]:
        files = sorted((data / version).iterdir())
        recorded = manifest["sha256"][version]
        assert sorted(recorded) == [f.name for f in files]
        for path in files:
            assert recorded[path.name] == hashlib.sha256(path.read_bytes()).hexdigest()
        published = data / version / "components.json"
        assert catalog_module._published(published) == recorded["components.json"]


def test_a_published_file_without_a_record_is_named_by_its_bytes(tmp_path: Path) -> None:
    published = tmp_path / "4.99.0" / "components.json"
    published.parent.mkdir()
    published.write_text('{"timer": {}}')
    assert catalog_module._published(published) == b'{"timer": {}}'
