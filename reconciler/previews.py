"""Pull-request previews: render each PR head, diff it against its base, keep it for a TTL.

A PR head is `refs/pull/<n>/head` (GitHub, Gitea) or `refs/merge-requests/<n>/head` (GitLab).
Both sides render as the preview environment `pr-<n>`, so the diff shows only what the PR
changes. With `previews.deploy`, the head's bundle goes to the preview runner; when the ref
disappears (closed, merged) or the TTL ends, an empty bundle for `pr-<n>` prunes it all.
"""

from __future__ import annotations

import fnmatch
import logging
import re
from dataclasses import dataclass, field
from typing import Any

from contract.bundles import Bundle
from reconciler import git
from reconciler.pipeline import Pipeline
from reconciler.secrets.sealing import SealError
from reconciler.store.previews import PreviewRecord
from reconciler.store.records import ProjectRecord
from renderers import render_environment
from renderers.camel_diff import camel_diff
from renderers.context import SecretValueError
from renderers.diff import diff_objects
from schema.loaded import LoadedProject
from schema.models.project import Previews
from schema.repository import load_repository

log = logging.getLogger(__name__)

PR_REF = re.compile(r"^refs/(?:pull|merge-requests)/([1-9][0-9]{0,8})/head$")
_CLOSED = ("closed", "expired")
FORK_HELD = (
    "not deployed: the pull request's head is on no branch of this repository (a fork or an "
    "outside contributor); previews.deployForks allows it"
)


def preview_heads(
    refs: dict[str, str],
    settings: Previews,
    main_branch: str,
    branch_numbers: dict[str, int] | None = None,
    used: frozenset[int] = frozenset(),
) -> dict[int, tuple[str, str]]:
    """Preview number -> (ref, commit): PR heads, and branches matching `branchPattern`.

    A branch keeps the number it was given (`branch_numbers`: ref -> number of its open
    preview); a new branch gets the next number above every one `used` or seen here, so
    numbers stay short (`pr-12`) and a least-privileged runner's namespaces stay predictable.
    """
    heads = {int(m.group(1)): (ref, sha) for ref, sha in refs.items() if (m := PR_REF.match(ref))}
    if not settings.branch_pattern:
        return heads
    known = dict(branch_numbers or {})
    branches = sorted(
        ref
        for ref in refs
        if ref.startswith("refs/heads/")
        and ref.removeprefix("refs/heads/") != main_branch
        and fnmatch.fnmatchcase(ref.removeprefix("refs/heads/"), settings.branch_pattern)
    )
    for ref in branches:
        number = known.get(ref)
        if number is None or number in heads:  # a pull request took the number: a new one
            number = max({0, *used, *heads, *known.values()}) + 1
            known[ref] = number
        heads[number] = (ref, refs[ref])
    return heads


@dataclass(frozen=True, slots=True)
class _Head:
    number: int
    ref: str
    sha: str


@dataclass
class PreviewChanges:
    """What the controller must do on the loop after a refresh."""

    deliveries: list[tuple[str, Bundle]] = field(default_factory=list)
    events: list[dict[str, Any]] = field(default_factory=list)


class PreviewBuilder:
    def __init__(self, pipeline: Pipeline) -> None:
        self.pipeline = pipeline
        self.store = pipeline.store

    def refresh(self, project: ProjectRecord) -> PreviewChanges:
        """Blocking. Bring every preview of `project` in line with the mirror's PR refs."""
        changes = PreviewChanges()
        mirror = self.pipeline.mirrors(project)
        try:
            base = mirror.resolve(project.repository.branch)
            settings = self._settings(project, mirror, base.id)
        except git.GitSourceError:
            return changes
        if settings is None:
            return changes
        known = {p.number: p for p in self.store.previews.list(project.id)}
        branch_numbers = {
            p.ref: n
            for n, p in known.items()
            if p.ref.startswith("refs/heads/") and p.state not in _CLOSED
        }
        heads = preview_heads(
            mirror.refs(), settings, project.repository.branch, branch_numbers, frozenset(known)
        )
        moved = {n: h for n, h in heads.items() if n not in known or known[n].head_commit != h[1]}
        for number, (ref, sha) in sorted(moved.items()):
            self._build(
                project,
                mirror,
                _Head(number, ref, sha),
                base.id,
                settings=settings,
                changes=changes,
            )
        now = self.store.state.clock()
        for number, preview in known.items():
            if preview.state in _CLOSED or number in moved:
                continue
            if number not in heads:
                self._close(project, preview, "closed", settings.runner, changes)
            elif preview.expires_at <= now:
                self._close(project, preview, "expired", settings.runner, changes)
        return changes

    def _settings(
        self, project: ProjectRecord, mirror: git.GitMirror, base: str
    ) -> Previews | None:
        """The base branch's `previews` settings; loaded only when the pipeline has not."""
        cached = self.pipeline.preview_settings.get(project.id)
        if cached is None or cached[0] != base:
            loaded = self._load(mirror, base)
            if loaded is not None:
                cached = (base, loaded.project.spec.previews)
            elif cached is not None:
                cached = (base, cached[1])  # an invalid base keeps the last good settings
            else:
                return None
            self.pipeline.preview_settings[project.id] = cached
        return cached[1] if cached[1].enabled else None

    def _load(self, mirror: git.GitMirror, commit_id: str) -> LoadedProject | None:
        with git.checked_out(mirror, commit_id, self.pipeline.work_dir) as tree:
            return load_repository(tree).project

    def _build(
        self,
        project: ProjectRecord,
        mirror: git.GitMirror,
        pr: _Head,
        base_head: str,
        *,
        settings: Previews,
        changes: PreviewChanges,
    ) -> None:
        base_commit = mirror.merge_base(pr.sha, base_head) or base_head
        env = f"pr-{pr.number}"
        summary: dict[str, Any] = {}
        bundle: Bundle | None = None
        try:
            head, errors = self._load_report(mirror, pr.sha)
            base = self._load(mirror, base_commit)
            if head is not None:
                summary = self._summary(base, head, env)
                bundle, held = self._deployable(project, mirror, head, pr, settings)
                if held:
                    summary["held"] = held
        except (git.GitSourceError, SealError, SecretValueError) as exc:
            head, errors = None, (str(exc),)
        ttl = settings.ttl.total_seconds()
        state, body = ("ready", summary) if head is not None else ("invalid", {})
        self.store.previews.upsert(
            project.id,
            pr.number,
            ref=pr.ref,
            head=pr.sha,
            base=base_commit,
            state=state,
            summary=body,
            errors=errors if head is None else (),
            ttl_s=ttl,
            runner=settings.runner if bundle is not None and settings.runner else "",
        )
        detail = body if head is not None else {"errors": list(errors)}
        changes.events.append(_event(project, pr.number, pr.sha, state, detail))
        if bundle is not None and settings.runner:
            changes.deliveries.append((settings.runner, bundle))

    def _deployable(
        self,
        project: ProjectRecord,
        mirror: git.GitMirror,
        head: LoadedProject,
        pr: _Head,
        settings: Previews,
    ) -> tuple[Bundle | None, str]:
        """The preview's bundle, or why it is held back (rendered and diffed, not deployed).
        Secrets not marked previewSafe never get their values (the renderer withholds them)."""
        if not (settings.deploy and settings.runner):
            return None, ""
        outside = not pr.ref.startswith("refs/heads/") and not mirror.on_a_branch(pr.sha)
        if outside and not settings.deploy_forks:
            return None, FORK_HELD
        env = f"pr-{pr.number}"
        manifests = render_environment(head, env, self.pipeline.decrypter(project))
        return _bundle(project, env, pr.sha, manifests), ""

    def _load_report(
        self, mirror: git.GitMirror, sha: str
    ) -> tuple[LoadedProject | None, tuple[str, ...]]:
        with git.checked_out(mirror, sha, self.pipeline.work_dir) as tree:
            report = load_repository(tree)
        return report.project, tuple(d.format_text() for d in report.errors)

    @staticmethod
    def _summary(base: LoadedProject | None, head: LoadedProject, env: str) -> dict[str, Any]:
        before = render_environment(base, env) if base is not None else []
        after = render_environment(head, env)
        objects = [c.as_json() for c in diff_objects(before, after)]
        camel = [d.as_json() for d in camel_diff(base, head)]
        return {"environment": env, "objects": objects, "camel": camel}

    def _close(
        self,
        project: ProjectRecord,
        preview: PreviewRecord,
        state: str,
        runner: str | None,
        changes: PreviewChanges,
    ) -> None:
        self.store.previews.close(project.id, preview.number, state)
        changes.events.append(_event(project, preview.number, preview.head_commit, state, {}))
        if runner:
            env = f"pr-{preview.number}"
            changes.deliveries.append((runner, _bundle(project, env, preview.head_commit, [])))


def _bundle(project: ProjectRecord, env: str, sha: str, manifests: list[dict[str, Any]]) -> Bundle:
    return Bundle.of(project=project.name, environment=env, revision=sha, manifests=manifests)


def _event(
    project: ProjectRecord, number: int, sha: str, state: str, body: dict[str, Any]
) -> dict[str, Any]:
    return {
        "kind": "preview",
        "project": project.name,
        "number": number,
        "commit": sha,
        "state": state,
        "detail": body,
    }
