"""The CLI's help is as wide as argparse would make it: the width shutil would report."""

from __future__ import annotations

import argparse
import shutil

import pytest

from camelops.cli import build_parser
from camelops.cli_support import HelpFormatter, terminal_columns


@pytest.mark.parametrize("columns", [None, "60", "200", "0", "-5", "wide"])
def test_the_width_is_what_shutil_reports(monkeypatch: pytest.MonkeyPatch, columns: str) -> None:
    if columns is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", columns)
    assert terminal_columns() == shutil.get_terminal_size().columns


def render_parser() -> argparse.ArgumentParser:
    parser = build_parser(("render",))
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    render: argparse.ArgumentParser = commands.choices["render"]
    return render


@pytest.mark.parametrize("columns", ["50", "120"])
def test_help_is_argparse_own_at_that_width(monkeypatch: pytest.MonkeyPatch, columns: str) -> None:
    monkeypatch.setenv("COLUMNS", columns)
    parser = render_parser()
    assert parser.formatter_class is HelpFormatter
    ours = parser.format_help()
    parser.formatter_class = argparse.HelpFormatter
    assert ours == parser.format_help()
    assert max(len(line) for line in ours.splitlines()) > int(columns) - 30
