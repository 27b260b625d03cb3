"""Reconcile errors: each carries its kind (how to retry) and the condition reason it sets.

Like Flux's controllers: *stalled* needs a human (no retry until the source changes),
*waiting* requeues after the project's interval, *transient* retries with exponential backoff
(`contract.retry.ErrorKind`, the classification the runner uses too).
"""

from __future__ import annotations

from enum import StrEnum

from contract.retry import ErrorKind


class Reason(StrEnum):
    SUCCEEDED = "ReconciliationSucceeded"
    PROGRESSING = "Progressing"
    FETCH_FAILED = "FetchFailed"
    REF_NOT_FOUND = "RefNotFound"
    SOURCE_REJECTED = "SourceRejected"
    VALIDATION_FAILED = "ValidationFailed"
    RENDER_FAILED = "RenderFailed"
    DISPATCH_FAILED = "DispatchFailed"


class ReconcilerError(Exception):
    """Base of every error the reconciler raises on purpose (store, service, pipeline, API)."""


class ReconcileError(ReconcilerError):
    def __init__(
        self, kind: ErrorKind, reason: Reason, message: str, errors: tuple[str, ...] = ()
    ) -> None:
        super().__init__(message)
        self.kind = kind
        self.reason = reason
        self.message = message
        self.errors = errors
        """Every problem found (file:line:col ...), recorded with the revision."""


def stalled(reason: Reason, message: str, errors: tuple[str, ...] = ()) -> ReconcileError:
    return ReconcileError(ErrorKind.STALLED, reason, message, errors)


def waiting(reason: Reason, message: str) -> ReconcileError:
    return ReconcileError(ErrorKind.WAITING, reason, message)


def transient(reason: Reason, message: str) -> ReconcileError:
    return ReconcileError(ErrorKind.TRANSIENT, reason, message)
