"""The :class:`~shipyard.store.workflows.WorkflowStore` half of ``SqlRunStore``.

Each method is one short transaction. Status changes lock the workflow run's row (PostgreSQL
``FOR UPDATE``; SQLite writers hold the database lock) and check it has not ended, so a cancel
racing the engine never resurrects a finished run.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shipyard.domain.ids import new_id
from shipyard.domain.workflows import (
    StepStatus,
    TriggerEvent,
    WorkflowJob,
    WorkflowRun,
    WorkflowStatus,
)
from shipyard.errors import Conflict, InvalidArgument, NotFound
from shipyard.store.sql._runs import now_ms
from shipyard.store.sql.models_workflows import WorkflowJobRow, WorkflowRunRow

MAX_LIST = 1000
MAX_TEXT = 20000


class SqlWorkflowStore:
    """Workflow methods of :class:`~shipyard.store.sql.store.SqlRunStore` (a base class of it)."""

    def _read(self) -> AbstractContextManager[Session]:
        raise NotImplementedError  # provided by SqlRunStore

    def _write(self) -> AbstractContextManager[Session]:
        raise NotImplementedError  # provided by SqlRunStore

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
        """Record a ``PENDING`` workflow run with a ``PENDING`` row per job."""
        _check_text("workflow name", name, 256)
        _check_text("project", project, 256)
        row = WorkflowRunRow(
            id=new_id(),
            name=name,
            project=project,
            path=path,
            spec=spec,
            commit=commit[:64],
            params_json=_dump(params or {}, "params"),
            trigger_json=None if trigger is None else json.dumps(trigger.to_dict()),
            user=user[:256],
            status=WorkflowStatus.PENDING.value,
            message="",
            cancel_requested=False,
            retry_of=retry_of,
            created_at=now_ms(),
        )
        with self._write() as session:
            session.add(row)
            session.flush()  # no ORM relationship orders the inserts: the run row goes first
            for position, job in enumerate(jobs):
                _check_text("job name", job, 128)
                session.add(_new_job(row.id, job, position))
            session.flush()
            return workflow_run_of(row)

    def get_workflow_run(self, workflow_run_id: str) -> WorkflowRun:
        """A workflow run. Raises ``NotFound``."""
        with self._read() as session:
            return workflow_run_of(_get(session, workflow_run_id))

    def list_workflow_runs(
        self, *, project: str | None = None, name: str | None = None, limit: int = 100
    ) -> Sequence[WorkflowRun]:
        """Workflow runs newest first, optionally of one project or workflow name."""
        if isinstance(limit, bool) or not 1 <= limit <= MAX_LIST:
            raise InvalidArgument(
                f"limit must be from 1 to {MAX_LIST}, got {limit!r}", hint="e.g. limit=100"
            )
        query = sa.select(WorkflowRunRow).order_by(
            WorkflowRunRow.created_at.desc(), WorkflowRunRow.id.desc()
        )
        if project is not None:
            query = query.where(WorkflowRunRow.project == project)
        if name is not None:
            query = query.where(WorkflowRunRow.name == name)
        with self._read() as session:
            return [workflow_run_of(row) for row in session.scalars(query.limit(limit))]

    def set_workflow_status(
        self, workflow_run_id: str, status: WorkflowStatus, *, message: str | None = None
    ) -> WorkflowRun:
        """Move a workflow run to ``status``; ``Conflict`` when it has ended. Setting
        ``RUNNING`` (again) records a heartbeat: its engine is alive."""
        status = WorkflowStatus(status)
        with self._write() as session:
            row = _get(session, workflow_run_id, lock=True)
            if WorkflowStatus(row.status).is_terminal:
                raise Conflict(
                    f"workflow run {workflow_run_id} has ended ({row.status})",
                    hint="retry it to run it again: shipyard workflow retry ID",
                )
            row.status = status.value
            if status is WorkflowStatus.RUNNING:
                row.heartbeat_at = now_ms()
            if message is not None:
                row.message = message[:MAX_TEXT]
            if status.is_terminal:
                row.ended_at = now_ms()
            return workflow_run_of(row)

    def fail_lost_workflow_runs(self, silent_ms: int) -> list[str]:
        """End ``FAILED`` every RUNNING workflow run whose engine has sent no heartbeat for
        ``silent_ms`` (its process died: killed, or its machine went down), with its
        unfinished jobs; returns their ids. ``workflow retry`` resumes them."""
        cutoff = now_ms() - silent_ms
        stale = sa.or_(
            WorkflowRunRow.heartbeat_at < cutoff,
            sa.and_(WorkflowRunRow.heartbeat_at.is_(None), WorkflowRunRow.created_at < cutoff),
        )
        query = sa.select(WorkflowRunRow).where(
            WorkflowRunRow.status == WorkflowStatus.RUNNING.value, stale
        )
        message = (
            f"its runner stopped: no heartbeat for {silent_ms // 1000}s (the process that ran it "
            "was killed or its machine went down); resume it with `shipyard workflow retry ID`"
        )
        with self._write() as session:
            lost = list(session.scalars(query.with_for_update()))
            for row in lost:
                row.status = WorkflowStatus.FAILED.value
                row.message = message
                row.ended_at = now_ms()
                for was, now in ((StepStatus.RUNNING, StepStatus.FAILED),
                                 (StepStatus.PENDING, StepStatus.SKIPPED)):  # fmt: skip
                    session.execute(
                        sa.update(WorkflowJobRow)
                        .where(
                            WorkflowJobRow.workflow_run_id == row.id,
                            WorkflowJobRow.status == was.value,
                        )
                        .values(status=now.value, message="its runner stopped", ended_at=now_ms())
                    )
            return [row.id for row in lost]

    def request_workflow_cancel(self, workflow_run_id: str) -> WorkflowRun:
        """Set ``cancel_requested``; a pending run ends ``CANCELLED`` at once."""
        with self._write() as session:
            row = _get(session, workflow_run_id, lock=True)
            if WorkflowStatus(row.status).is_terminal:
                return workflow_run_of(row)
            row.cancel_requested = True
            if row.status == WorkflowStatus.PENDING.value:
                _cancel_pending(session, row)
            return workflow_run_of(row)

    def list_workflow_jobs(self, workflow_run_id: str) -> Sequence[WorkflowJob]:
        """The jobs of a workflow run in declaration order."""
        query = (
            sa.select(WorkflowJobRow)
            .where(WorkflowJobRow.workflow_run_id == workflow_run_id)
            .order_by(WorkflowJobRow.position)
        )
        with self._read() as session:
            _get(session, workflow_run_id)
            return [workflow_job_of(row) for row in session.scalars(query)]

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
        """Change the given fields of one job. Once the job and its workflow run have both
        ended, its status stays (an engine still busy with a run declared lost cannot rewrite
        it)."""
        with self._write() as session:
            row = session.get(WorkflowJobRow, (workflow_run_id, name))
            if row is None:
                raise NotFound(
                    f"workflow run {workflow_run_id!r} has no job {name!r}",
                    hint="list its jobs: shipyard workflow show ID",
                )
            if status is not None and not _settled(session, row):
                _set_status(row, StepStatus(status))
            for field, value in (("run_id", run_id), ("cache_key", cache_key)):
                if value is not None:
                    setattr(row, field, value)
            if reason is not None:
                row.reason = reason[:MAX_TEXT]
            if message is not None:
                row.message = message[:MAX_TEXT]
            if outputs is not None:
                row.outputs_json = _dump(dict(outputs), "outputs")
            if fingerprint is not None:
                row.fingerprint_json = _dump(dict(fingerprint), "fingerprint")
            if attempt is not None:
                row.attempt = attempt
            return workflow_job_of(row)

    def find_cached_job(self, project: str, cache_key: str) -> WorkflowJob | None:
        """The newest job of ``project`` that ran and succeeded with ``cache_key``."""
        query = (
            sa.select(WorkflowJobRow)
            .join(WorkflowRunRow, WorkflowRunRow.id == WorkflowJobRow.workflow_run_id)
            .where(
                WorkflowJobRow.cache_key == cache_key,
                WorkflowJobRow.status == StepStatus.SUCCEEDED.value,
                WorkflowRunRow.project == project,
            )
            .order_by(WorkflowJobRow.ended_at.desc())
            .limit(1)
        )
        with self._read() as session:
            row = session.scalars(query).first()
            return None if row is None else workflow_job_of(row)

    def find_previous_job(self, project: str, workflow: str, job: str) -> WorkflowJob | None:
        """The newest successful (ran or reused) job ``job`` of workflow ``workflow``."""
        done = (StepStatus.SUCCEEDED.value, StepStatus.CACHED.value)
        query = (
            sa.select(WorkflowJobRow)
            .join(WorkflowRunRow, WorkflowRunRow.id == WorkflowJobRow.workflow_run_id)
            .where(
                WorkflowJobRow.name == job,
                WorkflowJobRow.status.in_(done),
                WorkflowRunRow.project == project,
                WorkflowRunRow.name == workflow,
            )
            .order_by(WorkflowJobRow.ended_at.desc())
            .limit(1)
        )
        with self._read() as session:
            row = session.scalars(query).first()
            return None if row is None else workflow_job_of(row)


def workflow_run_of(row: WorkflowRunRow) -> WorkflowRun:
    """The domain entity of a row."""
    trigger = (
        None if row.trigger_json is None else TriggerEvent.from_dict(json.loads(row.trigger_json))
    )
    return WorkflowRun(
        id=row.id,
        name=row.name,
        project=row.project,
        path=row.path,
        status=WorkflowStatus(row.status),
        created_at=row.created_at,
        spec=row.spec,
        commit=row.commit,
        params=json.loads(row.params_json),
        trigger=trigger,
        user=row.user,
        message=row.message,
        ended_at=row.ended_at,
        cancel_requested=row.cancel_requested,
        retry_of=row.retry_of,
        heartbeat_at=row.heartbeat_at,
    )


def workflow_job_of(row: WorkflowJobRow) -> WorkflowJob:
    """The domain entity of a row."""
    return WorkflowJob(
        workflow_run_id=row.workflow_run_id,
        name=row.name,
        status=StepStatus(row.status),
        position=row.position,
        run_id=row.run_id,
        cache_key=row.cache_key,
        reason=row.reason,
        message=row.message,
        outputs=json.loads(row.outputs_json),
        fingerprint=json.loads(row.fingerprint_json),
        attempt=row.attempt,
        started_at=row.started_at,
        ended_at=row.ended_at,
    )


def _new_job(workflow_run_id: str, name: str, position: int) -> WorkflowJobRow:
    return WorkflowJobRow(
        workflow_run_id=workflow_run_id,
        name=name,
        position=position,
        status=StepStatus.PENDING.value,
        cache_key="",
        reason="",
        message="",
        outputs_json="{}",
        fingerprint_json="{}",
        attempt=1,
    )


def _get(session: Session, workflow_run_id: str, *, lock: bool = False) -> WorkflowRunRow:
    query = sa.select(WorkflowRunRow).where(WorkflowRunRow.id == workflow_run_id)
    if lock and session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    row = session.scalars(query).first()
    if row is None:
        raise NotFound(
            f"workflow run {workflow_run_id!r} not found",
            hint="list workflow runs: shipyard workflow runs",
        )
    return row


def _cancel_pending(session: Session, row: WorkflowRunRow) -> None:
    now = now_ms()
    row.status, row.ended_at = WorkflowStatus.CANCELLED.value, now
    row.message = row.message or "cancelled before it started"
    jobs = session.scalars(
        sa.select(WorkflowJobRow).where(WorkflowJobRow.workflow_run_id == row.id)
    )
    for job in jobs:
        if not StepStatus(job.status).is_terminal:
            job.status, job.ended_at = StepStatus.CANCELLED.value, now


def _settled(session: Session, row: WorkflowJobRow) -> bool:
    """Whether the job and its workflow run have both ended."""
    if not StepStatus(row.status).is_terminal:
        return False
    run_status = session.scalar(
        sa.select(WorkflowRunRow.status).where(WorkflowRunRow.id == row.workflow_run_id)
    )
    return run_status is not None and WorkflowStatus(run_status).is_terminal


def _set_status(row: WorkflowJobRow, status: StepStatus) -> None:
    row.status = status.value
    now = now_ms()
    if status is StepStatus.RUNNING:
        row.started_at, row.ended_at = now, None
    elif status.is_terminal:
        row.ended_at = now
        row.started_at = row.started_at or now
    else:
        row.started_at = row.ended_at = None


def _dump(value: Mapping[str, Any], what: str) -> str:
    try:
        return json.dumps(dict(value), sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise InvalidArgument(
            f"workflow {what} must be JSON values: {exc}", hint="use text, numbers and booleans"
        ) from None


def _check_text(what: str, value: str, limit: int) -> None:
    if not isinstance(value, str) or not value or len(value) > limit or not value.isprintable():
        raise InvalidArgument(
            f"invalid {what} {value!r}", hint=f"use printable text of 1 to {limit} characters"
        )
