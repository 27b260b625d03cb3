"""The project's own Kamelets (`*.kamelet.yaml` in an integration's directory): a route may use
them by name exactly like the Kamelets of the pinned catalog."""

from __future__ import annotations

from schema.camel.catalog import KameletInfo
from schema.diagnostics import Diagnostic, InvalidFileError
from schema.repo_files import RepoFiles
from schema.yaml_loader import load_yaml

KAMELET_SUFFIX = ".kamelet.yaml"


def project_kamelets(
    files: RepoFiles, directory: str
) -> tuple[dict[str, KameletInfo], list[Diagnostic]]:
    """Name -> properties of each Kamelet file under the integration directory (the name is the
    file name, as Camel's Kamelet loader resolves `kamelet:<name>` to `<name>.kamelet.yaml`)."""
    found: dict[str, KameletInfo] = {}
    problems: list[Diagnostic] = []
    for rel in files.glob(directory, f"**/*{KAMELET_SUFFIX}"):
        name = rel.rsplit("/", 1)[-1].removesuffix(KAMELET_SUFFIX)
        try:
            data = load_yaml(files.read_text(rel), rel, files.limits).data
        except InvalidFileError as exc:
            problems += exc.diagnostics
            continue
        spec = data.get("spec") if isinstance(data, dict) else None
        definition = spec.get("definition") if isinstance(spec, dict) else None
        definition = definition if isinstance(definition, dict) else {}
        properties = definition.get("properties")
        required = definition.get("required")
        found[name] = KameletInfo(
            frozenset(str(p) for p in properties) if isinstance(properties, dict) else frozenset(),
            tuple(str(r) for r in required) if isinstance(required, list) else (),
        )
    return found, problems
