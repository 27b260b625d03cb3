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


def with_check_digits(country: str, bban: str) -> str:
    """A valid IBAN (ISO 13616 mod 97) for any country code and BBAN."""
    numeric = "".join(str(int(c, 36)) for c in bban + country + "00")
    return f"{country}{98 - int(numeric) % 97:02d}{bban}"


@pytest.mark.parametrize(
    "iban",
    [
        "NO9386011117947",  # the shortest IBANs: 15 characters
        with_check_digits("LC", "X" * 4 + "0" * 26),  # the longest the standard allows: 34
        with_check_digits("GB", "XBKX60161331926819"),  # letters in the BBAN, an X among them
    ],
)
def test_ibans_of_every_length_and_alphabet_are_masked(iban: str) -> None:
    assert with_check_digits("GB", "WEST12345698765432") == "GB82WEST12345698765432"
    assert Redactor.from_rules().text(f"iban {iban} ok") == f"iban {MASK} ok"


def test_a_rule_of_exactly_the_limit_is_accepted_and_errors_say_what_is_wrong() -> None:
    Redactor.from_rules(["a" * 500])
    with pytest.raises(RedactionRuleError, match="longer than 500 chars"):
        Redactor.from_rules(["a" * 501])
    rule = "(" + "b" * 100
    with pytest.raises(RedactionRuleError) as refused:
        Redactor.from_rules([rule])
    message = str(refused.value)
    assert message.startswith(f"redaction rule {rule[:80]!r} is invalid: missing )")
    assert rule[:81] not in message  # a long rule is quoted, not pasted


def test_verbatim_headers_never_unmask_a_secret_header() -> None:
    redactor = Redactor.from_rules()
    verbatim = frozenset({"Authorization", "CamelopsReplayOf", "X-Empty"})
    headers = [
        ("Authorization", "Bearer abc"),
        ("CamelopsReplayOf", "4111111111111111"),
        ("X-Empty", None),
    ]
    assert redactor.headers(headers, verbatim=verbatim) == {
        "Authorization": MASK,
        "CamelopsReplayOf": "4111111111111111",
        "X-Empty": "",
    }


def test_cap_to_one_character() -> None:
    assert cap("abc", 1) == ("a", True)


def test_stack_traces_are_redacted_like_any_text_also_when_remembered() -> None:
    redactor = Redactor.from_rules([r"CUST-\d{6}"])
    trace = "java.lang.IllegalStateException: CUST-123456 mail a@b.io\n" + (
        "\tat org.example.Route.process(Route.java:42)\n" * 60
    )
    expected = redactor.text(trace)
    assert "CUST-123456" not in expected
    assert "a@b.io" not in expected
    assert redactor.stack_trace(trace) == expected
    assert redactor.stack_trace(trace) == expected, "the remembered result is the same"


def test_remembered_stack_traces_are_bounded() -> None:
    redactor = Redactor.from_rules()
    for n in range(300):
        redactor.stack_trace(f"trace {n} a@b.io")
    assert len(redactor._memo) == 256
    assert redactor.stack_trace("trace 299 a@b.io") == f"trace 299 {MASK}"
