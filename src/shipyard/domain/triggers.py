"""Workflow triggers: requests to start workflows, and the workflow files a hub watches.

A :class:`WorkflowRequest` is recorded by whoever wants workflows to run (a git webhook, a cron
schedule, a manual "Run" in the UI, an event inside Shipyard such as a new dataset version) and
carried out by a workflow daemon, which claims it with a lease so that two daemons never take the
same request::

    PENDING ──claim──> CLAIMED ──> STARTED (workflow runs started) | FAILED (with the error)
                          └── lease ran out: claimable again ──┘

A :class:`WorkflowWatch` is a workflow file the daemon knows (seen in a repository it fetched, or
added with ``shipyard workflow schedule add``): its cron schedules fire from it and internal
events are matched against it.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from shipyard.errors import InvalidArgument

MAX_URL = 2048
MAX_REF = 512
MAX_EVENT_BYTES = 1 << 20
DEFAULT_REQUEST_LEASE_S = 600.0
"""Seconds a daemon holds a claimed request before another daemon may take it again."""

_EVENT_KIND_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_COMMIT_RE = re.compile(r"^[0-9a-f]{7,64}$")


class RequestSource(enum.StrEnum):
    """Who asked for workflows to run."""

    GITHUB = "github"
    GITLAB = "gitlab"
    SCHEDULE = "schedule"
    MANUAL = "manual"
    EVENT = "event"


class RequestStatus(enum.StrEnum):
    """Where a workflow request stands."""

    PENDING = "pending"
    CLAIMED = "claimed"
    STARTED = "started"
    FAILED = "failed"


@dataclass(frozen=True)
class WorkflowRequest:
    """A request to start workflows (all those whose ``on:`` matches, or one named file).

    ``event`` holds what the daemon matches workflows against: ``{"kind": "push", "branch":
    "main"}``, ``{"kind": "pull_request", "action": "opened", "branch": "main"}``,
    ``{"kind": "schedule", "cron": "0 3 * * *"}``, ``{"kind": "manual"}``,
    ``{"kind": "dataset", "name": "iris", "version": 3}``...
    """

    id: str
    source: RequestSource
    status: RequestStatus
    repo_url: str
    ref: str
    commit: str
    event: Mapping[str, Any]
    workflow: str | None
    params: Mapping[str, Any]
    created_at: int
    updated_at: int
    claimed_by: str | None = None
    lease_until: int | None = None
    attempts: int = 0
    workflow_run_ids: tuple[str, ...] = ()
    error: str = ""
    requested_by: str = ""

    @property
    def branch(self) -> str:
        """The branch of ``ref`` (``refs/heads/main`` -> ``main``; other refs unchanged)."""
        return branch_of(self.ref)


@dataclass(frozen=True)
class WorkflowWatch:
    """A workflow file the daemon knows: where it lives and what triggers it.

    ``repo_url`` is empty for a local file (``path`` is then absolute); otherwise ``path`` is
    relative to the repository root and ``branch``/``commit`` say where it was last seen.
    """

    id: str
    repo_url: str
    path: str
    branch: str
    commit: str
    schedules: tuple[str, ...]
    events: Mapping[str, Any] = field(default_factory=dict)
    last_tick_at: int = 0
    created_at: int = 0
    updated_at: int = 0


def branch_of(ref: str) -> str:
    """``refs/heads/main`` -> ``main``; anything else is returned unchanged."""
    prefix = "refs/heads/"
    return ref[len(prefix) :] if ref.startswith(prefix) else ref


def redact_url(url: str) -> str:
    """``https://user:token@host/r.git`` -> ``https://***@host/r.git`` (for display)."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest.split("/", 1)[0]:
        return url
    return f"{scheme}://***@{rest.split('@', 1)[1]}"


def validate_event_kind(kind: str) -> str:
    """Check the kind of an internal event (``dataset``, ``model_alias``, ``alert``...)."""
    if not isinstance(kind, str) or not _EVENT_KIND_RE.match(kind):
        raise InvalidArgument(
            f"invalid event kind {kind!r}",
            hint="use lowercase letters, digits and _ (e.g. dataset, model_alias, alert)",
        )
    return kind


def validate_commit(commit: str) -> str:
    """Check a commit id (hex, 7 to 64 characters) or the empty string (the branch head)."""
    if commit and not _COMMIT_RE.match(commit):
        raise InvalidArgument(
            f"invalid commit {commit[:80]!r}",
            hint="give a full or abbreviated hex commit id, or none for the branch head",
        )
    return commit


def validate_text(name: str, value: str, limit: int) -> str:
    """Check a short text field (a URL, a ref)."""
    if not isinstance(value, str) or len(value) > limit or "\x00" in value:
        raise InvalidArgument(
            f"invalid {name} {str(value)[:80]!r}", hint=f"use at most {limit} characters"
        )
    return value
