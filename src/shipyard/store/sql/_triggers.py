"""The :class:`~shipyard.store.triggers.TriggerStore` half of ``SqlRunStore``: workflow requests
and watched workflow files.

Claiming picks the oldest claimable request (``FOR UPDATE SKIP LOCKED`` on PostgreSQL) and takes
it with an ``UPDATE ... WHERE`` guarded by the state it read, so only one daemon wins.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shipyard.domain.ids import new_id
from shipyard.domain.jobs import validate_agent_name, validate_lease
from shipyard.domain.triggers import (
    MAX_EVENT_BYTES,
    MAX_REF,
    MAX_URL,
    RequestSource,
    RequestStatus,
    WorkflowRequest,
    WorkflowWatch,
    validate_commit,
    validate_event_kind,
    validate_text,
)
from shipyard.errors import Conflict, InvalidArgument, NotFound
from shipyard.store.sql._runs import affected_rows, now_ms
from shipyard.store.sql.models_triggers import WorkflowRequestRow, WorkflowWatchRow

MAX_LIST = 1000
MAX_ERROR_CHARS = 8000


class SqlTriggerStore:
    """Methods of :class:`~shipyard.store.sql.store.SqlRunStore` (a base class of it)."""

    def _read(self) -> AbstractContextManager[Session]:
        raise NotImplementedError  # provided by SqlRunStore

    def _write(self) -> AbstractContextManager[Session]:
        raise NotImplementedError  # provided by SqlRunStore

    # -- requests ---------------------------------------------------------------------------
    def create_workflow_request(
        self,
        *,
        source: RequestSource,
        event: Mapping[str, Any],
        repo_url: str = "",
        ref: str = "",
        commit: str = "",
        workflow: str | None = None,
        params: Mapping[str, Any] | None = None,
        requested_by: str = "",
    ) -> WorkflowRequest:
        """Record a ``PENDING`` request (see ``TriggerStore``)."""
        now = now_ms()
        row = WorkflowRequestRow(
            id=new_id(),
            source=RequestSource(source).value,
            status=RequestStatus.PENDING.value,
            repo_url=validate_text("repository URL", repo_url, MAX_URL),
            ref=validate_text("ref", ref, MAX_REF),
            commit=validate_commit(commit),
            event=_json("event", event),
            workflow=None if workflow is None else validate_text("workflow", workflow, 1024),
            params=_json("params", params or {}),
            requested_by=validate_text("user", requested_by, 256),
            attempts=0,
            workflow_run_ids="[]",
            error="",
            created_at=now,
            updated_at=now,
        )
        with self._write() as session:
            session.add(row)
            session.flush()
            return request_of(row)

    def request_workflow_event(self, kind: str, payload: Mapping[str, Any]) -> WorkflowRequest:
        """Record an internal event for the workflow daemon (``source=event``)."""
        event = {**dict(payload), "kind": validate_event_kind(kind)}
        return self.create_workflow_request(source=RequestSource.EVENT, event=event)

    def get_workflow_request(self, request_id: str) -> WorkflowRequest:
        """One request. Raises ``NotFound``."""
        with self._read() as session:
            return request_of(_request_row(session, request_id))

    def list_workflow_requests(
        self, *, statuses: Sequence[RequestStatus] = (), limit: int = 100
    ) -> Sequence[WorkflowRequest]:
        """Requests newest first, optionally in some statuses."""
        if isinstance(limit, bool) or not 1 <= limit <= MAX_LIST:
            raise InvalidArgument(
                f"limit must be from 1 to {MAX_LIST}, got {limit!r}", hint="e.g. limit=100"
            )
        query = sa.select(WorkflowRequestRow).order_by(
            WorkflowRequestRow.created_at.desc(), WorkflowRequestRow.id.desc()
        )
        if statuses:
            wanted = [RequestStatus(s).value for s in statuses]
            query = query.where(WorkflowRequestRow.status.in_(wanted))
        with self._read() as session:
            return [request_of(row) for row in session.scalars(query.limit(limit))]

    def claim_workflow_request(self, *, daemon: str, lease_s: float) -> WorkflowRequest | None:
        """Give the oldest claimable request to ``daemon``; ``None`` when none waits."""
        validate_agent_name(daemon)
        lease_ms = int(validate_lease(lease_s) * 1000)
        with self._write() as session:
            now = now_ms()
            claimable = sa.or_(
                WorkflowRequestRow.status == RequestStatus.PENDING.value,
                sa.and_(
                    WorkflowRequestRow.status == RequestStatus.CLAIMED.value,
                    WorkflowRequestRow.lease_until < now,
                ),
            )
            pick = sa.select(WorkflowRequestRow.id, WorkflowRequestRow.updated_at).where(claimable)
            pick = pick.order_by(WorkflowRequestRow.created_at, WorkflowRequestRow.id).limit(1)
            if session.get_bind().dialect.name == "postgresql":
                pick = pick.with_for_update(skip_locked=True)
            found = session.execute(pick).first()
            if found is None:
                return None
            take = (
                sa.update(WorkflowRequestRow)
                .where(WorkflowRequestRow.id == found.id, claimable)
                .where(WorkflowRequestRow.updated_at == found.updated_at)
                .values(
                    status=RequestStatus.CLAIMED.value,
                    claimed_by=daemon,
                    lease_until=now + lease_ms,
                    attempts=WorkflowRequestRow.attempts + 1,
                    updated_at=now,
                )
            )
            if affected_rows(session, take) == 0:
                return None
            return request_of(_request_row(session, found.id))

    def finish_workflow_request(
        self,
        request_id: str,
        *,
        daemon: str,
        status: RequestStatus,
        workflow_run_ids: Sequence[str] = (),
        error: str = "",
    ) -> WorkflowRequest:
        """End a claimed request as ``STARTED`` or ``FAILED`` (``Conflict`` if not held)."""
        final = RequestStatus(status)
        if final not in (RequestStatus.STARTED, RequestStatus.FAILED):
            raise InvalidArgument(
                f"a request ends as started or failed, not {final.value}",
                hint="pass RequestStatus.STARTED or RequestStatus.FAILED",
            )
        with self._write() as session:
            row = _request_row(session, request_id, lock=True)
            if row.status != RequestStatus.CLAIMED.value or row.claimed_by != daemon:
                raise Conflict(
                    f"workflow request {request_id} is {row.status}"
                    f"{f' (held by {row.claimed_by})' if row.claimed_by else ''}, not claimed "
                    f"by {daemon!r}",
                    hint="another daemon took it after this one's lease ran out",
                )
            row.status, row.lease_until, row.updated_at = final.value, None, now_ms()
            row.workflow_run_ids = json.dumps(list(workflow_run_ids))
            row.error = error[:MAX_ERROR_CHARS]
            return request_of(row)

    # -- watches ----------------------------------------------------------------------------
    def watch_workflow(
        self,
        *,
        repo_url: str,
        path: str,
        branch: str = "",
        commit: str = "",
        schedules: Sequence[str] = (),
        events: Mapping[str, Any] | None = None,
    ) -> WorkflowWatch:
        """Insert or update the watch of one workflow file (its schedule clock is kept)."""
        validate_text("repository URL", repo_url, MAX_URL)
        validate_text("path", path, 1024)
        values: dict[str, Any] = {
            "branch": validate_text("branch", branch, MAX_REF),
            "commit": validate_commit(commit),
            "schedules": json.dumps([str(s) for s in schedules]),
            "events": _json("events", events or {}),
            "updated_at": now_ms(),
        }
        with self._write() as session:
            row = session.scalar(
                sa.select(WorkflowWatchRow)
                .where(WorkflowWatchRow.repo_url == repo_url, WorkflowWatchRow.path == path)
                .with_for_update()
            )
            if row is None:
                now = int(values["updated_at"])
                row = WorkflowWatchRow(
                    id=new_id(), repo_url=repo_url, path=path, last_tick_at=now, created_at=now
                )
                session.add(row)
            for key, value in values.items():
                setattr(row, key, value)
            session.flush()
            return watch_of(row)

    def list_workflow_watches(self) -> Sequence[WorkflowWatch]:
        """Every watch, by repository URL and path."""
        query = sa.select(WorkflowWatchRow).order_by(
            WorkflowWatchRow.repo_url, WorkflowWatchRow.path
        )
        with self._read() as session:
            return [watch_of(row) for row in session.scalars(query)]

    def delete_workflow_watch(self, watch_id: str) -> None:
        """Forget a watch. Raises ``NotFound``."""
        with self._write() as session:
            stmt = sa.delete(WorkflowWatchRow).where(WorkflowWatchRow.id == watch_id)
            if affected_rows(session, stmt) == 0:
                raise NotFound(
                    f"workflow watch {watch_id!r} not found",
                    hint="`shipyard workflow schedule list` shows the watched workflows",
                )

    def advance_watch_tick(self, watch_id: str, *, expected: int, to: int) -> bool:
        """Set the watch's schedule clock to ``to`` if it is still ``expected``."""
        stmt = (
            sa.update(WorkflowWatchRow)
            .where(WorkflowWatchRow.id == watch_id, WorkflowWatchRow.last_tick_at == expected)
            .values(last_tick_at=int(to))
        )
        with self._write() as session:
            return affected_rows(session, stmt) == 1


def request_of(row: WorkflowRequestRow) -> WorkflowRequest:
    """The domain form of a request row."""
    return WorkflowRequest(
        id=row.id,
        source=RequestSource(row.source),
        status=RequestStatus(row.status),
        repo_url=row.repo_url,
        ref=row.ref,
        commit=row.commit,
        event=json.loads(row.event),
        workflow=row.workflow,
        params=json.loads(row.params),
        created_at=row.created_at,
        updated_at=row.updated_at,
        claimed_by=row.claimed_by,
        lease_until=row.lease_until,
        attempts=row.attempts,
        workflow_run_ids=tuple(json.loads(row.workflow_run_ids)),
        error=row.error,
        requested_by=row.requested_by,
    )


def watch_of(row: WorkflowWatchRow) -> WorkflowWatch:
    """The domain form of a watch row."""
    return WorkflowWatch(
        id=row.id,
        repo_url=row.repo_url,
        path=row.path,
        branch=row.branch,
        commit=row.commit,
        schedules=tuple(json.loads(row.schedules)),
        events=json.loads(row.events),
        last_tick_at=row.last_tick_at,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _request_row(session: Session, request_id: str, *, lock: bool = False) -> WorkflowRequestRow:
    query = sa.select(WorkflowRequestRow).where(WorkflowRequestRow.id == request_id)
    row = session.scalar(query.with_for_update() if lock else query)
    if row is None:
        raise NotFound(
            f"workflow request {request_id!r} not found",
            hint="check the id; the hub's Workflows page lists recent requests",
        )
    return row


def _json(name: str, value: Mapping[str, Any]) -> str:
    if not isinstance(value, Mapping):
        raise InvalidArgument(f"{name} must be a JSON object", hint=f"pass a dict as {name}")
    try:
        text = json.dumps(dict(value), sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise InvalidArgument(
            f"{name} is not JSON-serializable: {exc}", hint="use strings, numbers, lists, dicts"
        ) from None
    if len(text) > MAX_EVENT_BYTES:
        raise InvalidArgument(f"{name} is too large", hint=f"keep it under {MAX_EVENT_BYTES} bytes")
    return text
