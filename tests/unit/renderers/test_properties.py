"""application.properties: escaping that no property value can break out of."""

from __future__ import annotations

import pytest

from renderers.properties import (
    _terminated,
    escape_key,
    escape_value,
    format_properties,
    health_endpoint,
    platform_properties,
)


def read_properties(text: str) -> dict[str, str]:
    """A small reader with java.util.Properties semantics for what we emit (one line per
    entry, backslash escapes, \\uXXXX with surrogate pairs)."""
    out: dict[str, str] = {}
    for line in text.splitlines():
        if not line or line[0] in "#!":
            continue
        key: list[str] = []
        value: list[str] = []
        i, target = 0, key
        while i < len(line):
            char = line[i]
            if char == "\\":
                nxt = line[i + 1]
                if nxt == "u":
                    target.append(chr(int(line[i + 2 : i + 6], 16)))
                    i += 6
                    continue
                target.append({"n": "\n", "r": "\r", "t": "\t", "f": "\f"}.get(nxt, nxt))
                i += 2
                continue
            if char == "=" and target is key:
                target = value
            else:
                target.append(char)
            i += 1
        joined = "".join(value).encode("utf-16", "surrogatepass").decode("utf-16")
        out["".join(key)] = joined
    return out


@pytest.mark.parametrize(
    "value",
    [
        "plain",
        "line one\nline two\r\n# injected=1",
        " leading blank",
        "tab\tand form\f feed",
        "back\\slash\\",
        "unicode café ✓",
        "astral 🐪",
        "= : # ! all specials",
        "",
    ],
)
def test_values_round_trip(value: str) -> None:
    text = format_properties({"k": value})
    assert text.count("\n") == 1, "a value must never span or add lines"
    assert text.isascii()
    assert read_properties(text) == {"k": value}


@pytest.mark.parametrize("key", ["a.b", "with space", "k=v", "k:v", "#hash", "!bang", "ünï"])
def test_keys_round_trip(key: str) -> None:
    text = format_properties({key: "v"})
    assert read_properties(text) == {key: "v"}


def test_booleans_and_numbers_are_java_style() -> None:
    text = format_properties({"b": True, "f": False, "i": 3, "x": 1.5})
    assert text == "b=true\nf=false\ni=3\nx=1.5\n"


def test_keys_are_sorted() -> None:
    assert format_properties({"z": 1, "a": 2}).splitlines() == ["a=2", "z=1"]


@pytest.mark.parametrize(
    ("own", "expected"),
    [
        ("a=1", "a=1\n"),
        ("a=1\n", "a=1\n"),
        ("path=C:\\", "path=C:\\\n\n"),  # odd trailing backslash continues the line
        ("path=C:\\\\", "path=C:\\\\\n"),  # even: an escaped backslash, nothing continues
    ],
)
def test_repo_file_cannot_swallow_our_first_line(own: str, expected: str) -> None:
    assert _terminated(own) == expected


def test_escape_helpers() -> None:
    assert escape_key("a b") == "a\\ b"
    assert escape_value(" x") == "\\ x"


def test_health_moves_to_management_port_from_camel_4_12() -> None:
    new = health_endpoint("4.18.4", 8080)
    old = health_endpoint("4.10.7", 8081)
    assert (new.port, new.live_path) == (9876, "/observe/health/live")
    assert (old.port, old.ready_path) == (8081, "/q/health/ready")


def test_platform_properties_keep_tracer_in_standby_and_jolokia_off_the_network() -> None:
    props = platform_properties("orders", "4.18.4", 8080, ["file:/x/*.yaml"])
    assert props["camel.trace.standby"] is True
    assert props["camel.management.jolokiaEnabled"] is False
    assert props["camel.main.routesIncludePattern"] == "file:/x/*.yaml"
    legacy = platform_properties("orders", "4.10.7", 8080, [])
    assert legacy["camel.server.jolokiaEnabled"] is False


@pytest.mark.parametrize("camel", ["4.10.7", "4.14.9", "4.18.4", "4.22.1"])
def test_every_rendered_runtime_lets_the_console_list_inflight_exchanges(camel: str) -> None:
    # without it Camel's inflight repository only counts: the console could not say which
    props = platform_properties("orders", camel, 8080, [])
    assert props["camel.main.inflightRepositoryBrowseEnabled"] is True
