"""Caps that keep hostile repositories from exhausting memory or time. All configurable."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class LoadLimits:
    """Caps on what loading a repository reads: a hostile repository stays bounded."""

    max_file_bytes: int = 1024 * 1024
    """Largest single file read (bytes)."""
    max_repo_files: int = 10_000
    """Most files in the repository (outside .git)."""
    max_repo_bytes: int = 128 * 1024 * 1024
    """Largest total size of the repository (outside .git)."""
    max_yaml_nodes: int = 200_000
    """Most YAML nodes in one document once aliases are expanded (stops 'billion laughs')."""
    max_yaml_depth: int = 100
    """Deepest nesting of YAML collections."""
    max_xml_bytes: int = 1024 * 1024
    """Largest XML route file."""


DEFAULT_LIMITS = LoadLimits()
