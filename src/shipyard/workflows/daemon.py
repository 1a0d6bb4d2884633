"""The workflow daemon: carries out workflow requests and fires cron schedules.

The hub only records requests (webhooks, schedules, events, manual runs). A daemon, started by
``shipyard server`` next to the app (never imported by ``shipyard.server``), loops:

1. fire the due cron schedules of the watched workflows (:mod:`shipyard.workflows.schedule`);
2. claim a request (with a lease, so two daemons never take the same one);
3. fetch its repository into a bare mirror and check the commit out in a fresh worktree
   (``<root>/checkouts/<request id>``), read ``.shipyard/workflows/*.y*ml``, remember them as
   watches (pushes only), and start each workflow whose ``on:`` matches the request's event;
4. record the workflow run ids it started, or the error.

Internal events (``dataset``, ``model_alias``, ``alert``) are matched against the triggers of the
watches; each match runs that workflow on the head of the branch it was last seen on.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, cast

from shipyard.artifacts.base import ArtifactStore
from shipyard.domain.triggers import (
    DEFAULT_REQUEST_LEASE_S,
    RequestSource,
    RequestStatus,
    WorkflowRequest,
    WorkflowWatch,
)
from shipyard.domain.workflows import TriggerEvent
from shipyard.errors import InvalidArgument, ShipyardError
from shipyard.settings import Settings
from shipyard.store.base import RunStore
from shipyard.store.triggers import TriggerStore
from shipyard.workflows import _checkout, events, schedule
from shipyard.workflows._stores import EngineStore
from shipyard.workflows.engine import fail_lost_runs
from shipyard.workflows.spec import Workflow, load_workflow

logger = logging.getLogger("shipyard.workflows.daemon")

WORKFLOW_DIR = ".shipyard/workflows"
REAP_EVERY_S = 30.0
"""How often the daemon ends workflow runs whose runner went silent."""


class Starter(Protocol):
    """Starts workflows (the engine's ``start_workflow``/``retry_workflow`` in production)."""

    def __call__(
        self, path: Path, *, params: Mapping[str, Any], trigger: TriggerEvent, workdir: Path
    ) -> str:
        """Start the workflow at ``path`` in ``workdir``; return its workflow run id."""
        ...

    def retry(self, workflow_run_id: str) -> str:
        """Resume an ended workflow run from its failed jobs; return the new run's id."""
        ...


@dataclass(frozen=True)
class Candidate:
    """A workflow file to start for a request: where it is, where to run it, what it says."""

    path: Path
    workdir: Path
    workflow: Workflow
    relpath: str


@dataclass
class Outcome:
    """What handling one request did."""

    run_ids: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


class WorkflowDaemon:
    """Claims workflow requests and fires schedules, in a background thread or step by step.

    Example::

        daemon = WorkflowDaemon(store, artifacts, Path(".shipyard/workflows-daemon"))
        daemon.start()          # ... daemon.stop()
        daemon.run_once()       # or drive it by hand (tests inject ``clock``)
    """

    def __init__(
        self,
        store: RunStore,
        artifacts: ArtifactStore,
        root: Path,
        *,
        name: str | None = None,
        poll_s: float = 2.0,
        lease_s: float = DEFAULT_REQUEST_LEASE_S,
        clock: Callable[[], float] = time.time,
        executor: str = "local",
        settings: Settings | None = None,
        starter: Starter | None = None,
    ) -> None:
        """Args: ``store`` (a SQL store: runs, workflows and triggers), ``artifacts``, ``root``
        (mirrors and checkouts live there), ``name`` (the daemon's lease holder name),
        ``poll_s``, ``lease_s``, ``clock`` (seconds since the epoch, for schedules),
        ``executor`` (of workflow jobs), ``settings`` (what the jobs' scripts get: tracking
        URI, artifacts), ``starter`` (defaults to the engine)."""
        if not isinstance(store, TriggerStore):
            raise InvalidArgument(
                f"the workflow daemon needs a SQL store, not {type(store).__name__}",
                hint="run `shipyard server` on sqlite:/// or postgresql+psycopg://",
            )
        self.store: RunStore = store
        self.triggers: TriggerStore = store
        self.root = Path(root)
        self.name = name or f"{socket.gethostname()}-{id(self):x}"
        self.poll_s, self.lease_s, self.clock = poll_s, lease_s, clock
        self.starter = starter or _EngineStarter(store, artifacts, executor, settings)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._reaped_at = 0.0

    # -- lifecycle --------------------------------------------------------------------------
    def start(self) -> None:
        """Run the loop in a daemon thread until :meth:`stop`."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="workflow-daemon", daemon=True)
            self._thread.start()

    def stop(self, timeout: float = 30.0) -> None:
        """Stop the loop (a request being handled is finished first)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:  # keep serving; the next round retries
                logger.exception("workflow daemon round failed")
            self._stop.wait(self.poll_s)

    # -- one round --------------------------------------------------------------------------
    def run_once(self) -> list[WorkflowRequest]:
        """End runs whose runner died, fire due schedules, then handle every claimable request;
        return the finished ones."""
        if time.monotonic() - self._reaped_at >= REAP_EVERY_S:
            self._reaped_at = time.monotonic()
            fail_lost_runs(self.store)
        schedule.fire_due(self.triggers, int(self.clock() * 1000))
        done = []
        while not self._stop.is_set():
            claimed = self.triggers.claim_workflow_request(daemon=self.name, lease_s=self.lease_s)
            if claimed is None:
                break
            done.append(self.handle(claimed))
        return done

    def handle(self, request: WorkflowRequest) -> WorkflowRequest:
        """Carry out one claimed request and record how it went."""
        outcome = Outcome()
        try:
            retry_of = request.event.get("retry_of")
            if isinstance(retry_of, str):
                outcome.run_ids.append(self.starter.retry(retry_of))
            for candidate in [] if retry_of else self._candidates(request, outcome):
                self._start(request, candidate, outcome)
        except ShipyardError as exc:
            outcome.errors.append(exc.message)
        except Exception as exc:  # a bug must not leave the request claimed forever
            logger.exception("workflow request %s failed", request.id)
            outcome.errors.append(f"{type(exc).__name__}: {exc}")
        failed = bool(outcome.errors) and not outcome.run_ids
        status = RequestStatus.FAILED if failed else RequestStatus.STARTED
        if not outcome.run_ids and not outcome.errors:
            outcome.errors.append("no workflow's `on:` matches this event")
        return self.triggers.finish_workflow_request(
            request.id,
            daemon=self.name,
            status=status,
            workflow_run_ids=outcome.run_ids,
            error="; ".join(outcome.errors),
        )

    # -- what to start ----------------------------------------------------------------------
    def _candidates(self, request: WorkflowRequest, outcome: Outcome) -> list[Candidate]:
        if request.source is RequestSource.EVENT:
            return self._event_candidates(request, outcome)
        if request.workflow is not None:
            return [self._named(request.repo_url, request.ref, request.workflow, request.id)]
        tree, commit = self._checkout(request.repo_url, request.ref, request.commit, request.id)
        found = self._scan(tree, outcome)
        if request.event.get("kind") == "push":
            self._remember(request.repo_url, request.branch, commit, found)
        return found

    def _event_candidates(self, request: WorkflowRequest, outcome: Outcome) -> list[Candidate]:
        event = events.trigger_event(request.event)
        found = []
        for watch in self.triggers.list_workflow_watches():
            if events.matches(events.triggers_from_dict(watch.events), event):
                try:
                    found.append(self._from_watch(watch, request.id))
                except ShipyardError as exc:
                    outcome.errors.append(f"{watch.path}: {exc.message}")
        return found

    def _from_watch(self, watch: WorkflowWatch, request_id: str) -> Candidate:
        ref = f"refs/heads/{watch.branch}" if watch.branch else ""
        return self._named(watch.repo_url, ref, watch.path, f"{request_id}-{watch.id[:8]}")

    def _named(self, repo_url: str, ref: str, relpath: str, key: str) -> Candidate:
        """One named workflow: a local file (no repository) or a path inside a repository."""
        if not repo_url:
            path = Path(relpath)
            return Candidate(path, local_workdir(path), load_workflow(path), relpath)
        tree, _ = self._checkout(repo_url, ref, "", key)
        path = tree / relpath
        return Candidate(path, tree, load_workflow(path), relpath)

    def _checkout(self, repo_url: str, ref: str, commit: str, key: str) -> tuple[Path, str]:
        dest = self.root / "checkouts" / key
        return _checkout.checkout(self.root, repo_url, ref, commit, dest)

    def _scan(self, tree: Path, outcome: Outcome) -> list[Candidate]:
        folder = tree / WORKFLOW_DIR
        files = sorted([*folder.glob("*.yml"), *folder.glob("*.yaml")]) if folder.is_dir() else []
        found = []
        for path in files:
            try:
                workflow = load_workflow(path)
            except ShipyardError as exc:
                outcome.errors.append(exc.message)
                continue
            found.append(Candidate(path, tree, workflow, path.relative_to(tree).as_posix()))
        return found

    def _remember(
        self, repo_url: str, branch: str, commit: str, found: Sequence[Candidate]
    ) -> None:
        for candidate in found:
            self.triggers.watch_workflow(
                repo_url=repo_url,
                path=candidate.relpath,
                branch=branch,
                commit=commit,
                schedules=candidate.workflow.on.schedule,
                events=events.triggers_to_dict(candidate.workflow.on),
            )

    # -- starting ---------------------------------------------------------------------------
    def _start(self, request: WorkflowRequest, candidate: Candidate, outcome: Outcome) -> None:
        trigger = _trigger(request)
        if not candidate.workflow.matches(trigger):
            if request.workflow is not None:  # named explicitly: say why it did not run
                outcome.errors.append(
                    f"{candidate.relpath}: its `on:` does not include {trigger.describe()}"
                )
            return
        try:
            run_id = self.starter(
                candidate.path, params=request.params, trigger=trigger, workdir=candidate.workdir
            )
        except ShipyardError as exc:
            outcome.errors.append(f"{candidate.relpath}: {exc.message}")
            return
        logger.info("request %s started workflow run %s", request.id, run_id)
        outcome.run_ids.append(run_id)


def local_workdir(path: Path) -> Path:
    """Where a local workflow file runs: the folder holding ``.shipyard/workflows/``, else the
    file's own folder."""
    resolved = path.resolve()
    if resolved.parent.name == "workflows" and resolved.parent.parent.name == ".shipyard":
        return resolved.parent.parent.parent
    return resolved.parent


def _trigger(request: WorkflowRequest) -> TriggerEvent:
    event = events.trigger_event(request.event)
    data = {**event.data, "request_id": request.id, "source": request.source.value}
    if request.commit:
        data["commit"] = request.commit
    if request.repo_url:
        data["repo_url"] = request.repo_url
    return TriggerEvent(event.kind, event.branch, event.cron, event.name, event.alias, data=data)


class _EngineStarter:
    """The production :class:`Starter`: the engine's ``start_workflow`` (not waiting)."""

    def __init__(
        self, store: RunStore, artifacts: ArtifactStore, executor: str, settings: Settings | None
    ) -> None:
        self.store, self.artifacts = store, artifacts
        self.executor, self.settings = executor, settings

    def __call__(
        self, path: Path, *, params: Mapping[str, Any], trigger: TriggerEvent, workdir: Path
    ) -> str:
        from shipyard.workflows.service import start_workflow

        info = start_workflow(
            cast(EngineStore, self.store),
            self.artifacts,
            path,
            params=params,
            trigger=trigger,
            workdir=workdir,
            executor=self.executor,
            settings=self.settings,
            wait=False,
        )
        return info.id

    def retry(self, workflow_run_id: str) -> str:
        """Resume a workflow run (the engine's ``retry_workflow``, not waiting)."""
        from shipyard.workflows.service import retry_workflow

        info = retry_workflow(
            cast(EngineStore, self.store),
            self.artifacts,
            workflow_run_id,
            executor=self.executor,
            settings=self.settings,
            wait=False,
        )
        return info.id
