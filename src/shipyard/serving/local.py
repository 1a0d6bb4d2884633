""":class:`LocalDeployments`: deployments without a hub (the embedded store).

Every change is recorded in the store and reconciled at once by a controller in this process
(so ``create`` returns when the server is READY or FAILED); a detached monitor process
(:mod:`shipyard.serving.monitor`, one per deployments folder) keeps following aliases, scraping
metrics, checking drift and evaluating alerts afterwards, and exits once no deployment is left.
Same methods as :class:`shipyard.sdk._http_deployments.HttpDeployments`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from shipyard.domain.serving import (
    AlertFiring,
    AlertKind,
    AlertRule,
    Deployment,
    DeploymentEvent,
    DriftReport,
)
from shipyard.errors import NotFound
from shipyard.registry import BlobSource
from shipyard.serving import monitor, scrape
from shipyard.serving.controller import ControllerStore, DeploymentController
from shipyard.serving.drift import ReferenceSummary


class LocalDeployments:
    """Deployments as local processes, managed from this process.

    Args:
        store: the embedded (or direct SQL) store.
        artifacts: the artifact store holding the models.
        root: the deployments folder (``.shipyard/deployments``).
        monitor_args: ``(store_uri, artifacts_uri)`` to start the background monitor with;
            ``None`` starts none (tests).
    """

    def __init__(
        self,
        store: ControllerStore,
        artifacts: BlobSource,
        root: Path,
        *,
        monitor_args: tuple[str, str] | None = None,
    ) -> None:
        self.store = store
        self.controller = DeploymentController(store, artifacts, root)
        self.manager = self.controller.manager
        self._monitor_args = monitor_args

    def _settle(self, name: str) -> Deployment | None:
        current = self.controller.reconcile(name)
        if self._monitor_args is not None:
            monitor.ensure(self.controller.root, *self._monitor_args)
        return current

    def _settled(self, name: str) -> Deployment:
        current = self._settle(name)
        return current if current is not None else self.store.get_deployment(name)

    def create(
        self,
        name: str,
        model_uri: str,
        *,
        project: str | None = None,
        follow_alias: bool = False,
        config: Mapping[str, Any] | None = None,
        reference: Mapping[str, Any] | None = None,
    ) -> Deployment:
        """Record a deployment and start its server."""
        self.manager.create(
            name, model_uri, project=project, follow_alias=follow_alias, config=config,
            reference=reference,
        )  # fmt: skip
        return self._settled(name)

    def update(
        self,
        name: str,
        model_uri: str,
        *,
        canary_percent: int | None = None,
        follow_alias: bool | None = None,
    ) -> Deployment:
        """Roll out a model, as a canary or as the new stable version."""
        self.manager.update(
            name, model_uri, canary_percent=canary_percent, follow_alias=follow_alias
        )
        return self._settled(name)

    def promote(self, name: str) -> Deployment:
        """Make the canary the stable version."""
        self.manager.promote(name)
        return self._settled(name)

    def rollback(self, name: str) -> Deployment:
        """Drop the canary."""
        self.manager.rollback(name)
        return self._settled(name)

    def delete(self, name: str) -> Deployment | None:
        """Stop and remove the deployment."""
        self.manager.delete(name)
        return self._settle(name)

    def get(self, name: str) -> Deployment:
        """One deployment (restarted first when its server died)."""
        return self._settled(name)

    def list_deployments(self, project: str | None = None) -> Sequence[Deployment]:
        """Deployments by name."""
        return self.store.list_deployments(project=project)

    def wait(self, name: str, timeout_s: float = 300.0) -> Deployment | None:
        """The deployment (already reconciled by the call that changed it)."""
        try:
            return self.store.get_deployment(name)
        except NotFound:
            return None

    def events(self, name: str, limit: int = 50) -> Sequence[DeploymentEvent]:
        """History, newest first."""
        return self.store.list_deployment_events(name, limit=limit)

    def logs(self, name: str, lines: int = 100) -> str:
        """The last lines of the server log."""
        return self.controller.logs(name, lines)

    def metrics(self, name: str, window_s: int = 300) -> dict[str, Any]:
        """Series and window figures from the samples the monitor scraped."""
        now = int(time.time() * 1000)
        samples = self.store.list_metric_samples(name, since=now - 3_600_000)
        return {"series": scrape.series(samples), "window": scrape.window(samples, window_s, now)}

    def drift(self, name: str, window_s: float | None = None) -> DriftReport:
        """Run a drift check now."""
        return self.controller.check_drift(name, window_s)

    def drift_reports(self, name: str, limit: int = 20) -> Sequence[DriftReport]:
        """Stored drift reports, newest first."""
        return self.store.list_drift_reports(name, limit=limit)

    def set_reference(self, name: str, reference: Mapping[str, Any]) -> None:
        """Store a drift reference summary."""
        self.store.set_deployment_reference(name, ReferenceSummary.from_dict(reference).to_dict())

    def add_alert(
        self,
        name: str,
        *,
        kind: AlertKind,
        threshold: float,
        window_s: int = 300,
        webhook_url: str | None = None,
        workflow: str | None = None,
    ) -> AlertRule:
        """Add an alert rule."""
        return self.store.create_alert_rule(
            name, kind=kind, threshold=threshold, window_s=window_s, webhook_url=webhook_url,
            workflow=workflow,
        )  # fmt: skip

    def alerts(self, name: str) -> tuple[list[AlertRule], list[AlertFiring]]:
        """Rules and recent firings."""
        return list(self.store.list_alert_rules(name)), list(self.store.list_alert_firings(name))

    def delete_alert(self, name: str, rule_id: str) -> None:
        """Remove an alert rule."""
        if not any(r.id == rule_id for r in self.store.list_alert_rules(name)):
            raise NotFound(
                f"deployment {name!r} has no alert rule {rule_id!r}",
                hint=f"`shipyard deployments alerts list {name}` shows its rules",
            )
        self.store.delete_alert_rule(rule_id)

    def close(self) -> None:
        """Nothing to release (the store is closed by its owner)."""
