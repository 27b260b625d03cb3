"""PII redaction applied in the pod, before anything is batched: defaults plus the
integration's own regex rules and header names."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

MASK = "[REDACTED]"
MAX_RULE_CHARS = 500

# Headers that carry credentials by convention; matched case-insensitively.
DEFAULT_SECRET_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "cookie", "set-cookie", "x-api-key", "x-auth-token"}
)


class RedactionRuleError(ValueError):
    """An integration's redaction rule does not compile."""


def _luhn_ok(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def _iban_ok(candidate: str) -> bool:
    compact = candidate.replace(" ", "").upper()
    rearranged = compact[4:] + compact[:4]
    numeric = "".join(str(int(char, 36)) for char in rearranged)
    return 15 <= len(compact) <= 34 and int(numeric) % 97 == 1


_CARD = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")
_IBAN = re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b")
_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}")
_BEARER = re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]+")
_JWT = re.compile(r"\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")

# Stack traces are remembered with their redacted form: a failing route fails the same way
# again and again, and each pass of the rules over a 3 KB trace costs about a millisecond.
# Bounded by count and by size (at most 256 x 16K chars held).
_MEMO_MAX_CHARS = 16_384
_MEMO_MAX_ENTRIES = 256


def _checked(check: Callable[[str], bool], keep_chars: str) -> Callable[[re.Match[str]], str]:
    def replace(match: re.Match[str]) -> str:
        text = match.group(0)
        return MASK if check("".join(c for c in text if c not in keep_chars)) else text

    return replace


_MASK_IBAN = _checked(_iban_ok, "")
_MASK_CARD = _checked(_luhn_ok, " -")
# the shortest text each checksummed kind can match: most header values are shorter
_IBAN_MIN_CHARS = 15
_CARD_MIN_CHARS = 13


@dataclass(frozen=True, slots=True)
class Redactor:
    """Replaces every match with MASK. Checksummed kinds (cards: Luhn, IBAN: mod 97) are only
    masked when the checksum holds, so order numbers and timestamps stay readable."""

    patterns: tuple[re.Pattern[str], ...] = ()
    secret_headers: frozenset[str] = DEFAULT_SECRET_HEADERS
    _memo: dict[str, str] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_rules(cls, patterns: Iterable[str] = (), header_names: Iterable[str] = ()) -> Redactor:
        compiled = []
        for rule in patterns:
            if len(rule) > MAX_RULE_CHARS:
                raise RedactionRuleError(f"redaction rule longer than {MAX_RULE_CHARS} chars")
            try:
                compiled.append(re.compile(rule))
            except re.error as exc:
                raise RedactionRuleError(f"redaction rule {rule[:80]!r} is invalid: {exc}") from exc
        names = DEFAULT_SECRET_HEADERS | {name.lower() for name in header_names}
        return cls(patterns=tuple(compiled), secret_headers=frozenset(names))

    def stack_trace(self, value: str) -> str:
        """``text`` for texts that repeat (stack traces): the last results are remembered."""
        if len(value) > _MEMO_MAX_CHARS:
            return self.text(value)
        redacted = self._memo.get(value)
        if redacted is None:
            redacted = self.text(value)
            if len(self._memo) >= _MEMO_MAX_ENTRIES:
                del self._memo[next(iter(self._memo))]
            self._memo[value] = redacted
        return redacted

    def text(self, value: str) -> str:
        if not value:
            return value
        # each rule only runs when its literal part occurs: Python's regex engine tries every
        # position, and the e-mail rule rescans each identifier of a stack trace to its end
        if "bearer" in value.lower():
            value = _BEARER.sub(MASK, value)
        if "eyJ" in value:
            value = _JWT.sub(MASK, value)
        if "@" in value:
            value = _EMAIL.sub(MASK, value)
        if len(value) >= _IBAN_MIN_CHARS:
            value = _IBAN.sub(_MASK_IBAN, value)
        if len(value) >= _CARD_MIN_CHARS:
            value = _CARD.sub(_MASK_CARD, value)
        for pattern in self.patterns:
            value = pattern.sub(MASK, value)
        return value

    def headers(
        self, headers: Iterable[tuple[str, Any]], *, verbatim: frozenset[str] = frozenset()
    ) -> dict[str, str]:
        """``verbatim`` names headers whose value the caller vouches for (our own ids)."""
        redacted: dict[str, str] = {}
        for name, value in headers:
            if name in verbatim and name.lower() not in self.secret_headers:
                redacted[name] = "" if value is None else str(value)
            elif name.lower() in self.secret_headers:
                redacted[name] = MASK
            else:
                redacted[name] = self.text("" if value is None else str(value))
        return redacted


def cap(value: str, limit: int) -> tuple[str, bool]:
    """Cut a (redacted) body to the configured size; the flag tells the portal it was cut."""
    if limit <= 0 or len(value) <= limit:
        return value, False
    return value[:limit], True
