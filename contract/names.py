"""Field patterns several messages share."""

from __future__ import annotations

NAME = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$"
"""A DNS label: project, environment, integration names."""
