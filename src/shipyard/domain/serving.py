"""Deployments of registered models, their events, metric samples, alert rules and drift reports.

A deployment holds *desired* state (which model versions take what share of traffic) that people
change, and *observed* state (status, URL, process) that the deployment controller writes after it
reconciled them. ``generation`` counts desired-state changes; ``observed_generation`` is the last
one the controller applied. Stdlib only, like the rest of ``shipyard.domain``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from shipyard.errors import InvalidArgument

MAX_NAME = 63
_NAME_RE = re.compile(r"^[a-z0-9]([a-z0-9\-]{0,61}[a-z0-9])?$")
MAX_URI = 1000
MAX_URL = 2000


class DeploymentStatus(StrEnum):
    """Where a deployment stands (observed by the controller)."""

    PENDING = "PENDING"
    """Recorded; the controller has not started it yet."""
    STARTING = "STARTING"
    """Its server process is starting; it takes no traffic until its models are ready."""
    READY = "READY"
    """Serving: every model it routes to is loaded."""
    FAILED = "FAILED"
    """Its models failed to load (or its process died): it takes no traffic."""
    DELETING = "DELETING"
    """Asked to stop; the controller stops its process and removes it."""


class AlertKind(StrEnum):
    """What an alert rule watches."""

    LATENCY_P99 = "latency_p99"
    """99th percentile of request latency (seconds) over the window exceeds the threshold."""
    ERROR_RATE = "error_rate"
    """Share of failed requests (0-1) over the window exceeds the threshold."""
    DRIFT = "drift"
    """Share of drifted features in the latest drift report reaches the threshold."""


@dataclass(frozen=True)
class Deployment:
    """A served model: desired traffic split plus what the controller observed."""

    name: str
    project: str
    model_uri: str
    """The URI people asked for (may name an alias: ``models:/iris-clf@champion``)."""
    follow_alias: bool
    stable_uri: str
    """The concrete URI serving the stable share (``models:/iris-clf/3`` or ``runs:/ID/path``)."""
    stable_version: int | None
    canary_uri: str | None
    canary_version: int | None
    canary_percent: int
    config: Mapping[str, Any]
    """Server options: ``max_batch_size``, ``max_latency_ms``, ``predlog_rate``, ``port``."""
    status: DeploymentStatus
    url: str | None
    message: str
    pid: int | None
    workdir: str | None
    generation: int
    observed_generation: int
    created_at: int
    updated_at: int
    created_by: str = ""
    applied: tuple[Mapping[str, Any], ...] = field(default_factory=tuple)
    """The slots the running server last accepted (``uri``, ``version``, ``weight``)."""
    job: str | None = None
    """The executor job running the server (``local:ID``, ``ray:ID``) when a hub started it
    on its executor; ``None`` for a local process (see ``pid``)."""

    @property
    def slots(self) -> tuple[tuple[str, int | None, float], ...]:
        """Desired ``(uri, version, weight)`` slots: stable (and canary when one is set)."""
        if self.canary_uri is None or self.canary_percent <= 0:
            return ((self.stable_uri, self.stable_version, 1.0),)
        share = self.canary_percent / 100
        return (
            (self.stable_uri, self.stable_version, round(1 - share, 6)),
            (self.canary_uri, self.canary_version, round(share, 6)),
        )

    @property
    def settled(self) -> bool:
        """Whether the controller has applied the latest desired state."""
        return self.observed_generation >= self.generation


@dataclass(frozen=True)
class DeploymentEvent:
    """Something that happened to a deployment (created, rolled out, failed, alias moved...)."""

    deployment: str
    at: int
    kind: str
    message: str
    data: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class MetricSample:
    """Cumulative server counters scraped at one time (request counts, histograms as JSON)."""

    deployment: str
    at: int
    values: Mapping[str, Any]


@dataclass(frozen=True)
class AlertRule:
    """Fire a webhook (and optionally request a workflow run) when a condition holds."""

    id: str
    deployment: str
    kind: AlertKind
    threshold: float
    window_s: int
    webhook_url: str | None
    workflow: str | None
    firing: bool
    created_at: int
    last_fired_at: int | None = None


@dataclass(frozen=True)
class AlertFiring:
    """One time an alert rule fired: the value it saw and what delivering it gave."""

    id: str
    rule_id: str
    deployment: str
    at: int
    kind: AlertKind
    value: float
    threshold: float
    delivered: bool
    error: str = ""


@dataclass(frozen=True)
class DriftReport:
    """A drift check of one window of logged predictions against the reference."""

    id: str
    deployment: str
    at: int
    rows: int
    dataset_drift: bool
    share_drifted: float
    report: Mapping[str, Any]


def validate_deployment_name(name: object) -> str:
    """Return ``name`` when it is a DNS-style label (lowercase letters, digits, dashes)."""
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise InvalidArgument(
            f"invalid deployment name {name!r}",
            hint="use 1-63 lowercase letters, digits and dashes, e.g. iris-prod",
        )
    return name


def validate_canary_percent(percent: object) -> int:
    """Return a canary share from 0 to 100 (0 or 100 means no canary)."""
    if isinstance(percent, bool) or not isinstance(percent, int) or not 0 <= percent <= 100:
        raise InvalidArgument(
            f"canary percent must be an integer from 0 to 100, got {percent!r}",
            hint="e.g. --canary 20 sends a fifth of the requests to the new version",
        )
    return percent


def validate_webhook_url(url: object) -> str:
    """Return an ``http(s)://`` URL."""
    if (
        not isinstance(url, str)
        or not url.startswith(("http://", "https://"))
        or len(url) > MAX_URL
    ):
        raise InvalidArgument(f"invalid webhook URL {url!r}", hint="use an http:// or https:// URL")
    return url
