"""Redaction defaults (cards, e-mails, IBANs, bearer tokens), custom rules and header names."""

from __future__ import annotations

import pytest

from telemetry.sidecar.redact import MASK, RedactionRuleError, Redactor, cap


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("card 4111 1111 1111 1111 ok", f"card {MASK} ok"),
        ("card 4111-1111-1111-1111", f"card {MASK}"),
        ("card 5500000000000004.", f"card {MASK}."),
        ("order 4111111111111112 fails Luhn", "order 4111111111111112 fails Luhn"),
        ("ts 1717171717171", "ts 1717171717171"),
        ("mail john.doe+x@mail.example.co.uk now", f"mail {MASK} now"),
        ("iban DE89 3704 0044 0532 0130 00", f"iban {MASK}"),
        ("iban GB82WEST12345698765432", f"iban {MASK}"),
        ("not iban DE00370400440532013000", "not iban DE00370400440532013000"),
        ("Authorization: Bearer abc.DEF-123_x", f"Authorization: {MASK}"),
        ("bearer   lowercase", MASK),
        ("jwt eyJhbGciOi.eyJzdWIiOiIx.c2ln", f"jwt {MASK}"),
        ('{"email":"a@b.io","card":"4111111111111111"}', f'{{"email":"{MASK}","card":"{MASK}"}}'),
        ("", ""),
    ],
)
def test_default_rules(text: str, expected: str) -> None:
    assert Redactor.from_rules().text(text) == expected


def test_custom_rules_and_header_names() -> None:
    redactor = Redactor.from_rules([r"CUST-\d{6}"], ["X-Customer"])
    assert redactor.text("id CUST-123456 ok") == f"id {MASK} ok"
    headers = redactor.headers(
        [("x-customer", "Bob"), ("Authorization", "Basic dXNlcjpwYXNz"), ("N", 3), ("E", None)]
    )
    assert headers == {"x-customer": MASK, "Authorization": MASK, "N": "3", "E": ""}


def test_header_values_go_through_text_rules() -> None:
    assert Redactor.from_rules().headers([("X-Contact", "me@example.com")]) == {"X-Contact": MASK}


@pytest.mark.parametrize("rule", ["(unclosed", "a" * 501, "*bad"])
def test_broken_rules_are_refused_with_a_clear_error(rule: str) -> None:
    with pytest.raises(RedactionRuleError):
        Redactor.from_rules([rule])


def test_cap_cuts_after_redaction_and_flags_it() -> None:
    assert cap("abcdef", 3) == ("abc", True)
    assert cap("abc", 3) == ("abc", False)
    assert cap("abc", 0) == ("abc", False)
