"""The control plane's PKI under `<data-dir>/pki`, shared by `camelops serve` and `token create`.

The CA key is encrypted with `$CAMELOPS_CA_PASSPHRASE` (`SecretSettings.ca_passphrase`); when that
is unset, `serve` generates a passphrase once and keeps it in `<data-dir>/ca-passphrase` (0600)
so `token create` finds it.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from tunnel.pki.ca import CaError, write_private
from tunnel.pki.service import ControlPlanePki
from tunnel.pki.store import SqlitePkiStore

PASSPHRASE_ENV = "CAMELOPS_CA_PASSPHRASE"  # noqa: S105 (the variable name, not a secret)
PASSPHRASE_FILE = "ca-passphrase"  # noqa: S105 (a file name)
SERVER_CERT_DIR = "tunnel-server"


def pki_dir(data_dir: Path) -> Path:
    return data_dir / "pki"


def ca_certificate_file(data_dir: Path) -> Path:
    """The CA's certificate (public): what clients of `serve --api-tls` pass as --ca-file."""
    return pki_dir(data_dir) / "ca.crt.pem"


def ca_passphrase(data_dir: Path, configured: bytes | None, *, generate: bool) -> bytes:
    """The configured one wins; then the file `serve` wrote; `generate` lets `serve` write it."""
    if configured:
        return configured
    path = data_dir / PASSPHRASE_FILE
    if path.exists():
        return path.read_bytes().strip()
    if not generate:
        raise CaError(
            f"set {PASSPHRASE_ENV} (it encrypts the CA key at rest), or start `camelops serve` "
            f"on this data dir once so it generates {path}"
        )
    data_dir.mkdir(parents=True, exist_ok=True)
    passphrase = secrets.token_urlsafe(32).encode()
    write_private(path, passphrase + b"\n")
    return passphrase


def open_pki(
    data_dir: Path, org: str, passphrase: bytes | None, *, generate_passphrase: bool = False
) -> ControlPlanePki:
    """The CA (created on first use) and the SQLite PKI store (tokens, certificates);
    `passphrase` None: the one in the data dir."""
    passphrase = ca_passphrase(data_dir, passphrase, generate=generate_passphrase)
    directory = pki_dir(data_dir)
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    store = SqlitePkiStore(directory / "pki.sqlite")
    try:
        return ControlPlanePki.open_or_create(directory, passphrase, org, store)
    except Exception:
        store.close()
        raise


def close_pki(pki: ControlPlanePki) -> None:
    if isinstance(pki.store, SqlitePkiStore):
        pki.store.close()


def server_certificate(pki: ControlPlanePki, data_dir: Path, hosts: list[str]) -> tuple[Path, Path]:
    """(cert, key) for the tunnel and HTTPS API, covering loopback and the names given."""
    names = sorted({"127.0.0.1", "localhost", *(h for h in hosts if h and h != "0.0.0.0")})  # noqa: S104
    directory = pki_dir(data_dir) / SERVER_CERT_DIR
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    _forget_if_names_changed(directory, names)
    return pki.ensure_server_certificate(directory, names)


def _forget_if_names_changed(directory: Path, names: list[str]) -> None:
    # ensure_server_certificate only looks at the dates; a new --host needs a new certificate
    marker = directory / "hosts"
    wanted = "\n".join(names) + "\n"
    if marker.exists() and marker.read_text() == wanted:
        return
    for stale in ("server.crt.pem", "server.key.pem"):
        (directory / stale).unlink(missing_ok=True)
    marker.write_text(wanted)
