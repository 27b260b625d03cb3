"""One bounded line per refused request: aiohttp's own error records lose their traceback and
any request bytes (a malformed request used to log ~64 KB of traceback and raw data)."""

from __future__ import annotations

import logging

MAX_LINE = 300
SERVER_LOGGERS = ("aiohttp.server", "aiohttp.web", "aiohttp.access")


def printable(text: str, limit: int = MAX_LINE) -> str:
    """Bounded, one line, no control characters."""
    flat = "".join(c if c.isprintable() else "?" for c in text[: limit + 1])
    return flat if len(flat) <= limit else flat[:limit] + "..."


class OneBoundedLine(logging.Filter):
    """The message, bounded, and the exception's type and status only: its text may quote the
    request (aiohttp's parser errors do)."""

    def filter(self, record: logging.LogRecord) -> bool:
        detail = ""
        if record.exc_info and record.exc_info[1] is not None:
            error = record.exc_info[1]
            code = getattr(error, "code", None)
            detail = f" ({type(error).__name__}{f', {code}' if code else ''})"
        record.msg = printable(record.getMessage()) + detail
        record.args = None
        record.exc_info, record.exc_text, record.stack_info = None, None, None
        return True


def bound_server_logs() -> None:
    """Idempotent: install the filter on aiohttp's server-side loggers."""
    for name in SERVER_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, OneBoundedLine) for f in logger.filters):
            logger.addFilter(OneBoundedLine())
