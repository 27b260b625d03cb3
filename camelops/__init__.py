"""camelops: GitOps operations for Apache Camel. Composition root: CLI, settings, wiring."""

__version__ = "0.1.0"
