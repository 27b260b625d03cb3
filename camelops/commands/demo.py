"""`camelops demo` (what `make run` starts): the whole platform on this machine, under one
directory, with the example repository's `local` environment running as Camel processes."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from camelops.cli_support import EXIT_ERROR, EXIT_OK, Subparsers
from camelops.demo.stack import DemoError, DemoStack
from camelops.demo.state import PORTAL_USER, PROJECT, DemoState, load_or_create


def register(subparsers: Subparsers) -> None:
    parser = subparsers.add_parser(
        "demo",
        help="run the control plane, a Git repository and a local runner on this machine",
        description="Starts, under --root: `camelops serve` (SQLite + chDB), a bare Git "
        "repository seeded from the example with the post-receive hook, and a runner on the "
        "local driver registered with a one-time token. Prints the URLs; Ctrl-C stops "
        "everything; running it again resumes from the saved state.",
    )
    parser.add_argument("--root", type=Path, default=Path(".camelops"))
    parser.add_argument("--camel-home", type=Path, default=Path(".cache/camel-app"))
    parser.add_argument("--example", type=Path, default=Path("examples/repo-layout"))
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if not (args.camel_home / "lib").is_dir():
        print(
            f"camelops demo: no Camel runtime in {args.camel_home}: run `make camel-app`",
            file=sys.stderr,
        )
        return EXIT_ERROR
    if not (args.example / "camelops.yaml").is_file():
        print(f"camelops demo: {args.example} is not a camelops repository", file=sys.stderr)
        return EXIT_ERROR
    state = load_or_create(args.root.resolve())
    stack = DemoStack(state, args.camel_home, args.example, say=_say)
    stop = threading.Event()

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, on_signal)
    try:
        stack.start()
        stack.wait_serving()
        print(summary(state), flush=True)
        while not stop.wait(1.0):
            if problem := stack.failed():
                raise DemoError(problem)
    except DemoError as exc:
        print(f"camelops demo: {exc}", file=sys.stderr)
        return EXIT_ERROR
    finally:
        _say("stopping (runner and its Camel processes, then the control plane)")
        stack.stop()
    return EXIT_OK


def _say(text: str) -> None:
    print(f"camelops demo: {text}", flush=True)


def summary(state: DemoState) -> str:
    token_file = state.control_dir / "admin-token"
    return f"""
camelops is running (Ctrl-C stops everything; `make run` again resumes).

  portal        {state.portal_url}   login {PORTAL_USER}, password: cat {state.portal_login_file}
  API           {state.api_url}/api/v1/projects   (OpenAPI: {state.api_url}/api/v1/openapi.json)
  admin token   {token_file}
                curl -H "Authorization: Bearer $(cat {token_file})" \\
                  {state.api_url}/api/v1/projects/{PROJECT}
  Git           git clone {state.bare_repo} {PROJECT} && cd {PROJECT}
                # edit integrations/orders-api/routes/orders-api.camel.yaml, then
                git commit -am "change the orders route" && git push
  orders-api    curl -X POST -H 'Content-Type: application/json' \\
                  -d '{{"items":[{{"sku":"a"}}]}}' {state.orders_url}
  logs          {state.logs}/  and the Camel processes' under {state.runner_dir}/local/
"""
