"""How a refused message is described: where and what, never the value (a message body, a
secret or a hostile payload must not reach a log or an error answer)."""

from __future__ import annotations

from pydantic import ValidationError


def validation_problems(exc: ValidationError, *, root: str, limit: int = 20) -> list[str]:
    """`location: message` per error (`root` names the whole document), at most `limit`."""
    return [
        f"{'.'.join(str(part) for part in error['loc']) or root}: {error['msg']}"
        for error in exc.errors(include_input=False)[:limit]
    ]
