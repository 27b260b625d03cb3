"""What every sub-command module shares: exit codes and the sub-parser type."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

EXIT_OK = 0
EXIT_INVALID = 1
EXIT_ERROR = 2

if TYPE_CHECKING:
    Subparsers = argparse._SubParsersAction[argparse.ArgumentParser]
else:
    Subparsers = argparse._SubParsersAction
