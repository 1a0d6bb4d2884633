"""The serving store protocol: deployments, their history, scraped metric samples, alert rules and
firings, and drift reports.

Contract (checked by ``tests/contract/test_deploy_store.py`` over SQLite and PostgreSQL):

* A deployment is named by a DNS-style label, unique across the store, and belongs to a project
  (created when missing). It starts ``PENDING`` with ``generation`` 1 and ``observed_generation``
  0. Every desired-state change bumps ``generation`` atomically; ``expected_generation`` turns a
  lost update into ``Conflict``.
* Only the controller writes observed state (``record_deployment_state``); a delete request
  (``DELETING``) is never overwritten by it, and a deployment being deleted refuses changes.
* Deleting a deployment deletes its events, samples, rules, firings and reports.
* Listings are bounded (``limit`` 1..1000, else ``InvalidArgument``); unknown names raise
  ``NotFound``. Times are integer milliseconds since the epoch. Thread safe, like ``RunStore``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

from shipyard.domain.serving import (
    AlertFiring,
    AlertKind,
    AlertRule,
    Deployment,
    DeploymentEvent,
    DriftReport,
    MetricSample,
)


@runtime_checkable
class ServingStore(Protocol):
    """Where deployments and their monitoring data live."""

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
        """Record a new ``PENDING`` deployment. Raises ``AlreadyExists``.

        Example::

            store.create_deployment("iris", project="iris", model_uri="models:/iris-clf@champion",
                                    stable_uri="models:/iris-clf/3", stable_version=3)
        """
        ...

    def get_deployment(self, name: str) -> Deployment:
        """One deployment. Raises ``NotFound``."""
        ...

    def list_deployments(self, *, project: str | None = None) -> Sequence[Deployment]:
        """Deployments by name, optionally of one project."""
        ...

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
        """Set the desired revisions (stable, optional canary and its share) and bump the
        generation, recording ``event`` ``(kind, message)``."""
        ...

    def request_deployment_delete(self, name: str) -> Deployment:
        """Mark a deployment ``DELETING`` (the controller stops and removes it)."""
        ...

    def record_deployment_state(
        self, name: str, *, observed_generation: int | None = None, **observed: Any
    ) -> Deployment:
        """Record observed state: ``status``, ``url``, ``pid``, ``job``, ``message``, ``workdir``,
        ``applied``; and the generation the controller applied."""
        ...

    def delete_deployment(self, name: str) -> None:
        """Remove a deployment and everything recorded about it."""
        ...

    def get_deployment_reference(self, name: str) -> dict[str, Any] | None:
        """The summarised drift reference (``None`` when there is none)."""
        ...

    def set_deployment_reference(self, name: str, reference: Mapping[str, Any] | None) -> None:
        """Store or clear the summarised drift reference."""
        ...

    def add_deployment_event(
        self, name: str, kind: str, message: str, data: Mapping[str, Any] | None = None
    ) -> None:
        """Append to a deployment's history."""
        ...

    def list_deployment_events(self, name: str, *, limit: int = 100) -> Sequence[DeploymentEvent]:
        """History, newest first."""
        ...

    def add_metric_sample(self, name: str, at: int, values: Mapping[str, Any]) -> None:
        """Store scraped cumulative counters."""
        ...

    def list_metric_samples(
        self, name: str, *, since: int = 0, limit: int = 1000
    ) -> Sequence[MetricSample]:
        """Samples at or after ``since``, oldest first."""
        ...

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
        """Add an alert rule (needs a webhook, a workflow, or both)."""
        ...

    def list_alert_rules(self, deployment: str | None = None) -> Sequence[AlertRule]:
        """Rules, oldest first."""
        ...

    def delete_alert_rule(self, rule_id: str) -> None:
        """Remove a rule. Raises ``NotFound``."""
        ...

    def set_alert_firing(self, rule_id: str, firing: bool) -> AlertRule:
        """Record whether a rule's condition holds now."""
        ...

    def add_alert_firing(
        self, rule_id: str, *, value: float, delivered: bool, error: str = ""
    ) -> AlertFiring:
        """Record that a rule fired."""
        ...

    def list_alert_firings(self, deployment: str, *, limit: int = 100) -> Sequence[AlertFiring]:
        """Firings, newest first."""
        ...

    def add_drift_report(
        self,
        deployment: str,
        *,
        rows_checked: int,
        dataset_drift: bool,
        share_drifted: float,
        report: Mapping[str, Any],
    ) -> DriftReport:
        """Store a drift check's result."""
        ...

    def list_drift_reports(self, deployment: str, *, limit: int = 20) -> Sequence[DriftReport]:
        """Drift reports, newest first."""
        ...
