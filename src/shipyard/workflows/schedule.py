"""Cron schedules of watched workflows: which are due, and firing each tick once.

A watch keeps one clock (``last_tick_at``, ms): a cron expression is due when its next time after
that clock is at or before now. Firing moves the clock to now with a compare-and-set in the store,
so across several daemons a tick fires once. A daemon that was down for a while fires each due
schedule once when it comes back, not once per missed tick.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from croniter import croniter  # type: ignore[import-untyped]  # ships no type hints

from shipyard.domain.triggers import RequestSource, WorkflowRequest, WorkflowWatch
from shipyard.errors import InvalidArgument
from shipyard.store.triggers import TriggerStore


def validate_cron(expression: str) -> str:
    """Check a cron expression (5 fields, e.g. ``"0 3 * * *"``). Raises ``InvalidArgument``."""
    if not isinstance(expression, str) or not croniter.is_valid(expression):
        raise InvalidArgument(
            f"invalid cron expression {expression!r}",
            hint='use 5 fields: minute hour day month weekday, e.g. "0 3 * * *"',
        )
    return expression


def next_time(expression: str, after_ms: int) -> int:
    """The first time (ms, UTC) strictly after ``after_ms`` that ``expression`` names."""
    start = datetime.fromtimestamp(after_ms / 1000, tz=UTC)
    following: datetime = croniter(expression, start).get_next(datetime)
    return int(following.timestamp() * 1000)


def due(watch: WorkflowWatch, now_ms: int) -> list[str]:
    """The schedules of ``watch`` that are due at ``now_ms`` (invalid ones are skipped)."""
    found = []
    for expression in watch.schedules:
        if croniter.is_valid(expression) and next_time(expression, watch.last_tick_at) <= now_ms:
            found.append(expression)
    return found


def fire_due(store: TriggerStore, now_ms: int) -> Sequence[WorkflowRequest]:
    """Record one ``schedule`` request per due schedule of every watch (each tick once)."""
    fired: list[WorkflowRequest] = []
    for watch in store.list_workflow_watches():
        expressions = due(watch, now_ms)
        if not expressions:
            continue
        if not store.advance_watch_tick(watch.id, expected=watch.last_tick_at, to=now_ms):
            continue  # another daemon fired this tick
        fired.extend(_request(store, watch, expression) for expression in expressions)
    return fired


def _request(store: TriggerStore, watch: WorkflowWatch, expression: str) -> WorkflowRequest:
    return store.create_workflow_request(
        source=RequestSource.SCHEDULE,
        event={"kind": "schedule", "cron": expression},
        repo_url=watch.repo_url,
        ref=f"refs/heads/{watch.branch}" if watch.branch else "",
        workflow=watch.path,
    )
