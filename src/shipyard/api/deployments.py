"""Routes and wire models of deployments, their monitoring (metrics, drift) and alert rules
(see :mod:`shipyard.store.serving` and :mod:`shipyard.serving.deployments`)."""

from __future__ import annotations

from typing import Any, Self

from pydantic import Field

from shipyard.api.routes import API_PREFIX
from shipyard.api.schemas import RequestModel, WireModel
from shipyard.domain.serving import (
    MAX_URI,
    MAX_URL,
    AlertFiring,
    AlertKind,
    AlertRule,
    Deployment,
    DeploymentEvent,
    DeploymentStatus,
    DriftReport,
)

DEPLOYMENTS = f"{API_PREFIX}/deployments"
DEPLOYMENT = f"{DEPLOYMENTS}/{{name}}"
DEPLOYMENT_ROLLOUT = f"{DEPLOYMENT}/rollout"
DEPLOYMENT_PROMOTE = f"{DEPLOYMENT}/promote"
DEPLOYMENT_ROLLBACK = f"{DEPLOYMENT}/rollback"
DEPLOYMENT_EVENTS = f"{DEPLOYMENT}/events"
DEPLOYMENT_LOGS = f"{DEPLOYMENT}/logs"
DEPLOYMENT_METRICS = f"{DEPLOYMENT}/metrics"
DEPLOYMENT_DRIFT = f"{DEPLOYMENT}/drift"
DEPLOYMENT_REFERENCE = f"{DEPLOYMENT}/reference"
DEPLOYMENT_ALERTS = f"{DEPLOYMENT}/alerts"
DEPLOYMENT_ALERT = f"{DEPLOYMENT_ALERTS}/{{rule_id}}"

ROUTES: tuple[tuple[str, str], ...] = (
    ("POST", DEPLOYMENTS),
    ("GET", DEPLOYMENTS),
    ("GET", DEPLOYMENT),
    ("DELETE", DEPLOYMENT),
    ("POST", DEPLOYMENT_ROLLOUT),
    ("POST", DEPLOYMENT_PROMOTE),
    ("POST", DEPLOYMENT_ROLLBACK),
    ("GET", DEPLOYMENT_EVENTS),
    ("GET", DEPLOYMENT_LOGS),
    ("GET", DEPLOYMENT_METRICS),
    ("GET", DEPLOYMENT_DRIFT),
    ("POST", DEPLOYMENT_DRIFT),
    ("PUT", DEPLOYMENT_REFERENCE),
    ("GET", DEPLOYMENT_ALERTS),
    ("POST", DEPLOYMENT_ALERTS),
    ("DELETE", DEPLOYMENT_ALERT),
)
"""Every deployment route as ``(method, path template)``."""


class DeploymentOut(WireModel):
    """A deployment: desired versions and traffic split, and what the controller observed."""

    name: str
    project: str
    model_uri: str
    follow_alias: bool
    stable_uri: str
    stable_version: int | None = None
    canary_uri: str | None = None
    canary_version: int | None = None
    canary_percent: int = 0
    config: dict[str, Any] = Field(default_factory=dict)
    status: DeploymentStatus
    url: str | None = None
    message: str = ""
    pid: int | None = None
    job: str | None = None
    workdir: str | None = None
    generation: int
    observed_generation: int
    created_at: int
    updated_at: int
    created_by: str = ""
    applied: list[dict[str, Any]] = Field(default_factory=list)

    @classmethod
    def of(cls, entity: object) -> Self:
        """The wire form of a :class:`~shipyard.domain.serving.Deployment`."""
        assert isinstance(entity, Deployment)
        data = {name: getattr(entity, name) for name in cls.model_fields}
        data["config"] = dict(entity.config)
        data["applied"] = [dict(slot) for slot in entity.applied]
        return cls.model_validate(data)

    def to_domain(self) -> Deployment:
        """Domain form."""
        fields = {name: getattr(self, name) for name in type(self).model_fields}
        fields["applied"] = tuple(self.applied)
        return Deployment(**fields)


class DeploymentList(WireModel):
    """Deployments by name."""

    deployments: list[DeploymentOut]


class DeploymentCreate(RequestModel):
    """Deploy a model (``models:/NAME@ALIAS``, ``models:/NAME/V``, ``runs:/ID/PATH``)."""

    name: str = Field(min_length=1, max_length=63)
    model_uri: str = Field(min_length=1, max_length=MAX_URI)
    project: str | None = Field(default=None, description="Default: the model's project.")
    follow_alias: bool = False
    config: dict[str, Any] = Field(
        default_factory=dict,
        description="max_batch_size, max_wait_ms, predlog_rate (0-1), port, drift_window_s, "
        'drift_tests ({"*": "psi", "petal_width": "ks"}).',
    )
    reference: dict[str, Any] | None = Field(
        default=None, description="A drift reference summary (shipyard.serving.drift)."
    )


class RolloutRequest(RequestModel):
    """Roll out a model: as a canary taking ``canary_percent`` of requests, or as the new
    stable version (no percent, or 100)."""

    model_uri: str = Field(min_length=1, max_length=MAX_URI)
    canary_percent: int | None = Field(default=None, ge=1, le=100)
    follow_alias: bool | None = None


class EventOut(WireModel):
    """One entry of a deployment's history."""

    deployment: str
    at: int
    kind: str
    message: str
    data: dict[str, Any] = Field(default_factory=dict)

    @classmethod
    def of(cls, entity: object) -> Self:
        """Wire form of a :class:`~shipyard.domain.serving.DeploymentEvent`."""
        assert isinstance(entity, DeploymentEvent)
        return cls(
            deployment=entity.deployment,
            at=entity.at,
            kind=entity.kind,
            message=entity.message,
            data=dict(entity.data),
        )

    def to_domain(self) -> DeploymentEvent:
        """Domain form."""
        return DeploymentEvent(self.deployment, self.at, self.kind, self.message, self.data)


class EventList(WireModel):
    """History, newest first."""

    events: list[EventOut]


class LogsOut(WireModel):
    """The last lines of the deployment's server log."""

    text: str


class MetricsOut(WireModel):
    """Per-interval figures for charts and the figures of the last window."""

    series: dict[str, list[Any]]
    window: dict[str, Any]


class DriftReportOut(WireModel):
    """A drift check: per feature the test, its statistic or p-value, and a drift flag."""

    id: str
    deployment: str
    at: int
    rows: int
    dataset_drift: bool
    share_drifted: float
    report: dict[str, Any]

    @classmethod
    def of(cls, entity: object) -> Self:
        """Wire form of a :class:`~shipyard.domain.serving.DriftReport`."""
        assert isinstance(entity, DriftReport)
        data = {name: getattr(entity, name) for name in cls.model_fields}
        data["report"] = dict(entity.report)
        return cls.model_validate(data)

    def to_domain(self) -> DriftReport:
        """Domain form."""
        return DriftReport(**{name: getattr(self, name) for name in type(self).model_fields})


class DriftList(WireModel):
    """Drift reports, newest first."""

    reports: list[DriftReportOut]


class DriftRequest(RequestModel):
    """Run a drift check now over the last ``window_s`` seconds (default: the deployment's)."""

    window_s: float | None = Field(default=None, gt=0, le=30 * 86400)


class ReferenceIn(RequestModel):
    """A drift reference summary (built by ``shipyard.serving.drift.summarize``)."""

    reference: dict[str, Any]


class AlertRuleCreate(RequestModel):
    """Fire a webhook (and/or start a workflow) when a condition holds."""

    kind: AlertKind
    threshold: float
    window_s: int = Field(default=300, ge=1, le=86400)
    webhook_url: str | None = Field(default=None, max_length=MAX_URL)
    workflow: str | None = Field(default=None, max_length=256)


class AlertRuleOut(WireModel):
    """An alert rule."""

    id: str
    deployment: str
    kind: AlertKind
    threshold: float
    window_s: int
    webhook_url: str | None = None
    workflow: str | None = None
    firing: bool
    created_at: int
    last_fired_at: int | None = None

    def to_domain(self) -> AlertRule:
        """Domain form."""
        return AlertRule(**{name: getattr(self, name) for name in type(self).model_fields})


class AlertFiringOut(WireModel):
    """One time a rule fired."""

    id: str
    rule_id: str
    deployment: str
    at: int
    kind: AlertKind
    value: float
    threshold: float
    delivered: bool
    error: str = ""

    def to_domain(self) -> AlertFiring:
        """Domain form."""
        return AlertFiring(**{name: getattr(self, name) for name in type(self).model_fields})


class AlertList(WireModel):
    """A deployment's rules and its recent firings (newest first)."""

    rules: list[AlertRuleOut]
    firings: list[AlertFiringOut]
