"""render_environment on small real repositories: identity, ordering, hostile names, previews."""

from __future__ import annotations

import base64
import copy
from pathlib import Path
from typing import Any

import pytest

from renderers import (
    RenderError,
    RenderOptions,
    UnknownEnvironmentError,
    render_environment,
    to_yaml,
)
from renderers.context import SecretValueError, label_value
from renderers.kubernetes.config import route_keys
from renderers.kubernetes.kube_schema import check_objects
from schema.repository import load_repository
from tests.unit.renderers.repos import (
    CIPHER_A,
    CIPHER_B,
    ROUTE,
    integration,
    load,
    sealed,
    simple_files,
    write_repo,
)

LABELS = {
    "app.kubernetes.io/name",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/part-of",
    "app.kubernetes.io/managed-by",
    "app.kubernetes.io/version",
    "camelops.io/project",
    "camelops.io/environment",
}


def by_kind(objects: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [o for o in objects if o["kind"] == kind]


def the(objects: list[dict[str, Any]], kind: str) -> dict[str, Any]:
    found = by_kind(objects, kind)
    assert len(found) == 1, f"{len(found)} {kind} objects"
    return found[0]


def test_every_object_carries_labels_tracking_id_and_wave(tmp_path: Path) -> None:
    project = load(write_repo(tmp_path, simple_files()))
    objects = render_environment(project, "dev")
    for obj in objects:
        meta = obj["metadata"]
        assert meta["labels"].keys() >= LABELS, obj["kind"]
        group = obj["apiVersion"].rpartition("/")[0]
        namespace = meta.get("namespace", "")
        expected = f"shop:{group}/{obj['kind']}:{namespace}/{meta['name']}"
        assert meta["annotations"]["camelops.io/tracking-id"] == expected
        int(meta["annotations"]["camelops.io/sync-wave"])
    assert check_objects(objects) == []


def test_objects_come_in_apply_order(tmp_path: Path) -> None:
    project = load(write_repo(tmp_path, simple_files()))
    kinds = [o["kind"] for o in render_environment(project, "dev")]
    assert kinds[0] == "Namespace"
    assert kinds.index("ConfigMap") < kinds.index("Deployment")


def test_rendering_is_pure(tmp_path: Path) -> None:
    project = load(write_repo(tmp_path, {**simple_files("a"), **simple_files("b")}))
    first = render_environment(project, "prod")
    snapshot = copy.deepcopy(first)
    first[0]["metadata"]["labels"]["tampered"] = "yes"
    for obj in first:
        obj.clear()
    assert render_environment(project, "prod") == snapshot


def test_default_image_follows_the_camel_version(tmp_path: Path) -> None:
    project = load(write_repo(tmp_path, simple_files(), camel="4.14.9"))
    deployment = the(render_environment(project, "dev"), "Deployment")
    camel = deployment["spec"]["template"]["spec"]["containers"][0]
    assert camel["image"] == "ghcr.io/camelops/camel-main:4.14.9"
    env = {e["name"]: e.get("value") for e in camel["env"]}
    assert "host=127.0.0.1" in env["JAVA_TOOL_OPTIONS"]
    assert "port=8778" in env["JAVA_TOOL_OPTIONS"]
    assert camel["readinessProbe"]["httpGet"]["port"] == "management"


def test_unknown_environment_is_refused(tmp_path: Path) -> None:
    project = load(write_repo(tmp_path, simple_files()))
    with pytest.raises(UnknownEnvironmentError, match="known: dev, prod"):
        render_environment(project, "staging")


@pytest.mark.parametrize("name", ["pr-0", "pr-", "pr-x", "pr-1234567890", "PR-1", "pr-1/.."])
def test_preview_names_are_strict(tmp_path: Path, name: str) -> None:
    project = load(write_repo(tmp_path, simple_files()))
    with pytest.raises(UnknownEnvironmentError):
        render_environment(project, name)


def test_preview_gets_its_own_namespace_and_no_ingress_or_autoscaler(tmp_path: Path) -> None:
    spec = """
    expose:
      port: 8080
      ingress: {host: api.example.com}
    autoscaling: {minReplicas: 2, maxReplicas: 4}
    """
    project = load(write_repo(tmp_path, simple_files("api", spec)))
    objects = render_environment(project, "pr-17")
    kinds = {o["kind"] for o in objects}
    assert {"Ingress", "HorizontalPodAutoscaler", "PodDisruptionBudget"}.isdisjoint(kinds)
    assert {o["metadata"].get("namespace", "pr-17") for o in objects} == {"pr-17"}
    assert the(objects, "Namespace")["metadata"]["name"] == "pr-17"
    assert the(objects, "Deployment")["spec"]["replicas"] == 1


def test_autoscaler_owns_replicas(tmp_path: Path) -> None:
    spec = "autoscaling: {minReplicas: 2, maxReplicas: 5}"
    project = load(write_repo(tmp_path, simple_files("w", spec)))
    objects = render_environment(project, "dev")
    assert "replicas" not in the(objects, "Deployment")["spec"]
    assert the(objects, "HorizontalPodAutoscaler")["spec"]["minReplicas"] == 2
    assert the(objects, "PodDisruptionBudget")["spec"]["maxUnavailable"] == 1


def test_single_replica_gets_no_disruption_budget(tmp_path: Path) -> None:
    project = load(write_repo(tmp_path, simple_files()))
    assert by_kind(render_environment(project, "dev"), "PodDisruptionBudget") == []


def test_secrets_are_masked_without_decrypt(tmp_path: Path) -> None:
    spec = "secrets: [{name: db, env: {DB_PASSWORD: password}}]"
    files = {
        **simple_files("app", spec),
        "secrets/db.sealed.yaml": sealed("db", {"password": CIPHER_A}),
    }
    project = load(write_repo(tmp_path, files))
    objects = render_environment(project, "dev")
    text = "".join(to_yaml(o) for o in objects)
    assert CIPHER_A not in text
    secret = the(objects, "Secret")
    assert secret["metadata"]["annotations"]["camelops.io/masked"] == "true"
    assert secret["stringData"]["password"].startswith("masked:")
    assert "data" not in secret


def test_decrypt_gives_real_values_and_the_same_checksum(tmp_path: Path) -> None:
    spec = "secrets: [{name: db}]"
    files = {
        **simple_files("app", spec),
        "secrets/db.sealed.yaml": sealed("db", {"password": CIPHER_A}),
    }
    project = load(write_repo(tmp_path, files))
    real = render_environment(project, "dev", decrypt=lambda c: "s3cr3t" if c == CIPHER_A else "?")
    masked = render_environment(project, "dev")
    secret = the(real, "Secret")
    assert base64.b64decode(secret["data"]["password"]) == b"s3cr3t"
    assert the(real, "Deployment") == the(masked, "Deployment")
    container = the(real, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    assert container["envFrom"] == [{"secretRef": {"name": "db"}}]


def test_a_failing_decrypt_is_not_swallowed(tmp_path: Path) -> None:
    files = {
        **simple_files("app", "secrets: [{name: db}]"),
        "secrets/db.sealed.yaml": sealed("db", {"password": CIPHER_A}),
    }
    project = load(write_repo(tmp_path, files))

    def broken(_: str) -> str:
        raise ValueError("wrong key")

    with pytest.raises(ValueError, match="wrong key"):
        render_environment(project, "dev", decrypt=broken)


def test_a_value_that_does_not_open_names_its_file_and_key(tmp_path: Path) -> None:
    files = {
        **simple_files("app", "secrets: [{name: db}]"),
        "secrets/db.sealed.yaml": sealed("db", {"user": CIPHER_B, "password": CIPHER_A}),
    }
    project = load(write_repo(tmp_path, files))

    def only_b(value: str) -> str:
        if value != CIPHER_B:
            raise LookupError("does not open with this project's key")
        return "ok"

    with pytest.raises(SecretValueError) as caught:
        render_environment(project, "dev", decrypt=only_b)
    assert str(caught.value) == (
        "secrets/db.sealed.yaml: key password: does not open with this project's key; seal it "
        "again to this control plane's key: camelops secret seal --project shop --server URL "
        "--into secrets/db.sealed.yaml --key password"
    )
    assert CIPHER_A not in str(caught.value)


def test_changed_ciphertext_rolls_the_pods(tmp_path: Path) -> None:
    files = {
        **simple_files("app", "secrets: [{name: db}]"),
        "secrets/db.sealed.yaml": sealed("db", {"password": CIPHER_A}),
    }
    before = render_environment(load(write_repo(tmp_path / "a", files)), "dev")
    files["secrets/db.sealed.yaml"] = sealed("db", {"password": CIPHER_B})
    after = render_environment(load(write_repo(tmp_path / "b", files)), "dev")

    def checksum(objects: list[dict[str, Any]]) -> str:
        meta = the(objects, "Deployment")["spec"]["template"]["metadata"]
        return str(meta["annotations"]["camelops.io/config-checksum"])

    assert checksum(before) != checksum(after)


def test_secret_scoped_to_other_environment_is_left_out(tmp_path: Path) -> None:
    scoped = sealed("db", {"password": CIPHER_A}) + "  environments: [prod]\n"
    files = {**simple_files("app"), "secrets/db.sealed.yaml": scoped}
    project = load(write_repo(tmp_path, files))
    assert by_kind(render_environment(project, "dev"), "Secret") == []


def test_route_file_names_become_legal_distinct_keys(tmp_path: Path) -> None:
    spec = "routes: ['routes/**/*.camel.yaml', 'routes_x/*.camel.yaml']"
    files = {
        "integrations/odd/integration.yaml": integration("odd", spec),
        "integrations/odd/routes/a b.camel.yaml": ROUTE.format(route_id="r1"),
        "integrations/odd/routes/a_b.camel.yaml": ROUTE.format(route_id="r2"),
        "integrations/odd/routes/x/café.camel.yaml": ROUTE.format(route_id="r3"),
        "integrations/odd/routes_x/café.camel.yaml": ROUTE.format(route_id="r4"),
    }
    project = load(write_repo(tmp_path, files))
    keys = route_keys(project.integration("odd"))
    assert len(set(keys.values())) == len(keys) == 4  # routes/x/café and routes_x/café clash
    objects = render_environment(project, "dev")
    assert check_objects(objects) == []
    data = the(objects, "ConfigMap")["data"]
    assert all(k.replace("-", "").replace(".", "").replace("_", "").isalnum() for k in data)


def test_sidecar_flags_keep_dollar_literal(tmp_path: Path) -> None:
    spec = r"""
    observability:
      redaction:
        rules: [{pattern: '\d+$(CAMELOPS_POD)'}]
    """
    project = load(write_repo(tmp_path, simple_files("app", spec)))
    containers = the(render_environment(project, "dev"), "Deployment")["spec"]["template"]["spec"][
        "containers"
    ]
    sidecar = containers[1]
    assert r"--redact-pattern=\d+$$(CAMELOPS_POD)" in sidecar["args"]
    assert "--pod=$(CAMELOPS_POD)" in sidecar["args"]


def test_sidecar_disabled_leaves_one_container(tmp_path: Path) -> None:
    project = load(write_repo(tmp_path, simple_files("app", "observability: {sidecar: false}")))
    objects = render_environment(project, "dev")
    pod = the(objects, "Deployment")["spec"]["template"]["spec"]
    assert [c["name"] for c in pod["containers"]] == ["camel"]
    policy = next(p for p in by_kind(objects, "NetworkPolicy") if p["metadata"]["name"] == "app")
    assert policy["spec"]["ingress"] == []


def test_build_integration_gets_a_kaniko_job_and_its_image(tmp_path: Path) -> None:
    files = {**simple_files("custom", "build: {}"), "integrations/custom/Dockerfile": "FROM x\n"}
    project = load(write_repo(tmp_path, files))
    options = RenderOptions(revision="abcdef0123456789", source_url="https://git.example.com/a.git")
    objects = render_environment(project, "dev", options=options)
    job = the(objects, "Job")
    assert job["metadata"]["name"] == "custom-build-abcdef012345"
    args = job["spec"]["template"]["spec"]["containers"][0]["args"]
    assert "--context=git://git.example.com/a.git#refs/heads/main#abcdef0123456789" in args
    image = the(objects, "Deployment")["spec"]["template"]["spec"]["containers"][0]["image"]
    assert f"--destination={image}" in args
    assert (
        the(objects, "Namespace")["metadata"]["labels"]["pod-security.kubernetes.io/enforce"]
        == "baseline"
    )
    assert check_objects(objects) == []


def test_java_options_combine_with_environment_java_opts(tmp_path: Path) -> None:
    spec = "runtime: {javaOptions: '-Xss512k'}\nenv: {JAVA_OPTS: '-Xmx1g'}"
    project = load(write_repo(tmp_path, simple_files("app", spec)))
    env = the(render_environment(project, "dev"), "Deployment")["spec"]["template"]["spec"][
        "containers"
    ][0]["env"]
    assert {"name": "JAVA_OPTS", "value": "-Xss512k -Xmx1g"} in env


def test_oversized_config_is_a_render_error(tmp_path: Path) -> None:
    files = simple_files("big", "routes: ['routes/*.camel.yaml']")
    padding = "# " + "x" * 1000 + "\n"
    for index in range(3):
        files[f"integrations/big/routes/pad{index}.camel.yaml"] = padding * 400 + ROUTE.format(
            route_id=f"r{index}"
        )
    project = load(write_repo(tmp_path, files))
    with pytest.raises(RenderError, match="ConfigMap holds at most"):
        render_environment(project, "dev")


def test_build_pods_never_match_the_deployment_selector(tmp_path: Path) -> None:
    files = {**simple_files("custom", "build: {}"), "integrations/custom/Dockerfile": "FROM x\n"}
    objects = render_environment(load(write_repo(tmp_path, files)), "dev")
    selector = the(objects, "Deployment")["spec"]["selector"]["matchLabels"]
    build_labels = the(objects, "Job")["spec"]["template"]["metadata"]["labels"]
    assert not selector.items() <= build_labels.items()


def test_namespace_object_can_be_left_to_the_runner_install(tmp_path: Path) -> None:
    project = load(write_repo(tmp_path, simple_files()))
    objects = render_environment(project, "dev", options=RenderOptions(namespace_object=False))
    assert by_kind(objects, "Namespace") == []
    assert by_kind(objects, "NetworkPolicy")


def test_long_names_still_give_valid_label_values() -> None:
    long = "p" * 63 + "-" + "e" * 63
    value = label_value(long)
    assert len(value) <= 63
    assert value[-1].isalnum()
    assert value != label_value("p" * 63 + "-" + "e" * 62 + "f")
    assert label_value("short") == "short"


def test_env_cannot_replace_the_loopback_jolokia_agent(tmp_path: Path) -> None:
    """Refused before rendering: the schema reserves JAVA_TOOL_OPTIONS for the loopback agent."""
    spec = "env: {JAVA_TOOL_OPTIONS: '-javaagent:/x.jar=host=0.0.0.0'}"
    report = load_repository(write_repo(tmp_path, simple_files("app", spec)))
    assert report.project is None
    assert [d.message for d in report.errors] == [
        "JAVA_TOOL_OPTIONS is set by camelops; use runtime.javaOptions instead (at /spec/env)"
    ]


def test_secret_without_env_map_uses_env_from(tmp_path: Path) -> None:
    files = {
        **simple_files("app", "secrets: [{name: db}]"),
        "secrets/db.sealed.yaml": sealed("db", {"db.password": CIPHER_A}),
    }
    project = load(write_repo(tmp_path, files))
    objects = render_environment(project, "dev")
    container = the(objects, "Deployment")["spec"]["template"]["spec"]["containers"][0]
    assert container["envFrom"] == [{"secretRef": {"name": "db"}}]
    assert check_objects(objects) == []
