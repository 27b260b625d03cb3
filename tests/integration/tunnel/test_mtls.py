"""Authentication over real TLS 1.3 on loopback: who may open a tunnel, and who may register."""

from __future__ import annotations

import asyncio
import os
import ssl
import stat
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest
from cryptography.hazmat.primitives import serialization

from contract import commands
from contract.envelopes import Channel, Envelope
from tests.integration.tunnel.conftest import ORG, ControlPlane, eventually, wait_for
from tunnel.pki.ca import CertificateAuthority
from tunnel.pki.identity import RunnerIdentity, certificate_dates, new_key_and_csr
from tunnel.registration import REGISTER_PATH, RegistrationError, RunnerFiles, register_runner
from tunnel.server import IDENTITY_HEADER
from tunnel.tls import runner_client_context


async def test_registered_runner_connects_and_exchanges_both_ways(
    control_plane: ControlPlane, tmp_path: Path
) -> None:
    data_dir = await control_plane.register("edge-1", tmp_path)
    files = RunnerFiles.in_data_dir(data_dir)
    for secret in (files.key, files.cert):
        assert stat.S_IMODE(os.stat(secret).st_mode) == 0o600
    client = control_plane.client(data_dir)
    got: list[Envelope] = []

    async def on_work(envelope: Envelope) -> None:
        got.append(envelope)

    client.on(Channel.CONTROL, "work", on_work)
    await client.start()
    await wait_for(client.connected.wait())
    await client.send(Channel.STATUS, "health", {"runner": "edge-1", "ok": True})
    runner = RunnerIdentity(ORG, "edge-1")
    await control_plane.server.send(runner, Channel.CONTROL, "work", {"n": 1})
    await eventually(lambda: len(control_plane.recorder.received) == 1 and len(got) == 1)
    assert control_plane.recorder.received[0][0] == runner
    assert got[0].payload == {"n": 1}
    assert control_plane.server.connected == {runner}
    text = control_plane.server.metrics.render()
    assert "camelops_tunnel_server_connected_runners 1" in text


async def _refused(control_plane: ControlPlane, data_dir: Path) -> None:
    """The client keeps retrying and never gets a session."""
    client = control_plane.client(data_dir)
    await client.start()
    await eventually(lambda: client.metrics.value("reconnects_total") >= 3)
    assert not client.connected.is_set()
    assert client.metrics.value("connections_total") == 0


async def test_certificate_from_unknown_ca_is_rejected(
    control_plane: ControlPlane, tmp_path: Path
) -> None:
    data_dir = await control_plane.register("edge-1", tmp_path)
    rogue = CertificateAuthority.create(ORG, control_plane.clock())
    key_pem, csr_pem = new_key_and_csr(RunnerIdentity(ORG, "edge-1"))
    cert = rogue.sign_runner(csr_pem, RunnerIdentity(ORG, "edge-1"), control_plane.clock())
    RunnerFiles.in_data_dir(data_dir).save_credentials(
        key_pem, cert.public_bytes(serialization.Encoding.PEM)
    )
    await _refused(control_plane, data_dir)


async def test_expired_certificate_is_rejected(control_plane: ControlPlane, tmp_path: Path) -> None:
    data_dir = await control_plane.register("edge-1", tmp_path)
    identity = RunnerIdentity(ORG, "edge-1")
    key_pem, csr_pem = new_key_and_csr(identity)
    issued_at = control_plane.clock() - timedelta(days=10)
    cert = control_plane.pki.ca.sign_runner(csr_pem, identity, issued_at, timedelta(days=7))
    control_plane.pki.store.record_certificate(
        cert.serial_number, identity, cert.not_valid_after_utc
    )
    RunnerFiles.in_data_dir(data_dir).save_credentials(
        key_pem, cert.public_bytes(serialization.Encoding.PEM)
    )
    await _refused(control_plane, data_dir)


async def test_a_certificate_our_ca_signed_but_never_issued_is_rejected(
    control_plane: ControlPlane, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A valid signature is not enough: a serial this control plane never recorded (the CA key
    signed it elsewhere) is refused, and the log says why."""
    data_dir = await control_plane.register("edge-1", tmp_path)
    identity = RunnerIdentity(ORG, "edge-1")
    key_pem, csr_pem = new_key_and_csr(identity)
    cert = control_plane.pki.ca.sign_runner(csr_pem, identity, control_plane.clock())
    RunnerFiles.in_data_dir(data_dir).save_credentials(
        key_pem, cert.public_bytes(serialization.Encoding.PEM)
    )
    with caplog.at_level("WARNING", logger="tunnel.server"):
        await _refused(control_plane, data_dir)
    assert "certificate not issued by this control plane" in caplog.text
    assert control_plane.server.metrics.value("refused_total", (("reason", "identity"),)) >= 3


async def test_revoked_certificate_is_rejected_on_the_next_connection(
    control_plane: ControlPlane, tmp_path: Path
) -> None:
    data_dir = await control_plane.register("edge-1", tmp_path)
    client = control_plane.client(data_dir)
    await client.start()
    await wait_for(client.connected.wait())
    revoked = control_plane.pki.store.revoke_runner(
        RunnerIdentity(ORG, "edge-1"), "decommissioned", control_plane.clock()
    )
    assert revoked == 1
    assert control_plane.server.disconnect(RunnerIdentity(ORG, "edge-1"))
    refused = (("reason", "identity"),)
    await eventually(lambda: control_plane.server.metrics.value("refused_total", refused) >= 2)
    assert not client.connected.is_set()
    assert client.metrics.value("connections_total") == 1


async def _raw_connect(url: str, data_dir: Path, headers: dict[str, str] | None = None) -> int:
    files = RunnerFiles.in_data_dir(data_dir)
    context = runner_client_context(files.ca.read_bytes(), files.cert, files.key)
    async with aiohttp.ClientSession() as session:
        try:
            async with session.ws_connect(url, ssl=context, headers=headers or {}) as ws:
                await ws.close()
                return 101
        except aiohttp.WSServerHandshakeError as exc:
            return exc.status


async def test_runner_claiming_another_identity_is_rejected(
    control_plane: ControlPlane, tmp_path: Path
) -> None:
    data_dir = await control_plane.register("edge-1", tmp_path)
    other = RunnerIdentity(ORG, "edge-2").uri
    assert await _raw_connect(control_plane.tunnel_url, data_dir, {IDENTITY_HEADER: other}) == 403
    own = RunnerIdentity(ORG, "edge-1").uri
    assert await _raw_connect(control_plane.tunnel_url, data_dir, {IDENTITY_HEADER: own}) == 101


async def test_csr_claiming_another_identity_is_refused(control_plane: ControlPlane) -> None:
    token = control_plane.pki.create_token(RunnerIdentity(ORG, "edge-1"))
    _, csr_pem = new_key_and_csr(RunnerIdentity(ORG, "edge-2"))
    context = runner_client_context(control_plane.pki.ca.cert_pem)
    async with aiohttp.ClientSession() as session:
        url = control_plane.registration_url + REGISTER_PATH
        body = {"token": token, "csr": csr_pem.decode()}
        async with session.post(url, json=body, ssl=context) as response:
            assert response.status == 403
            assert "another identity" in await response.text()


async def test_plain_tcp_and_missing_client_certificate_are_rejected(
    control_plane: ControlPlane, tmp_path: Path
) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", control_plane.server.port)
    writer.write(b"GET /v1/tunnel HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\r\n")
    await writer.drain()
    answer = await asyncio.wait_for(reader.read(4096), 10)
    assert b"HTTP/1.1" not in answer  # a TLS alert or nothing, never an HTTP response
    writer.close()
    context = runner_client_context(control_plane.pki.ca.cert_pem)  # no client certificate
    async with aiohttp.ClientSession() as session:
        with pytest.raises((aiohttp.ClientError, ssl.SSLError, ConnectionError)):
            await _session_without_certificate(session, control_plane.tunnel_url, context)


async def _session_without_certificate(
    session: aiohttp.ClientSession, url: str, context: ssl.SSLContext
) -> None:
    async with session.ws_connect(url, ssl=context) as ws:
        await ws.receive()
        raise ConnectionError("the server kept talking to a client without a certificate")


async def test_tls_1_2_is_rejected(control_plane: ControlPlane, tmp_path: Path) -> None:
    data_dir = await control_plane.register("edge-1", tmp_path)
    files = RunnerFiles.in_data_dir(data_dir)
    context = ssl.create_default_context(cadata=files.ca.read_text())
    context.maximum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(files.cert, files.key)
    async with aiohttp.ClientSession() as session:
        with pytest.raises(aiohttp.ClientError):
            await session.ws_connect(control_plane.tunnel_url, ssl=context)


async def test_token_is_single_use(control_plane: ControlPlane, tmp_path: Path) -> None:
    token = control_plane.pki.create_token(RunnerIdentity(ORG, "edge-1"))
    await register_runner(control_plane.registration_url, token, tmp_path / "first")
    with pytest.raises(RegistrationError, match="HTTP 403"):
        await register_runner(control_plane.registration_url, token, tmp_path / "second")
    assert not (tmp_path / "second" / "tunnel" / "key.pem").exists()


async def test_token_expires(control_plane: ControlPlane, tmp_path: Path) -> None:
    token = control_plane.pki.create_token(RunnerIdentity(ORG, "edge-1"), ttl=timedelta(hours=1))
    control_plane.clock.offset = timedelta(hours=1, seconds=1)
    with pytest.raises(RegistrationError, match="HTTP 403"):
        await register_runner(control_plane.registration_url, token, tmp_path / "late")


async def test_token_pins_the_ca(control_plane: ControlPlane, tmp_path: Path) -> None:
    token = control_plane.pki.create_token(RunnerIdentity(ORG, "edge-1"))
    forged = token[:-64] + "0" * 64
    with pytest.raises(RegistrationError, match="fingerprint"):
        await register_runner(control_plane.registration_url, forged, tmp_path / "pinned")


async def test_certificate_rotation_keeps_the_session(
    control_plane: ControlPlane, tmp_path: Path
) -> None:
    data_dir = await control_plane.register("edge-1", tmp_path)
    files = RunnerFiles.in_data_dir(data_dir)
    old_serial = certificate_dates(files.cert.read_bytes()).serial
    client = control_plane.client(data_dir)
    await client.start()
    await wait_for(client.connected.wait())
    dates = await client.renew_certificate()
    assert dates.serial != old_serial
    assert certificate_dates(files.cert.read_bytes()).serial == dates.serial
    await client.send(Channel.STATUS, "health", {"ok": True})
    await eventually(lambda: len(control_plane.recorder.received) == 1)
    assert client.metrics.value("connections_total") == 1  # the session was never dropped
    # The old certificate stops working; the next connection presents the new one.
    control_plane.pki.store.revoke_certificate(old_serial, "superseded", control_plane.clock())
    client.reconnect_now()
    await eventually(lambda: client.metrics.value("connections_total") == 2)


async def test_server_can_order_a_rotation(control_plane: ControlPlane, tmp_path: Path) -> None:
    data_dir = await control_plane.register("edge-1", tmp_path)
    files = RunnerFiles.in_data_dir(data_dir)
    old_serial = certificate_dates(files.cert.read_bytes()).serial
    client = control_plane.client(data_dir)
    await client.start()
    await wait_for(client.connected.wait())
    runner = RunnerIdentity(ORG, "edge-1")
    await control_plane.server.send(runner, Channel.CONTROL, commands.ROTATE_CERTIFICATE, {})
    await eventually(lambda: certificate_dates(files.cert.read_bytes()).serial != old_serial)
    assert client.metrics.value("certificate_renewals_total") == 1


@pytest.mark.parametrize(
    ("body", "status"),
    [
        (b"", 400),
        (b"not json", 400),
        (b'{"token": "x"}', 400),
        (b'{"token": "x", "csr": "y", "admin": true}', 400),
        (b'{"token": "' + b"x" * 300 + b'", "csr": "y"}', 400),
        (b'{"token": "camelops1.x.y", "csr": "y"}', 403),
        (b'{"token": "x", "csr": "' + b"y" * 70_000 + b'"}', 413),
    ],
)
async def test_registration_endpoint_refuses_broken_requests(
    control_plane: ControlPlane, body: bytes, status: int
) -> None:
    context = runner_client_context(control_plane.pki.ca.cert_pem)
    async with aiohttp.ClientSession() as session:
        url = control_plane.registration_url + REGISTER_PATH
        async with session.post(url, data=body, ssl=context) as response:
            assert response.status == status
            assert "Traceback" not in await response.text()


async def test_a_message_the_server_would_refuse_never_enters_the_outbox(
    control_plane: ControlPlane, tmp_path: Path
) -> None:
    """Queued, it would close every connection it is resent on and lock the runner out."""
    data_dir = await control_plane.register("edge-9", tmp_path)
    client = control_plane.client(data_dir)
    await client.start()
    await wait_for(client.connected.wait())
    with pytest.raises(ValueError, match="may not send control messages"):
        await client.send(Channel.CONTROL, "unheard-of", {})
    await client.send(Channel.STATUS, "health", {"runner": "edge-9", "ok": True})
    await eventually(lambda: len(control_plane.recorder.received) == 1)
    assert client.connected.is_set()
    assert client.metrics.value("reconnects_total") == 0
