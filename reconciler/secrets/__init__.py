"""Secrets: KEK envelope encryption at rest, and values sealed by `camelops secret seal`."""
