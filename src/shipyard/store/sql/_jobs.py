"""The :class:`~shipyard.store.jobs.JobStore` half of ``SqlRunStore``: the jobs table.

Every transition runs in one write transaction that locks the job's row (PostgreSQL
``FOR UPDATE``; SQLite write transactions hold the database's write lock from ``BEGIN
IMMEDIATE``) and checks the state it expects, so racing callers never both win. Claiming picks
the oldest queued job with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL (agents never wait on each
other) and takes it with an ``UPDATE ... WHERE state = 'QUEUED'`` that only one caller can win.
Ending a job updates its run in the same transaction, so the two never disagree.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shipyard.domain.entities import RunStatus
from shipyard.domain.jobs import (
    ACTIVE_PHASES,
    Job,
    JobAttempt,
    JobPhase,
    run_status_of,
    validate_agent_name,
    validate_lease,
    validate_queue_name,
    validate_retries,
)
from shipyard.errors import AlreadyExists, Conflict, InvalidArgument, NotFound
from shipyard.store.sql._runs import affected_rows, lock_run, now_ms
from shipyard.store.sql.models import JobRow

MAX_SPEC_BYTES = 1 << 20
MAX_MESSAGE_CHARS = 4000
MAX_LIST = 1000
_EXECUTOR_RE = re.compile(r"^[a-z][a-z0-9_\-]{0,31}$")
_RUNNING = (JobPhase.PENDING.value, JobPhase.RUNNING.value)


class SqlJobStore:
    """Job methods of :class:`~shipyard.store.sql.store.SqlRunStore` (a base class of it)."""

    def _read(self) -> AbstractContextManager[Session]:
        raise NotImplementedError  # provided by SqlRunStore

    def _write(self) -> AbstractContextManager[Session]:
        raise NotImplementedError  # provided by SqlRunStore

    def create_job(
        self,
        run_id: str,
        *,
        executor: str,
        spec: Mapping[str, Any],
        max_retries: int = 0,
        queue: str | None = None,
    ) -> Job:
        """Record the job of an existing run (``QUEUED`` on ``queue``, else ``PENDING``).

        Raises ``NotFound`` for an unknown run, ``AlreadyExists`` when it has a job,
        ``InvalidArgument`` for a bad executor name, retry count, queue name or spec.
        """
        values = _new_job_values(executor, spec, max_retries, queue)
        with self._write() as session:
            lock_run(session, run_id)
            if session.get(JobRow, run_id) is not None:
                raise AlreadyExists(
                    f"run {run_id} already has a job", hint="submit the command as a new run"
                )
            row = JobRow(run_id=run_id, **values)
            session.add(row)
            session.flush()
            return job_of(row)

    def get_job(self, run_id: str) -> Job:
        """The job of a run (its lease checked first). Raises ``NotFound``."""
        self._expire_leases(run_id)
        with self._read() as session:
            row = session.get(JobRow, run_id)
            if row is None:
                raise job_not_found(run_id)
            return job_of(row)

    def list_jobs(
        self,
        *,
        queue: str | None = None,
        states: Sequence[JobPhase] = (),
        run_id_prefix: str | None = None,
        limit: int = 100,
    ) -> Sequence[Job]:
        """Jobs newest first, filtered by queue, states and run id prefix (leases checked)."""
        if isinstance(limit, bool) or not 1 <= limit <= MAX_LIST:
            raise InvalidArgument(
                f"limit must be from 1 to {MAX_LIST}, got {limit!r}", hint="e.g. limit=100"
            )
        self._expire_leases()
        query = sa.select(JobRow).order_by(JobRow.created_at.desc(), JobRow.run_id.desc())
        if queue is not None:
            query = query.where(JobRow.queue == queue)
        if states:
            query = query.where(JobRow.state.in_([JobPhase(s).value for s in states]))
        if run_id_prefix:
            query = query.where(JobRow.run_id.startswith(run_id_prefix, autoescape=True))
        with self._read() as session:
            return [job_of(row) for row in session.scalars(query.limit(limit))]

    def start_attempt(self, run_id: str, *, attempt: int, handle: str | None = None) -> Job:
        """Open the next attempt of a ``PENDING`` direct job (before or after submitting it)."""
        with self._write() as session:
            row = _locked(session, run_id)
            ready = row.state == JobPhase.PENDING.value and not _attempt_open(row)
            if not ready or row.agent is not None or row.attempts != attempt - 1:
                raise Conflict(
                    f"job {run_id} cannot start attempt {attempt}: it is {row.state} after "
                    f"{row.attempts} attempt(s)",
                    hint="another process started or ended it; read the job again",
                )
            now = now_ms()
            row.attempts, row.handle, row.updated_at, row.attempt_at = attempt, handle, now, now
            row.started_at = row.started_at or now
            return job_of(row)

    def claim_job(self, queue: str, *, agent: str, lease_s: float) -> Job | None:
        """Give the oldest ``QUEUED`` job of ``queue`` to ``agent``; ``None`` when none waits."""
        validate_queue_name(queue)
        validate_agent_name(agent)
        lease_ms = int(validate_lease(lease_s) * 1000)
        self._expire_leases()
        with self._write() as session:
            pick = sa.select(JobRow.run_id).where(
                JobRow.queue == queue, JobRow.state == JobPhase.QUEUED.value
            )
            pick = pick.order_by(JobRow.created_at, JobRow.run_id).limit(1)
            if session.get_bind().dialect.name == "postgresql":
                pick = pick.with_for_update(skip_locked=True)
            run_id = session.scalar(pick)
            if run_id is None:
                return None
            now = now_ms()
            take = (
                sa.update(JobRow)
                .where(JobRow.run_id == run_id, JobRow.state == JobPhase.QUEUED.value)
                .values(
                    state=JobPhase.PENDING.value,
                    agent=agent,
                    lease_ms=lease_ms,
                    heartbeat_at=now,
                    attempts=JobRow.attempts + 1,
                    handle=None,
                    updated_at=now,
                    attempt_at=now,
                    started_at=sa.func.coalesce(JobRow.started_at, now),
                )
            )
            if affected_rows(session, take) == 0:
                return None  # another agent won it; the caller polls again
            row = session.get(JobRow, run_id, populate_existing=True)
            assert row is not None
            return job_of(row)

    def heartbeat(
        self,
        run_id: str,
        *,
        attempt: int,
        agent: str | None = None,
        state: JobPhase | None = None,
        handle: str | None = None,
    ) -> Job:
        """Renew the lease of the current attempt; optionally record its state and handle."""
        if state is not None and JobPhase(state) not in (JobPhase.PENDING, JobPhase.RUNNING):
            raise InvalidArgument(
                f"a heartbeat cannot set state {state}", hint="end the attempt with complete_job"
            )
        self._expire_leases(run_id)
        with self._write() as session:
            row = _current(session, run_id, attempt, agent)
            now = now_ms()
            row.heartbeat_at = now if row.agent is not None else row.heartbeat_at
            row.updated_at = now
            if handle is not None:
                row.handle = handle
            if state is JobPhase.RUNNING and row.state == JobPhase.PENDING.value:
                row.state = JobPhase.RUNNING.value
            return job_of(row)

    def complete_job(
        self,
        run_id: str,
        *,
        attempt: int,
        state: JobPhase,
        agent: str | None = None,
        exit_code: int | None = None,
        message: str = "",
    ) -> Job:
        """End the current attempt in ``state``: retry the job, or end it and its run."""
        phase = JobPhase(state)
        if not phase.is_terminal:
            raise InvalidArgument(
                f"an attempt cannot end as {phase}", hint="use a terminal state, e.g. SUCCEEDED"
            )
        with self._write() as session:
            row = _current(session, run_id, attempt, agent)
            end_attempt(session, row, phase, exit_code, message)
            return job_of(row)

    def request_cancel(self, run_id: str) -> Job:
        """Cancel a job no executor holds now; ask the holder of a running one to stop it."""
        with self._write() as session:
            row = _locked(session, run_id)
            if JobPhase(row.state).is_terminal:
                return job_of(row)
            row.cancel_requested = True
            row.updated_at = now_ms()
            if row.handle is None and row.agent is None:  # no executor holds it (yet)
                _finish(session, row, JobPhase.CANCELLED, None, "cancelled before it started")
            return job_of(row)

    # -- leases ---------------------------------------------------------------------------------

    def _expire_leases(self, run_id: str | None = None) -> None:
        """Mark ``LOST`` the attempts whose agent missed its lease (looked up without a write
        transaction first, so reads take no write lock when nothing expired)."""
        now = now_ms()
        expired = sa.select(JobRow.run_id).where(
            JobRow.agent.is_not(None),
            JobRow.state.in_(_RUNNING),
            JobRow.heartbeat_at + JobRow.lease_ms < now,
        )
        if run_id is not None:
            expired = expired.where(JobRow.run_id == run_id)
        with self._read() as session:
            if session.scalar(expired.limit(1)) is None:
                return
        with self._write() as session:
            if session.get_bind().dialect.name == "postgresql":
                expired = expired.with_for_update(skip_locked=True)
            for lost_id in list(session.scalars(expired)):
                row = _locked(session, lost_id)
                seconds = (row.lease_ms or 0) / 1000
                message = f"agent {row.agent} sent no heartbeat for more than {seconds:g} s"
                end_attempt(session, row, JobPhase.LOST, None, message)


# -- transitions ------------------------------------------------------------------------------


def end_attempt(
    session: Session, row: JobRow, state: JobPhase, exit_code: int | None, message: str
) -> None:
    """Record how the current attempt ended, then retry the job or end it (and its run)."""
    now = now_ms()
    text = _bounded(message)
    attempt = JobAttempt(
        attempt=row.attempts,
        state=state,
        exit_code=exit_code,
        message=text,
        handle=row.handle,
        agent=row.agent,
        started_at=row.attempt_at,
        ended_at=now,
    )
    history = [*json.loads(row.history or "[]"), attempt.to_dict()]
    row.history = json.dumps(history)
    retry = state.is_retryable and row.attempts <= row.max_retries and not row.cancel_requested
    if not retry:
        _finish(session, row, state, exit_code, text)
        return
    row.state = (JobPhase.QUEUED if row.queue else JobPhase.PENDING).value
    row.agent = row.handle = row.heartbeat_at = row.lease_ms = row.attempt_at = None
    row.exit_code, row.updated_at = exit_code, now
    row.message = _bounded(f"attempt {row.attempts} {state.value}: {text}; retrying")
    run = lock_run(session, row.run_id)
    run.status, run.end_time, run.error = RunStatus.RUNNING.value, None, None


def _finish(
    session: Session, row: JobRow, state: JobPhase, exit_code: int | None, message: str
) -> None:
    """End the job in ``state`` and its run with the matching status."""
    now = now_ms()
    row.state, row.exit_code, row.message = state.value, exit_code, _bounded(message)
    row.ended_at = row.updated_at = now
    run = lock_run(session, row.run_id)
    status = run_status_of(state)
    if status is RunStatus.FINISHED and RunStatus(run.status).is_terminal:
        return  # the command ended its run itself (exit 0 with FAILED...): its word stands
    run.status, run.end_time = status.value, now
    if status is not RunStatus.FINISHED:
        run.error = row.message or f"the job ended {state.value}"


def _locked(session: Session, run_id: str) -> JobRow:
    row = session.get(JobRow, run_id, with_for_update=True)
    if row is None:
        raise job_not_found(run_id)
    return row


def _current(session: Session, run_id: str, attempt: int, agent: str | None) -> JobRow:
    """The job's row, locked, if ``attempt`` is its active attempt held by ``agent``."""
    row = _locked(session, run_id)
    active = JobPhase(row.state) in ACTIVE_PHASES and _attempt_open(row)
    if active and row.attempts == attempt and row.agent == agent:
        return row
    holder = f"agent {row.agent}" if row.agent else "no agent"
    raise Conflict(
        f"attempt {attempt} of job {run_id} is not current: the job is {row.state} after "
        f"{row.attempts} attempt(s), held by {holder}",
        hint="the job moved on (lease lost, completed or cancelled); stop this attempt",
    )


def _attempt_open(row: JobRow) -> bool:
    """Whether the job's latest attempt started and has not ended (a queued job, or one between
    attempts, has none open)."""
    if row.state == JobPhase.QUEUED.value:
        return False
    return len(json.loads(row.history or "[]")) < row.attempts


def job_not_found(run_id: str) -> NotFound:
    """The error for a run without a job."""
    return NotFound(
        f"no job for run {run_id!r}",
        hint="check the id with `shipyard jobs list`; runs started otherwise have no job",
    )


def job_of(row: JobRow) -> Job:
    """The domain form of a row."""
    return Job(
        run_id=row.run_id,
        executor=row.executor,
        spec=json.loads(row.spec),
        state=JobPhase(row.state),
        attempts=row.attempts,
        max_retries=row.max_retries,
        queue=row.queue,
        agent=row.agent,
        handle=row.handle,
        lease_s=None if row.lease_ms is None else row.lease_ms / 1000,
        heartbeat_at=row.heartbeat_at,
        cancel_requested=bool(row.cancel_requested),
        exit_code=row.exit_code,
        message=row.message or "",
        created_at=row.created_at,
        updated_at=row.updated_at,
        started_at=row.started_at,
        ended_at=row.ended_at,
        history=tuple(JobAttempt.from_dict(item) for item in json.loads(row.history or "[]")),
    )


def _new_job_values(
    executor: str, spec: Mapping[str, Any], max_retries: int, queue: str | None
) -> dict[str, Any]:
    if not isinstance(executor, str) or not _EXECUTOR_RE.match(executor):
        raise InvalidArgument(
            f"invalid executor name {executor!r}", hint="e.g. local, ray or kubernetes"
        )
    if queue is not None:
        validate_queue_name(queue)
    try:
        text = json.dumps(dict(spec), sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidArgument(f"the job spec is not JSON: {exc}", hint="pass JSON data") from None
    if len(text.encode()) > MAX_SPEC_BYTES:
        raise InvalidArgument(
            f"the job spec is larger than {MAX_SPEC_BYTES} bytes",
            hint="pass large inputs as files or datasets, not in the environment",
        )
    now = now_ms()
    return {
        "executor": executor,
        "spec": text,
        "state": (JobPhase.QUEUED if queue else JobPhase.PENDING).value,
        "attempts": 0,
        "max_retries": validate_retries(max_retries),
        "queue": queue,
        "cancel_requested": False,
        "message": "",
        "history": "[]",
        "created_at": now,
        "updated_at": now,
    }


def _bounded(text: str) -> str:
    if len(text) <= MAX_MESSAGE_CHARS:
        return text
    half = MAX_MESSAGE_CHARS // 2
    return f"{text[:half]}\n...\n{text[-half:]}"
