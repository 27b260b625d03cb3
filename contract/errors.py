"""The contract's error base: a message that breaks the contract beyond what pydantic checks."""

from __future__ import annotations


class ContractError(ValueError):
    """Base of the contract's own errors."""
