"""Frames: round trips, batching, compression, chunking, and every limit against hostile input."""

from __future__ import annotations

import os
import struct
import zlib

import pytest

from contract.envelopes import Channel
from tunnel.framing import (
    BATCH,
    CHUNK,
    WHOLE,
    WHOLE_Z,
    FrameError,
    FrameLimits,
    Reassembler,
    batch_frames,
    encode_envelope,
    inflate,
    to_frames,
)

SMALL = FrameLimits(
    chunk_bytes=1024, compress_over=256, max_message_bytes=64 * 1024, batch_bytes=512
)


def body(n: int, payload: object = "x") -> bytes:
    return encode_envelope(f"id:{n}", n, "status", "health", {"v": payload})


def decode_all(frames: list[bytes], limits: FrameLimits = SMALL) -> list[int]:
    decoder = Reassembler(limits)
    return [env.seq for frame in frames for env in decoder.feed(frame)]


def test_small_message_is_one_whole_frame() -> None:
    frames = to_frames(body(1), SMALL)
    assert len(frames) == 1
    assert frames[0][0] == WHOLE
    [envelope] = Reassembler(SMALL).feed(frames[0])
    assert envelope.channel is Channel.STATUS
    assert envelope.payload == {"v": "x"}


def test_large_compressible_message_is_compressed() -> None:
    frames = to_frames(body(1, "abc" * 300), SMALL)
    assert [f[0] for f in frames] == [WHOLE_Z]
    assert decode_all(frames) == [1]


def test_large_incompressible_message_is_chunked_and_reassembled() -> None:
    frames = to_frames(body(7, os.urandom(3000).hex()), SMALL)
    assert len(frames) > 2
    assert all(f[0] == CHUNK for f in frames)
    assert all(len(f) <= SMALL.max_frame_bytes for f in frames)
    assert decode_all(frames) == [7]


def test_batches_pack_small_messages_and_keep_order() -> None:
    bodies = [body(n) for n in range(1, 30)] + [body(30, os.urandom(400).hex())] + [body(31)]
    frames = batch_frames(bodies, SMALL)
    assert frames[0][0] == BATCH
    assert len(frames) < len(bodies)
    assert all(len(f) <= SMALL.max_frame_bytes for f in frames)
    assert decode_all(frames) == list(range(1, 32))


def test_message_over_the_maximum_is_refused_at_encoding() -> None:
    with pytest.raises(FrameError, match="exceeds"):
        to_frames(b"x" * (SMALL.max_message_bytes + 1), SMALL)


def chunk(key: bytes, index: int, count: int, data: bytes, compressed: int = 0) -> bytes:
    return bytes([CHUNK]) + struct.pack(">16sIIB", key, index, count, compressed) + data


@pytest.mark.parametrize(
    ("frames", "reason"),
    [
        ([b""], "empty frame"),
        ([b"\x07abc"], "unknown frame kind"),
        ([bytes([WHOLE]) + b"[1,2]"], "invalid envelope"),
        ([bytes([WHOLE]) + b"\xff\xfe"], "invalid envelope"),
        ([bytes([WHOLE_Z]) + zlib.compress(b" " * (70 * 1024))], "expands beyond"),
        ([bytes([WHOLE_Z]) + zlib.compress(b"{}")[:-3]], "truncated compressed"),
        ([bytes([BATCH]) + b"\x00\x00"], "truncated batch length"),
        ([bytes([BATCH]) + struct.pack(">I", 0)], "length out of range"),
        ([bytes([CHUNK]) + b"short"], "truncated chunk header"),
        ([chunk(b"k" * 16, 0, 1, b"x")], "bad chunk"),
        ([chunk(b"k" * 16, 5, 2, b"x")], "bad chunk"),
        ([chunk(b"k" * 16, 0, 100_000, b"x")], "bad chunk"),
        ([chunk(b"k" * 16, 0, 3, b"x"), chunk(b"k" * 16, 0, 3, b"x")], "inconsistent chunk"),
        ([chunk(b"k" * 16, 0, 3, b"x"), chunk(b"k" * 16, 1, 4, b"x")], "inconsistent chunk"),
        ([chunk(bytes([i]) * 16, 0, 2, b"x") for i in range(9)], "too many partial"),
        ([chunk(b"k" * 16, i, 60, b"y" * 1200) for i in range(60)], "exceeds the maximum"),
    ],
)
def test_hostile_frames_raise_frame_error(frames: list[bytes], reason: str) -> None:
    with pytest.raises(FrameError, match=reason):
        decode_all(frames)


def test_inflate_refuses_a_bomb_without_expanding_it() -> None:
    bomb = zlib.compress(b"\x00" * (50 * 1024 * 1024), 9)
    with pytest.raises(FrameError, match="expands beyond"):
        inflate(bomb, 1024)
