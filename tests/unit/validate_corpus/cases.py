"""Broken and hostile config repositories: each case edits a copy of ./base.

Every case's expected `camelops validate` output (exit code + text) is a golden file in
./expected/<name>.txt; UPDATE_GOLDEN=1 rewrites them, and a missing one is written and fails.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ORDERS = "integrations/orders/integration.yaml"
ROUTE = "integrations/orders/routes/orders.camel.yaml"
PROJECT = "camelops.yaml"


@dataclass(frozen=True)
class Case:
    name: str
    edit: Callable[[Path], None]
    args: tuple[str, ...] = ()


CASES: list[Case] = []


def case(name: str, *args: str) -> Callable[[Callable[[Path], None]], Callable[[Path], None]]:
    def register(edit: Callable[[Path], None]) -> Callable[[Path], None]:
        CASES.append(Case(name, edit, args))
        return edit

    return register


def write(root: Path, rel: str, content: str | bytes) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)


def replace(root: Path, rel: str, old: str, new: str) -> None:
    text = (root / rel).read_text()
    assert old in text, f"{old!r} not in {rel}"
    (root / rel).write_text(text.replace(old, new, 1))


def append_step(root: Path, step: str) -> None:
    replace(root, ROUTE, "        - setBody:\n", f"{step}        - setBody:\n")


# --- camelops.yaml -------------------------------------------------------------------------


@case("project-missing")
def _(root: Path) -> None:
    (root / PROJECT).unlink()


@case("project-empty")
def _(root: Path) -> None:
    write(root, PROJECT, "")


@case("project-not-a-mapping")
def _(root: Path) -> None:
    write(root, PROJECT, "- just\n- a list\n")


@case("project-wrong-kind")
def _(root: Path) -> None:
    replace(root, PROJECT, "kind: Project", "kind: Projekt")


@case("project-wrong-api-version")
def _(root: Path) -> None:
    replace(root, PROJECT, "camelops.io/v1alpha1", "camelops.io/v2")


@case("project-unknown-key")
def _(root: Path) -> None:
    replace(root, PROJECT, "      selfHeal: true", "      selfHeel: true")


@case("project-wrong-type")
def _(root: Path) -> None:
    replace(root, PROJECT, "      selfHeal: true", "      selfHeal: [yes]")


@case("project-bad-name")
def _(root: Path) -> None:
    replace(root, PROJECT, "name: corpus", "name: Corpus_Project")


@case("project-bad-camel-version")
def _(root: Path) -> None:
    replace(root, PROJECT, '"4.18.4"', '"3.20.1"')


@case("project-camel-version-without-catalog")
def _(root: Path) -> None:
    replace(root, PROJECT, '"4.18.4"', '"4.18.9"')


@case("project-duplicate-environment")
def _(root: Path) -> None:
    replace(root, PROJECT, "    - name: prod", "    - name: dev")


@case("project-namespace-clash")
def _(root: Path) -> None:
    replace(
        root,
        PROJECT,
        "runner: prod-runner\n      namespace: corpus-prod",
        "runner: dev-runner\n      namespace: corpus-dev",
    )


@case("project-no-environments")
def _(root: Path) -> None:
    write(
        root,
        PROJECT,
        "apiVersion: camelops.io/v1alpha1\nkind: Project\nmetadata:\n"
        "  name: corpus\nspec:\n  camel:\n    version: '4.18.4'\n  environments: []\n",
    )


@case("project-bad-sync-window")
def _(root: Path) -> None:
    replace(
        root,
        PROJECT,
        "      selfHeal: true",
        "      syncWindows:\n        - kind: deny\n"
        "          schedule: every friday\n          duration: 2 days\n",
    )


@case("project-previews-without-runner")
def _(root: Path) -> None:
    write(
        root,
        PROJECT,
        (root / PROJECT).read_text() + "  previews:\n    enabled: true\n    deploy: true\n",
    )


@case("project-previews-label-not-evaluated")
def _(root: Path) -> None:
    write(
        root,
        PROJECT,
        (root / PROJECT).read_text() + "  previews:\n    enabled: true\n    label: preview\n",
    )


@case("project-unknown-env-flag", "--env", "staging")
def _(root: Path) -> None:
    del root


# --- bounded integers ----------------------------------------------------------------------


@case("integration-integer-of-thousands-of-digits")
def _(root: Path) -> None:
    replace(root, ORDERS, "      replicas: 2", "      replicas: " + "9" * 5000)


@case("integration-replicas-beyond-64-bits")
def _(root: Path) -> None:
    replace(root, ORDERS, "      replicas: 2", "      replicas: " + "9" * 40)


@case("integration-quantity-too-large")
def _(root: Path) -> None:
    replace(
        root,
        ORDERS,
        "  replay:\n",
        "  resources:\n    requests:\n      memory: " + "9" * 60 + "Gi\n  replay:\n",
    )


@case("project-sync-window-duration-overflow")
def _(root: Path) -> None:
    replace(
        root,
        PROJECT,
        "      selfHeal: true",
        "      syncWindows:\n        - kind: deny\n"
        "          schedule: '0 22 * * *'\n          duration: " + "9" * 3000 + "d\n",
    )


# --- YAML safety ---------------------------------------------------------------------------


@case("yaml-duplicate-key")
def _(root: Path) -> None:
    replace(root, PROJECT, "kind: Project\n", "kind: Project\nkind: Project\n")


@case("yaml-syntax-error")
def _(root: Path) -> None:
    replace(root, ORDERS, "  replay:\n", "  replay: [\n")


@case("yaml-bomb")
def _(root: Path) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        refs = ", ".join([f"*a{i - 1}"] * 10)
        lines.append(f"a{i}: &a{i} [{refs}]")
    write(root, ROUTE, "\n".join(lines) + "\n")


@case("yaml-recursive-alias")
def _(root: Path) -> None:
    write(root, ROUTE, "- &loop\n  route:\n    steps: [*loop]\n")


@case("yaml-python-tag")
def _(root: Path) -> None:
    replace(root, ORDERS, "name: orders", "name: !!python/object/apply:os.system [id]")


@case("yaml-explicit-tag-not-a-number")
def _(root: Path) -> None:
    replace(root, ORDERS, "replicas: 2", "replicas: !!int two")


@case("yaml-explicit-tag-not-a-float")
def _(root: Path) -> None:
    replace(root, ORDERS, "replicas: 2", "replicas: !!float 1_0.5")


@case("yaml-explicit-tag-not-a-boolean")
def _(root: Path) -> None:
    replace(root, ORDERS, "replicas: 2", "replicas: !!bool yes")


@case("yaml-too-deep")
def _(root: Path) -> None:
    write(root, ROUTE, "x: " + "[" * 150 + "]" * 150 + "\n")


@case("yaml-two-documents")
def _(root: Path) -> None:
    write(root, PROJECT, (root / PROJECT).read_text() + "---\nkind: Project\n")


# --- repository files ----------------------------------------------------------------------


@case("file-binary")
def _(root: Path) -> None:
    write(root, ROUTE, b"- route:\n    id: x\x00\x01\x02\n")


@case("file-bad-utf8")
def _(root: Path) -> None:
    write(root, ORDERS, (root / ORDERS).read_bytes().replace(b"name: orders", b"name: \xe9orders"))


@case("file-oversized")
def _(root: Path) -> None:
    write(root, ROUTE, "# padding\n" * 120_000)


@case("file-symlink-escape")
def _(root: Path) -> None:
    (root / ROUTE).unlink()
    os.symlink("/etc/passwd", root / ROUTE)


@case("file-symlink-dir-escape")
def _(root: Path) -> None:
    os.symlink("/etc", root / "integrations/orders/routes/etc")


@case("repo-too-many-files", "--max-repo-files", "5")
def _(root: Path) -> None:
    del root


@case("path-traversal")
def _(root: Path) -> None:
    replace(root, ORDERS, "    - routes/*.camel.yaml", "    - ../../../etc/*.conf")


@case("path-absolute")
def _(root: Path) -> None:
    replace(root, ORDERS, "properties: application.properties", "properties: /etc/passwd")


# --- integrations --------------------------------------------------------------------------


@case("integration-unknown-key")
def _(root: Path) -> None:
    replace(root, ORDERS, "  expose:", "  replcias: 3\n  expose:")


@case("integration-wrong-type")
def _(root: Path) -> None:
    replace(root, ORDERS, "      replicas: 2", "      replicas: two")


@case("integration-bad-quantity")
def _(root: Path) -> None:
    replace(root, ORDERS, "  expose:", "  resources:\n    limits:\n      memory: lots\n  expose:")


@case("integration-name-mismatch")
def _(root: Path) -> None:
    replace(root, ORDERS, "name: orders", "name: billing")


@case("integration-missing-file")
def _(root: Path) -> None:
    write(root, "integrations/billing/routes/b.camel.yaml", "- from:\n    uri: direct:b\n")


@case("integration-image-and-build")
def _(root: Path) -> None:
    replace(
        root, ORDERS, "  expose:", "  image: registry.example.com/orders:1\n  build: {}\n  expose:"
    )


@case("integration-missing-dockerfile")
def _(root: Path) -> None:
    replace(root, ORDERS, "  expose:", "  build:\n    context: build\n  expose:")


@case("integration-reserved-port")
def _(root: Path) -> None:
    replace(root, ORDERS, "port: 8080", "port: 8778")


@case("integration-autoscaling-bounds")
def _(root: Path) -> None:
    replace(
        root,
        ORDERS,
        "      replicas: 2",
        "      autoscaling:\n        minReplicas: 5\n        maxReplicas: 2",
    )


@case("integration-unknown-environment")
def _(root: Path) -> None:
    replace(root, ORDERS, "    prod:", "    prd:")


@case("integration-missing-properties")
def _(root: Path) -> None:
    (root / "integrations/orders/application.properties").unlink()


@case("integration-no-route-files")
def _(root: Path) -> None:
    replace(root, ORDERS, "routes/*.camel.yaml", "routes/*.camel.yml")


@case("integration-unknown-secret")
def _(root: Path) -> None:
    replace(root, ORDERS, "    - name: creds", "    - name: cred")


@case("integration-secret-key-missing")
def _(root: Path) -> None:
    replace(root, ORDERS, "API_TOKEN: token", "API_TOKEN: tokn")


@case("integration-port-clash")
def _(root: Path) -> None:
    write(root, "integrations/orders/application.properties", "camel.server.port = 9090\n")


@case("integration-reserved-env")
def _(root: Path) -> None:
    replace(root, ORDERS, "  expose:", "  env:\n    JAVA_TOOL_OPTIONS: -Xmx1g\n  expose:")


@case("integration-name-not-a-service-name")
def _(root: Path) -> None:
    (root / "integrations/orders").rename(root / "integrations/3orders")
    replace(root, "integrations/3orders/integration.yaml", "name: orders", "name: 3orders")


@case("integration-egress-host-and-cidr")
def _(root: Path) -> None:
    replace(
        root,
        ORDERS,
        "  expose:",
        "  egress:\n    - host: api.example.com\n"
        "      cidr: 10.0.0.0/8\n      ports: [443]\n  expose:",
    )


@case("integration-ingress-clash")
def _(root: Path) -> None:
    text = (root / ORDERS).read_text().replace("name: orders", "name: orders-copy")
    text = text.replace("direct:orders", "direct:copy")
    write(root, "integrations/orders-copy/integration.yaml", text)
    route = (root / ROUTE).read_text().replace("orders", "copy")
    write(root, "integrations/orders-copy/routes/copy.camel.yaml", route)
    write(root, "integrations/orders-copy/application.properties", "a = b\n")


# --- replay --------------------------------------------------------------------------------


@case("replay-endpoint-not-consumed")
def _(root: Path) -> None:
    replace(root, ORDERS, "endpoint: direct:orders", "endpoint: direct:order")


@case("replay-endpoint-not-direct")
def _(root: Path) -> None:
    replace(root, ORDERS, "endpoint: direct:orders", "endpoint: platform-http:/orders")


@case("replay-enabled-without-endpoint")
def _(root: Path) -> None:
    replace(root, ORDERS, "    endpoint: direct:orders\n", "")


# --- Camel YAML DSL ------------------------------------------------------------------------


@case("route-misspelled-eip")
def _(root: Path) -> None:
    append_step(root, "        - tansform:\n            simple: ${body}\n")


@case("route-bad-enum")
def _(root: Path) -> None:
    replace(
        root,
        ROUTE,
        '            message: "order ${body}"',
        '            message: "order ${body}"\n            loggingLevel: LOUD',
    )


@case("route-unknown-option-key")
def _(root: Path) -> None:
    replace(
        root,
        ROUTE,
        '            message: "order ${body}"',
        '            message: "order ${body}"\n            logLevel: INFO',
    )


@case("route-unknown-component")
def _(root: Path) -> None:
    append_step(root, "        - to: htpp://inventory.example.com/stock\n")


@case("route-unknown-endpoint-option")
def _(root: Path) -> None:
    append_step(
        root,
        "        - to:\n            uri: log:orders\n            parameters:\n"
        "              showBdy: true\n",
    )


@case("route-not-a-list")
def _(root: Path) -> None:
    write(root, ROUTE, "just some text\n")


@case("route-step-two-keys")
def _(root: Path) -> None:
    append_step(root, "        - log: one\n          to: log:two\n")


@case("route-wrong-type")
def _(root: Path) -> None:
    append_step(
        root, "        - delay:\n            constant: 100\n            asyncDelayed: [1]\n"
    )


@case("route-not-an-endpoint-uri")
def _(root: Path) -> None:
    append_step(root, "        - to: inventory\n")


@case("route-not-an-endpoint-uri-bad-scheme")
def _(root: Path) -> None:
    append_step(root, '        - to: "9inventory:stock"\n')


@case("route-uri-scheme-parameters-bad-type")
def _(root: Path) -> None:
    append_step(
        root,
        "        - to:\n            uri: log\n            parameters:\n"
        "              loggerName: orders\n              showBody: maybe\n",
    )


@case("route-uri-scheme-missing-path-parameter")
def _(root: Path) -> None:
    append_step(
        root,
        "        - to:\n            uri: jms\n            parameters:\n              priority: 4\n",
    )


@case("route-uri-path-bad-integer-option")
def _(root: Path) -> None:
    append_step(root, "        - to: seda:audit?size=many\n")


@case("route-parameter-named-from-is-no-endpoint")
def _(root: Path) -> None:
    append_step(
        root,
        "        - to:\n            uri: log:orders\n            parameters:\n"
        "              from: not-an-endpoint\n",
    )


@case("route-api-method-option-misspelled")
def _(root: Path) -> None:
    append_step(
        root,
        "        - to:\n            uri: as2:client/send\n            parameters:\n"
        "              ediMessageContentTyp: application/edifact\n",
    )


@case("route-enum-option-unknown-value")
def _(root: Path) -> None:
    append_step(root, "        - to: jms:queue:audit?deliveryMode=3\n")


@case("route-kamelet-unknown")
def _(root: Path) -> None:
    append_step(root, "        - kamelet:\n            name: log-snk\n")


@case("route-kamelet-uri-unknown")
def _(root: Path) -> None:
    append_step(root, "        - to: kamelet:log-snk\n")


@case("route-kamelet-unknown-property")
def _(root: Path) -> None:
    append_step(
        root,
        "        - kamelet:\n            name: log-sink\n            parameters:\n"
        "              showHeadrs: true\n",
    )


@case("route-kamelet-missing-required-property")
def _(root: Path) -> None:
    append_step(root, "        - to: kamelet:timer-source\n")


SECOND_ROUTE = "integrations/orders/routes/audit.camel.yaml"


@case("routes-duplicate-route-id-across-files")
def _(root: Path) -> None:
    write(
        root,
        SECOND_ROUTE,
        "- route:\n    id: orders\n    from:\n      uri: direct:audit\n"
        "      steps:\n        - log: audit\n",
    )


@case("routes-duplicate-route-configuration-id")
def _(root: Path) -> None:
    config = "- routeConfiguration:\n    id: shared\n    onException:\n" + (
        "      - onException:\n          exception: [java.lang.Exception]\n"
        "          handled:\n            constant: true\n"
    )
    write(root, SECOND_ROUTE, config)
    write(root, "integrations/orders/routes/audit2.camel.yaml", config)


@case("routes-unknown-route-configuration-id")
def _(root: Path) -> None:
    write(root, SECOND_ROUTE, "- routeConfiguration:\n    id: errors\n")
    replace(root, ROUTE, "    id: orders\n", "    id: orders\n    routeConfigurationId: erors\n")


@case("routes-duplicate-rest-id-yaml-and-xml")
def _(root: Path) -> None:
    replace(
        root,
        ORDERS,
        "    - routes/*.camel.yaml",
        "    - routes/*.camel.yaml\n    - routes/*.camel.xml",
    )
    write(root, SECOND_ROUTE, "- rest:\n    id: api\n    get:\n      - to: direct:orders\n")
    write(
        root,
        "integrations/orders/routes/api.camel.xml",
        '<rests xmlns="http://camel.apache.org/schema/xml-io">\n'
        '  <rest id="api">\n    <get><to uri="direct:orders"/></get>\n  </rest>\n</rests>\n',
    )


@case("route-file-yml-extension")
def _(root: Path) -> None:
    replace(
        root, ORDERS, "    - routes/*.camel.yaml", "    - routes/*.camel.yaml\n    - routes/*.yml"
    )
    write(root, "integrations/orders/routes/audit.camel.yml", "- from:\n    uri: direct:a\n")


@case("route-file-two-dots")
def _(root: Path) -> None:
    write(
        root,
        "integrations/orders/routes/orders.v2.camel.yaml",
        "- from:\n    uri: direct:v2\n    steps:\n      - log: v2\n",
    )


@case("route-file-name-with-newline")
def _(root: Path) -> None:
    forged = "x.camel.yaml:1:1: error: forged\nok"
    write(root, f"integrations/orders/routes/{forged}.camel.yaml", "- from:\n    uri: direct:n\n")


@case("route-path-with-control-character")
def _(root: Path) -> None:
    replace(
        root,
        ORDERS,
        "    - routes/*.camel.yaml",
        '    - "routes/*.camel.yaml"\n    - "routes/\\e[2K.camel.yaml"',
    )


GREETER = (
    "apiVersion: camel.apache.org/v1\nkind: Kamelet\nmetadata:\n  name: greeter\nspec:\n"
    "  definition:\n    title: Greeter\n    required: [message]\n    properties:\n"
    "      message:\n        type: string\n  template:\n    from:\n      uri: kamelet:source\n"
    "      steps:\n        - setBody:\n            constant: '{{message}}'\n"
)


@case("route-project-kamelet-misspelled-property")
def _(root: Path) -> None:
    write(root, "integrations/orders/kamelets/greeter.kamelet.yaml", GREETER)
    append_step(
        root,
        "        - kamelet:\n            name: greeter\n"
        "            parameters:\n              mesage: hi\n",
    )


@case("route-project-kamelet-misspelled-name")
def _(root: Path) -> None:
    write(root, "integrations/orders/kamelets/greeter.kamelet.yaml", GREETER)
    append_step(root, "        - to: kamelet:greeterr?message=hi\n")


@case("route-file-unsupported-type")
def _(root: Path) -> None:
    replace(root, ORDERS, "    - routes/*.camel.yaml", "    - routes/*")
    write(root, "integrations/orders/routes/notes.json", "{}\n")


# --- Camel XML DSL -------------------------------------------------------------------------

XML_ROUTE = "integrations/orders/routes/extra.camel.xml"


def use_xml(root: Path, xml: str) -> None:
    replace(
        root,
        ORDERS,
        "    - routes/*.camel.yaml",
        "    - routes/*.camel.yaml\n    - routes/*.camel.xml",
    )
    write(root, XML_ROUTE, xml)


@case("xml-unknown-element")
def _(root: Path) -> None:
    use_xml(
        root,
        '<routes xmlns="http://camel.apache.org/schema/xml-io">\n  <route>\n'
        '    <from uri="direct:xml"/>\n    <tranform><simple>x</simple></tranform>\n'
        "  </route>\n</routes>\n",
    )


@case("xml-syntax-error")
def _(root: Path) -> None:
    use_xml(root, "<routes>\n  <route>\n    <from uri='direct:xml'>\n  </route>\n</routes>\n")


@case("xml-doctype-entities")
def _(root: Path) -> None:
    use_xml(
        root,
        '<?xml version="1.0"?>\n<!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>\n'
        "<routes><route><from uri='direct:x'/><log message='&x;'/></route></routes>\n",
    )


@case("xml-spring-context")
def _(root: Path) -> None:
    use_xml(
        root,
        '<beans xmlns="http://www.springframework.org/schema/beans">\n'
        '  <camelContext xmlns="http://camel.apache.org/schema/spring"/>\n</beans>\n',
    )


@case("xml-unknown-component")
def _(root: Path) -> None:
    use_xml(
        root,
        "<routes>\n  <route>\n    <from uri='direct:xml'/>\n"
        "    <to uri='lgo:x'/>\n  </route>\n</routes>\n",
    )


# --- environment files and sealed secrets --------------------------------------------------


@case("environment-file-unknown-environment")
def _(root: Path) -> None:
    text = (root / "environments/prod.yaml").read_text().replace("name: prod", "name: stage")
    write(root, "environments/stage.yaml", text)


@case("environment-file-name-mismatch")
def _(root: Path) -> None:
    replace(root, "environments/prod.yaml", "name: prod", "name: dev")


@case("secret-plaintext-value")
def _(root: Path) -> None:
    replace(root, "secrets/creds.sealed.yaml", "token: cops1:", "token: hunter2-")


@case("secret-truncated-ciphertext")
def _(root: Path) -> None:
    path = root / "secrets/creds.sealed.yaml"
    lines = path.read_text().splitlines(keepends=True)
    cut = [
        line[: line.index("cops1:") + 12] + "\n" if "token: cops1:" in line else line
        for line in lines
    ]
    assert cut != lines
    path.write_text("".join(cut))


@case("secret-unknown-environment")
def _(root: Path) -> None:
    replace(
        root,
        "secrets/creds.sealed.yaml",
        "  encryptedData:",
        "  environments: [qa]\n  encryptedData:",
    )
