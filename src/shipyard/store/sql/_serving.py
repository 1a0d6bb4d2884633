"""The :class:`~shipyard.store.serving.ServingStore` half of ``SqlRunStore``: deployments, their
events, metric samples, alert rules and firings, and drift reports.

Desired-state changes (``set_deployment_revisions``, ``request_deployment_delete``) bump the
deployment's ``generation`` in one write transaction; the controller records what it observed with
``record_deployment_state``. A caller that read generation N may pass ``expected_generation=N`` to
get ``Conflict`` instead of overwriting a change made in between.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shipyard.domain.ids import new_id
from shipyard.domain.serving import (
    AlertFiring,
    AlertKind,
    AlertRule,
    Deployment,
    DeploymentEvent,
    DeploymentStatus,
    DriftReport,
    MetricSample,
    validate_canary_percent,
    validate_deployment_name,
    validate_webhook_url,
)
from shipyard.errors import AlreadyExists, Conflict, InvalidArgument
from shipyard.store.sql import _serving_rows as rows
from shipyard.store.sql._runs import ensure_project, now_ms
from shipyard.store.sql.models import ProjectRow
from shipyard.store.sql.models_serving import (
    AlertFiringRow,
    AlertRuleRow,
    DeploymentEventRow,
    DeploymentRow,
    DeploymentSampleRow,
    DriftReportRow,
)

MAX_LIST = 1000
MAX_REFERENCE_BYTES = 8 << 20
SAMPLE_RETENTION_MS = 7 * 86_400_000
DRIFT_RETENTION_MS = 30 * 86_400_000
"""Drift reports are kept 30 days (a check a minute is ~43,000 reports a month)."""
FIRING_RETENTION_MS = 90 * 86_400_000
_OBSERVED = frozenset({"status", "url", "pid", "job", "message", "workdir", "applied"})


class SqlServingStore:
    """Serving methods of :class:`~shipyard.store.sql.store.SqlRunStore` (a base class of it)."""

    def _read(self) -> AbstractContextManager[Session]:
        raise NotImplementedError  # provided by SqlRunStore

    def _write(self) -> AbstractContextManager[Session]:
        raise NotImplementedError  # provided by SqlRunStore

    # -- deployments ------------------------------------------------------------------------
    def create_deployment(
        self,
        name: str,
        *,
        project: str,
        model_uri: str,
        stable_uri: str,
        stable_version: int | None,
        follow_alias: bool = False,
        config: Mapping[str, Any] | None = None,
        created_by: str = "",
    ) -> Deployment:
        """Record a new deployment (``PENDING``). Raises ``AlreadyExists``."""
        validate_deployment_name(name)
        now = now_ms()
        with self._write() as session:
            if session.get(DeploymentRow, name) is not None:
                raise AlreadyExists(
                    f"deployment {name!r} already exists",
                    hint="pick another name, or `shipyard deployments update` the existing one",
                )
            row = DeploymentRow(
                name=name,
                project_id=ensure_project(session, project),
                model_uri=model_uri,
                follow_alias=follow_alias,
                stable_uri=stable_uri,
                stable_version=stable_version,
                canary_percent=0,
                config=rows.dumps(dict(config or {})),
                status=DeploymentStatus.PENDING.value,
                message="",
                applied="[]",
                generation=1,
                observed_generation=0,
                created_by=created_by,
                created_at=now,
                updated_at=now,
            )
            session.add(row)
            session.flush()
            _event(session, name, "created", f"created from {model_uri}", {"uri": stable_uri})
            return rows.deployment_of(row, project)

    def get_deployment(self, name: str) -> Deployment:
        """One deployment. Raises ``NotFound``."""
        with self._read() as session:
            return _loaded(session, name)

    def list_deployments(self, *, project: str | None = None) -> Sequence[Deployment]:
        """Deployments by name, optionally of one project."""
        query = sa.select(DeploymentRow, ProjectRow.name).join(
            ProjectRow, ProjectRow.id == DeploymentRow.project_id
        )
        if project is not None:
            query = query.where(ProjectRow.name == project)
        with self._read() as session:
            found = session.execute(query.order_by(DeploymentRow.name)).all()
            return [rows.deployment_of(row, owner) for row, owner in found]

    def set_deployment_revisions(
        self,
        name: str,
        *,
        stable_uri: str,
        stable_version: int | None,
        canary_uri: str | None = None,
        canary_version: int | None = None,
        canary_percent: int = 0,
        model_uri: str | None = None,
        follow_alias: bool | None = None,
        event: tuple[str, str] | None = None,
        expected_generation: int | None = None,
    ) -> Deployment:
        """Set the desired stable (and canary) revisions and bump the generation.

        ``event`` is ``(kind, message)`` recorded with the change. Raises ``NotFound``,
        ``Conflict`` (deleting, or ``expected_generation`` is stale), ``InvalidArgument``.
        """
        validate_canary_percent(canary_percent)
        if canary_uri is None and canary_percent not in (0, 100):
            raise InvalidArgument(
                f"a canary share of {canary_percent}% needs a canary model",
                hint="give the new model URI with the canary percent",
            )
        with self._write() as session:
            row = _locked(session, name, expected_generation)
            row.stable_uri, row.stable_version = stable_uri, stable_version
            row.canary_uri, row.canary_version = canary_uri, canary_version
            row.canary_percent = canary_percent if canary_uri is not None else 0
            row.model_uri = model_uri or row.model_uri
            row.follow_alias = row.follow_alias if follow_alias is None else follow_alias
            _bump(row)
            if event is not None:
                _event(session, name, event[0], event[1], _revisions(row))
            return _loaded(session, name)

    def request_deployment_delete(self, name: str) -> Deployment:
        """Mark a deployment ``DELETING``; the controller stops it and removes it."""
        with self._write() as session:
            row = _locked(session, name, None, allow_deleting=True)
            if row.status != DeploymentStatus.DELETING.value:
                row.status = DeploymentStatus.DELETING.value
                _bump(row)
                _event(session, name, "deleting", "delete requested")
            return _loaded(session, name)

    def record_deployment_state(
        self, name: str, *, observed_generation: int | None = None, **observed: Any
    ) -> Deployment:
        """Record what the controller observed: any of ``status``, ``url``, ``pid``,
        ``job``, ``message``, ``workdir``, ``applied`` (slots), and the generation it applied."""
        unknown = set(observed) - _OBSERVED
        if unknown:
            raise InvalidArgument(f"unknown deployment fields {sorted(unknown)}")
        with self._write() as session:
            row = _row(session, name, lock=True)
            for key, value in observed.items():
                if key == "status":
                    value = DeploymentStatus(value).value
                    if row.status == DeploymentStatus.DELETING.value:
                        continue  # a delete request wins over whatever the controller saw
                setattr(row, key, rows.dumps(list(value)) if key == "applied" else value)
            if observed_generation is not None:
                row.observed_generation = max(row.observed_generation, observed_generation)
            row.updated_at = now_ms()
            return _loaded(session, name)

    def delete_deployment(self, name: str) -> None:
        """Remove a deployment and its history. Raises ``NotFound``."""
        with self._write() as session:
            session.delete(_row(session, name, lock=True))

    def get_deployment_reference(self, name: str) -> dict[str, Any] | None:
        """The summarised drift reference of a deployment (``None`` when it has none)."""
        with self._read() as session:
            text = _row(session, name).reference
            return None if text is None else dict(json.loads(text))

    def set_deployment_reference(self, name: str, reference: Mapping[str, Any] | None) -> None:
        """Store (or clear) the summarised drift reference. Raises ``PayloadTooLarge``-like
        ``InvalidArgument`` past 8 MiB."""
        text = None if reference is None else rows.dumps(dict(reference))
        if text is not None and len(text) > MAX_REFERENCE_BYTES:
            raise InvalidArgument(
                "the drift reference summary is larger than 8 MiB",
                hint="summarise fewer features or fewer bins",
            )
        with self._write() as session:
            _row(session, name, lock=True).reference = text

    # -- events and samples -----------------------------------------------------------------
    def add_deployment_event(
        self, name: str, kind: str, message: str, data: Mapping[str, Any] | None = None
    ) -> None:
        """Append an entry to a deployment's history."""
        with self._write() as session:
            _row(session, name)
            _event(session, name, kind, message, data)

    def list_deployment_events(self, name: str, *, limit: int = 100) -> Sequence[DeploymentEvent]:
        """A deployment's history, newest first."""
        query = sa.select(DeploymentEventRow).where(DeploymentEventRow.deployment == name)
        query = query.order_by(DeploymentEventRow.at.desc(), DeploymentEventRow.id.desc())
        with self._read() as session:
            _row(session, name)
            return [rows.event_of(r) for r in session.scalars(query.limit(_limit(limit)))]

    def add_metric_sample(self, name: str, at: int, values: Mapping[str, Any]) -> None:
        """Store counters scraped from the deployment's server at ``at`` (ms); samples older
        than 7 days are dropped."""
        with self._write() as session:
            _row(session, name)
            session.add(DeploymentSampleRow(deployment=name, at=at, counters=rows.dumps(values)))
            session.execute(
                sa.delete(DeploymentSampleRow).where(
                    DeploymentSampleRow.deployment == name,
                    DeploymentSampleRow.at < at - SAMPLE_RETENTION_MS,
                )
            )

    def list_metric_samples(
        self, name: str, *, since: int = 0, limit: int = MAX_LIST
    ) -> Sequence[MetricSample]:
        """Samples taken at or after ``since`` (ms), oldest first (the newest ``limit``)."""
        query = sa.select(DeploymentSampleRow).where(
            DeploymentSampleRow.deployment == name, DeploymentSampleRow.at >= since
        )
        query = query.order_by(DeploymentSampleRow.at.desc(), DeploymentSampleRow.id.desc())
        with self._read() as session:
            _row(session, name)
            found = [rows.sample_of(r) for r in session.scalars(query.limit(_limit(limit)))]
            return found[::-1]

    # -- alerts -----------------------------------------------------------------------------
    def create_alert_rule(
        self,
        deployment: str,
        *,
        kind: AlertKind,
        threshold: float,
        window_s: int = 300,
        webhook_url: str | None = None,
        workflow: str | None = None,
    ) -> AlertRule:
        """Add an alert rule to a deployment (a webhook, a workflow, or both)."""
        row = _new_rule(deployment, kind, threshold, window_s, webhook_url, workflow)
        with self._write() as session:
            _row(session, deployment)
            session.add(row)
            session.flush()
            return rows.rule_of(row)

    def list_alert_rules(self, deployment: str | None = None) -> Sequence[AlertRule]:
        """Alert rules, oldest first, optionally of one deployment."""
        query = sa.select(AlertRuleRow).order_by(AlertRuleRow.created_at, AlertRuleRow.id)
        if deployment is not None:
            query = query.where(AlertRuleRow.deployment == deployment)
        with self._read() as session:
            if deployment is not None:
                _row(session, deployment)
            return [rows.rule_of(r) for r in session.scalars(query)]

    def delete_alert_rule(self, rule_id: str) -> None:
        """Remove an alert rule (and its firings). Raises ``NotFound``."""
        with self._write() as session:
            row = session.get(AlertRuleRow, rule_id)
            if row is None:
                raise rows.rule_not_found(rule_id)
            session.delete(row)

    def set_alert_firing(self, rule_id: str, firing: bool) -> AlertRule:
        """Record whether a rule's condition holds now (the controller fires on the edge)."""
        with self._write() as session:
            row = session.get(AlertRuleRow, rule_id)
            if row is None:
                raise rows.rule_not_found(rule_id)
            row.firing = firing
            return rows.rule_of(row)

    def add_alert_firing(
        self, rule_id: str, *, value: float, delivered: bool, error: str = ""
    ) -> AlertFiring:
        """Record that a rule fired, with the value it saw and how delivery went; firings
        older than 90 days are dropped."""
        now = now_ms()
        with self._write() as session:
            rule = session.get(AlertRuleRow, rule_id)
            if rule is None:
                raise rows.rule_not_found(rule_id)
            rule.last_fired_at = now
            row = AlertFiringRow(
                id=new_id(now), rule_id=rule_id, deployment=rule.deployment, at=now,
                kind=rule.kind, value=float(value), threshold=rule.threshold,
                delivered=delivered, error=error[:4000],
            )  # fmt: skip
            session.add(row)
            session.execute(
                sa.delete(AlertFiringRow).where(
                    AlertFiringRow.deployment == rule.deployment,
                    AlertFiringRow.at < now - FIRING_RETENTION_MS,
                )
            )
            session.flush()
            return rows.firing_of(row)

    def list_alert_firings(self, deployment: str, *, limit: int = 100) -> Sequence[AlertFiring]:
        """Firings of a deployment's rules, newest first."""
        query = sa.select(AlertFiringRow).where(AlertFiringRow.deployment == deployment)
        query = query.order_by(AlertFiringRow.at.desc(), AlertFiringRow.id.desc())
        with self._read() as session:
            _row(session, deployment)
            return [rows.firing_of(r) for r in session.scalars(query.limit(_limit(limit)))]

    # -- drift ------------------------------------------------------------------------------
    def add_drift_report(
        self,
        deployment: str,
        *,
        rows_checked: int,
        dataset_drift: bool,
        share_drifted: float,
        report: Mapping[str, Any],
    ) -> DriftReport:
        """Store a drift check's result; reports older than 30 days are dropped."""
        now = now_ms()
        row = DriftReportRow(
            id=new_id(now), deployment=deployment, at=now, row_count=rows_checked,
            dataset_drift=dataset_drift, share_drifted=float(share_drifted),
            report=rows.dumps(dict(report)),
        )  # fmt: skip
        with self._write() as session:
            _row(session, deployment)
            session.add(row)
            session.execute(
                sa.delete(DriftReportRow).where(
                    DriftReportRow.deployment == deployment,
                    DriftReportRow.at < now - DRIFT_RETENTION_MS,
                )
            )
            session.flush()
            return rows.report_of(row)

    def list_drift_reports(self, deployment: str, *, limit: int = 20) -> Sequence[DriftReport]:
        """Drift reports of a deployment, newest first."""
        query = sa.select(DriftReportRow).where(DriftReportRow.deployment == deployment)
        query = query.order_by(DriftReportRow.at.desc(), DriftReportRow.id.desc())
        with self._read() as session:
            _row(session, deployment)
            return [rows.report_of(r) for r in session.scalars(query.limit(_limit(limit)))]


def _row(session: Session, name: str, *, lock: bool = False) -> DeploymentRow:
    query = sa.select(DeploymentRow).where(DeploymentRow.name == name)
    row = session.scalar(query.with_for_update() if lock else query)
    if row is None:
        raise rows.deployment_not_found(name)
    return row


def _loaded(session: Session, name: str) -> Deployment:
    row = _row(session, name)
    project = session.scalar(sa.select(ProjectRow.name).where(ProjectRow.id == row.project_id))
    return rows.deployment_of(row, str(project))


def _locked(
    session: Session, name: str, expected: int | None, *, allow_deleting: bool = False
) -> DeploymentRow:
    row = _row(session, name, lock=True)
    if row.status == DeploymentStatus.DELETING.value and not allow_deleting:
        raise Conflict(
            f"deployment {name!r} is being deleted", hint="create a new deployment instead"
        )
    if expected is not None and row.generation != expected:
        raise Conflict(
            f"deployment {name!r} changed meanwhile (generation {row.generation}, "
            f"expected {expected})",
            hint="read the deployment again and retry",
        )
    return row


def _bump(row: DeploymentRow) -> None:
    row.generation += 1
    row.updated_at = now_ms()


def _event(
    session: Session, name: str, kind: str, message: str, data: Mapping[str, Any] | None = None
) -> None:
    session.add(
        DeploymentEventRow(
            deployment=name,
            at=now_ms(),
            kind=kind[:64],
            message=message,
            data=rows.dumps(dict(data or {})),
        )
    )


def _revisions(row: DeploymentRow) -> dict[str, Any]:
    return {
        "stable": row.stable_uri,
        "canary": row.canary_uri,
        "canary_percent": row.canary_percent,
    }


def _limit(limit: int) -> int:
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LIST:
        raise InvalidArgument(
            f"limit must be from 1 to {MAX_LIST}, got {limit!r}", hint="e.g. limit=100"
        )
    return limit


def _new_rule(
    deployment: str,
    kind: AlertKind | str,
    threshold: float,
    window_s: int,
    webhook_url: str | None,
    workflow: str | None,
) -> AlertRuleRow:
    try:
        checked = AlertKind(kind)
    except ValueError:
        raise InvalidArgument(
            f"unknown alert kind {kind!r}",
            hint=f"use one of {', '.join(k.value for k in AlertKind)}",
        ) from None
    if webhook_url is None and not workflow:
        raise InvalidArgument(
            "an alert rule needs a webhook URL or a workflow to start",
            hint="pass --webhook URL and/or --workflow PATH",
        )
    if isinstance(window_s, bool) or not isinstance(window_s, int) or not 1 <= window_s <= 86400:
        raise InvalidArgument(
            f"window must be 1 to 86400 seconds, got {window_s!r}", hint="e.g. --window 300"
        )
    now = now_ms()
    return AlertRuleRow(
        id=new_id(now), deployment=deployment, kind=checked.value, threshold=float(threshold),
        window_s=window_s, firing=False, created_at=now, workflow=workflow or None,
        webhook_url=None if webhook_url is None else validate_webhook_url(webhook_url),
    )  # fmt: skip
