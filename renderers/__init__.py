"""Pure functions from a validated project and environment to Kubernetes objects."""
