"""Workflows: a run of a workflow file (a DAG of jobs), the state of each of its jobs, and the
event that triggered it.

A workflow run moves ``PENDING`` -> ``RUNNING`` -> ``SUCCEEDED | FAILED | CANCELLED``. Each job
of it moves ``PENDING`` -> ``RUNNING`` -> ``SUCCEEDED | FAILED | CANCELLED``, or ends ``CACHED``
(an earlier run with the same cache key was reused) or ``SKIPPED`` (a job it needs did not
succeed). ``reason`` says in words why a job ran or was skipped.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from shipyard.errors import InvalidArgument


class WorkflowStatus(enum.StrEnum):
    """Where a workflow run is in its life (the last three are terminal)."""

    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"

    @property
    def is_terminal(self) -> bool:
        """Whether the workflow run has ended."""
        return self not in (WorkflowStatus.PENDING, WorkflowStatus.RUNNING)


class StepStatus(enum.StrEnum):
    """Where one job of a workflow run is (all but ``PENDING`` and ``RUNNING`` are terminal)."""

    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    CACHED = "CACHED"
    FAILED = "FAILED"
    SKIPPED = "SKIPPED"
    CANCELLED = "CANCELLED"

    @property
    def is_terminal(self) -> bool:
        """Whether the job has ended."""
        return self not in (StepStatus.PENDING, StepStatus.RUNNING)

    @property
    def is_success(self) -> bool:
        """Whether dependents may start (it ran and succeeded, or its earlier result was reused)."""
        return self in (StepStatus.SUCCEEDED, StepStatus.CACHED)


TRIGGER_KINDS = ("push", "pull_request", "schedule", "manual", "dataset", "model_alias", "alert")


@dataclass(frozen=True, slots=True)
class TriggerEvent:
    """Something that may start a workflow.

    ``kind`` is one of :data:`TRIGGER_KINDS`. ``branch`` is set for ``push`` (the pushed branch)
    and ``pull_request`` (the target branch); ``cron`` for ``schedule``; ``name`` for ``dataset``
    (dataset name), ``model_alias`` (model name) and ``alert`` (deployment name); ``alias`` for
    ``model_alias``. ``data`` carries free details (commit, version, who...).

    Example::

        TriggerEvent("push", branch="main", data={"commit": "3f2a..."})
    """

    kind: str
    branch: str | None = None
    cron: str | None = None
    name: str | None = None
    alias: str | None = None
    data: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.kind not in TRIGGER_KINDS:
            raise InvalidArgument(
                f"unknown trigger kind {self.kind!r}", hint=f"use one of {', '.join(TRIGGER_KINDS)}"
            )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready copy (the inverse of :meth:`from_dict`), without unset fields."""
        out: dict[str, Any] = {"kind": self.kind}
        for key in ("branch", "cron", "name", "alias"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        if self.data:
            out["data"] = dict(self.data)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TriggerEvent:
        """Read back what :meth:`to_dict` wrote. Raises ``InvalidArgument`` for bad fields."""
        known = {"kind", "branch", "cron", "name", "alias", "data"}
        unknown = sorted(set(data) - known)
        if unknown or "kind" not in data:
            raise InvalidArgument(
                f"invalid trigger event {dict(data)!r}",
                hint=f"give 'kind' and only {', '.join(sorted(known))}",
            )
        return cls(
            kind=str(data["kind"]),
            branch=_opt(data.get("branch")),
            cron=_opt(data.get("cron")),
            name=_opt(data.get("name")),
            alias=_opt(data.get("alias")),
            data={str(k): str(v) for k, v in dict(data.get("data") or {}).items()},
        )

    def describe(self) -> str:
        """A short text such as ``push to main`` or ``model_alias iris-clf@champion``."""
        if self.kind in ("push", "pull_request") and self.branch:
            return f"{self.kind} to {self.branch}"
        if self.kind == "schedule" and self.cron:
            return f"schedule {self.cron}"
        if self.kind == "model_alias":
            return f"model_alias {self.name}@{self.alias}"
        return f"{self.kind} {self.name}" if self.name else self.kind


def _opt(value: Any) -> str | None:
    return None if value is None else str(value)


@dataclass(frozen=True, slots=True)
class WorkflowRun:
    """One run of a workflow file. Times are milliseconds since the epoch (UTC).

    ``spec`` is the workflow file's text as it was run (a retry runs it again), ``path`` where it
    was read, ``commit`` the git commit of its repository (empty outside git), ``retry_of`` the
    workflow run this one resumes.
    """

    id: str
    name: str
    project: str
    path: str
    status: WorkflowStatus
    created_at: int
    spec: str = ""
    commit: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)
    trigger: TriggerEvent | None = None
    user: str = ""
    message: str = ""
    ended_at: int | None = None
    cancel_requested: bool = False
    retry_of: str | None = None
    heartbeat_at: int | None = None
    """When its engine last said it was alive (it does every ``HEARTBEAT_S`` while RUNNING)."""


@dataclass(frozen=True, slots=True)
class WorkflowJob:
    """One job of a workflow run: its state, the tracked run that did the work (for a cached
    job: the earlier run it reused), its cache key, why it ran or not, and its outputs (output
    name -> ``NAME@VERSION`` for a dataset or ``models:/NAME/VERSION``)."""

    workflow_run_id: str
    name: str
    status: StepStatus
    position: int = 0
    run_id: str | None = None
    cache_key: str = ""
    reason: str = ""
    message: str = ""
    outputs: Mapping[str, str] = field(default_factory=dict)
    fingerprint: Mapping[str, Any] = field(default_factory=dict)
    """What the cache key was computed from (command, code, params, env, inputs digests)."""
    attempt: int = 1
    started_at: int | None = None
    ended_at: int | None = None
