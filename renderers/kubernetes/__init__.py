"""The `kubernetes` target: a validated project + an environment -> Kubernetes objects, in
`contract.apply_order`, checked against the pinned Kubernetes OpenAPI schemas (`kube_schema`)."""

KUBERNETES_MINOR = "1.37"
"""Matches the test control plane (tools/k8s/versions.env). Here, not in `kube_schema`, so that
naming it (the CLI's help) does not import the schema checker."""
