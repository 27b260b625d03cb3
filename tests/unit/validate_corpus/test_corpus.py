"""`camelops validate` on every broken repository: golden output, exit 1, no traceback."""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest

from camelops.cli import main
from tests.unit.validate_corpus.cases import CASES, Case

HERE = Path(__file__).parent
EXPECTED = HERE / "expected"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"
# Text made by third-party code is matched by its shape and stored as a placeholder: a new lxml or
# catalog release may word, order or extend it without our output being wrong. What is ours (the
# position, the offending name, the suggestion) stays spelled out.
THIRD_PARTY = (
    # lxml's XML Schema message, with the first elements the XSD allows at that point
    (
        re.compile(r"Element '([\w.:-]+)': This element is not expected\."
                   r"(?: Expected is one of \( [\w.:-]+(?:, [\w.:-]+)* \)\.)?"),
        r"<lxml: element '\1' not allowed here>",
    ),
    # the values the Camel catalog allows for an enum option
    (
        re.compile(r"expected one of [\w.-]+(?:, [\w.-]+)+; found"),
        "expected one of <the catalog's values>; found",
    ),
)  # fmt: skip
WARNING_ONLY = {
    "project-camel-version-without-catalog",
    "project-previews-label-not-evaluated",
    "route-unknown-endpoint-option",
    "route-parameter-named-from-is-no-endpoint",
    "route-api-method-option-misspelled",
    "route-enum-option-unknown-value",
    "route-kamelet-unknown-property",
    "route-kamelet-missing-required-property",
    "route-project-kamelet-misspelled-property",
}


def normalise(output: str) -> str:
    for pattern, placeholder in THIRD_PARTY:
        output = pattern.sub(placeholder, output)
    return output


def run_case(case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    repo = tmp_path / "repo"
    shutil.copytree(HERE / "base", repo, symlinks=True)
    case.edit(repo)
    code = main(["validate", str(repo), *case.args])
    captured = capsys.readouterr()
    output = (captured.out + captured.err).replace(str(repo), "<repo>")
    return code, output


def test_base_repository_is_valid(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, output = run_case(Case("base", lambda _root: None), tmp_path, capsys)
    assert code == 0, output
    assert output.startswith("<repo>: valid — project corpus, 1 integrations")


def test_third_party_text_is_matched_by_shape() -> None:
    lxml = (
        "x.xml:4:1: error: Element 'tranform': This element is not expected. Expected is one of"
        " ( inputType, outputType, aggregate ).; did you mean 'transform'?"
    )
    assert normalise(lxml) == (
        "x.xml:4:1: error: <lxml: element 'tranform' not allowed here>; did you mean 'transform'?"
    )
    enum = "r.yaml:1:2: error: expected one of TRACE, DEBUG, NEW_LEVEL; found 'LOUD'"
    assert (
        normalise(enum) == "r.yaml:1:2: error: expected one of <the catalog's values>; found 'LOUD'"
    )
    ours = "camelops.yaml:2:7: error: expected kind: Project, found 'Projekt'"
    assert normalise(ours) == ours


def test_corpus_is_large_enough() -> None:
    assert len(CASES) >= 40
    assert len({c.name for c in CASES}) == len(CASES)


def test_no_orphaned_expectations() -> None:
    names = {c.name for c in CASES}
    orphans = sorted(p.stem for p in EXPECTED.glob("*.txt") if p.stem not in names)
    assert not orphans, f"expected files without a case: {orphans}"


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_broken_repository(case: Case, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, output = run_case(case, tmp_path, capsys)
    assert "Traceback" not in output
    expected_code = 0 if case.name in WARNING_ONLY else 1
    assert code == expected_code, output
    if case.name not in WARNING_ONLY:
        assert ": error: " in output
    golden = EXPECTED / f"{case.name}.txt"
    actual = normalise(f"exit {code}\n{output}")
    if UPDATE or not golden.exists():
        golden.write_text(actual)
        if not UPDATE:
            pytest.fail(f"wrote missing golden file {golden.name}; review it and run again")
    assert actual == golden.read_text()
