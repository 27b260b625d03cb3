"""One-time registration tokens: 256 random bits, stored only as a hash, bound to org + runner.

The token string also carries the CA fingerprint so `camelops runner register` can pin the
control plane's CA on first contact (like kubeadm's discovery hash) without a separate file.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from dataclasses import dataclass

from tunnel.errors import TunnelError

PREFIX = "camelops1"
SECRET_BYTES = 32


class TokenError(TunnelError, ValueError):
    """A token string that cannot be parsed. The message never repeats the token."""


@dataclass(frozen=True, slots=True)
class ParsedToken:
    secret: str
    ca_fingerprint: str

    @property
    def digest(self) -> str:
        return hash_secret(self.secret)


def hash_secret(secret: str) -> str:
    # A plain hash is enough: with 256 bits of entropy there is nothing to brute-force.
    return hashlib.sha256(secret.encode()).hexdigest()


def new_token(ca_fingerprint: str) -> ParsedToken:
    secret = base64.urlsafe_b64encode(secrets.token_bytes(SECRET_BYTES)).decode().rstrip("=")
    return ParsedToken(secret=secret, ca_fingerprint=ca_fingerprint)


def format_token(token: ParsedToken) -> str:
    return f"{PREFIX}.{token.secret}.{token.ca_fingerprint}"


def parse_token(text: str) -> ParsedToken:
    parts = text.strip().split(".")
    if len(parts) != 3 or parts[0] != PREFIX:
        raise TokenError(
            f"not a camelops registration token (expected {PREFIX}.<secret>.<ca-sha256>)"
        )
    secret, fingerprint = parts[1], parts[2]
    try:
        raw = base64.urlsafe_b64decode(secret + "=" * (-len(secret) % 4))
        bytes.fromhex(fingerprint)
    except (binascii.Error, ValueError) as exc:
        raise TokenError("the token is corrupt") from exc
    if len(raw) != SECRET_BYTES or len(fingerprint) != 64:
        raise TokenError("the token is corrupt")
    return ParsedToken(secret=secret, ca_fingerprint=fingerprint.lower())


def fingerprints_match(expected: str, actual: str) -> bool:
    return hmac.compare_digest(expected.lower(), actual.lower())
