"""Pure renderers: a validated config repository + an environment -> the desired state of a
target (today `renderers.kubernetes`: Kubernetes objects). Output and diffs are target-neutral."""

from renderers.context import Decrypt, Manifest, RenderError, RenderOptions
from renderers.kubernetes.environment import UnknownEnvironmentError, render_environment
from renderers.output import OutputFormat, render_files, to_json, to_stream, to_yaml

__all__ = [
    "Decrypt",
    "Manifest",
    "OutputFormat",
    "RenderError",
    "RenderOptions",
    "UnknownEnvironmentError",
    "render_environment",
    "render_files",
    "to_json",
    "to_stream",
    "to_yaml",
]
