"""Camel-aware validation: YAML and XML DSL route files, endpoint URIs, the pinned Camel catalog."""
