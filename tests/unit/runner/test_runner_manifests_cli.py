"""`camelops runner manifests`: YAML out, exit 1 on bad options, exit 2 on bad flags."""

from __future__ import annotations

import pytest
import yaml

from camelops.cli import main
from renderers.context import RenderOptions


def test_prints_applyable_yaml(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["runner", "manifests", "--manage", "shop-dev", "--image", "reg/camelops:1"])
    out = capsys.readouterr().out
    docs = list(yaml.safe_load_all(out))
    assert code == 0
    assert [d["kind"] for d in docs][:2] == ["Namespace", "Namespace"]
    deploy = next(d for d in docs if d["kind"] == "Deployment")
    assert deploy["spec"]["template"]["spec"]["serviceAccountName"] == "camelops-runner"
    assert deploy["spec"]["template"]["spec"]["containers"][0]["image"] == "reg/camelops:1"


def test_bad_namespace_is_invalid(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["runner", "manifests", "--manage", "Not_Valid", "--image", "x"]) == 1
    assert "Not_Valid" in capsys.readouterr().err


def test_missing_flag_could_not_run() -> None:
    with pytest.raises(SystemExit) as info:
        main(["runner", "manifests", "--image", "x"])
    assert info.value.code == 2


def test_runs_as_the_readme_prints_it_with_the_release_image(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # no --image: the release's image, the one rendered sidecars run too
    assert main(["runner", "manifests", "--manage", "shop-dev"]) == 0
    docs = list(yaml.safe_load_all(capsys.readouterr().out))
    deploy = next(d for d in docs if d["kind"] == "Deployment")
    [container] = deploy["spec"]["template"]["spec"]["containers"]
    assert container["image"] == RenderOptions().sidecar_image


def test_previews_add_bounded_namespace_rights_only_when_asked(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["runner", "manifests", "--manage", "shop-dev"]) == 0
    plain = {d["kind"] for d in yaml.safe_load_all(capsys.readouterr().out)}
    assert "ValidatingAdmissionPolicy" not in plain
    assert main(["runner", "manifests", "--manage", "shop-dev", "--previews"]) == 0
    docs = list(yaml.safe_load_all(capsys.readouterr().out))
    [policy] = [d for d in docs if d["kind"] == "ValidatingAdmissionPolicy"]
    [binding] = [d for d in docs if d["kind"] == "ValidatingAdmissionPolicyBinding"]
    assert binding["spec"] == {"policyName": policy["metadata"]["name"],
                               "validationActions": ["Deny"]}  # fmt: skip
    # the policy judges the runner's own requests only, and knows its managed namespaces
    [condition] = policy["spec"]["matchConditions"]
    assert "system:serviceaccount:camelops-system:camelops-runner" in condition["expression"]
    assert "['shop-dev']" in policy["spec"]["validations"][0]["expression"]
