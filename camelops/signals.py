"""The one signal handling of every long-running command: SIGTERM and SIGINT ask it to stop."""

from __future__ import annotations

import asyncio
import signal


def stop_requested() -> asyncio.Event:
    """An event set on SIGTERM or SIGINT; the command stops cleanly once it is set."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    return stop
