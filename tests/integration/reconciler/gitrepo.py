"""Real Git repositories for reconciler tests: a working clone pushing to a local bare repo."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

PROJECT = """\
apiVersion: camelops.io/v1alpha1
kind: Project
metadata:
  name: shop
spec:
  camel:
    version: 4.18.4
  environments:
    - name: dev
      runner: dev-runner
      namespace: shop-dev
    - name: prod
      runner: prod-runner
      namespace: shop-prod
{previews}"""

INTEGRATION = """\
apiVersion: camelops.io/v1alpha1
kind: Integration
metadata:
  name: orders
spec:
  routes: ["routes/*.camel.yaml"]
"""

ROUTE = """\
- route:
    id: tick
    from:
      uri: timer:tick
      parameters:
        period: {period}
      steps:
        - log:
            message: hello
"""


def base_files(period: int = 1000, previews: str = "") -> dict[str, str]:
    return {
        "camelops.yaml": PROJECT.format(previews=previews),
        "integrations/orders/integration.yaml": INTEGRATION,
        "integrations/orders/routes/main.camel.yaml": ROUTE.format(period=period),
    }


class GitRepo:
    """A working tree `work/` whose `origin` is the bare repository `origin.git`."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.bare = root / "origin.git"
        self.work = root / "work"
        root.mkdir(parents=True, exist_ok=True)
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("GIT_")},
            "HOME": str(root),
            "GIT_CONFIG_NOSYSTEM": "1",
            "GIT_AUTHOR_NAME": "Ada Dev",
            "GIT_AUTHOR_EMAIL": "ada@example.com",
            "GIT_COMMITTER_NAME": "Ada Dev",
            "GIT_COMMITTER_EMAIL": "ada@example.com",
        }
        self.git("init", "-q", "--bare", "-b", "main", str(self.bare), cwd=root)
        self.git("init", "-q", "-b", "main", str(self.work), cwd=root)
        self.git("remote", "add", "origin", str(self.bare))

    def git(self, *args: str, cwd: Path | None = None) -> str:
        done = subprocess.run(
            ["git", *args],
            cwd=cwd or self.work,
            env=self.env,
            check=True,
            capture_output=True,
            text=True,
        )
        return done.stdout.strip()

    def write(self, files: dict[str, str]) -> None:
        for rel, text in files.items():
            path = self.work / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text)

    def commit(self, files: dict[str, str], message: str = "change") -> str:
        self.write(files)
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message)
        return self.git("rev-parse", "HEAD")

    def push(self, refspec: str = "main", *, force: bool = False) -> None:
        self.git("push", "-q", *(["--force"] if force else []), "origin", refspec)

    def head(self) -> str:
        return self.git("rev-parse", "HEAD")
