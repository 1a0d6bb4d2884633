"""How ``shipyard deployments`` shows deployments, drift reports and alerts (Rich and JSON)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from shipyard.cli._render import local_time, new_table
from shipyard.domain.serving import (
    AlertFiring,
    AlertRule,
    Deployment,
    DeploymentEvent,
    DeploymentStatus,
    DriftReport,
)

STATUS_STYLES = {
    DeploymentStatus.READY: "green",
    DeploymentStatus.FAILED: "red",
    DeploymentStatus.STARTING: "yellow",
    DeploymentStatus.PENDING: "yellow",
    DeploymentStatus.DELETING: "dim",
}


def deployment_json(deployment: Deployment) -> dict[str, Any]:
    """JSON form of a deployment (``url`` is where to send requests)."""
    return {
        "name": deployment.name,
        "project": deployment.project,
        "status": deployment.status.value,
        "url": deployment.url,
        "model_uri": deployment.model_uri,
        "follow_alias": deployment.follow_alias,
        "stable": {"uri": deployment.stable_uri, "version": deployment.stable_version},
        "canary": None
        if deployment.canary_uri is None
        else {
            "uri": deployment.canary_uri,
            "version": deployment.canary_version,
            "percent": deployment.canary_percent,
        },
        "slots": [{"uri": uri, "version": v, "weight": w} for uri, v, w in deployment.slots],
        "serving": [
            {"uri": s.get("uri"), "version": s.get("version"), "weight": s.get("weight")}
            for s in deployment.applied
        ],
        "message": deployment.message,
        "settled": deployment.settled,
        "config": dict(deployment.config),
        "pid": deployment.pid,
        "job": deployment.job,
        "created_at": deployment.created_at,
        "updated_at": deployment.updated_at,
    }


def _status(status: DeploymentStatus) -> Text:
    return Text(status.value, style=STATUS_STYLES.get(status, ""))


def _versions(deployment: Deployment) -> str:
    return ", ".join(f"{uri} {round(weight * 100)}%" for uri, _, weight in deployment.slots)


def deployments_table(deployments: Iterable[Deployment]) -> Table:
    """One row per deployment."""
    table = new_table("Name", "Project", "Status", "URL", "Versions")
    for d in deployments:
        table.add_row(d.name, d.project, _status(d.status), d.url or "—", _versions(d))
    return table


def status_view(
    deployment: Deployment,
    events: Sequence[DeploymentEvent],
    window: Mapping[str, Any] | None = None,
) -> RenderableType:
    """A deployment's details, recent metrics and events."""
    facts = new_table("Field", "Value", title=f"deployment {deployment.name}")
    facts.add_row("status", _status(deployment.status))
    facts.add_row("url", deployment.url or "—")
    if deployment.job:
        facts.add_row("job", deployment.job)
    facts.add_row("model", deployment.model_uri + (" (follows alias)" * deployment.follow_alias))
    facts.add_row("versions", _versions(deployment))
    if deployment.message:
        facts.add_row("message", Text(deployment.message, style="red"))
    if window:
        facts.add_row("last 5 min", _window_text(window))
    parts: list[RenderableType] = [facts]
    if events:
        history = new_table("When", "Event", "Message", title="recent events")
        for event in events:
            history.add_row(local_time(event.at), event.kind, event.message)
        parts.append(history)
    return Group(*parts)


def _window_text(window: Mapping[str, Any]) -> str:
    p99 = window.get("p99")
    rate = window.get("error_rate")
    return (
        f"{int(window.get('requests', 0))} requests, "
        f"{'—' if rate is None else f'{rate:.1%}'} errors, "
        f"p99 {'—' if p99 is None else f'{p99 * 1000:.1f} ms'}"
    )


def drift_json(report: DriftReport) -> dict[str, Any]:
    """JSON form of a drift report: ``dataset_drift`` and per feature the test, its statistic or
    p-value, and a ``drift`` flag."""
    return {
        "deployment": report.deployment,
        "at": report.at,
        "rows": report.rows,
        "dataset_drift": report.dataset_drift,
        "share_drifted": report.share_drifted,
        **{k: v for k, v in report.report.items() if k not in ("dataset_drift", "share_drifted")},
    }


def drift_table(report: DriftReport) -> RenderableType:
    """Per-feature drift table plus the verdict."""
    table = new_table("Feature", "Kind", "Test", "Statistic", "p-value", "Drift")
    for feature in report.report.get("features", []):
        table.add_row(
            str(feature["name"]), str(feature["kind"]), str(feature["test"]),
            _number(feature.get("statistic")), _number(feature.get("p_value")),
            Text("yes", style="red") if feature["drift"] else Text("no", style="green"),
        )  # fmt: skip
    verdict = "DRIFT" if report.dataset_drift else "no drift"
    summary = Text(
        f"{verdict}: {report.share_drifted:.0%} of features drifted over {report.rows} rows",
        style="red bold" if report.dataset_drift else "green",
    )
    return Group(table, summary)


def _number(value: Any) -> str:
    return "—" if value is None else f"{float(value):.4g}"


def alerts_json(rules: Sequence[AlertRule], firings: Sequence[AlertFiring]) -> dict[str, Any]:
    """JSON form of rules and firings."""
    return {
        "rules": [
            {"id": r.id, "kind": r.kind.value, "threshold": r.threshold, "window_s": r.window_s,
             "webhook_url": r.webhook_url, "workflow": r.workflow, "firing": r.firing,
             "last_fired_at": r.last_fired_at}
            for r in rules
        ],
        "firings": [
            {"id": f.id, "rule_id": f.rule_id, "at": f.at, "kind": f.kind.value,
             "value": f.value, "threshold": f.threshold, "delivered": f.delivered,
             "error": f.error}
            for f in firings
        ],
    }  # fmt: skip


def alerts_tables(rules: Sequence[AlertRule], firings: Sequence[AlertFiring]) -> list[Table]:
    """A table of rules and one of firings."""
    table = new_table("Id", "Kind", "Threshold", "Window", "Webhook", "Workflow", "Firing")
    for r in rules:
        table.add_row(
            r.id, r.kind.value, f"{r.threshold:g}", f"{r.window_s}s", r.webhook_url or "—",
            r.workflow or "—", "yes" if r.firing else "no",
        )  # fmt: skip
    fired = new_table("When", "Kind", "Value", "Delivered", "Error", title="firings")
    for f in firings:
        fired.add_row(
            local_time(f.at), f.kind.value, f"{f.value:.4g}", "yes" if f.delivered else "no",
            f.error or "—",
        )  # fmt: skip
    return [table, fired]
