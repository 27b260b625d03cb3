"""`runner manifests --previews`: the runner may create and delete preview namespaces, and only
those: `pr-<n>` labelled `camelops.io/preview: "true"`.

RBAC cannot limit `create` to some names, so it grants the verbs cluster-wide and a
ValidatingAdmissionPolicy, enforced by the API server itself, bounds what the runner's
ServiceAccount may do with them:
- Namespaces: create/update/delete only `pr-<n>` labelled as a preview (and update the
  namespaces it manages, which it could already patch);
- RoleBindings: only in such a namespace, only binding ClusterRole `camelops-runner-apply` to
  the runner itself, so a preview gets exactly the rights a managed namespace has.
Chosen over one pre-created namespace per project with name-suffixed objects: previews keep
the objects' real names (the same Services, ConfigMaps and DNS names as the base environment),
and the bound is checked by the API server rather than by the runner's own code.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

Manifest = dict[str, Any]

PREVIEW_LABEL = "camelops.io/preview"
PREVIEW_NAME = "^pr-[1-9][0-9]{0,8}$"  # renderers.kubernetes.environment: pr-<n>
_RBAC = "rbac.authorization.k8s.io"


def preview_access(
    namespace: str, name: str, managed: Sequence[str], labels: dict[str, str]
) -> list[Manifest]:
    """ClusterRole + ClusterRoleBinding and the policy + binding that bound them."""
    role = f"{name}-previews"
    subject = {"kind": "ServiceAccount", "name": name, "namespace": namespace}
    rules = [
        {"apiGroups": [""], "resources": ["namespaces"],
         "verbs": ["get", "create", "patch", "delete"]},
        {"apiGroups": [_RBAC], "resources": ["rolebindings"],
         "verbs": ["get", "create", "patch", "delete"]},
        # binding a ClusterRole needs `bind` on it (or holding all it grants) in that namespace
        {"apiGroups": [_RBAC], "resources": ["clusterroles"], "verbs": ["bind"],
         "resourceNames": [f"{name}-apply"]},
    ]  # fmt: skip
    meta = {"name": role, "labels": labels}
    return [
        {"apiVersion": f"{_RBAC}/v1", "kind": "ClusterRole", "metadata": meta, "rules": rules},
        {"apiVersion": f"{_RBAC}/v1", "kind": "ClusterRoleBinding", "metadata": meta,
         "roleRef": {"apiGroup": _RBAC, "kind": "ClusterRole", "name": role},
         "subjects": [subject]},
        _policy(role, subject, sorted(set(managed)), labels),
        {"apiVersion": "admissionregistration.k8s.io/v1",
         "kind": "ValidatingAdmissionPolicyBinding", "metadata": meta,
         "spec": {"policyName": role, "validationActions": ["Deny"]}},
    ]  # fmt: skip


def _policy(
    role: str, subject: dict[str, str], managed: list[str], labels: dict[str, str]
) -> Manifest:
    user = f"system:serviceaccount:{subject['namespace']}:{subject['name']}"
    managed_list = "[" + ", ".join(f"'{m}'" for m in managed) + "]"
    # the object as it is (DELETE: as it was)
    target = "request.operation == 'DELETE' ? oldObject : object"
    is_preview = (
        f"variables.target.metadata.name.matches('{PREVIEW_NAME}') && "
        f"has(variables.target.metadata.labels) && "
        f"variables.target.metadata.labels[?'{PREVIEW_LABEL}'].orValue('') == 'true'"
    )
    preview_ns = (
        f"request.namespace.matches('{PREVIEW_NAME}') && namespaceObject != null && "
        f"has(namespaceObject.metadata.labels) && "
        f"namespaceObject.metadata.labels[?'{PREVIEW_LABEL}'].orValue('') == 'true'"
    )
    binds_itself = (
        "request.operation == 'DELETE' || (object.roleRef.kind == 'ClusterRole' && "
        f"object.roleRef.name == '{subject['name']}-apply' && size(object.subjects) == 1 && "
        f"object.subjects.all(s, s.kind == 'ServiceAccount' && s.name == '{subject['name']}' "
        f"&& s.namespace == '{subject['namespace']}'))"
    )
    rules = [
        {"apiGroups": [""], "apiVersions": ["v1"], "resources": ["namespaces"],
         "operations": ["CREATE", "UPDATE", "DELETE"]},
        {"apiGroups": [_RBAC], "apiVersions": ["v1"], "resources": ["rolebindings"],
         "operations": ["CREATE", "UPDATE", "DELETE"]},
    ]  # fmt: skip
    return {
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "ValidatingAdmissionPolicy",
        "metadata": {"name": role, "labels": labels},
        "spec": {
            "failurePolicy": "Fail",
            "matchConstraints": {"resourceRules": rules},
            "matchConditions": [
                {"name": "the-runner", "expression": f"request.userInfo.username == '{user}'"}
            ],
            "variables": [{"name": "target", "expression": target}],
            "validations": [
                {
                    "expression": "request.resource.resource != 'namespaces' || "
                    f"(request.operation == 'UPDATE' && request.name in {managed_list}) || "
                    f"({is_preview})",
                    "message": f"the runner may create, change and delete only namespaces "
                    f'named pr-<n> labelled {PREVIEW_LABEL}: "true"',
                },
                {
                    "expression": "request.resource.resource != 'rolebindings' || "
                    f"(({preview_ns}) && ({binds_itself}))",
                    "message": "the runner may bind only its own ClusterRole to itself, and only "
                    "in a preview namespace",
                },
            ],
        },
    }
