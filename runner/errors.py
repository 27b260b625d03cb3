"""The runner's error base: every error the runner raises on purpose derives from it."""

from __future__ import annotations


class RunnerError(Exception):
    """Base of the runner's own errors (a driver's, a manifest's, a rollback's)."""
