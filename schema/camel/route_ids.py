"""Start-up checks Camel makes over all route files of one integration (one CamelContext).

Camel refuses to start when two routes share an id, when two route configurations (or two rest
definitions) share one, and when a route names a `routeConfigurationId` that no route configuration
defines. Each file passes on its own, so only a look across the integration's files catches these.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from schema.camel.endpoints import is_dynamic
from schema.camel.explain import suggest
from schema.diagnostics import Diagnostic, Severity, json_pointer
from schema.yaml_loader import YamlDocument

if TYPE_CHECKING:  # lxml loads only when an integration has an XML route (see add_xml)
    from lxml import etree

# top-level YAML key -> what Camel calls the id's owner in its messages
ID_KINDS = {
    "route": "route",
    "routeConfiguration": "route configuration",
    "route-configuration": "route configuration",
    "rest": "rest",
    "routeTemplate": "route template",
    "route-template": "route template",
}
XML_ID_KINDS = {
    "route": "route",
    "routeConfiguration": "route configuration",
    "rest": "rest",
    "routeTemplate": "route template",
}


@dataclass(frozen=True, slots=True)
class Declared:
    """An id a route file declares (a route's, a node's, ...), and where."""

    kind: str
    value: str
    path: str
    line: int
    col: int
    pointer: str = ""


@dataclass
class IdIndex:
    """Ids declared and route configuration ids referenced, over the integration's files."""

    declared: list[Declared]
    references: list[Declared]

    def __init__(self) -> None:
        self.declared = []
        self.references = []

    def add_yaml(self, doc: YamlDocument) -> None:
        if not isinstance(doc.data, list):
            return
        for index, item in enumerate(doc.data):
            if not isinstance(item, dict) or len(item) != 1:
                continue
            key, body = next(iter(item.items()))
            kind = ID_KINDS.get(str(key))
            if kind is None or not isinstance(body, dict):
                continue
            self._add_yaml_value(doc, kind, body, (index, key, "id"), self.declared)
            if kind == "route":
                for name in ("routeConfigurationId", "route-configuration-id"):
                    self._add_yaml_value(doc, "ref", body, (index, key, name), self.references)

    @staticmethod
    def _add_yaml_value(
        doc: YamlDocument,
        kind: str,
        body: dict[str, Any],
        path: tuple[str | int, ...],
        into: list[Declared],
    ) -> None:
        value = body.get(str(path[-1]))
        if not isinstance(value, (str, int)) or isinstance(value, bool):
            return
        line, col = doc.locate(path)
        into.append(Declared(kind, str(value), doc.path, line, col, json_pointer(path)))

    def add_xml(self, rel: str, root: etree._Element) -> None:
        from lxml import etree  # noqa: PLC0415 (a repository of YAML routes never needs it)

        for element in root.iter(tag=etree.Element):
            local = etree.QName(element).localname
            kind = XML_ID_KINDS.get(local)
            if kind is None:
                continue
            line = element.sourceline if isinstance(element.sourceline, int) else 1
            value = element.get("id")
            if value is not None:
                self.declared.append(Declared(kind, value, rel, line, 1))
            ref = element.get("routeConfigurationId")
            if kind == "route" and ref is not None:
                self.references.append(Declared("ref", ref, rel, line, 1))

    def check(self) -> list[Diagnostic]:
        problems: list[Diagnostic] = []
        first: dict[tuple[str, str], Declared] = {}
        for item in self.declared:
            if is_dynamic(item.value):
                continue
            earlier = first.setdefault((item.kind, item.value), item)
            if earlier is not item:
                where = f"{earlier.path}:{earlier.line}" if earlier.line else earlier.path
                message = (
                    f"{item.kind} id '{item.value}' is already used in {where}: "
                    "Camel refuses to start with duplicate ids"
                )
                problems.append(_diag(item, message, "camel-duplicate-id"))
        configs = sorted(d.value for d in self.declared if d.kind == "route configuration")
        for ref in self.references:
            for name in (n.strip() for n in ref.value.split(",")):
                if not name or is_dynamic(name) or "*" in name or name in configs:
                    continue
                hint = suggest(name, configs) or (
                    f" (defined: {', '.join(configs)})" if configs else ""
                )
                message = (
                    f"routeConfigurationId '{name}': no route configuration with this id in "
                    f"this integration's route files{hint}"
                )
                problems.append(_diag(ref, message, "camel-route-configuration"))
        return problems


def _diag(item: Declared, message: str, code: str) -> Diagnostic:
    return Diagnostic(item.path, item.line, item.col, Severity.ERROR, message, item.pointer, code)
