"""The trigger store protocol: workflow-run requests and the workflow files a hub watches.

Contract (checked by ``tests/contract/test_trigger_stores.py`` over SQLite and PostgreSQL):

* ``create_workflow_request`` records a ``PENDING`` request; ``request_workflow_event`` is the
  short form for events inside Shipyard (``source=event``).
* ``claim_workflow_request`` hands the oldest claimable request (``PENDING``, or ``CLAIMED`` with
  its lease run out) to one daemon: two daemons racing never get the same request.
* ``finish_workflow_request`` ends a claimed request as ``STARTED`` (with the workflow run ids) or
  ``FAILED`` (with the error); only the daemon holding it may, others get ``Conflict``.
* Watches are unique per (repo URL, path); ``watch_workflow`` inserts or updates one.
  ``advance_watch_tick`` moves a watch's schedule clock from the value the caller read to a new
  one, and says whether it won (so one tick fires once across daemons).
* Times are integer milliseconds since the epoch. Thread safe.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from shipyard.domain.triggers import (
    RequestSource,
    RequestStatus,
    WorkflowRequest,
    WorkflowWatch,
)


@runtime_checkable
class TriggerStore(Protocol):
    """Where workflow requests and watched workflow files live."""

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
        """Record a ``PENDING`` request.

        Example::

            store.create_workflow_request(source=RequestSource.GITHUB, repo_url=url,
                                          ref="refs/heads/main", commit=sha,
                                          event={"kind": "push", "branch": "main"})
        """
        ...

    def request_workflow_event(self, kind: str, payload: Mapping[str, Any]) -> WorkflowRequest:
        """Record an internal event (``dataset``, ``model_alias``, ``alert``...) for the daemon to
        match against the workflows it knows.

        Example::

            store.request_workflow_event("dataset", {"name": "iris", "version": 3})
        """
        ...

    def get_workflow_request(self, request_id: str) -> WorkflowRequest:
        """One request. Raises ``NotFound``."""
        ...

    def list_workflow_requests(
        self, *, statuses: Sequence[RequestStatus] = (), limit: int = 100
    ) -> Sequence[WorkflowRequest]:
        """Requests newest first, optionally in some statuses."""
        ...

    def claim_workflow_request(self, *, daemon: str, lease_s: float) -> WorkflowRequest | None:
        """Give the oldest claimable request to ``daemon`` (``None`` when none waits)."""
        ...

    def finish_workflow_request(
        self,
        request_id: str,
        *,
        daemon: str,
        status: RequestStatus,
        workflow_run_ids: Sequence[str] = (),
        error: str = "",
    ) -> WorkflowRequest:
        """End a claimed request as ``STARTED`` or ``FAILED``. Raises ``Conflict`` when
        ``daemon`` does not hold it."""
        ...

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
        ...

    def list_workflow_watches(self) -> Sequence[WorkflowWatch]:
        """Every watch, by repository URL and path."""
        ...

    def delete_workflow_watch(self, watch_id: str) -> None:
        """Forget a watch. Raises ``NotFound``."""
        ...

    def advance_watch_tick(self, watch_id: str, *, expected: int, to: int) -> bool:
        """Set the watch's schedule clock to ``to`` if it is still ``expected``."""
        ...


def emit_event(store: object, kind: str, payload: Mapping[str, Any]) -> bool:
    """Record an internal event (``dataset``, ``model_alias``, ``alert``) for the workflow daemon.

    Recorded only when the store keeps workflow requests and some workflow is watched, so an
    embedded store with no daemon does not pile up requests. Returns whether it was recorded.
    """
    request = getattr(store, "request_workflow_event", None)
    watches = getattr(store, "list_workflow_watches", None)
    if request is None or watches is None or not watches():
        return False
    request(kind, payload)
    return True
