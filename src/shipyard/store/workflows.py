"""The workflow store protocol: workflow runs, the state of their jobs, and the step cache.

Contract (checked by ``shipyard.testing.workflow_contract`` over every backend):

* ``create_workflow_run`` records a ``PENDING`` workflow run with one ``PENDING`` job row per
  job name (in the order given), in one transaction.
* ``set_workflow_status`` moves a run forward; a terminal status sets ``ended_at``; changing a
  run that has ended raises ``Conflict``. ``update_workflow_job`` changes the given fields of a
  job; ``RUNNING`` sets ``started_at``, a terminal status sets ``ended_at``.
* ``request_workflow_cancel`` sets ``cancel_requested`` (whoever runs it stops its jobs); a
  ``PENDING`` run nobody runs yet ends ``CANCELLED`` at once; a no-op for an ended run.
* ``find_previous_job`` returns the newest ``SUCCEEDED`` or ``CACHED`` job of that name in a
  run of that workflow (name) in the project, or ``None``.
* ``find_cached_job`` returns the newest job of the project, in any workflow run, that
  ``SUCCEEDED`` (ran) with the given cache key, or ``None``.
* Unknown ids raise ``NotFound``. Times are integer milliseconds since the epoch (UTC).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from shipyard.domain.workflows import (
    StepStatus,
    TriggerEvent,
    WorkflowJob,
    WorkflowRun,
    WorkflowStatus,
)


@runtime_checkable
class WorkflowStore(Protocol):
    """Where workflow runs and their jobs live."""

    def create_workflow_run(
        self,
        *,
        name: str,
        project: str,
        jobs: Sequence[str],
        path: str = "",
        spec: str = "",
        commit: str = "",
        params: Mapping[str, Any] | None = None,
        trigger: TriggerEvent | None = None,
        user: str = "",
        retry_of: str | None = None,
    ) -> WorkflowRun:
        """Record a ``PENDING`` workflow run and a ``PENDING`` row for each of ``jobs``.

        Example::

            wf = store.create_workflow_run(name="train", project="iris", jobs=["prep", "train"])
        """
        ...

    def get_workflow_run(self, workflow_run_id: str) -> WorkflowRun:
        """A workflow run. Raises ``NotFound``."""
        ...

    def list_workflow_runs(
        self, *, project: str | None = None, name: str | None = None, limit: int = 100
    ) -> Sequence[WorkflowRun]:
        """Workflow runs newest first, optionally of one project or one workflow name."""
        ...

    def set_workflow_status(
        self, workflow_run_id: str, status: WorkflowStatus, *, message: str | None = None
    ) -> WorkflowRun:
        """Move a workflow run to ``status``. Raises ``Conflict`` when it has ended."""
        ...

    def request_workflow_cancel(self, workflow_run_id: str) -> WorkflowRun:
        """Ask whoever runs it to stop (a pending run ends ``CANCELLED`` at once)."""
        ...

    def list_workflow_jobs(self, workflow_run_id: str) -> Sequence[WorkflowJob]:
        """The jobs of a workflow run, in the order they were declared. Raises ``NotFound``."""
        ...

    def update_workflow_job(
        self,
        workflow_run_id: str,
        name: str,
        *,
        status: StepStatus | None = None,
        run_id: str | None = None,
        cache_key: str | None = None,
        reason: str | None = None,
        message: str | None = None,
        outputs: Mapping[str, str] | None = None,
        fingerprint: Mapping[str, Any] | None = None,
        attempt: int | None = None,
    ) -> WorkflowJob:
        """Change the given fields of one job. Raises ``NotFound`` for an unknown job."""
        ...

    def find_cached_job(self, project: str, cache_key: str) -> WorkflowJob | None:
        """The newest job of ``project`` that ran and succeeded with ``cache_key``."""
        ...

    def find_previous_job(self, project: str, workflow: str, job: str) -> WorkflowJob | None:
        """The newest job ``job`` of workflow ``workflow`` in ``project`` that ran or was reused
        successfully (to tell what changed since)."""
        ...


@runtime_checkable
class LostRunReaper(Protocol):
    """A store that can end workflow runs whose engine went silent (the SQL store)."""

    def fail_lost_workflow_runs(self, silent_ms: int) -> list[str]:
        """End ``FAILED`` the RUNNING runs without a heartbeat for ``silent_ms``; their ids."""
        ...
