"""The one retry classification, shared by the reconciler and the runner (Flux's three kinds).

*stalled* needs a human: no retry until the input changes; *waiting* is retried after the
regular interval; *transient* is retried soon, with exponential backoff.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorKind(StrEnum):
    STALLED = "stalled"
    WAITING = "waiting"
    TRANSIENT = "transient"
