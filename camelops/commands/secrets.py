"""`camelops secret seal`: encrypt a value to a project's public key for `secrets/*.sealed.yaml`.

The value is read from stdin or a file (never from argv, which other users can see in `ps`),
and the output is the `cops1:` ciphertext only; nothing is logged.
"""

from __future__ import annotations

import argparse
import sys
import urllib.error
import urllib.request
from pathlib import Path

from camelops.cli_support import EXIT_ERROR, EXIT_OK, Subparsers
from reconciler.secrets.sealing import SealError, load_public_pem, seal_value


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser("secret", help="sealed secrets for config repositories")
    actions = parser.add_subparsers(dest="secret_command", metavar="ACTION")
    actions.required = True
    seal = actions.add_parser(
        "seal",
        help="encrypt a value (stdin or --from-file) to a project's public key",
        description="Prints `cops1:...` for `spec.encryptedData` of a SealedSecret. The key is "
        "a PEM file (--public-key) or fetched from the control plane (--server + $CAMELOPS_TOKEN).",
    )
    seal.add_argument("--project", required=True, help="project name (bound into the ciphertext)")
    source = seal.add_mutually_exclusive_group(required=True)
    source.add_argument("--public-key", type=Path, help="the project's PEM public key")
    source.add_argument("--server", help="control plane URL, e.g. http://127.0.0.1:8080")
    seal.add_argument("--from-file", type=Path, help="read the value from this file, not stdin")
    seal.set_defaults(func=run_seal)


def _public_key_pem(args: argparse.Namespace) -> bytes:
    if args.public_key is not None:
        data: bytes = args.public_key.read_bytes()
        return data
    url = f"{args.server.rstrip('/')}/api/v1/projects/{args.project}/public-key"
    if not url.startswith(("http://", "https://")):
        raise SealError("--server must be an http(s) URL")
    request = urllib.request.Request(  # noqa: S310 - scheme checked above
        url, headers={"Authorization": f"Bearer {args.settings.secrets.api_token}"}
    )
    with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310
        body: bytes = response.read(64 * 1024)
        return body


def run_seal(args: argparse.Namespace) -> int:
    try:
        key = load_public_pem(_public_key_pem(args))
        raw = args.from_file.read_bytes() if args.from_file else sys.stdin.buffer.read()
        value = raw.decode("utf-8")
        # a value typed at a terminal or produced by `echo` ends with one newline: drop it
        value = value.removesuffix("\n") if args.from_file is None else value
        print(seal_value(key, args.project, value))
    except (OSError, urllib.error.URLError, UnicodeDecodeError, SealError) as exc:
        print(f"camelops secret seal: {exc}", file=sys.stderr)
        return EXIT_ERROR
    return EXIT_OK
