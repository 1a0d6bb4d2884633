"""Conversions from serving rows to domain entities, and the errors for missing ones."""

from __future__ import annotations

import json
from typing import Any

from shipyard.domain.serving import (
    AlertFiring,
    AlertKind,
    AlertRule,
    Deployment,
    DeploymentEvent,
    DeploymentStatus,
    DriftReport,
    MetricSample,
)
from shipyard.errors import NotFound
from shipyard.store.sql.models_serving import (
    AlertFiringRow,
    AlertRuleRow,
    DeploymentEventRow,
    DeploymentRow,
    DeploymentSampleRow,
    DriftReportRow,
)


def deployment_not_found(name: str) -> NotFound:
    """The error for a deployment name that is not in the store."""
    return NotFound(
        f"deployment {name!r} not found",
        hint="check the name; `shipyard deployments list` shows them",
    )


def rule_not_found(rule_id: str) -> NotFound:
    """The error for an unknown alert rule id."""
    return NotFound(
        f"alert rule {rule_id!r} not found",
        hint="`shipyard deployments alerts list NAME` shows the rules and their ids",
    )


def dumps(value: Any) -> str:
    """Compact JSON for a Text column."""
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def deployment_of(row: DeploymentRow, project: str) -> Deployment:
    """The domain form of a deployment row."""
    return Deployment(
        name=row.name,
        project=project,
        model_uri=row.model_uri,
        follow_alias=row.follow_alias,
        stable_uri=row.stable_uri,
        stable_version=row.stable_version,
        canary_uri=row.canary_uri,
        canary_version=row.canary_version,
        canary_percent=row.canary_percent,
        config=json.loads(row.config),
        status=DeploymentStatus(row.status),
        url=row.url,
        message=row.message,
        pid=row.pid,
        workdir=row.workdir,
        generation=row.generation,
        observed_generation=row.observed_generation,
        created_at=row.created_at,
        updated_at=row.updated_at,
        created_by=row.created_by,
        applied=tuple(json.loads(row.applied)),
        job=row.job,
    )


def event_of(row: DeploymentEventRow) -> DeploymentEvent:
    """The domain form of an event row."""
    return DeploymentEvent(
        deployment=row.deployment,
        at=row.at,
        kind=row.kind,
        message=row.message,
        data=json.loads(row.data),
    )


def sample_of(row: DeploymentSampleRow) -> MetricSample:
    """The domain form of a metric sample row."""
    return MetricSample(deployment=row.deployment, at=row.at, values=json.loads(row.counters))


def rule_of(row: AlertRuleRow) -> AlertRule:
    """The domain form of an alert rule row."""
    return AlertRule(
        id=row.id,
        deployment=row.deployment,
        kind=AlertKind(row.kind),
        threshold=row.threshold,
        window_s=row.window_s,
        webhook_url=row.webhook_url,
        workflow=row.workflow,
        firing=row.firing,
        created_at=row.created_at,
        last_fired_at=row.last_fired_at,
    )


def firing_of(row: AlertFiringRow) -> AlertFiring:
    """The domain form of an alert firing row."""
    return AlertFiring(
        id=row.id,
        rule_id=row.rule_id,
        deployment=row.deployment,
        at=row.at,
        kind=AlertKind(row.kind),
        value=row.value,
        threshold=row.threshold,
        delivered=row.delivered,
        error=row.error,
    )


def report_of(row: DriftReportRow) -> DriftReport:
    """The domain form of a drift report row."""
    return DriftReport(
        id=row.id,
        deployment=row.deployment,
        at=row.at,
        rows=row.row_count,
        dataset_drift=row.dataset_drift,
        share_drifted=row.share_drifted,
        report=json.loads(row.report),
    )
