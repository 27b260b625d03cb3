"""Camel's own verdict on YAML route files: its YAML DSL loader, run by the test-only harness in
examples/camel-oracle (`make camel-oracle`) in one JVM, into a CamelContext that is never started.

Used by the differential tests and by `camelops validate --camel`. Needs a Java runtime (17+) and
the built harness; `OracleUnavailableError` says which is missing and how to get it.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

ORACLE_ENV = "CAMELOPS_CAMEL_ORACLE"
DEFAULT_HOME = Path(__file__).resolve().parents[2] / ".cache" / "camel-oracle"
MAIN_CLASS = "io.camelops.oracle.Oracle"
_LINE = re.compile(r"line (\d+), column (\d+)")


class OracleUnavailableError(RuntimeError):
    """No JVM or no built harness: the message says what to install or build."""


@dataclass(frozen=True, slots=True)
class Verdict:
    path: str
    accepted: bool
    message: str = ""

    @property
    def line(self) -> int:
        """The line Camel names in its message (0 when it names none)."""
        found = _LINE.search(self.message)
        return int(found.group(1)) if found else 0

    @property
    def col(self) -> int:
        found = _LINE.search(self.message)
        return int(found.group(2)) if found else 0


def oracle_home() -> Path:
    return Path(os.environ.get(ORACLE_ENV) or DEFAULT_HOME)


def java_command() -> list[str]:
    """The JVM and classpath that run the harness (absolute path: no PATH lookup at run time)."""
    home = oracle_home()
    java = shutil.which("java")
    if java is None:
        raise OracleUnavailableError(
            "--camel needs a Java runtime (17 or newer) on PATH to run Camel's own loader"
        )
    if not (home / "camel-oracle.jar").is_file():
        raise OracleUnavailableError(
            f"--camel needs Camel's loader harness, not found in {home}: run `make camel-oracle` "
            f"(or point {ORACLE_ENV} at a built copy)"
        )
    classpath = f"{home / 'camel-oracle.jar'}{os.pathsep}{home / 'lib' / '*'}"
    return [java, "-Xshare:auto", "-XX:TieredStopAtLevel=1", "-cp", classpath, MAIN_CLASS]


def judge(groups: list[list[Path]], timeout: float = 600.0) -> dict[str, Verdict]:
    """Camel's verdict per file; each group is one CamelContext (the files of one integration)."""
    files = [str(p) for group in groups for p in group]
    if any("\n" in f or "\r" in f for f in files):
        raise ValueError("file names with line breaks cannot be passed to the harness")
    request = "\n\n".join("\n".join(str(p) for p in group) for group in groups if group) + "\n"
    # the command is ours (java_command); the file names travel on stdin, never as arguments
    result = subprocess.run(  # noqa: S603
        java_command(),
        input=request,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    verdicts: dict[str, Verdict] = {}
    for line in result.stdout.splitlines():
        status, _, rest = line.partition("\t")
        path, _, message = rest.partition("\t")
        if status in ("OK", "ERR"):
            verdicts[path] = Verdict(path, status == "OK", message)
    missing = [f for f in files if f not in verdicts]
    if missing:
        raise OracleUnavailableError(
            f"Camel's loader harness gave no verdict for {len(missing)} files "
            f"(exit {result.returncode}): {result.stderr.strip()[-500:]}"
        )
    return verdicts
