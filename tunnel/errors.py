"""The tunnel's error base: every error the transport raises on purpose derives from it."""

from __future__ import annotations


class TunnelError(Exception):
    """Base of the tunnel's own errors (PKI, registration, framing, protocol)."""
