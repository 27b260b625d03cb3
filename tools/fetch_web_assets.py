"""Fetch the pinned browser assets from npm: htmx for the portal, axe-core for its tests.

htmx (npm `htmx.org`) 2.0.x: the 2 line is the mature one and its poll, swap and trigger
semantics are what the portal's templates use; htmx 4 reworked requests on fetch(), made
attribute inheritance explicit and changed how a poll is stopped (no status 286), so moving
to it is a deliberate migration, not a version bump. The file and its license are copied to
portal/static/vendor/ (served at /static/vendor/). axe-core goes to <cache>/web/ only: the
browser tests inject it; it is never served. Idempotent: tarballs are cached.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tarfile
from pathlib import Path

HTMX = ("htmx.org", "2.0.11", {"package/dist/htmx.min.js": "htmx.min.js",
                                "package/LICENSE": "htmx.LICENSE"})  # fmt: skip
AXE = ("axe-core", "4.14.1", {"package/axe.min.js": "axe.min.js",
                              "package/LICENSE": "axe.LICENSE"})  # fmt: skip


def fetch(package: str, version: str, cache: Path) -> Path:
    cache.mkdir(parents=True, exist_ok=True)
    tarball = cache / f"{package.replace('/', '-').lstrip('@')}-{version}.tgz"
    if not tarball.exists():
        subprocess.run(
            ["npm", "pack", f"{package}@{version}", "--pack-destination", str(cache), "--silent"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return tarball


def extract(tarball: Path, files: dict[str, str], into: Path) -> None:
    into.mkdir(parents=True, exist_ok=True)
    with tarfile.open(tarball) as archive:
        for member, name in files.items():
            source = archive.extractfile(member)
            if source is None:
                raise SystemExit(f"{tarball.name} has no {member}")
            with source, (into / name).open("wb") as target:
                shutil.copyfileobj(source, target)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--cache", type=Path, default=Path(".cache/npm"))
    parser.add_argument("--static", type=Path, default=Path("portal/static/vendor"))
    parser.add_argument("--test-assets", type=Path, default=Path(".cache/web"))
    args = parser.parse_args()
    for (package, version, files), into in ((HTMX, args.static), (AXE, args.test_assets)):
        extract(fetch(package, version, args.cache), files, into)
        (into / f"{package}.version").write_text(version + "\n")
    (args.static / ".stamp").touch()


if __name__ == "__main__":
    main()
