"""`camelops runner manifests`: print the runner's install manifests for `kubectl apply -f -`."""

from __future__ import annotations

import argparse
import sys

import yaml

from camelops.cli_support import EXIT_ERROR, EXIT_INVALID, EXIT_OK, Subparsers
from runner.drivers.kubernetes.manifests import (
    DEFAULT_IMAGE,
    ManifestOptionError,
    runner_manifests,
)


def _runner_actions(subparsers: Subparsers) -> Subparsers:
    """The `runner` group's sub-commands; another module may have created the group already."""
    runner = subparsers.choices.get("runner")
    if runner is None:
        runner = subparsers.add_parser("runner", help="the runner")
    for action in runner._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action
    return runner.add_subparsers(dest="runner_command", metavar="ACTION")


def register(subparsers: Subparsers) -> None:
    parser = _runner_actions(subparsers).add_parser(
        "manifests",
        help="print the runner's install manifests (ServiceAccount, least-privilege RBAC, PVC, "
        "Deployment)",
        description="Print YAML for `kubectl apply -f -`: the runner may manage only the kinds "
        "integrations render to, only in the --manage namespaces.",
    )
    parser.add_argument("--namespace", default="camelops-system", help="where the runner runs")
    parser.add_argument(
        "--manage", action="append", required=True, metavar="NAMESPACE",
        help="a namespace the runner deploys integrations to (repeat for several)",
    )  # fmt: skip
    parser.add_argument(
        "--image",
        default=DEFAULT_IMAGE,
        help=f"the camelops image reference (default {DEFAULT_IMAGE})",
    )
    parser.add_argument("--storage", default="1Gi", help="size of the runner's state volume")
    parser.add_argument(
        "--previews", action="store_true",
        help="let the runner create and delete preview namespaces (pr-<n>, labelled as "
        "previews) and nothing else: RBAC bounded by a ValidatingAdmissionPolicy",
    )  # fmt: skip
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        objs = runner_manifests(
            namespace=args.namespace,
            managed=args.manage,
            image=args.image,
            storage=args.storage,
            previews=args.previews,
        )
    except ManifestOptionError as exc:
        print(f"camelops runner manifests: {exc}", file=sys.stderr)
        return EXIT_INVALID
    try:
        sys.stdout.write(yaml.safe_dump_all(objs, sort_keys=True, explicit_start=True))
    except BrokenPipeError:  # e.g. piped into `head`
        return EXIT_ERROR
    return EXIT_OK
