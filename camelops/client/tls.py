"""Trusting the control plane's HTTPS certificate: `--ca-file`, else `$CAMELOPS_CA_FILE`, else the
system's trust store. `serve --api-tls` signs its certificate with its own CA, which no system
trusts, so every client command offers the option and says so when verification fails."""

from __future__ import annotations

import argparse
import ssl
from pathlib import Path

from camelops.settings import Settings

CA_FILE_HELP = (
    "PEM file of the CA that signed the control plane's HTTPS certificate (`camelops serve "
    "--api-tls` prints it: <data-dir>/pki/ca.crt.pem); default: $CAMELOPS_CA_FILE, else the "
    "system's trust store"
)


class ClientTlsError(ValueError):
    """The CA file cannot be used; the message names it."""


def add_ca_file_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--ca-file", type=Path, metavar="PEM", help=CA_FILE_HELP)


def chosen_ca_file(args: argparse.Namespace) -> Path | None:
    """`--ca-file`, else the settings' `$CAMELOPS_CA_FILE`."""
    settings: Settings = args.settings
    flag: Path | None = getattr(args, "ca_file", None)
    return flag if flag is not None else settings.client.ca_file


def read_ca_file(ca_file: Path) -> bytes:
    """The PEM bytes, checked to hold at least one certificate."""
    try:
        pem = ca_file.read_bytes()
    except OSError as exc:
        raise ClientTlsError(f"CA file {ca_file}: {exc.strerror or exc}") from exc
    try:
        ssl.create_default_context(cadata=pem.decode("ascii"))
    except (ssl.SSLError, UnicodeDecodeError, ValueError) as exc:
        raise ClientTlsError(f"CA file {ca_file}: not a PEM certificate") from exc
    return pem


def client_context(ca_file: Path | None) -> ssl.SSLContext:
    """Verifies the server against `ca_file` only, or the system's store when None."""
    if ca_file is None:
        return ssl.create_default_context()
    return ssl.create_default_context(cadata=read_ca_file(ca_file).decode("ascii"))


def explain_tls_failure(exc: BaseException, ca_file: Path | None) -> str | None:
    """For a failed certificate check, what to do about it; None for any other failure."""
    reason = _certificate_error(exc)
    if reason is None:
        return None
    detail = getattr(reason, "verify_message", None) or str(reason)
    if ca_file is None:
        return (
            f"the control plane's certificate is not trusted ({detail}): pass --ca-file "
            "<data-dir>/pki/ca.crt.pem (its path is in `camelops serve --api-tls`'s log) or set "
            "CAMELOPS_CA_FILE"
        )
    return f"the control plane's certificate does not verify against {ca_file} ({detail})"


def _certificate_error(exc: BaseException | None) -> ssl.SSLCertVerificationError | None:
    # urllib wraps it in URLError.reason, aiohttp in .certificate_error, our code in __cause__
    for _ in range(5):
        if exc is None:
            return None
        wrapped = getattr(exc, "certificate_error", None) or getattr(exc, "reason", None)
        if isinstance(wrapped, BaseException):  # aiohttp's wrapper is itself a CertificateError
            exc = wrapped
        elif isinstance(exc, ssl.SSLCertVerificationError):
            return exc
        else:
            exc = exc.__cause__
    return None
