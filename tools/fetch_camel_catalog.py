"""Fetch the pinned @kaoto/camel-catalog npm package and extract what validation needs.

Writes, per Camel Main version in the package, the YAML DSL JSON Schema, the camel-xml-io XSD, a
trimmed component index (scheme -> path parameters and endpoint options with their types and enums,
API-method options included) and the Kamelet index (name -> properties, required ones) under
schema/catalog/data/<version>/, plus the package's license notice. Idempotent: the npm tarball is
cached under .cache/npm.
"""

from __future__ import annotations

import argparse
import hashlib
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


def _option(spec: dict[str, Any]) -> dict[str, Any]:
    """What a check of one option value needs: its type, its enum, whether Java holds a String."""
    record: dict[str, Any] = {"type": spec.get("type", "string")}
    if spec.get("enum"):
        record["enum"] = [str(v) for v in spec["enum"]]
    if spec.get("javaType") == "java.lang.String":
        record["javaString"] = True
    return record


def _api_options(entry: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Options of the API methods (as2, box, ...): real endpoint options, listed per method."""
    found: dict[str, dict[str, Any]] = {}
    for api in (entry.get("apiProperties") or {}).values():
        for method in api.get("methods", {}).values():
            for name, spec in method.get("properties", {}).items():
                found.setdefault(name, _option(spec))
    return found


def trim_components(components: dict[str, Any]) -> dict[str, Any]:
    """scheme -> options (type, enum), path parameters, multi-value prefixes, lenient flag."""
    out: dict[str, Any] = {}
    for name, entry in sorted(components.items()):
        head = entry["component"]
        properties = entry.get("properties", {})
        path = sorted(
            (k for k, v in properties.items() if v.get("kind") == "path"),
            key=lambda k: int(properties[k].get("index", 0)),
        )
        options = _api_options(entry)
        options.update({k: _option(v) for k, v in properties.items() if v.get("kind") != "path"})
        record = {
            "options": dict(sorted(options.items())),
            "path": [{"name": k, **_option(properties[k])} for k in path],
            "requiredPath": [k for k in path if properties[k].get("required")],
            "prefixes": sorted({v["prefix"] for v in properties.values() if v.get("prefix")}),
            "lenient": bool(head.get("lenientProperties")),
            "api": bool(head.get("api")),
            "syntax": head.get("syntax", ""),
        }
        schemes = {head.get("scheme", name), *str(head.get("alternativeSchemes") or "").split(",")}
        for scheme in sorted(s for s in schemes if s):
            out[scheme] = record
    return out


def trim_kamelets(kamelets: dict[str, Any]) -> dict[str, Any]:
    """Kamelet name -> its property names and the required ones (what a reference is checked on)."""
    out: dict[str, Any] = {}
    for name, entry in sorted(kamelets.items()):
        definition = entry.get("spec", {}).get("definition", {})
        out[name] = {
            "properties": sorted(definition.get("properties", {})),
            "required": sorted(definition.get("required", [])),
        }
    return out


def write_version(src: Path, dest: Path) -> str:
    index = json.loads(next(src.glob("index-*.json")).read_text())
    dest.mkdir(parents=True, exist_ok=True)
    yaml_dsl = src / index["schemas"]["camelYamlDsl"]["file"]
    shutil.copyfile(yaml_dsl, dest / "camelYamlDsl.json")
    shutil.copyfile(next(src.glob("camel-xml-io-*.xsd")), dest / "camel-xml-io.xsd")
    components = json.loads((src / index["catalogs"]["components"]["file"]).read_text())
    (dest / "components.json").write_text(json.dumps(trim_components(components), sort_keys=True))
    kamelets = json.loads(next(src.glob("kamelets-aggregate-*.json")).read_text())
    (dest / "kamelets.json").write_text(json.dumps(trim_kamelets(kamelets), sort_keys=True))
    return str(index["version"])


def file_digests(folder: Path) -> dict[str, str]:
    return {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.iterdir())
    }


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
    manifest = {
        "package": PACKAGE,
        "packageVersion": args.version,
        "camelVersions": versions,
        # what names the entries derived from these files (schema/camel/catalog.py: _published)
        "sha256": {version: file_digests(args.out / version) for version in versions},
    }
    (args.out / "catalog.json").write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    (args.out / ".stamp").write_text(args.version + "\n")
    print(f"camel catalog {args.version}: Camel Main {', '.join(versions)} -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
