"""Validate a Camel XML DSL route file (`<routes>`, `<camel>`) against camel-xml-io.xsd.

Parsing is hardened: no DTDs, no entities, no network. A legacy Spring `camel-context.xml` gets one
clear message instead of a cascade of schema errors.
"""

from __future__ import annotations

import re
from functools import cache

from lxml import etree

from schema.camel.catalog import CamelCatalog, load_catalog
from schema.camel.endpoints import check_endpoint
from schema.camel.explain import suggest
from schema.derived_cache import digest, load_value, store_value
from schema.diagnostics import Diagnostic, Severity

XML_IO_NS = "http://camel.apache.org/schema/xml-io"
CAMEL_NAMESPACES = {XML_IO_NS, "http://camel.apache.org/schema/spring", ""}
SPRING_BEANS_NS = "http://www.springframework.org/schema/beans"


@cache
def _schema(version: str) -> etree.XMLSchema:
    parser = etree.XMLParser(resolve_entities=False, no_network=True)
    return etree.XMLSchema(etree.parse(str(load_catalog(version).xsd_path), parser))


def _verdict_name(root: etree._Element, catalog: CamelCatalog) -> str:
    """Names "this exact document passed this exact XSD under this libxml2"; both texts hashed."""
    libxml = ".".join(map(str, etree.LIBXML_VERSION))
    return digest("xsd-valid", libxml, _xsd_bytes(catalog.version), etree.tostring(root))


@cache
def _xsd_bytes(version: str) -> bytes:
    return load_catalog(version).xsd_path.read_bytes()


def _known_valid(root: etree._Element, catalog: CamelCatalog) -> bool:
    # Compiling the 600 KB XSD costs more than the rest of a small repository's validation; a
    # file that passed it unchanged needs no second look. Only passes are kept: errors are
    # always worked out afresh, so their messages come from the XSD itself.
    return load_value(_verdict_name(root, catalog)) is True


def _diag(
    rel: str, line: int, col: int, message: str, severity: Severity = Severity.ERROR
) -> Diagnostic:
    return Diagnostic(rel, line, col, severity, message, code="camel-xml")


def parse_xml(rel: str, text: str) -> tuple[etree._Element | None, list[Diagnostic]]:
    if "<!DOCTYPE" in text or "<!ENTITY" in text:
        line = text[: text.find("<!")].count("\n") + 1
        return None, [_diag(rel, line, 1, "DOCTYPE and entity declarations are not allowed")]
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False
    )
    try:
        root = etree.fromstring(text.encode(), parser)
    except etree.XMLSyntaxError as exc:
        line, col = exc.position
        return None, [_diag(rel, line, col, f"invalid XML: {exc.msg}")]
    return root, []


def _line(element: etree._Element) -> int:
    line: object = element.sourceline
    return line if isinstance(line, int) else 1


def _namespace(element: etree._Element) -> str:
    return etree.QName(element).namespace or ""


def _normalise(root: etree._Element) -> None:
    """Camel loads routes with no namespace or the Spring one too; the XSD wants xml-io."""
    for element in root.iter(tag=etree.Element):
        if _namespace(element) in CAMEL_NAMESPACES:
            element.tag = f"{{{XML_IO_NS}}}{etree.QName(element).localname}"


def validate_xml_routes(
    rel: str, text: str, catalog: CamelCatalog
) -> tuple[list[Diagnostic], set[str]]:
    """(diagnostics, URIs consumed by `<from>`)."""
    root, problems = parse_xml(rel, text)
    if root is None:
        return problems, set()
    local = etree.QName(root).localname
    if _namespace(root) == SPRING_BEANS_NS or local == "camelContext":
        message = (
            "Spring XML (<beans>/<camelContext>) is not supported by Camel Main; move the "
            '<route> elements into a <routes> file (xmlns="http://camel.apache.org/schema/xml-io")'
        )
        return [_diag(rel, _line(root), 1, message)], set()
    _normalise(root)
    diagnostics: list[Diagnostic] = []
    schema = None if _known_valid(root, catalog) else _schema(catalog.version)
    if schema is not None and not schema.validate(root):
        for entry in list(schema.error_log):  # type: ignore[call-overload]
            message = entry.message.replace(f"{{{XML_IO_NS}}}", "")
            unexpected = re.match(r"Element '(\w+)': This element is not expected", message)
            if unexpected:
                name = unexpected.group(1)
                message += suggest(name, catalog.processor_names) or " (not a known EIP here)"
            diagnostics.append(_diag(rel, entry.line, entry.column or 1, message))
    if schema is not None and not diagnostics:
        store_value(_verdict_name(root, catalog), True)
    consumed: set[str] = set()
    for element in root.iter(tag=etree.Element):
        uri = element.get("uri")
        if uri is None:
            continue
        if etree.QName(element).localname == "from":
            consumed.add(uri)
        for severity, message, _key in check_endpoint(uri, {}, catalog):
            diagnostics.append(_diag(rel, _line(element), 1, message, severity))
    return diagnostics, consumed
