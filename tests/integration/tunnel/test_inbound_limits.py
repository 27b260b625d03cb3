"""A peer that ignores flow control and floods past 4,096 unapplied messages is closed; up to the
limit, everything is applied. A failing handler is logged and skipped, the stream goes on."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import aiohttp
import pytest

from contract.envelopes import Channel, Envelope, Hello
from tests.integration.tunnel.conftest import ControlPlane, eventually, wait_for
from tunnel.connection import LinkSettings
from tunnel.framing import BATCH, FrameLimits, encode_envelope, to_frames
from tunnel.registration import RunnerFiles
from tunnel.tls import runner_client_context

LIMITS = FrameLimits()
MAX_INBOUND = LinkSettings().max_inbound
QUIET = 3.0  # a connection still open this long after the burst was kept open


def one_batch(count: int) -> bytes:
    """`count` status messages in one frame: they all land in the inbound queue at once."""
    bodies = [
        encode_envelope(f"f:{seq}", seq, "status", "progress", {"n": seq})
        for seq in range(1, count + 1)
    ]
    frame = bytes([BATCH]) + b"".join(len(b).to_bytes(4, "big") + b for b in bodies)
    assert len(frame) <= LIMITS.max_frame_bytes
    return frame


async def flood(plane: ControlPlane, data_dir: Path, count: int) -> int | None:
    """Send `count` messages in one go; the server's close code, or None if it kept it open."""
    files = RunnerFiles.in_data_dir(data_dir)
    context = runner_client_context(files.ca.read_bytes(), files.cert, files.key)
    hello = Hello(session="f" * 16).model_dump(mode="json")
    async with (
        aiohttp.ClientSession() as session,
        session.ws_connect(plane.tunnel_url, ssl=context, max_msg_size=0) as ws,
    ):
        await ws.send_bytes(
            to_frames(encode_envelope("hello", 0, "control", "hello", hello), LIMITS)[0]
        )
        assert (await ws.receive()).type == aiohttp.WSMsgType.BINARY  # the server's hello
        await ws.send_bytes(one_batch(count))
        try:
            async with asyncio.timeout(QUIET):
                while (await ws.receive()).type == aiohttp.WSMsgType.BINARY:
                    pass  # acks
        except TimeoutError:
            return None
        return ws.close_code


async def test_a_flood_past_the_inbound_limit_closes_the_connection(
    control_plane: ControlPlane, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    data_dir = await control_plane.register("edge-1", tmp_path)
    caplog.set_level(logging.WARNING, logger="tunnel")
    assert await flood(control_plane, data_dir, MAX_INBOUND + 1) == 1008
    assert "the peer ignored flow control" in caplog.text
    assert control_plane.server.metrics.value("protocol_violations_total") == 1


async def test_up_to_the_inbound_limit_everything_is_applied(
    control_plane: ControlPlane, tmp_path: Path
) -> None:
    data_dir = await control_plane.register("edge-1", tmp_path)
    assert await flood(control_plane, data_dir, MAX_INBOUND) is None
    applied = [e.payload["n"] for _, e in control_plane.recorder.received]
    assert applied == list(range(1, MAX_INBOUND + 1))
    assert control_plane.server.metrics.value("protocol_violations_total") == 0


async def test_a_failing_handler_is_logged_and_skipped(
    control_plane: ControlPlane, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    client = control_plane.client(await control_plane.register("edge-1", tmp_path))
    applied: list[int] = []

    async def work(envelope: Envelope) -> None:
        if envelope.payload["n"] == 2:
            raise RuntimeError("handler broke on message 2")
        applied.append(int(envelope.payload["n"]))

    client.on(Channel.CONTROL, "work", work)
    await client.start()
    await wait_for(client.connected.wait())
    caplog.set_level(logging.ERROR, logger="tunnel")
    runner = client.identity
    for n in (1, 2, 3):
        await control_plane.server.send(runner, Channel.CONTROL, "work", {"n": n})
    await eventually(lambda: applied == [1, 3])
    await eventually(lambda: not control_plane.server._states[runner].pending)  # all acked
    assert client.metrics.value("handler_errors_total") == 1
    [record] = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert record.getMessage() == "handler for control/work failed"
    assert record.exc_info is not None
    assert "handler broke on message 2" in str(record.exc_info[1])
    assert client.metrics.value("connections_total") == 1  # the stream went on, same connection
