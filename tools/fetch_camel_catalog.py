"""Fetch the pinned @kaoto/camel-catalog npm package and extract what validation needs.

Writes, per Camel Main version in the package, the YAML DSL JSON Schema, the camel-xml-io XSD and a
trimmed component index (scheme -> endpoint option names) under schema/catalog/data/<version>/,
plus the package's license notice. Idempotent: the npm tarball is cached under .cache/npm.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

PACKAGE = "@kaoto/camel-catalog"
RUNTIME_DIR = "package/dist/camel-catalog/camel-main/"
STARTERS_DIR = "package/dist/camel-catalog/starter-templates/"
EXTRACT_LAYOUT = 2  # bump when `wanted` changes so cached extracts are refreshed


def fetch_tarball(version: str, cache: Path) -> Path:
    cache.mkdir(parents=True, exist_ok=True)
    tarball = cache / f"kaoto-camel-catalog-{version}.tgz"
    if not tarball.exists():
        subprocess.run(
            ["npm", "pack", f"{PACKAGE}@{version}", "--pack-destination", str(cache), "--silent"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    return tarball


def wanted(name: str) -> bool:
    if name in {"package/LICENSE", "package/package.json"}:
        return True
    if name.startswith(STARTERS_DIR):
        return True
    if not name.startswith(RUNTIME_DIR):
        return False
    base = name.rsplit("/", 1)[-1]
    # kamelets-aggregate: 250 real published Camel routes the test suite validates without errors
    wanted_prefixes = ("index-", "camelYamlDsl-", "camel-xml-io-", "camel-catalog-aggregate-")
    return base.startswith((*wanted_prefixes, "kamelets-aggregate-"))


def extract(tarball: Path, into: Path) -> None:
    with tarfile.open(tarball) as archive:
        members = [m for m in archive.getmembers() if m.isfile() and wanted(m.name)]
        archive.extractall(into, members=members, filter="data")


def trim_components(components: dict[str, Any]) -> dict[str, Any]:
    """scheme -> option names, multi-value prefixes, lenient flag (all validation uses)."""
    out: dict[str, Any] = {}
    for name, entry in sorted(components.items()):
        head = entry["component"]
        properties = entry.get("properties", {})
        record = {
            "options": sorted(k for k, v in properties.items() if v.get("kind") != "path"),
            "prefixes": sorted({v["prefix"] for v in properties.values() if v.get("prefix")}),
            "lenient": bool(head.get("lenientProperties")),
            "syntax": head.get("syntax", ""),
        }
        schemes = {head.get("scheme", name), *str(head.get("alternativeSchemes") or "").split(",")}
        for scheme in sorted(s for s in schemes if s):
            out[scheme] = record
    return out


def write_version(src: Path, dest: Path) -> str:
    index = json.loads(next(src.glob("index-*.json")).read_text())
    dest.mkdir(parents=True, exist_ok=True)
    yaml_dsl = src / index["schemas"]["camelYamlDsl"]["file"]
    shutil.copyfile(yaml_dsl, dest / "camelYamlDsl.json")
    shutil.copyfile(next(src.glob("camel-xml-io-*.xsd")), dest / "camel-xml-io.xsd")
    components = json.loads((src / index["catalogs"]["components"]["file"]).read_text())
    (dest / "components.json").write_text(json.dumps(trim_components(components), sort_keys=True))
    return str(index["version"])


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--version", required=True)
    parser.add_argument("--cache", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    tarball = fetch_tarball(args.version, args.cache)
    unpacked = args.cache / f"camel-catalog-{args.version}-x{EXTRACT_LAYOUT}"
    if not (unpacked / "package" / "package.json").exists():
        extract(tarball, unpacked)
    if args.out.exists():
        shutil.rmtree(args.out)
    args.out.mkdir(parents=True)
    versions = []
    for src in sorted((unpacked / RUNTIME_DIR).iterdir()):
        if "redhat" in src.name:  # productised builds share the upstream schema; keep upstream only
            continue
        versions.append(write_version(src, args.out / src.name))
        kamelets = next(src.glob("kamelets-aggregate-*.json"))
        shutil.copyfile(kamelets, args.cache / f"kamelets-{src.name}.json")
    shutil.copyfile(unpacked / "package" / "LICENSE", args.out / "LICENSE")
    manifest = {"package": PACKAGE, "packageVersion": args.version, "camelVersions": versions}
    (args.out / "catalog.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    (args.out / ".stamp").write_text(args.version + "\n")
    print(f"camel catalog {args.version}: Camel Main {', '.join(versions)} -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
