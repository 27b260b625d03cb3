"""The `kubernetes` target: a validated project + an environment -> Kubernetes objects, in
`contract.apply_order`, checked against the pinned Kubernetes OpenAPI schemas (`kube_schema`)."""
