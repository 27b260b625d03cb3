"""The build half of a reconcile, Flux-style: fetch -> validate -> render -> bundle -> store.

`build` is a fixed list of named steps that stops at the first error; each step raises a
`ReconcileError` whose kind says how to retry. It blocks (pygit2, SQLite, rendering), so the
controller runs it in a worker thread. Nothing is stored unless every environment rendered:
an invalid revision is recorded with all its errors and the environments keep their bundles.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from contract.bundles import Bundle
from reconciler import git
from reconciler.errors import Reason, stalled, transient, waiting
from reconciler.secrets.sealing import SealError, unseal_value
from reconciler.store import StateStore
from reconciler.store.records import ProjectRecord, RevisionRecord, RevisionState
from renderers.context import SecretValueError
from renderers.local import LocalOptions
from renderers.targets import environment_target, render_target
from schema.loaded import LoadedProject
from schema.models.project import Previews
from schema.repository import load_repository

log = logging.getLogger(__name__)

MirrorFactory = Callable[[ProjectRecord], git.GitMirror]


@dataclass(frozen=True, slots=True)
class BuildOutcome:
    commit: git.CommitInfo
    bundles: dict[str, int]
    """Environment -> id of the bundle this revision produced."""
    fresh: bool
    """False when the commit had already been built (a poll with nothing new)."""


class Pipeline:
    def __init__(
        self,
        store: StateStore,
        mirrors: MirrorFactory,
        work_dir: Path,
        local_runners: frozenset[str] = frozenset(),
        local_options: LocalOptions | None = None,
    ) -> None:
        self.store = store
        self.mirrors = mirrors
        self.work_dir = work_dir
        self.local_runners = local_runners
        """Runners on the `local` driver (`serve --local-runner`): their environments that
        declare no `target` render for the local target."""
        self.local_options = local_options or LocalOptions()
        self.preview_settings: dict[int, tuple[str, Previews]] = {}
        """Project id -> (commit, `previews` settings) of the last good revision built."""

    def build(self, project: ProjectRecord) -> BuildOutcome:
        mirror = self.mirrors(project)
        self.fetch(mirror)
        commit = self.resolve(mirror, project.repository.branch)
        previous = self._recorded(project, commit.id)
        if previous is not None:
            return self._replay_record(project, commit, previous)
        loaded = self.checkout_and_validate(project, mirror, commit)
        bundles = self.render(project, loaded, commit)
        ids = self.save(project, loaded, bundles, commit)
        self.preview_settings[project.id] = (commit.id, loaded.project.spec.previews)
        return BuildOutcome(commit, ids, fresh=True)

    def fetch(self, mirror: git.GitMirror) -> dict[str, str]:
        try:
            return mirror.fetch()
        except (git.SourceTooLargeError, git.SourceRefusedError) as exc:
            raise stalled(Reason.SOURCE_REJECTED, str(exc)) from exc
        except git.GitSourceError as exc:
            raise transient(Reason.FETCH_FAILED, str(exc)) from exc

    def resolve(self, mirror: git.GitMirror, ref: str) -> git.CommitInfo:
        try:
            return mirror.resolve(ref)
        except git.GitSourceError as exc:
            # a deleted branch may come back: keep checking at the normal interval
            raise waiting(Reason.REF_NOT_FOUND, str(exc)) from exc

    def checkout_and_validate(
        self, project: ProjectRecord, mirror: git.GitMirror, commit: git.CommitInfo
    ) -> LoadedProject:
        try:
            with git.checked_out(mirror, commit.id, self.work_dir) as tree:
                report = load_repository(tree)
        except git.SourceRejectedError as exc:
            self._record(project, commit, RevisionState.REJECTED, (str(exc),))
            raise stalled(Reason.SOURCE_REJECTED, str(exc), (str(exc),)) from exc
        except git.GitSourceError as exc:
            raise transient(Reason.FETCH_FAILED, str(exc)) from exc
        except Exception as exc:  # a loader bug records a failed revision, never a crash
            log.exception("loading %s at %s failed", project.name, commit.id[:12])
            error = f"the revision could not be loaded: {type(exc).__name__}: {str(exc)[:200]}"
            self._record(project, commit, RevisionState.INVALID, (error,))
            raise stalled(Reason.VALIDATION_FAILED, error, (error,)) from exc
        if report.project is None:
            errors = tuple(d.format_text() for d in report.errors) or ("the revision is invalid",)
            self._record(project, commit, RevisionState.INVALID, errors)
            raise stalled(
                Reason.VALIDATION_FAILED,
                f"revision {commit.id[:12]} is invalid: {len(errors)} error(s)",
                errors,
            )
        return report.project

    def render(
        self, project: ProjectRecord, loaded: LoadedProject, commit: git.CommitInfo
    ) -> list[Bundle]:
        """Every environment or none: one failure fails the revision."""
        decrypt = self.decrypter(project)
        bundles = []
        for env in loaded.project.spec.environments:
            target = environment_target(loaded, env.name, self.local_runners)
            try:
                manifests = render_target(
                    loaded, env.name, target, decrypt, local_options=self.local_options
                )
            except SecretValueError as exc:  # names the file and the key
                self._fail_render(project, commit, f"{env.name}: {exc}")
            except SealError as exc:
                self._fail_render(project, commit, f"{env.name}: a sealed secret: {exc}")
            except Exception as exc:  # a renderer bug must not take the controller down
                log.exception("render failed for %s/%s", project.name, env.name)
                self._fail_render(project, commit, f"{env.name}: {type(exc).__name__}: {exc}")
            bundles.append(self._bundle(project, env.name, manifests, commit, target.value))
        return bundles

    def _fail_render(self, project: ProjectRecord, commit: git.CommitInfo, error: str) -> None:
        self._record(project, commit, RevisionState.RENDER_FAILED, (error,))
        raise stalled(Reason.RENDER_FAILED, error, (error,))

    def decrypter(self, project: ProjectRecord) -> Callable[[str], str]:
        key = self.store.projects.private_key(project)
        return lambda sealed: unseal_value(key, project.name, sealed)

    @staticmethod
    def _bundle(
        project: ProjectRecord,
        env: str,
        manifests: list[dict[str, object]],
        commit: git.CommitInfo,
        target: str = "kubernetes",
    ) -> Bundle:
        return Bundle.of(
            project=project.name,
            environment=env,
            revision=commit.id,
            manifests=manifests,
            commit_author=commit.author,
            commit_message=commit.message,
            target=target,
        )

    def save(
        self,
        project: ProjectRecord,
        loaded: LoadedProject,
        bundles: list[Bundle],
        commit: git.CommitInfo,
    ) -> dict[str, int]:
        """One transaction: the environments, every bundle and the revision record, or nothing."""
        with self.store.state.transaction():
            self.store.desired.sync_environments(project.id, loaded.project.spec.environments)
            ids = {b.environment: self.store.desired.save_bundle(project.id, b) for b in bundles}
            self._record(project, commit, RevisionState.READY, ())
        return ids

    def _record(
        self,
        project: ProjectRecord,
        commit: git.CommitInfo,
        state: RevisionState,
        errors: tuple[str, ...],
    ) -> None:
        record = RevisionRecord(
            commit.id, commit.author, commit.message, state, errors, self.store.state.clock()
        )
        self.store.projects.record_revision(project.id, record)

    def _recorded(self, project: ProjectRecord, commit_id: str) -> RevisionRecord | None:
        for revision in self.store.projects.revisions(project.id, limit=200):
            if revision.commit_id == commit_id:
                return revision
        return None

    def _replay_record(
        self, project: ProjectRecord, commit: git.CommitInfo, previous: RevisionRecord
    ) -> BuildOutcome:
        """A commit already built: same result, no re-render (stalled stays stalled)."""
        if previous.state is RevisionState.READY:
            ids = {
                e.name: e.latest_bundle_id
                for e in self.store.desired.environments(project.id)
                if e.latest_bundle_id is not None
            }
            return BuildOutcome(commit, ids, fresh=False)
        reason = {
            RevisionState.RENDER_FAILED: Reason.RENDER_FAILED,
            RevisionState.REJECTED: Reason.SOURCE_REJECTED,
        }.get(previous.state, Reason.VALIDATION_FAILED)
        message = f"revision {commit.id[:12]} is {previous.state.value}: waiting for a new commit"
        raise stalled(reason, message, previous.errors)
