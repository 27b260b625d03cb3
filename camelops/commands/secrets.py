"""`camelops secret seal`: encrypt a value to a project's public key for `secrets/*.sealed.yaml`.

The value is read from stdin or a file (never from argv, which other users can see in `ps`),
and the output is the `cops1:` ciphertext only, or, with `--into FILE --key K`, that value
written into an existing sealed-secret file; nothing is logged.
"""

from __future__ import annotations

import argparse
import sys
import urllib.error
import urllib.request
from pathlib import Path

from camelops.cli_support import EXIT_ERROR, EXIT_OK, Subparsers
from camelops.client.sealed_file import SealedFileError, check_key, open_sealed_file
from camelops.client.tls import (
    ClientTlsError,
    add_ca_file_option,
    chosen_ca_file,
    client_context,
    explain_tls_failure,
)
from reconciler.secrets.sealing import SealError, load_public_pem, seal_value

MAX_KEY_BYTES = 64 * 1024


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser("secret", help="sealed secrets for config repositories")
    actions = parser.add_subparsers(dest="secret_command", metavar="ACTION")
    actions.required = True
    seal = actions.add_parser(
        "seal",
        help="encrypt a value (stdin or --from-file) to a project's public key",
        description="Prints `cops1:...` for `spec.encryptedData` of a SealedSecret, or with "
        "--into FILE --key K sets that key in an existing sealed-secret file (its comments, "
        "order and formatting kept). The key is a PEM file (--public-key) or fetched from the "
        "control plane (--server + $CAMELOPS_TOKEN, verified with --ca-file).",
    )
    seal.add_argument("--project", required=True, help="project name (bound into the ciphertext)")
    source = seal.add_mutually_exclusive_group(required=True)
    source.add_argument("--public-key", type=Path, help="the project's PEM public key")
    source.add_argument("--server", help="control plane URL, e.g. https://127.0.0.1:8080")
    seal.add_argument("--from-file", type=Path, help="read the value from this file, not stdin")
    seal.add_argument(
        "--into",
        type=Path,
        metavar="FILE",
        help="add or replace --key in this existing secrets/<name>.sealed.yaml instead of "
        "printing the value",
    )
    seal.add_argument("--key", metavar="K", help="the key under spec.encryptedData (with --into)")
    add_ca_file_option(seal)
    seal.set_defaults(func=run_seal)


def _public_key_pem(args: argparse.Namespace) -> bytes:
    if args.public_key is not None:
        data: bytes = args.public_key.read_bytes()
        return data
    url = f"{args.server.rstrip('/')}/api/v1/projects/{args.project}/public-key"
    if not url.startswith(("http://", "https://")):
        raise SealError("--server must be an http(s) URL")
    ca_file = chosen_ca_file(args)
    request = urllib.request.Request(  # noqa: S310 - scheme checked above
        url, headers={"Authorization": f"Bearer {args.settings.secrets.api_token}"}
    )
    context = client_context(ca_file) if url.startswith("https://") else None
    try:
        with urllib.request.urlopen(request, timeout=10, context=context) as response:  # noqa: S310
            body: bytes = response.read(MAX_KEY_BYTES)
            return body
    except urllib.error.HTTPError as exc:
        detail = exc.read(300).decode("utf-8", "replace").strip()
        raise SealError(f"{url}: HTTP {exc.code} {detail}") from exc
    except urllib.error.URLError as exc:
        hint = explain_tls_failure(exc, ca_file)
        raise SealError(f"{url}: {hint or exc.reason}") from exc


def _value(args: argparse.Namespace) -> str:
    raw = args.from_file.read_bytes() if args.from_file else sys.stdin.buffer.read()
    value = raw.decode("utf-8")
    # a value typed at a terminal or produced by `echo` ends with one newline: drop it
    return value.removesuffix("\n") if args.from_file is None else value


def run_seal(args: argparse.Namespace) -> int:
    if (args.into is None) != (args.key is None):
        print("camelops secret seal: --into and --key go together", file=sys.stderr)
        return EXIT_ERROR
    # what goes wrong after the file was found fine is said about that file and key
    where = f"{args.into}: key {args.key}: " if args.into is not None else ""
    try:
        target = None
        if args.into is not None:
            check_key(args.key, args.into)
            target = open_sealed_file(args.into)  # a bad file fails before anything is fetched
        sealed = seal_value(load_public_pem(_public_key_pem(args)), args.project, _value(args))
        if target is None:
            print(sealed)
            return EXIT_OK
        replaced = target.write_value(args.key, sealed)
    except SealedFileError as exc:  # names the file (and the key) itself
        print(f"camelops secret seal: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except (OSError, UnicodeDecodeError, SealError, ClientTlsError) as exc:
        print(f"camelops secret seal: {where}{exc}", file=sys.stderr)
        return EXIT_ERROR
    print(f"{args.into}: {'replaced' if replaced else 'added'} key {args.key}", file=sys.stderr)
    return EXIT_OK
