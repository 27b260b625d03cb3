"""`make mutate`: mutation testing (mutmut) of the modules where a silent bug costs most.

One group at a time, each with only the tests that cover it, in its own scratch directory under
.cache/mutate/<group> (mutmut reads its settings from the pyproject.toml of the directory it runs
in, and copies the mutated packages next to it). Prints, per module: mutants, killed, survived,
and the names of the survivors (`.venv/bin/mutmut show NAME` in that directory shows the diff).

    python -m tools.mutate                 # every group
    python -m tools.mutate redaction pki   # some groups
"""

from __future__ import annotations

import argparse
import fnmatch
import json
import os
import shutil
import subprocess
import sys
import tomllib
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WORK = REPO / ".cache" / "mutate"
PACKAGES = ("camelops", "schema", "renderers", "reconciler", "tunnel", "runner", "telemetry")


@dataclass(frozen=True)
class Group:
    name: str
    modules: tuple[str, ...]  # files to mutate
    tests: tuple[str, ...]  # the tests that cover them (and nothing slower)
    only: tuple[str, ...] = ()  # mutant name patterns, when a module is larger than its risk


def functions(module: str, *names: str) -> tuple[str, ...]:
    """Mutant name patterns for some functions of a module (`Class.method` or `function`)."""
    patterns = []
    for name in names:
        cls, _, method = name.rpartition(".")
        mangled = f"xǁ{cls}ǁ{method}" if cls else f"x_{method}"
        patterns.append(f"{module}.{mangled}__mutmut_*")
    return tuple(patterns)


# Fast covering tests only: mutmut runs them once per mutant (a TLS or Kubernetes test costs
# seconds each time). Where a module is larger than its risk, only the risky functions.
GROUPS = (
    Group(
        "inventory",
        ("runner/drivers/kubernetes/inventory.py",),
        ("tests/unit/runner/test_diff_inventory.py",),
    ),
    Group(
        "prune",
        ("runner/drivers/kubernetes/prune.py",),
        (
            "tests/e2e/k8s/test_prune_safety.py",
            "tests/e2e/k8s/test_apply_prune.py",
            "-k",
            "not test_first_apply",
        ),
    ),
    Group(
        "redaction",
        ("telemetry/sidecar/redact.py",),
        ("tests/unit/telemetry/test_redact.py", "tests/unit/telemetry/test_capture.py"),
    ),
    Group(
        "delivery",
        ("tunnel/session.py", "tunnel/connection.py"),
        (
            "tests/unit/tunnel/test_session.py",
            "tests/integration/tunnel/test_delivery_faults.py",
            "tests/integration/tunnel/test_inbound_limits.py",
            "tests/integration/tunnel/test_hostile_frames.py::"
            "test_a_repeat_of_the_first_message_after_its_ack_is_acked_again_not_applied",
        ),
        # acks, resend and dedup; not the handshake, reader plumbing or writer batching
        functions("tunnel.connection", "Link._accept", "Link._on_protocol", "Link._flush_acks")
        + functions("tunnel.session", "PeerState.ack", "PeerState.apply_peer_hello"),
    ),
    Group(
        "webhook-tokens",
        ("reconciler/api/hooks.py", "reconciler/api/auth.py", "tunnel/pki/tokens.py"),
        (
            "tests/integration/reconciler/test_webhooks.py",
            "tests/unit/reconciler/test_webhook_timestamp_window.py",
            "tests/unit/tunnel/test_pki.py",
        ),
        functions("reconciler.api.hooks", "_verify", "_check_generic", "_require")
        + functions("tunnel.pki.tokens", "parse_token", "fingerprints_match"),
    ),
    Group(
        "pki",
        ("tunnel/pki/service.py", "tunnel/pki/store.py"),
        (
            "tests/unit/tunnel/test_pki.py",
            "tests/integration/tunnel/test_mtls.py",
            "-k",
            "not rotation and not tls_1_2 and not plain_tcp and not outbox",
        ),
        functions("tunnel.pki.service", "ControlPlanePki.register",
                  "ControlPlanePki.connection_refusal")
        + functions("tunnel.pki.store", "SqlitePkiStore.consume_token",
                    "SqlitePkiStore.is_revoked"),
    ),
    Group(
        "sealing",
        ("reconciler/secrets/sealing.py", "reconciler/secrets/envelope.py"),
        ("tests/unit/reconciler/test_sealing.py", "tests/unit/reconciler/test_store.py"),
    ),
)  # fmt: skip


def prepare(group: Group) -> Path:
    """A scratch directory: links to the packages, the tests, and a pyproject.toml that is
    ours plus the group's mutmut settings."""
    work = WORK / group.name
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    for name in (*PACKAGES, "tests", "tools", "examples"):
        (work / name).symlink_to(REPO / name, target_is_directory=True)
    packages = sorted({module.split("/")[0] for module in group.modules})
    settings = {
        "source_paths": packages,
        "only_mutate": list(group.modules),
        "pytest_add_cli_args_test_selection": list(group.tests),
        "pytest_add_cli_args": ["-p", "no:cacheprovider", "-q"],
        "use_git_change_detection": False,
        # a mutant that hangs a connection is killed after a few times the test's own duration
        "timeout_multiplier": 3.0,
        "timeout_constant": 10.0,
    }
    lines = [f"{key} = {json.dumps(value)}" for key, value in settings.items()]
    pyproject = (REPO / "pyproject.toml").read_text()
    (work / "pyproject.toml").write_text(pyproject + "\n[tool.mutmut]\n" + "\n".join(lines) + "\n")
    tomllib.loads((work / "pyproject.toml").read_text())  # still valid TOML
    return work


def mutmut(work: Path, *args: str) -> subprocess.CompletedProcess[str]:
    command = [str(REPO / ".venv" / "bin" / "mutmut"), *args]
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(command, cwd=work, env=env, text=True, capture_output=True, check=False)


def results(work: Path) -> dict[str, str]:
    """mutant name -> status (killed, survived, timeout, no tests, ...)."""
    listed = mutmut(work, "results", "--all", "true")
    found = {}
    for line in listed.stdout.splitlines():
        name, sep, status = line.strip().rpartition(": ")
        if sep and "__mutmut_" in name:
            found[name] = status
    return found


def module_of(mutant: str) -> str:
    return mutant.split(".x", 1)[0].split(".x_", 1)[0]


def run(group: Group) -> dict[str, Counter[str]]:
    work = prepare(group)
    print(f"== {group.name}: {', '.join(group.modules)}", flush=True)
    done = mutmut(work, "run", "--max-children", "1", *group.only)
    if done.returncode != 0:
        print(done.stdout[-3000:], done.stderr[-3000:], sep="\n")
    by_module: dict[str, Counter[str]] = {}
    survivors: list[str] = []
    for name, status in sorted(results(work).items()):
        if group.only and not any(fnmatch.fnmatch(name, pattern) for pattern in group.only):
            continue
        by_module.setdefault(module_of(name), Counter())[status] += 1
        if status != "killed":
            survivors.append(f"{name}: {status}")
    for module, counts in sorted(by_module.items()):
        total = sum(counts.values())
        print(f"{module}: {total} mutants, {counts['killed']} killed, "
              f"{total - counts['killed']} not killed {dict(counts)}")  # fmt: skip
    for line in survivors:
        print("  " + line)
    return by_module


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("groups", nargs="*", help=", ".join(g.name for g in GROUPS))
    chosen = parser.parse_args(argv).groups
    unknown = set(chosen) - {g.name for g in GROUPS}
    if unknown:
        parser.error(f"unknown group(s): {', '.join(sorted(unknown))}")
    by_name = {g.name: g for g in GROUPS}
    for name in chosen or by_name:
        run(by_name[name])
    return 0


if __name__ == "__main__":
    sys.exit(main())
