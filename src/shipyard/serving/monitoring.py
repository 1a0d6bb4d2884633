"""Monitoring a deployment from wherever its folder is readable (the controller, the hub's
routes): drift checks over its prediction log, its summarised reference, its server log."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from shipyard.domain.serving import Deployment, DriftReport
from shipyard.errors import InvalidArgument, NotFound
from shipyard.registry import BlobSource
from shipyard.serving import _process
from shipyard.serving.drift import ReferenceSummary, check_drift
from shipyard.serving.drift_data import prediction_window
from shipyard.serving.reference import LineageStore, lineage_reference
from shipyard.store.serving import ServingStore

DEFAULT_DRIFT_WINDOW_S = 3600.0


class MonitoringStore(ServingStore, LineageStore, Protocol):
    """Deployments plus what lineage references need."""


def window_of(deployment: Deployment) -> float:
    """The drift window of a deployment in seconds (``drift_window_s``, default one hour)."""
    return float(deployment.config.get("drift_window_s", DEFAULT_DRIFT_WINDOW_S))


def folder_of(deployment: Deployment) -> Path:
    """The deployment's folder on the controller's machine. Raises ``NotFound`` before the
    controller first started it."""
    if not deployment.workdir:
        raise NotFound(
            f"deployment {deployment.name!r} has not been started yet",
            hint="wait until `shipyard deployments status NAME` shows STARTING or READY",
        )
    return Path(deployment.workdir)


def check(
    store: MonitoringStore,
    artifacts: BlobSource,
    deployment: Deployment,
    folder: Path | None = None,
    window_s: float | None = None,
) -> DriftReport:
    """Test the last ``window_s`` seconds of logged predictions against the deployment's
    reference and store the report. Raises ``NotFound`` without a reference or logged rows."""
    reference = reference_of(store, artifacts, deployment)
    window = window_s or window_of(deployment)
    logged = (folder or folder_of(deployment)) / "predlog"
    current, columns = prediction_window(logged, window_s=window)
    if current is None:
        raise NotFound(
            f"deployment {deployment.name!r} logged no predictions in the last {window:.0f}s",
            hint="send it requests (with predlog_rate above 0), or widen the window",
        )
    methods = drift_methods(deployment.config.get("drift_tests") or {}, reference)
    result = check_drift(reference, current, columns, methods=methods)
    result["window_s"] = window
    result["reference_source"] = reference.source
    return store.add_drift_report(
        deployment.name,
        rows_checked=result["current_rows"],
        dataset_drift=result["dataset_drift"],
        share_drifted=result["share_drifted"],
        report=result,
    )


def drift_methods(tests: Mapping[str, str], reference: ReferenceSummary) -> dict[str, str]:
    """The test of each feature from a deployment's ``drift_tests`` (``"*"``: the others);
    features it does not name keep the default tests. Raises ``InvalidArgument`` for a name
    the reference does not have."""
    names = [feature.name for feature in reference.features]
    unknown = sorted(set(tests) - {*names, "*"})
    if unknown:
        raise InvalidArgument(
            f"drift tests are set for features the reference does not have: {unknown}",
            hint=f"its features: {', '.join(names)}",
        )
    fallback = tests.get("*")
    chosen = {name: tests.get(name, fallback) for name in names}
    return {name: test for name, test in chosen.items() if test is not None}


def reference_of(
    store: MonitoringStore, artifacts: BlobSource, deployment: Deployment
) -> ReferenceSummary:
    """The deployment's summarised reference: stored, or built once from its lineage."""
    stored = store.get_deployment_reference(deployment.name)
    if stored is not None:
        return ReferenceSummary.from_dict(stored)
    summary = lineage_reference(store, artifacts, deployment)
    if summary is None:
        raise NotFound(
            f"deployment {deployment.name!r} has no drift reference: its model's run used no "
            "dataset with a .npy or .csv file",
            hint="give one with `shipyard deployments reference NAME train.csv`",
        )
    store.set_deployment_reference(deployment.name, summary.to_dict())
    return summary


def logs(deployment: Deployment, lines: int = 100) -> str:
    """The last lines of the deployment's server log ("" before it started)."""
    if not deployment.workdir:
        return ""
    return _process.log_tail(Path(deployment.workdir), lines)
