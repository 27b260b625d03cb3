"""Malformed, oversized and forged frames close that connection with a logged reason; other
runners keep being served."""

from __future__ import annotations

import asyncio
import json
import logging
import zlib
from pathlib import Path

import aiohttp
import pytest

from contract.envelopes import Channel, Hello
from tests.integration.tunnel.conftest import ORG, ControlPlane, eventually, wait_for
from tunnel.framing import (
    BATCH,
    CHUNK,
    WHOLE,
    WHOLE_Z,
    FrameLimits,
    Reassembler,
    encode_envelope,
    to_frames,
)
from tunnel.pki.identity import RunnerIdentity
from tunnel.registration import RunnerFiles
from tunnel.tls import runner_client_context

LIMITS = FrameLimits()


def _data(channel: str, type_: str, payload: dict[str, object], seq: int = 1) -> bytes:
    return to_frames(encode_envelope(f"x:{seq}", seq, channel, type_, payload), LIMITS)[0]


HOSTILE: dict[str, tuple[list[bytes | str], str]] = {
    "text frame": (["{}"], "text frames"),
    "unknown frame kind": ([b"\x09hello"], "unknown frame kind"),
    "empty frame": ([b""], "empty frame"),
    "not json": ([bytes([WHOLE]) + b"{not json"], "invalid envelope"),
    "extra field": (
        [
            bytes([WHOLE])
            + json.dumps(
                {
                    "id": "a",
                    "seq": 1,
                    "channel": "status",
                    "type": "t",
                    "ack": 0,
                    "payload": {},
                    "admin": True,
                }
            ).encode()
        ],
        "invalid envelope at admin",
    ),
    "unknown channel": ([_data("secrets", "t", {})], "invalid envelope at channel"),
    "negative seq": ([_data("status", "t", {}, seq=-4)], "invalid envelope at seq"),
    "zip bomb": (
        [bytes([WHOLE_Z]) + zlib.compress(b" " * (LIMITS.max_message_bytes + 10), 9)],
        "expands beyond",
    ),
    "corrupt compressed": ([bytes([WHOLE_Z]) + b"\x78\x9cgarbage"], "corrupt compressed"),
    "batch entry overruns the frame": (
        [bytes([BATCH]) + (500).to_bytes(4, "big") + b"{}"],
        "batch entry length out of range",
    ),
    "batch of one": (
        [bytes([BATCH]) + (2).to_bytes(4, "big") + b"{}"],
        "invalid envelope",
    ),
    "truncated chunk": ([bytes([CHUNK]) + b"\x00" * 5], "truncated chunk header"),
    "chunk index out of range": (
        [bytes([CHUNK]) + b"k" * 16 + (7).to_bytes(4, "big") + (2).to_bytes(4, "big") + b"\x00"],
        "bad chunk",
    ),
    "oversized frame": ([b"\x01" + b" " * (LIMITS.max_frame_bytes + 1)], "exceeds limit"),
    "status about another runner": (
        [_data("status", "health", {"runner": "edge-2"})],
        "reports about another runner",
    ),
    "status about a foreign environment": (
        [_data("status", "health", {"environment": "prod"})],
        "environment this runner does not serve",
    ),
    "control message from a runner": (
        [_data("control", "bundle", {"environment": "dev"})],
        "may not send control messages",
    ),
    "ack for a message never sent": (
        [to_frames(encode_envelope("ack", 0, "status", "ack", {}, ack=99), LIMITS)[0]],
        "ack for a message never sent",
    ),
    # the control plane never sends on telemetry: even an ack of 1 names a message never sent
    "ack of one on a channel never sent on": (
        [to_frames(encode_envelope("ack", 0, "telemetry", "ack", {}, ack=1), LIMITS)[0]],
        "ack for a message never sent",
    ),
    "second hello": (
        [to_frames(encode_envelope("hello", 0, "control", "hello", {}), LIMITS)[0]],
        "unexpected unsequenced",
    ),
}


async def _hostile_session(url: str, data_dir: Path, frames: list[bytes | str]) -> int | None:
    files = RunnerFiles.in_data_dir(data_dir)
    context = runner_client_context(files.ca.read_bytes(), files.cert, files.key)
    hello = Hello(session="h" * 16).model_dump(mode="json")
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(url, ssl=context, max_msg_size=0) as ws,
    ):
        await ws.send_bytes(
            to_frames(encode_envelope("hello", 0, "control", "hello", hello), LIMITS)[0]
        )
        assert (await ws.receive()).type == aiohttp.WSMsgType.BINARY  # the server's hello
        for frame in frames:
            if isinstance(frame, str):
                await ws.send_str(frame)
            else:
                await ws.send_bytes(frame)
        await wait_for(_until_closed(ws))  # a connection left open fails here, not hangs
        return ws.close_code


async def _until_closed(ws: aiohttp.ClientWebSocketResponse) -> None:
    while (await ws.receive()).type == aiohttp.WSMsgType.BINARY:
        pass


@pytest.mark.parametrize("case", sorted(HOSTILE))
async def test_hostile_frame_closes_only_that_connection(
    case: str, control_plane: ControlPlane, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    frames, reason = HOSTILE[case]
    control_plane.recorder.environments = {
        "edge-1": frozenset({"dev"}),
        "edge-2": frozenset({"qa"}),
    }
    attacker = await control_plane.register("edge-1", tmp_path)
    bystander = control_plane.client(await control_plane.register("edge-2", tmp_path))
    await bystander.start()
    await wait_for(bystander.connected.wait())
    caplog.set_level(logging.WARNING, logger="tunnel")
    code = await _hostile_session(control_plane.tunnel_url, attacker, frames)
    # Oversized frames are refused by aiohttp's reader (1009) before the body arrives, so the
    # sender may only see its socket drop (1006); everything else is our policy close (1008).
    assert code in ((1006, 1009) if case == "oversized frame" else (1008,))
    assert any(reason in record.getMessage() for record in caplog.records), [
        r.getMessage() for r in caplog.records
    ]
    assert not control_plane.recorder.received  # nothing from the attacker was applied
    await bystander.send(Channel.STATUS, "health", {"runner": "edge-2", "environment": "qa"})
    await eventually(lambda: len(control_plane.recorder.received) == 1)
    assert control_plane.recorder.received[0][0] == RunnerIdentity(ORG, "edge-2")
    assert bystander.metrics.value("connections_total") == 1


async def test_missing_hello_is_refused(control_plane: ControlPlane, tmp_path: Path) -> None:
    data_dir = await control_plane.register("edge-1", tmp_path)
    files = RunnerFiles.in_data_dir(data_dir)
    context = runner_client_context(files.ca.read_bytes(), files.cert, files.key)
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(control_plane.tunnel_url, ssl=context) as ws,
    ):
        await ws.send_bytes(_data("status", "health", {}))
        while (await ws.receive()).type == aiohttp.WSMsgType.BINARY:
            pass
    assert not control_plane.recorder.received
    assert not control_plane.recorder.hellos


async def _acks_on(ws: aiohttp.ClientWebSocketResponse, channel: str) -> int:
    """The next ack the server sends on `channel` (other frames, e.g. its own sends, skipped)."""
    reader = Reassembler(LIMITS)
    while True:
        message = await ws.receive()
        assert message.type == aiohttp.WSMsgType.BINARY, message
        for envelope in reader.feed(message.data):
            if envelope.seq == 0 and envelope.type == "ack" and envelope.channel == channel:
                return envelope.ack


async def test_a_repeat_of_the_first_message_after_its_ack_is_acked_again_not_applied(
    control_plane: ControlPlane, tmp_path: Path
) -> None:
    """The sender resends when an ack is lost: the repeat of a channel's very first message,
    arriving after that message was acked, must be acked again (or the sender resends forever)
    and never applied twice."""
    control_plane.recorder.environments = {"edge-1": frozenset({"dev"})}
    data_dir = await control_plane.register("edge-1", tmp_path)
    files = RunnerFiles.in_data_dir(data_dir)
    context = runner_client_context(files.ca.read_bytes(), files.cert, files.key)
    hello = Hello(session="r" * 16).model_dump(mode="json")
    report = _data("status", "health", {"runner": "edge-1", "environment": "dev"}, seq=1)
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(control_plane.tunnel_url, ssl=context, max_msg_size=0) as ws,
    ):
        await ws.send_bytes(
            to_frames(encode_envelope("hello", 0, "control", "hello", hello), LIMITS)[0]
        )
        await ws.send_bytes(report)
        async with asyncio.timeout(15):
            assert await _acks_on(ws, "status") == 1
            await ws.send_bytes(report)  # the same message again: its ack was "lost"
            assert await _acks_on(ws, "status") == 1
    assert len(control_plane.recorder.received) == 1
