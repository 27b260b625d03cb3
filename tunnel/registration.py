"""Registration over HTTPS (server-auth only): the control-plane routes and the runner's side.

The runner pins the CA by the fingerprint inside its token, makes its own key and CSR, trades
the one-time token for a certificate and keeps key and certificate 0600 in its data dir.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import ssl
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from tunnel.errors import TunnelError
from tunnel.pki.ca import write_private
from tunnel.pki.identity import RunnerIdentity, certificate_identity, new_key_and_csr
from tunnel.pki.service import ControlPlanePki, RegistrationRefused
from tunnel.pki.tokens import fingerprints_match, parse_token
from tunnel.tls import runner_client_context

log = logging.getLogger(__name__)
CA_PATH = "/v1/tunnel/ca"
REGISTER_PATH = "/v1/tunnel/register"
MAX_BODY = 64 * 1024


class RegisterRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    token: str = Field(min_length=1, max_length=256)
    csr: str = Field(min_length=1, max_length=16_384)


class RegisterResponse(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    certificate: str
    ca: str
    tunnel_url: str


class RegistrationError(TunnelError):
    """Registration failed; the message says why and never contains the token."""


def registration_routes(pki: ControlPlanePki, tunnel_url: str) -> list[web.RouteDef]:
    """Mount these on the control plane's HTTPS API (not on the mTLS tunnel port)."""

    async def get_ca(_: web.Request) -> web.Response:
        return web.Response(body=pki.ca.cert_pem, content_type="application/x-pem-file")

    async def register(request: web.Request) -> web.Response:
        if request.content_length is not None and request.content_length > MAX_BODY:
            raise web.HTTPRequestEntityTooLarge(
                max_size=MAX_BODY, actual_size=request.content_length
            )
        try:
            body = RegisterRequest.model_validate_json(await request.read())
        except ValidationError as exc:
            raise web.HTTPBadRequest(text="expected JSON {token, csr}\n") from exc
        try:
            issued = await asyncio.to_thread(pki.register, body.token, body.csr.encode())
        except RegistrationRefused as exc:
            raise web.HTTPForbidden(text=f"registration refused: {exc}\n") from exc
        response = RegisterResponse(
            certificate=issued.certificate.decode(), ca=issued.ca.decode(), tunnel_url=tunnel_url
        )
        return web.json_response(response.model_dump())

    return [web.get(CA_PATH, get_ca), web.post(REGISTER_PATH, register)]


def registration_app(pki: ControlPlanePki, tunnel_url: str) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY)
    app.add_routes(registration_routes(pki, tunnel_url))
    return app


@dataclass(frozen=True, slots=True)
class RunnerFiles:
    """Where a runner keeps its tunnel identity inside its data dir."""

    directory: Path

    @classmethod
    def in_data_dir(cls, data_dir: Path) -> RunnerFiles:
        return cls(data_dir / "tunnel")

    key = property(lambda self: self.directory / "key.pem")
    cert = property(lambda self: self.directory / "cert.pem")
    ca = property(lambda self: self.directory / "ca.pem")
    endpoint = property(lambda self: self.directory / "endpoint.json")
    state = property(lambda self: self.directory / "state.sqlite")

    def tunnel_url(self) -> str:
        return str(json.loads(self.endpoint.read_text())["tunnel_url"])

    def save_credentials(self, key_pem: bytes, cert_pem: bytes) -> None:
        # Key and certificate are written as a pair: a new key with the old cert would lock us out.
        for path, data in ((self.key, key_pem), (self.cert, cert_pem)):
            temporary = path.with_suffix(".tmp")
            write_private(temporary, data)
            os.replace(temporary, path)


async def _pinned_ca(
    session: aiohttp.ClientSession, server_url: str, fingerprint: str, trusted_ca: bytes | None
) -> bytes:
    # Without `trusted_ca` unverified on purpose: nothing secret is sent, and the answer is
    # checked against the pin. With it (the user's --ca-file), the server must prove it first.
    verify: ssl.SSLContext | bool = runner_client_context(trusted_ca) if trusted_ca else False
    async with session.get(server_url + CA_PATH, ssl=verify) as response:
        response.raise_for_status()
        ca_pem = await response.content.read(MAX_BODY)
    cert = x509.load_pem_x509_certificate(ca_pem)
    actual = hashlib.sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()
    if not fingerprints_match(fingerprint, actual):
        raise RegistrationError("the server's CA does not match the fingerprint in the token")
    return ca_pem


async def register_runner(
    server_url: str, token: str, data_dir: Path, trusted_ca: bytes | None = None
) -> RunnerIdentity:
    """Register this runner once; afterwards it authenticates with its certificate only.
    `trusted_ca` (PEM): verify the server with it from the first request on."""
    parsed = parse_token(token)
    server_url = server_url.rstrip("/")
    key_pem, csr_pem = new_key_and_csr()
    timeout = aiohttp.ClientTimeout(total=30)
    try:
        async with aiohttp.ClientSession(timeout=timeout) as session:
            ca_pem = await _pinned_ca(session, server_url, parsed.ca_fingerprint, trusted_ca)
            payload = {"token": token, "csr": csr_pem.decode()}
            ssl_context = runner_client_context(ca_pem)
            async with session.post(
                server_url + REGISTER_PATH, json=payload, ssl=ssl_context
            ) as response:
                text = await response.text()
                if response.status != 200:
                    raise RegistrationError(f"HTTP {response.status}: {text.strip()[:300]}")
    except (aiohttp.ClientError, ValueError, TimeoutError) as exc:
        raise RegistrationError(f"cannot register with {server_url}: {exc}") from exc
    answer = RegisterResponse.model_validate_json(text)
    cert_pem = answer.certificate.encode()
    identity = _check_issued(cert_pem, key_pem)
    files = RunnerFiles.in_data_dir(data_dir)
    files.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    files.save_credentials(key_pem, cert_pem)
    files.ca.write_bytes(ca_pem)
    files.endpoint.write_text(
        json.dumps({"tunnel_url": answer.tunnel_url, "identity": identity.uri})
    )
    log.info("registered as runner %s", identity)
    return identity


def _check_issued(cert_pem: bytes, key_pem: bytes) -> RunnerIdentity:
    cert = x509.load_pem_x509_certificate(cert_pem)
    key = serialization.load_pem_private_key(key_pem, password=None)
    if cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ) != key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ):
        raise RegistrationError("the issued certificate is not for our key")
    return certificate_identity(cert_pem)
