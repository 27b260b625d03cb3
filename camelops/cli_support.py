"""What every sub-command module shares: exit codes, the sub-parser type, running a command."""

from __future__ import annotations

import argparse
import contextlib
import gc
import os
import sys
import types
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_ERROR = 2
EXIT_BROKEN_PIPE = 141
"""128 + SIGPIPE: what `yes | head` reports; the reader left, nothing went wrong here."""

OWNER_ONLY_UMASK = 0o077

PYDANTIC_PLUGIN_FINDER = "pydantic.plugin._loader"
"""The one module pydantic asks for plugins (`get_plugins()`, when it builds a validator)."""


def owner_only_files() -> None:
    """Daemons (serve, runner) create every file owner-only, whatever umask they inherited:
    databases, keys, chDB parts, checkouts."""
    os.umask(OWNER_ONLY_UMASK)


def without_pydantic_plugins() -> None:
    """camelops uses no pydantic plugins, yet pydantic's plugin finder imports importlib.metadata
    (email, zipfile, csv, socket) and reads the entry points of every installed distribution when
    the first model class is built: ~8% of a `camelops validate` of a small repository.
    PYDANTIC_DISABLE_PLUGINS only skips the reading, so the CLI puts a finder that finds none in
    the finder's place before any model is built. A process that imported the real one keeps it.
    """
    if PYDANTIC_PLUGIN_FINDER in sys.modules:
        return
    finder = types.ModuleType(PYDANTIC_PLUGIN_FINDER, "camelops: no pydantic plugins")
    finder.get_plugins = tuple  # type: ignore[attr-defined]  # no plugins: an empty iterable
    sys.modules[PYDANTIC_PLUGIN_FINDER] = finder


@contextlib.contextmanager
def imports_uncollected(own_process: bool) -> Iterator[None]:
    """Importing a command's modules (pydantic building the config models, YAML, the Camel
    schema modules) allocates ~10^5 long-lived objects, and the cyclic collector would rescan
    them again and again while they load: ~4% of a small `camelops validate`. In a process of
    its own, the CLI loads them with the collector paused, then freezes them (left out of every
    later collection, as a pre-forking server does with its imports). A caller's process (tests
    calling `main(argv)`) keeps its collector as it was."""
    if not own_process or not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()


def end_process(code: int) -> None:
    """Ends this process now with `code`, without tearing down what it loaded. Python's exit
    frees every object one by one (the loaded repository keeps its YAML nodes for error
    locations): a few per cent of a `camelops render`, small or large (bench/RESULTS.md,
    "Start-up round"). Only for a one-shot
    command in a process of its own, after it returned; under a tracer or profiler (coverage,
    cProfile), which report at exit, the process exits as usual."""
    if sys.gettrace() is not None or sys.getprofile() is not None:
        return
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        return  # let the ordinary exit report or ignore it as it always has
    os._exit(code)


def terminal_columns() -> int:
    """What shutil.get_terminal_size() gives for the width: $COLUMNS, else the terminal's, else
    80. argparse asks shutil for every argument a parser adds, and importing shutil (with the
    archive modules it loads) was ~2% of a `camelops render` of 300 objects."""
    try:
        columns = int(os.environ.get("COLUMNS", ""))
    except ValueError:
        columns = 0
    if columns > 0:
        return columns
    stdout = sys.__stdout__
    if stdout is None:
        return 80
    try:
        return os.get_terminal_size(stdout.fileno()).columns or 80
    except (AttributeError, ValueError, OSError):
        return 80


class HelpFormatter(argparse.HelpFormatter):
    """argparse's own, told the terminal's width as shutil would have told it."""

    def __init__(
        self,
        prog: str,
        indent_increment: int = 2,
        max_help_position: int = 24,
        width: int | None = None,
    ) -> None:
        width = terminal_columns() - 2 if width is None else width  # argparse's margin
        super().__init__(prog, indent_increment, max_help_position, width)


class ArgumentParser(argparse.ArgumentParser):
    """The CLI's parsers: ours and every sub-parser (argparse makes those of the parent's type)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)


if TYPE_CHECKING:
    Subparsers = argparse._SubParsersAction[ArgumentParser]
else:
    Subparsers = argparse._SubParsersAction


def run_command(func: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """Run a sub-command; a reader that closes the pipe early (`... | head`) ends it quietly."""
    try:
        code = func(args)
        sys.stdout.flush()
    except BrokenPipeError:
        # Python would report the failed flush of stdout again at exit: point it at /dev/null.
        try:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        except (OSError, ValueError):
            pass  # stdout without a file descriptor (captured): nothing is flushed at exit
        return EXIT_BROKEN_PIPE
    return code
