"""`camelops exchanges list|show|failures`: read captured Camel exchanges of an environment
from the control plane's API (`/api/v1/projects/P/environments/E/exchanges`).

The token comes from $CAMELOPS_TOKEN (or --token, which other users can see in `ps`).
Exit codes: 0 ok, 1 refused (bad input, no such project/environment/exchange), 2 could not run.
"""

from __future__ import annotations

import argparse
import json
import ssl
import sys
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from camelops.cli_support import EXIT_ERROR, EXIT_INVALID, EXIT_OK, Subparsers

FORMATS = ("table", "json")
STATUSES = ("completed", "failed", "incomplete")
_MAX_ANSWER = 16 * 1024 * 1024


class ClientError(Exception):
    """The call did not give an answer to show; `code` is the exit code."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "exchanges",
        help="captured Camel exchanges of an environment: list, show, failures",
        description="Reads the traces the sidecars captured (already redacted) through the "
        "control plane's API. The token is $CAMELOPS_TOKEN unless --token is given.",
    )
    actions = parser.add_subparsers(dest="exchanges_command", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="exchanges, newest first, one page")
    _common(listing)
    listing.add_argument("--integration")
    listing.add_argument("--route", help="the route the exchange entered (route id)")
    listing.add_argument("--status", choices=STATUSES)
    listing.add_argument("--exchange-id")
    listing.add_argument("--since", help="ISO 8601 time, e.g. 2026-11-30T10:00:00Z")
    listing.add_argument("--until", help="ISO 8601 time (exclusive)")
    _paging(listing)
    listing.set_defaults(func=run_list)
    failures = actions.add_parser("failures", help="failed exchanges, newest first, one page")
    _common(failures)
    failures.add_argument("--integration")
    _paging(failures)
    failures.set_defaults(func=run_failures)
    show = actions.add_parser("show", help="one exchange: headers, body, node timeline")
    show.add_argument("exchange_id", metavar="EXCHANGE_ID")
    _common(show)
    show.set_defaults(func=run_show)


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--server", required=True, help="control plane URL, e.g. https://cp:8080")
    parser.add_argument("--token", help="API token (default: $CAMELOPS_TOKEN)")
    parser.add_argument("--ca-file", type=Path, help="CA certificate of an https --server")
    parser.add_argument("--project", required=True)
    parser.add_argument("--env", required=True, help="environment name")
    parser.add_argument("--format", choices=FORMATS, default="table")


def _paging(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--limit", type=int, default=50, help="rows per page (1..500)")
    parser.add_argument("--cursor", help="the `next` cursor a previous page printed")


def _env_url(args: argparse.Namespace, tail: str, query: dict[str, Any] | None = None) -> str:
    server = str(args.server).rstrip("/")
    if not server.startswith(("http://", "https://")):
        raise ClientError("--server must be an http(s) URL", EXIT_INVALID)
    quote = urllib.parse.quote
    path = (
        f"/api/v1/projects/{quote(args.project, safe='')}"
        f"/environments/{quote(args.env, safe='')}/{tail}"
    )
    kept = {k: v for k, v in (query or {}).items() if v is not None}
    return server + path + ("?" + urllib.parse.urlencode(kept) if kept else "")


def _get(args: argparse.Namespace, url: str) -> Any:
    token = args.token or args.settings.secrets.api_token
    if not token:
        raise ClientError("no API token: set $CAMELOPS_TOKEN (or pass --token)", EXIT_INVALID)
    context = None
    if url.startswith("https://"):
        cafile = str(args.ca_file) if args.ca_file else None
        try:
            context = ssl.create_default_context(cafile=cafile)
        except (OSError, ssl.SSLError) as exc:
            raise ClientError(f"--ca-file {args.ca_file}: {exc}", EXIT_INVALID) from None
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked in _env_url
        url, headers={"Authorization": f"Bearer {token}", "Accept": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30, context=context) as response:  # noqa: S310
            body = response.read(_MAX_ANSWER)
    except urllib.error.HTTPError as exc:
        raise ClientError(_refusal(exc), EXIT_INVALID if exc.code < 500 else EXIT_ERROR) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ClientError(f"cannot reach {args.server}: {reason}", EXIT_ERROR) from None
    try:
        return json.loads(body)
    except ValueError:
        raise ClientError(f"{args.server} did not answer JSON", EXIT_ERROR) from None


def _refusal(exc: urllib.error.HTTPError) -> str:
    """The API's own message (`error`, or a problem document's `detail`/`title`)."""
    try:
        document = json.loads(exc.read(64 * 1024))
    except ValueError:
        document = {}
    message = ""
    if isinstance(document, dict):
        message = str(document.get("detail") or document.get("error") or document.get("title"))
    hint = " (check $CAMELOPS_TOKEN)" if exc.code == 401 else ""
    return f"HTTP {exc.code}: {message or exc.reason}{hint}"


def _run(args: argparse.Namespace, fetch: Any) -> int:
    label = f"camelops exchanges {args.exchanges_command}"
    try:
        print(fetch(args))
    except ClientError as exc:
        print(f"{label}: {exc}", file=sys.stderr)
        return exc.code
    return EXIT_OK


def run_list(args: argparse.Namespace) -> int:
    def fetch(args: argparse.Namespace) -> str:
        query = {
            "integration": args.integration,
            "route": args.route,
            "status": args.status,
            "exchangeId": args.exchange_id,
            "since": args.since,
            "until": args.until,
            "limit": args.limit,
            "cursor": args.cursor,
        }
        return _page(args, _get(args, _env_url(args, "exchanges", query)))

    return _run(args, fetch)


def run_failures(args: argparse.Namespace) -> int:
    def fetch(args: argparse.Namespace) -> str:
        query = {"integration": args.integration, "limit": args.limit, "cursor": args.cursor}
        return _page(args, _get(args, _env_url(args, "failures", query)))

    return _run(args, fetch)


def run_show(args: argparse.Namespace) -> int:
    def fetch(args: argparse.Namespace) -> str:
        exchange = urllib.parse.quote(args.exchange_id, safe="")
        detail = _get(args, _env_url(args, f"exchanges/{exchange}"))
        return json.dumps(detail, indent=2) if args.format == "json" else detail_table(detail)

    return _run(args, fetch)


def _page(args: argparse.Namespace, page: dict[str, Any]) -> str:
    if args.format == "json":
        return json.dumps(page, indent=2)
    text = summary_table(page.get("exchanges", []))
    if page.get("next"):
        text += f"\nmore: --cursor {page['next']}"
    return text


def table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(c)) for c in column) for column in zip(header, *rows, strict=True)]
    lines = [header, *rows]
    return "\n".join(
        "  ".join(str(cell).ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        for line in lines
    )


def _cause(row: dict[str, Any]) -> str:
    kind = str(row.get("exceptionType", "")).rpartition(".")[2]
    message = str(row.get("exceptionMessage", "")).splitlines()[0:1]
    text = f"{kind}: {message[0]}" if kind and message else kind
    return text if len(text) <= 80 else text[:77] + "..."


def summary_table(rows: Sequence[dict[str, Any]]) -> str:
    if not rows:
        return "no exchanges"
    header = ("STARTED", "EXCHANGE", "INTEGRATION", "ROUTE", "STATUS", "MS", "FAILED AT", "CAUSE")
    return table(
        header,
        [
            (
                str(r["startedAt"]),
                str(r["exchangeId"]),
                str(r["integration"]),
                str(r["routeId"]),
                str(r["status"]),
                str(r["elapsedMs"]),
                str(r["failedNode"]),
                _cause(r),
            )
            for r in rows
        ],
    )


def detail_table(detail: dict[str, Any]) -> str:
    fields = [
        ("exchange", detail["exchangeId"]),
        ("integration", detail["integration"]),
        ("route", detail["routeId"]),
        ("status", detail["status"]),
        ("started", detail["startedAt"]),
        ("elapsed", f"{detail['elapsedMs']} ms"),
    ]
    if detail.get("failedNode"):
        fields.append(("failed at", detail["failedNode"]))
        fields.append(("exception", f"{detail['exceptionType']}: {detail['exceptionMessage']}"))
    fields.append(("replayable", "yes" if detail.get("replayable") else "no"))
    text = "\n".join(f"{name + ':':<13}{value}" for name, value in fields)
    headers = detail.get("headers") or {}
    if headers:
        text += "\n\nheaders:\n" + "\n".join(f"  {k}: {v}" for k, v in sorted(headers.items()))
    cut = " (truncated)" if detail.get("bodyTruncated") else ""
    text += f"\n\nbody{cut}:\n{detail.get('body', '')}\n\n"
    nodes = [
        (
            str(n["seq"]),
            str(n["routeId"]),
            str(n["nodeId"]),
            str(n["nodeName"]),
            str(n["elapsedMs"]),
            "FAILED" if n["failed"] else "",
            str(n["endpointUri"]),
        )
        for n in detail.get("nodes", [])
    ]
    header = ("#", "ROUTE", "NODE", "PROCESSOR", "MS", "", "ENDPOINT")
    return text + (table(header, nodes) if nodes else "no node timeline")
