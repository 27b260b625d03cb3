"""What every sub-command module shares: exit codes and the sub-parser type."""

from __future__ import annotations

import argparse
import os
from typing import TYPE_CHECKING

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_ERROR = 2

OWNER_ONLY_UMASK = 0o077


def owner_only_files() -> None:
    """Daemons (serve, runner) create every file owner-only, whatever umask they inherited:
    databases, keys, chDB parts, checkouts."""
    os.umask(OWNER_ONLY_UMASK)


if TYPE_CHECKING:
    Subparsers = argparse._SubParsersAction[argparse.ArgumentParser]
else:
    Subparsers = argparse._SubParsersAction
