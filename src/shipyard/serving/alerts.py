"""Alert rules: evaluate them over scraped samples and drift reports, and fire on the rising edge.

A rule fires once when its condition starts to hold (``firing`` goes from false to true) and
again only after it stopped holding. Firing POSTs a JSON payload to the rule's webhook (with
``httpx``; delivery failures are recorded, never raised) and, when the rule names a workflow (or
always, when the store can take workflow events), records an ``alert`` workflow request through
the trigger store's ``request_workflow_event`` so a workflow with ``on: alert: {deployment: X}``
(e.g. retraining) runs (the event carries the payload, its ``kind`` as ``alert``). Payload::

    {"deployment", "rule_id", "kind", "value", "threshold", "window_s", "at", "workflow",
     "model_uri", "stable_version", "url"}
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

import httpx

from shipyard.domain.serving import AlertFiring, AlertKind, AlertRule, Deployment
from shipyard.errors import ShipyardError
from shipyard.serving import scrape
from shipyard.store.serving import ServingStore

logger = logging.getLogger("shipyard.serving.alerts")

WEBHOOK_TIMEOUT_S = 5.0
MIN_REQUESTS = 1
"""Latency and error-rate rules need at least this many requests in the window."""

Poster = Callable[[str, dict[str, Any]], None]


def value_of(rule: AlertRule, store: ServingStore, now_ms: int) -> float | None:
    """The value a rule compares with its threshold now (``None``: not enough data)."""
    if rule.kind is AlertKind.DRIFT:
        reports = store.list_drift_reports(rule.deployment, limit=1)
        fresh = [r for r in reports if r.at >= now_ms - rule.window_s * 1000]
        return fresh[0].share_drifted if fresh else None
    since = now_ms - (rule.window_s + 120) * 1000
    samples = store.list_metric_samples(rule.deployment, since=since)
    figures = scrape.window(samples, rule.window_s, now_ms)
    if figures["requests"] < MIN_REQUESTS:
        return None
    key = "p99" if rule.kind is AlertKind.LATENCY_P99 else "error_rate"
    value = figures[key]
    return None if value is None else float(value)


def holds(rule: AlertRule, value: float | None) -> bool:
    """Whether the condition holds: latency and error rate above the threshold, a drifted
    share at or above it."""
    if value is None:
        return False
    return value >= rule.threshold if rule.kind is AlertKind.DRIFT else value > rule.threshold


def post_json(url: str, payload: dict[str, Any]) -> None:
    """POST ``payload`` as JSON; raises ``httpx.HTTPError`` on failure or a non-2xx answer."""
    response = httpx.post(url, json=payload, timeout=WEBHOOK_TIMEOUT_S)
    response.raise_for_status()


class AlertEvaluator:
    """Evaluates a deployment's rules and fires those whose condition started to hold.

    Args:
        store: the serving store (and, when it has ``request_workflow_event``, the trigger store).
        post: how webhooks are sent (default: :func:`post_json`).
    """

    def __init__(self, store: ServingStore, *, post: Poster = post_json) -> None:
        self.store = store
        self.post = post

    def evaluate(self, deployment: Deployment, now_ms: int | None = None) -> list[AlertFiring]:
        """Check every rule of ``deployment``; return the firings this call made."""
        now = int(time.time() * 1000) if now_ms is None else now_ms
        fired: list[AlertFiring] = []
        for rule in self.store.list_alert_rules(deployment.name):
            value = value_of(rule, self.store, now)
            active = holds(rule, value)
            if active and not rule.firing and value is not None:
                fired.append(self._fire(rule, deployment, value, now))
            if active != rule.firing:
                self.store.set_alert_firing(rule.id, active)
        return fired

    def _fire(self, rule: AlertRule, deployment: Deployment, value: float, now: int) -> AlertFiring:
        payload = payload_of(rule, deployment, value, now)
        errors = [e for e in (self._webhook(rule, payload), self._workflow(rule, payload)) if e]
        delivered = not errors
        message = f"{rule.kind.value} {value:.4g} crossed {rule.threshold:g}"
        self.store.add_deployment_event(deployment.name, "alert", message, payload)
        return self.store.add_alert_firing(
            rule.id, value=value, delivered=delivered, error="; ".join(errors)
        )

    def _webhook(self, rule: AlertRule, payload: dict[str, Any]) -> str:
        if rule.webhook_url is None:
            return ""
        try:
            self.post(rule.webhook_url, payload)
        except httpx.HTTPError as exc:
            logger.warning("alert webhook of %s failed: %s", rule.deployment, exc)
            return f"webhook: {type(exc).__name__}: {exc}"
        return ""

    def _workflow(self, rule: AlertRule, payload: dict[str, Any]) -> str:
        request = getattr(self.store, "request_workflow_event", None)
        if request is None:
            return "workflow: this store cannot record workflow requests" if rule.workflow else ""
        event = {k: v for k, v in payload.items() if k != "kind"}
        event["alert"] = payload["kind"]  # the request's own "kind" is "alert"
        try:
            request("alert", event)
        except ShipyardError as exc:
            return f"workflow: {exc.message}"
        return ""


def payload_of(rule: AlertRule, deployment: Deployment, value: float, now: int) -> dict[str, Any]:
    """The JSON a firing sends (no secrets: the webhook URL itself is not included)."""
    return {
        "deployment": deployment.name,
        "project": deployment.project,
        "rule_id": rule.id,
        "kind": rule.kind.value,
        "value": value,
        "threshold": rule.threshold,
        "window_s": rule.window_s,
        "at": now,
        "workflow": rule.workflow,
        "model_uri": deployment.model_uri,
        "stable_version": deployment.stable_version,
        "url": deployment.url,
    }


def describe(rules: Sequence[AlertRule]) -> list[str]:
    """One line per rule, for people."""
    return [f"{r.id[:8]} {r.kind.value} > {r.threshold:g} over {r.window_s}s" for r in rules]
