"""The `camelops` command line: one sub-command module per area, registered below.

Exit codes everywhere: 0 ok / no difference, 1 invalid / difference, 2 could not run.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import Protocol

from camelops.cli_support import Subparsers

# Each module exposes `register(subparsers)`; a parser's `func(args) -> int` runs the command.
COMMAND_MODULES: tuple[str, ...] = (
    "camelops.commands.validate",
    "camelops.commands.tunnel_cmds",
    "camelops.commands.runner_manifests",  # after tunnel_cmds: joins its `runner` group
    "camelops.commands.sidecar",
    "camelops.commands.render",
    "camelops.commands.serve",
    "camelops.commands.secrets",
    "camelops.commands.accounts",
)


class CommandModule(Protocol):
    def register(self, subparsers: Subparsers) -> None:
        """Add this module's sub-commands."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="camelops", description="GitOps operations for Apache Camel."
    )
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    for name in COMMAND_MODULES:
        module: CommandModule = importlib.import_module(name)
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    code: int = args.func(args)
    return code


if __name__ == "__main__":
    sys.exit(main())
