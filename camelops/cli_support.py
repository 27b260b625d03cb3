"""What every sub-command module shares: exit codes, the sub-parser type, running a command."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_ERROR = 2
EXIT_BROKEN_PIPE = 141
"""128 + SIGPIPE: what `yes | head` reports; the reader left, nothing went wrong here."""

OWNER_ONLY_UMASK = 0o077


def owner_only_files() -> None:
    """Daemons (serve, runner) create every file owner-only, whatever umask they inherited:
    databases, keys, chDB parts, checkouts."""
    os.umask(OWNER_ONLY_UMASK)


if TYPE_CHECKING:
    Subparsers = argparse._SubParsersAction[argparse.ArgumentParser]
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
