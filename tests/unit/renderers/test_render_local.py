"""render_local on small real repositories: one CamelProcess per integration, secrets apart."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

from renderers.local import LocalOptions, heap_mib, render_local
from tests.unit.renderers.repos import CIPHER_A, CIPHER_B, load, sealed, simple_files, write_repo

PASSWORD = "s3cr3t-plaintext"


def _files(cipher: str = CIPHER_A, route_id: str = "orders") -> dict[str, str]:
    files = simple_files(
        "orders",
        """
        expose: { port: 8080 }
        resources: { limits: { memory: 512Mi } }
        env: { ORDERS_MAX: "5" }
        secrets:
          - name: db
            env: { DB_PASSWORD: password }
        """,
    )
    files |= simple_files("batch", "replicas: 2")
    files["integrations/orders/routes/orders.camel.yaml"] = files[
        "integrations/orders/routes/orders.camel.yaml"
    ].replace("log:orders", f"log:{route_id}")
    files["secrets/db.sealed.yaml"] = sealed("db", {"password": cipher})
    return files


def _render(tmp_path: Path, **kw: Any) -> list[dict[str, Any]]:
    project = load(write_repo(tmp_path, _files(**kw)))
    return render_local(project, "dev", decrypt=lambda _: PASSWORD)


def _process(objects: list[dict[str, Any]], name: str) -> dict[str, Any]:
    return next(o for o in objects if o["kind"] == "CamelProcess" and o["metadata"]["name"] == name)


def test_one_process_per_integration_with_secrets_first(tmp_path: Path) -> None:
    objects = _render(tmp_path)
    assert [(o["kind"], o["metadata"]["name"]) for o in objects] == [
        ("Secret", "db"),
        ("CamelProcess", "batch"),
        ("CamelProcess", "orders"),
    ]
    assert {o["metadata"]["namespace"] for o in objects} == {"shop-dev"}
    assert base64.b64decode(objects[0]["data"]["password"]).decode() == PASSWORD


def test_process_carries_routes_properties_ports_and_heap(tmp_path: Path) -> None:
    orders = _process(_render(tmp_path), "orders")["spec"]
    assert orders["port"] == LocalOptions().port_base  # the only exposed integration
    assert orders["heapMiB"] == 384  # 75% of the 512Mi limit
    assert "-Xmx384m" in orders["command"]
    assert list(orders["routes"]) == ["routes_orders.camel.yaml"]
    # listed by name, never globbed: the load order fixes the processor ids Camel generates
    assert (
        "camel.main.routesIncludePattern=file:routes/routes_orders.camel.yaml\n"
        in orders["properties"]
    )
    assert "camel.server.enabled=true" in orders["properties"]
    assert orders["secretEnv"] == [{"name": "DB_PASSWORD", "secret": "db", "key": "password"}]
    assert orders["env"] == {"ORDERS_MAX": "5"}
    assert orders["replicas"] == 1
    assert orders["sidecar"][:3] == ["sidecar", "--integration=orders", "--environment=dev"]
    batch = _process(_render(tmp_path), "batch")["spec"]
    assert batch["port"] is None
    assert batch["replicas"] == 2


def test_secret_values_only_in_the_secret(tmp_path: Path) -> None:
    objects = _render(tmp_path)
    processes = [o for o in objects if o["kind"] == "CamelProcess"]
    assert PASSWORD not in json.dumps(processes)
    assert CIPHER_A not in json.dumps(processes)


def test_checksum_follows_routes_and_secret_ciphertext(tmp_path: Path) -> None:
    base = _process(_render(tmp_path / "a"), "orders")["spec"]["checksum"]
    assert _process(_render(tmp_path / "b"), "orders")["spec"]["checksum"] == base
    assert (
        _process(_render(tmp_path / "c", route_id="changed"), "orders")["spec"]["checksum"] != base
    )
    assert _process(_render(tmp_path / "d", cipher=CIPHER_B), "orders")["spec"]["checksum"] != base
    # a route of another integration does not restart this one
    assert (
        _process(_render(tmp_path / "e"), "batch")["spec"]["checksum"]
        == _process(_render(tmp_path / "c", route_id="changed"), "batch")["spec"]["checksum"]
    )


def test_explicit_port_wins(tmp_path: Path) -> None:
    project = load(write_repo(tmp_path, _files()))
    objects = render_local(project, "dev", options=LocalOptions(ports=(("orders", 19999),)))
    assert _process(objects, "orders")["spec"]["port"] == 19999
    assert objects[0]["metadata"]["annotations"]["camelops.io/masked"] == "true"


def test_heap_from_memory() -> None:
    assert heap_mib(None) == 256
    assert heap_mib("1Gi") == 768
    assert heap_mib("500M") == 357
    assert heap_mib("32Mi") == 64
