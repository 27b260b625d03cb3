"""The forbidden line names the verb, the object and a rule RBAC can actually express."""

from __future__ import annotations

from runner.drivers.kubernetes.client import ApiError
from runner.drivers.kubernetes.live import rbac_refusal
from runner.objects import ObjectRef

PREVIEW_NS = ObjectRef("", "v1", "Namespace", "", "pr-7")
CONFIG = ObjectRef("", "v1", "ConfigMap", "shop-qa", "orders")


def _refused(verb: str, resource: str, where: str = "") -> ApiError:
    # kube-apiserver's RBAC wording, as the e2e tests meet it
    return ApiError(403, "Forbidden", f'{resource} "x" is forbidden: User "system:serviceaccount:'
                    f'camelops-system:camelops-runner" cannot {verb} resource "{resource}" in API '
                    f'group ""{where}')  # fmt: skip


def test_a_create_rule_names_no_object_because_rbac_cannot_limit_it() -> None:
    line = rbac_refusal(PREVIEW_NS, _refused("create", "namespaces", " at the cluster scope"))
    assert line == (
        "forbidden: create namespaces pr-7; add to a ClusterRole bound to the runner's "
        'ServiceAccount by a ClusterRoleBinding: {apiGroups: [""], resources: ["namespaces"], '
        'verbs: ["create"]}'
    )


def test_a_patch_rule_is_limited_to_the_object_in_its_namespace() -> None:
    line = rbac_refusal(CONFIG, _refused("patch", "configmaps", ' in the namespace "shop-qa"'))
    assert line == (
        "forbidden: patch configmaps shop-qa/orders; add to a Role in namespace shop-qa bound to "
        'the runner\'s ServiceAccount: {apiGroups: [""], resources: ["configmaps"], '
        'resourceNames: ["orders"], verbs: ["patch"]}'
    )


def test_other_refusals_keep_the_servers_message() -> None:
    denied = ApiError(403, "Forbidden", "admission webhook denied the request")
    assert rbac_refusal(CONFIG, denied) == ""
    assert (
        rbac_refusal(CONFIG, ApiError(422, "Invalid", 'cannot patch resource "configmaps"')) == ""
    )
