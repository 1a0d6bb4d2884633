"""HTML pages of deployments: every deployment, one deployment (status, URL, versions and
weights, charts of requests, errors, latency and batch sizes from the samples its controller
scraped, events, alerts), and its drift page (the latest report's per-feature table)."""

from __future__ import annotations

import time
from typing import Any

from fastapi import APIRouter, Request, Response

from shipyard.errors import NotFound
from shipyard.server.access import CallerDep, Need, rule
from shipyard.server.routes.deployments import get_deployments, redact_url
from shipyard.server.ui._templates import render
from shipyard.server.ui.pages import _page
from shipyard.serving import scrape

router = APIRouter(include_in_schema=False)

CHART_WINDOW_MS = 3_600_000
"""The charts show the last hour."""


def page_project(request: Request) -> str:
    """The project of the page's deployment; ``""`` when it does not exist, so that the page
    itself says what is missing."""
    try:
        return get_deployments(request).get_deployment(str(request.path_params["name"])).project
    except NotFound:
        return ""


READ_PAGE = [rule(Need.READ, project=page_project)]


@router.get("/deployments", dependencies=[rule(Need.USER)])
def deployments_page(request: Request, caller: CallerDep) -> Response:
    """Every deployment the caller may see."""

    def build() -> Response:
        found = [d for d in get_deployments(request).list_deployments() if caller.sees(d.project)]
        return render(
            request, "deployments.html", title="Deployments", nav="deployments", deployments=found
        )

    return _page(request, build)


@router.get("/deployments/{name}", dependencies=READ_PAGE)
def deployment_page(request: Request, name: str) -> Response:
    """One deployment with its charts, events and alerts."""

    def build() -> Response:
        store = get_deployments(request)
        deployment = store.get_deployment(name)
        now = int(time.time() * 1000)
        samples = store.list_metric_samples(name, since=now - CHART_WINDOW_MS)
        rules = store.list_alert_rules(name)
        return render(
            request, "deployment.html", title=name, nav="deployments", deployment=deployment,
            events=store.list_deployment_events(name, limit=30),
            window=scrape.window(samples, 300, now),
            rules=rules, webhooks={r.id: redact_url(r.webhook_url) for r in rules},
            firings=store.list_alert_firings(name, limit=20),
            reports=store.list_drift_reports(name, limit=1),
            metrics_json=scrape.series(samples),
        )  # fmt: skip

    return _page(request, build)


@router.get("/deployments/{name}/drift", dependencies=READ_PAGE)
def drift_page(request: Request, name: str) -> Response:
    """The latest drift report of a deployment, feature by feature, and the ones before."""

    def build() -> Response:
        store = get_deployments(request)
        deployment = store.get_deployment(name)
        reports = store.list_drift_reports(name, limit=20)
        latest = reports[0] if reports else None
        return render(
            request, "deployment_drift.html", title=f"{name} · drift", nav="deployments",
            deployment=deployment, latest=latest, reports=reports,
            features=_features(latest.report if latest else {}),
        )  # fmt: skip

    return _page(request, build)


def _features(report: Any) -> list[dict[str, Any]]:
    return [dict(f) for f in report.get("features", [])]
