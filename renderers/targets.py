"""Which renderer an environment gets: its `target` in camelops.yaml (kubernetes | local)."""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING

from renderers.context import Decrypt, Manifest
from renderers.kubernetes.environment import render_environment
from schema.loaded import LoadedProject
from schema.model_rules import Target

if TYPE_CHECKING:  # the local renderer loads only for an environment of the local target
    from renderers.local import LocalOptions


def environment_target(
    project: LoadedProject, env: str, local_runners: Collection[str] = ()
) -> Target:
    """The environment's declared target; unset, `local` only for a runner the control plane
    was told runs the local driver (`serve --local-runner`, kept for repositories written
    before `target:` existed), else `kubernetes`. A name that is no environment (a preview)
    is `kubernetes`."""
    for environment in project.project.spec.environments:
        if environment.name == env:
            if environment.target is not None:
                return environment.target
            return Target.LOCAL if environment.runner in local_runners else Target.KUBERNETES
    return Target.KUBERNETES


def render_target(
    project: LoadedProject,
    env: str,
    target: Target,
    decrypt: Decrypt | None = None,
    *,
    local_options: LocalOptions | None = None,
) -> list[Manifest]:
    """The objects of `env` for `target`, in apply order (secret values masked without
    `decrypt`)."""
    if target is Target.LOCAL:
        from renderers.local import render_local  # noqa: PLC0415

        return render_local(project, env, decrypt, options=local_options)
    return render_environment(project, env, decrypt)
