"""Differential test: our verdict on route files against Camel's own YAML DSL loader.

Files: the Kamelet templates of the pinned catalog, the example repository's routes, the golden
corpus's route files, and generated mutations of them. All of it goes to Camel's loader in one JVM
(`make camel-oracle` builds the harness). The rules:

* Camel refuses a file -> we report an error in that file, at the line Camel names.
* Camel accepts a file -> we report no error, except the classes below where we are stricter on
  purpose: Camel's loader only builds the route model; these mistakes stop the route when the
  context starts and creates its endpoints, long after a deploy.
"""

from __future__ import annotations

import json
import re
import shutil
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from camelops.cli import main
from schema.camel.catalog import load_catalog
from schema.camel.oracle import ORACLE_ENV, Verdict, judge
from schema.camel.route_ids import IdIndex
from schema.camel.yaml_routes import validate_yaml_routes
from schema.diagnostics import Diagnostic, InvalidFileError, Severity, hostile_char
from schema.integrations import route_file_name_problem
from schema.limits import LoadLimits
from schema.yaml_loader import load_yaml
from tests.unit.validate_corpus.cases import CASES

ROOT = Path(__file__).resolve().parents[2]
CATALOG_VERSION = "4.18.4"
KAMELETS = ROOT / ".cache" / "npm" / f"kamelets-{CATALOG_VERSION}.json"
CORPUS_BASE = ROOT / "tests" / "unit" / "validate_corpus" / "base"

# Stricter on purpose: (message start, why Camel's loader lets it through).
STRICTER: dict[str, str] = {
    "unknown Camel component": "the component is looked up when the endpoint is created at start",
    "unknown Kamelet": "the Kamelet is looked up when its endpoint is created at start",
    "endpoint '": "a missing path parameter fails when the endpoint is created at start",
    "option '": "an option value Camel cannot convert fails when the endpoint is created",
    "path parameter '": "a path parameter value Camel cannot convert fails at endpoint creation",
    " is not an endpoint URI": "a URI without a valid scheme fails when resolved at start",
    "integer of": "integers over 64 digits: no setting takes more than 64 bits",
    "duplicate key": "Camel's YAML parser keeps the last value silently: the first is lost",
    "expected one of": "an EIP option outside its enum fails when the route starts (e.g. LOUD)",
    "nesting deeper than": "a limit against hostile files (max_yaml_depth), far above real routes",
    "a Camel YAML DSL file is": "Camel's loader silently loads nothing from a scalar file",
}
# Refused when the file is read, before any Camel check: the file's other mistakes go unreported.
STOPS_LOADING = (
    "duplicate key",
    "integer of",
    "nesting deeper than",
    "document expands",
    "recursive alias",
)
# Camel 4.18 moved `transform: toType` to `transformDataType`; the Kamelet catalog still uses it,
# and Camel 4.18's loader refuses it too (an agreement, counted with the others).


@dataclass
class Tally:
    files: int = 0
    mutations: Counter[str] = field(default_factory=Counter)
    agree_accept: int = 0
    agree_reject: int = 0
    stricter: Counter[str] = field(default_factory=Counter)
    disagreements: list[str] = field(default_factory=list)
    wrong_line: list[str] = field(default_factory=list)


@cache
def kamelet_templates() -> dict[str, Any]:
    assert KAMELETS.exists(), f"{KAMELETS} missing: `make setup` extracts it"
    loaded: dict[str, Any] = json.loads(KAMELETS.read_text())
    return loaded


def kamelet_route(name: str, template: dict[str, Any]) -> list[Any]:
    return [{"route": {"id": name, "from": template["from"]}}]


def dump(data: Any) -> str:
    return yaml.safe_dump(data, sort_keys=False, width=1000)


# --- mutations: each returns the mutated text, or None when it does not apply ----------------


def misspell_eip(data: list[Any]) -> str | None:
    steps = data[0]["route"]["from"].get("steps") or []
    for step in steps:
        if isinstance(step, dict) and len(step) == 1:
            key = next(iter(step))
            step[key + "x"] = step.pop(key)
            return dump(data)
    return None


def misspell_component(data: list[Any]) -> str | None:
    source = data[0]["route"]["from"]
    scheme, sep, rest = str(source["uri"]).partition(":")
    if not sep or scheme == "kamelet":
        return None
    source["uri"] = f"{scheme}x:{rest}"
    return dump(data)


def wrong_type(data: list[Any]) -> str | None:
    data[0]["route"]["autoStartup"] = ["yes"]
    return dump(data)


def parameters_into_query(data: list[Any]) -> str | None:
    source = data[0]["route"]["from"]
    params = source.pop("parameters", None)
    if not params or "?" in str(source["uri"]):
        return None
    query = "&".join(f"{k}={v}" for k, v in params.items())
    source["uri"] = f"{source['uri']}?{query}"
    return dump(data)


def duplicate_key(data: list[Any]) -> str | None:
    text = dump(data)
    return text.replace("    id: ", "    id: first\n    id: ", 1)


def unknown_route_option(data: list[Any]) -> str | None:
    data[0]["route"]["autoStartupp"] = True
    return dump(data)


MUTATIONS: dict[str, Callable[[list[Any]], str | None]] = {
    "misspelled-eip": misspell_eip,
    "misspelled-component": misspell_component,
    "wrong-type": wrong_type,
    "uri-parameters-into-query": parameters_into_query,
    "duplicate-key": duplicate_key,
    "unknown-route-option": unknown_route_option,
}


def our_errors(paths: list[Path], names: dict[Path, str]) -> dict[Path, list[Diagnostic]]:
    """Our errors per file, the integration-wide id checks included (one group at a time)."""
    catalog = load_catalog(CATALOG_VERSION)
    found: dict[Path, list[Diagnostic]] = {}
    ids = IdIndex()
    for path in paths:
        rel = names[path]
        bad_name = route_file_name_problem(rel)
        if bad_name:
            found[path] = [Diagnostic(rel, 0, 0, Severity.ERROR, bad_name, code="routes-name")]
            continue
        try:
            doc = load_yaml(path.read_text(), rel, LoadLimits())
        except InvalidFileError as exc:
            found[path] = exc.diagnostics
            continue
        found[path] = validate_yaml_routes(doc, catalog)
        ids.add_yaml(doc)
    by_name = {names[p]: p for p in paths}
    for problem in ids.check():
        found[by_name[problem.path]].append(problem)
    return {p: [d for d in ds if d.severity is Severity.ERROR] for p, ds in found.items()}


def stricter_class(errors: list[Diagnostic]) -> str | None:
    """The stricter-on-purpose class every error belongs to, or None if one belongs to none."""
    classes = set()
    for error in errors:
        match = next((c for c in STRICTER if c in error.message), None)
        if match is None:
            return None
        classes.add(match)
    return sorted(classes)[0]


def compare(
    groups: list[list[Path]], names: dict[Path, str], verdicts: dict[str, Verdict], tally: Tally
) -> None:
    for group in groups:
        ours = our_errors(group, names)
        for path in group:
            tally.files += 1
            camel = verdicts[str(path)]
            errors = ours[path]
            label = names[path]
            if camel.accepted and not errors:
                tally.agree_accept += 1
            elif camel.accepted:
                cls = stricter_class(errors)
                if cls is None:
                    tally.disagreements.append(
                        f"{label}: Camel accepts, we say {errors[0].format_text()}"
                    )
                else:
                    tally.stricter[cls] += 1
            elif not errors:
                tally.disagreements.append(f"{label}: Camel refuses ({camel.message}), we accept")
            else:
                tally.agree_reject += 1
                if camel.line and not at_camels_place(path, camel.line, errors):
                    lines = sorted({e.line for e in errors})
                    tally.wrong_line.append(f"{label}: Camel line {camel.line}, ours {lines}")


def at_camels_place(path: Path, line: int, errors: list[Diagnostic]) -> bool:
    """One of our errors is on Camel's line, or inside the node that starts there (Camel names the
    mapping holding an unknown key, we name the key), or we stopped loading at an earlier line."""
    if any(e.line == line for e in errors):
        return True
    if any(e.message.startswith(STOPS_LOADING) and e.line < line for e in errors):
        return True
    spans = node_spans(path.read_text(), line)
    return any(start <= e.line <= end for e in errors for start, end in spans)


def node_spans(text: str, line: int) -> list[tuple[int, int]]:
    """1-based line spans of the YAML nodes that start on `line`."""
    spans: list[tuple[int, int]] = []
    pending = [yaml.compose(text, Loader=yaml.SafeLoader)]
    seen: set[int] = set()
    while pending:
        node = pending.pop()
        if node is None or id(node) in seen:
            continue  # aliases share nodes: each is visited once (a YAML bomb stays small)
        seen.add(id(node))
        if node.start_mark.line + 1 == line:
            spans.append((line, node.end_mark.line + 1))
        if isinstance(node, yaml.MappingNode):
            pending += [n for pair in node.value for n in pair]
        elif isinstance(node, yaml.SequenceNode):
            pending += list(node.value)
    return spans


def write(folder: Path, name: str, text: str, names: dict[Path, str]) -> Path:
    path = folder / name
    path.write_text(text)
    names[path] = name
    return path


def corpus_groups(tmp: Path, names: dict[Path, str]) -> list[list[Path]]:
    """The golden corpus's route files, per case (one integration each), as the cases leave them."""
    groups = []
    for case in CASES:
        repo = tmp / "corpus" / case.name
        shutil.copytree(CORPUS_BASE, repo, symlinks=True)
        try:
            case.edit(repo)
        except (OSError, AssertionError):
            continue
        routes = sorted((repo / "integrations" / "orders" / "routes").glob("*.camel.yaml"))
        group = []
        for route in routes:
            if route.is_symlink() or route.stat().st_size > LoadLimits().max_file_bytes:
                continue
            if hostile_char(route.name) is not None:
                continue  # refused by name before any check; the harness reads one name a line
            names[route] = f"corpus/{case.name}/{route.name}"
            group.append(route)
        if group:
            groups.append(group)
    return groups


def example_groups(names: dict[Path, str]) -> list[list[Path]]:
    groups = []
    for integration in sorted((ROOT / "examples" / "repo-layout" / "integrations").iterdir()):
        group = sorted(integration.glob("routes/*.camel.yaml"))
        for path in group:
            names[path] = str(path.relative_to(ROOT))
        if group:
            groups.append(group)
    return groups


def test_our_verdict_agrees_with_camels_loader(tmp_path: Path) -> None:
    names: dict[Path, str] = {}
    tally = Tally()
    groups: list[list[Path]] = []
    folder = tmp_path / "kamelets"
    folder.mkdir()
    for name, kamelet in sorted(kamelet_templates().items()):
        template = kamelet["spec"]["template"]
        groups.append(
            [write(folder, f"{name}.camel.yaml", dump(kamelet_route(name, template)), names)]
        )
        for mutation, apply in MUTATIONS.items():
            text = apply(json.loads(json.dumps(kamelet_route(name, template))))
            if text is not None:
                tally.mutations[mutation] += 1
                groups.append([write(folder, f"{name}-{mutation}.camel.yaml", text, names)])
        if name.startswith("a"):  # duplicate route ids across two files of one integration
            twin = dump(kamelet_route(name, template))
            pair = [
                write(folder, f"{name}-dup-1.camel.yaml", twin, names),
                write(folder, f"{name}-dup-2.camel.yaml", twin, names),
            ]
            tally.mutations["duplicate-route-id"] += 1
            groups.append(pair)
    groups += example_groups(names)
    groups += corpus_groups(tmp_path, names)
    verdicts = judge(groups)
    compare(groups, names, verdicts, tally)
    report = (
        f"files {tally.files} (mutations: {dict(tally.mutations)}); "
        f"agree: accepted {tally.agree_accept}, refused {tally.agree_reject}; "
        f"stricter on purpose: {dict(tally.stricter)}; "
        f"refused at another line: {len(tally.wrong_line)}; "
        f"disagreements: {len(tally.disagreements)}"
    )
    print(report)
    for line in tally.wrong_line[:10]:
        print("  line:", line)
    assert tally.files > 1000, report
    assert not tally.disagreements, "\n".join([report, *tally.disagreements[:30]])
    assert not tally.wrong_line, "\n".join([report, *tally.wrong_line[:30]])


def test_the_oracle_can_refuse(tmp_path: Path) -> None:
    """The harness is no rubber stamp: Camel refuses a misspelled EIP and names its line."""
    path = tmp_path / "bad.camel.yaml"
    path.write_text(
        "- route:\n    id: a\n    from:\n      uri: direct:a\n      steps:\n        - lgo: x\n"
    )
    verdict = judge([[path]])[str(path)]
    assert not verdict.accepted
    assert verdict.line == 6
    assert re.search(r"lgo", verdict.message)


def test_validate_camel_reports_camels_refusal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = tmp_path / "repo"
    shutil.copytree(CORPUS_BASE, repo)
    route = repo / "integrations" / "orders" / "routes" / "orders.camel.yaml"
    route.write_text(route.read_text() + "        - lgo: x\n")
    code = main(["validate", "--camel", str(repo)])
    out = capsys.readouterr().out
    assert code == 1
    assert (
        "integrations/orders/routes/orders.camel.yaml:16:11: error: Camel's YAML loader refuses "
        "this file: UnknownNodeIdException: Unknown node id: lgo" in out
    ), out


def test_validate_camel_without_the_harness_says_what_to_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(ORACLE_ENV, str(tmp_path / "nowhere"))
    code = main(["validate", "--camel", str(CORPUS_BASE)])
    err = capsys.readouterr().err
    assert code == 2
    assert "run `make camel-oracle`" in err
    assert "Traceback" not in err
