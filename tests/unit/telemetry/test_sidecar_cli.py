"""`camelops sidecar` refuses bad settings before it starts anything."""

from __future__ import annotations

import pytest

from camelops.cli import build_parser, main
from camelops.commands.sidecar import Listen, settings_from


def test_bad_redaction_rule_exits_2_with_the_reason(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sidecar", "--integration", "orders", "--redact-pattern", "("]) == 2
    assert "redaction rule '(' is invalid" in capsys.readouterr().err


@pytest.mark.parametrize("rate", ["1.5", "-0.1", "half"])
def test_sample_rate_outside_0_1_is_a_usage_error(rate: str) -> None:
    with pytest.raises(SystemExit) as caught:
        build_parser().parse_args(["sidecar", "--integration", "o", "--sample-rate", rate])
    assert caught.value.code == 2


def test_flags_become_settings() -> None:
    args = build_parser().parse_args(
        ["sidecar", "--integration", "orders", "--sample-rate", "0.2", "--redact-header", "X-A",
         "--redact-pattern", "K-\\d+", "--replay-endpoint", "direct:orders"]
    )  # fmt: skip
    settings = settings_from(args)
    assert settings.sample_rate == 0.2
    assert settings.redaction_headers == ("X-A",)
    assert settings.redaction_patterns == ("K-\\d+",)
    assert settings.replay_endpoint == "direct:orders"


def test_a_pod_address_needs_the_runner_token_else_the_api_stays_on_loopback() -> None:
    assert Listen("10.0.0.7", 9464, "t0ken").checked() == Listen("10.0.0.7", 9464, "t0ken")
    assert Listen("10.0.0.7", 9464).checked() == Listen("127.0.0.1", 9464)
    assert Listen("0.0.0.0", 9464).checked().host == "127.0.0.1"
    assert Listen("::1", 9464).checked() == Listen("::1", 9464)
    assert Listen("localhost", 9464).checked().host == "localhost"
