"""The `camelops` command line: one sub-command module per area, loaded only when its command runs.

Exit codes everywhere: 0 ok / no difference, 1 invalid / difference, 2 could not run.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Protocol

from camelops.cli_support import (
    EXIT_ERROR,
    ArgumentParser,
    Subparsers,
    end_process,
    imports_uncollected,
    run_command,
    without_pydantic_plugins,
)


@dataclass(frozen=True, slots=True)
class Command:
    """A sub-command as `camelops --help` lists it, and the modules that add it."""

    help: str
    """One line in `camelops --help`."""
    modules: tuple[str, ...]
    """Modules whose `register(subparsers)` adds this command, in order."""
    one_shot: bool = False
    """Reads, prints and is done: nothing of it outlives its return (no daemon, no atexit
    handler, temporary files removed before it returns), so its process may end without
    tearing down what it loaded (see `end_process`)."""
    reads_settings: bool = True
    """Takes CAMELOPS_* settings (args.settings). Those that take none do not import or check
    them: the settings' module is ~3% of a small `render`."""


# `camelops --help` lists these without importing any of them: a command's modules (and the
# control-plane stack some of them pull in) load only when that command runs.
COMMANDS: dict[str, Command] = {
    "validate": Command(
        "validate a config repository (exit 0 valid, 1 invalid, 2 could not run)",
        ("camelops.commands.validate",),
        one_shot=True,
        reads_settings=False,
    ),
    "token": Command(
        "runner registration tokens, users' API tokens",
        ("camelops.commands.tunnel_cmds",),
    ),
    "runner": Command(
        "the runner daemon (without ACTION), or register / manifests",
        # runner_manifests joins the `runner` group tunnel_cmds creates
        ("camelops.commands.tunnel_cmds", "camelops.commands.runner_manifests"),
    ),
    "sidecar": Command(
        "capture Camel exchange traces through Jolokia and serve replays",
        ("camelops.commands.sidecar",),
    ),
    "render": Command(
        "render an environment's manifests for its target (Secret values masked)",
        ("camelops.commands.render",),
        one_shot=True,
        reads_settings=False,
    ),
    "diff": Command(
        "diff two git revisions: objects and Camel routes (exit 0 same, 1 differ, 2 error)",
        ("camelops.commands.render",),
        one_shot=True,
        reads_settings=False,
    ),
    "serve": Command(
        "run the control plane: API, webhook receiver, reconciler and scheduler",
        ("camelops.commands.serve",),
    ),
    "secret": Command("sealed secrets for config repositories", ("camelops.commands.secrets",)),
    "org": Command("organisations (tenants) of the control plane", ("camelops.commands.accounts",)),
    "user": Command(
        "users of an org: API users and portal logins",
        # users joins the `user` group accounts creates
        ("camelops.commands.accounts", "camelops.commands.users"),
    ),
    "exchanges": Command(
        "captured Camel exchanges of an environment: list, show, failures",
        ("camelops.commands.exchanges",),
    ),
    "demo": Command(
        "run the control plane, a Git repository and a local runner on this machine",
        ("camelops.commands.demo",),
    ),
}


class CommandModule(Protocol):
    def register(self, subparsers: Subparsers) -> None:
        """Add this module's sub-commands."""


def build_parser(commands: Collection[str] | None = None) -> argparse.ArgumentParser:
    """The full parser for `commands` (default: all); the others are listed by name and help."""
    wanted = COMMANDS.keys() if commands is None else commands
    parser = ArgumentParser(prog="camelops", description="GitOps operations for Apache Camel.")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    subparsers.required = True
    modules = dict.fromkeys(
        m for name in COMMANDS if name in wanted for m in COMMANDS[name].modules
    )
    for module_name in modules:
        module: CommandModule = importlib.import_module(module_name)
        module.register(subparsers)
    for name, command in COMMANDS.items():
        if name not in subparsers.choices:  # a module may register more than its own command
            subparsers.add_parser(name, help=command.help, add_help=False)
    return parser


def chosen_command(argv: Sequence[str]) -> str | None:
    """The command a command line names (its first positional word), if it names one."""
    for word in argv:
        if not word.startswith("-"):
            return word if word in COMMANDS else None
    return None


def main(argv: Sequence[str] | None = None) -> int:
    words = sys.argv[1:] if argv is None else list(argv)
    command = chosen_command(words)
    without_pydantic_plugins()  # before a command's modules build their models
    with imports_uncollected(own_process=argv is None):
        parser = build_parser(() if command is None else (command,))
    args = parser.parse_args(words)
    if command is not None and COMMANDS[command].reads_settings:
        from camelops.settings import Settings, SettingsError  # noqa: PLC0415 (reads_settings)

        try:
            # the environment is read here, once; commands take what they need from args.settings
            args.settings = Settings.from_environment(os.environ)
        except SettingsError as exc:
            print(f"camelops: {exc}", file=sys.stderr)
            return EXIT_ERROR
    code = run_command(args.func, args)
    if argv is None and command is not None and COMMANDS[command].one_shot:
        end_process(code)
    return code


if __name__ == "__main__":
    sys.exit(main())
