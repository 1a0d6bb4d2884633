"""The ServingStore contract on SQLite and PostgreSQL, and the deployment REST API (desired state
only; no controller) through the SDK's HTTP client against the app in-process."""

from __future__ import annotations

import time

import pytest
import sqlalchemy as sa

from deploy_support import log_iris_model
from shipyard.artifacts.local import LocalArtifactStore
from shipyard.domain.serving import AlertKind, DeploymentStatus
from shipyard.errors import AlreadyExists, Conflict, InvalidArgument, NotFound
from shipyard.sdk._http_deployments import HttpDeployments
from shipyard.sdk._http_store import HttpRunStore
from shipyard.serving.drift import summarize
from shipyard.store.serving import ServingStore
from shipyard.store.sql.models_serving import AlertFiringRow, DriftReportRow
from shipyard.store.sql.store import SqlRunStore

pytest_plugins = ["store_fixtures"]  # sql_store, sqlite_store, server_blobs, http_runs


@pytest.fixture
def store(sql_store: SqlRunStore) -> SqlRunStore:
    return sql_store


def create(store: ServingStore, name: str = "iris", project: str = "iris") -> None:
    store.create_deployment(
        name, project=project, model_uri="models:/m@champion", stable_uri="models:/m/1",
        stable_version=1,
    )  # fmt: skip


def test_deployments_track_desired_and_observed_state(store: SqlRunStore) -> None:
    assert isinstance(store, ServingStore)
    create(store)
    fresh = store.get_deployment("iris")
    assert fresh.status is DeploymentStatus.PENDING
    assert (fresh.generation, fresh.observed_generation) == (1, 0)
    assert fresh.slots == (("models:/m/1", 1, 1.0),)
    with pytest.raises(AlreadyExists):
        create(store)
    with pytest.raises(InvalidArgument, match="deployment name"):
        create(store, name="Bad_Name")

    canary = store.set_deployment_revisions(
        "iris", stable_uri="models:/m/1", stable_version=1, canary_uri="models:/m/2",
        canary_version=2, canary_percent=20, event=("canary", "m/2 at 20%"),
        expected_generation=1,
    )  # fmt: skip
    assert canary.generation == 2
    assert canary.slots == (("models:/m/1", 1, 0.8), ("models:/m/2", 2, 0.2))
    with pytest.raises(Conflict, match="changed meanwhile"):
        store.set_deployment_revisions(
            "iris", stable_uri="x", stable_version=None, expected_generation=1
        )
    with pytest.raises(InvalidArgument, match="needs a canary"):
        store.set_deployment_revisions(
            "iris", stable_uri="x", stable_version=None, canary_percent=5
        )

    slots = [{"uri": "models:/m/1", "weight": 1.0}]
    seen = store.record_deployment_state(
        "iris", status=DeploymentStatus.READY, url="http://h:1", pid=42, applied=slots,
        observed_generation=2, job="ray:shipyard-0123",
    )  # fmt: skip
    assert seen.settled
    assert (seen.pid, seen.job) == (42, "ray:shipyard-0123")
    assert seen.applied == ({"uri": "models:/m/1", "weight": 1.0},)
    with pytest.raises(InvalidArgument, match="unknown deployment fields"):
        store.record_deployment_state("iris", generation=9)

    deleting = store.request_deployment_delete("iris")
    assert deleting.status is DeploymentStatus.DELETING
    still = store.record_deployment_state("iris", status=DeploymentStatus.READY)
    assert still.status is DeploymentStatus.DELETING  # a delete request wins
    with pytest.raises(Conflict, match="being deleted"):
        store.set_deployment_revisions("iris", stable_uri="x", stable_version=None)
    kinds = [e.kind for e in store.list_deployment_events("iris")]
    assert kinds == ["deleting", "canary", "created"]


def test_history_alerts_and_reports_go_with_the_deployment(store: SqlRunStore) -> None:
    create(store)
    create(store, name="other", project="mnist")
    assert [d.name for d in store.list_deployments(project="mnist")] == ["other"]
    store.set_deployment_reference("iris", {"rows": 3, "features": []})
    assert store.get_deployment_reference("iris") == {"rows": 3, "features": []}
    assert store.get_deployment_reference("other") is None
    store.add_metric_sample("iris", 1000, {"requests": 1.0})
    store.add_metric_sample("iris", 2000, {"requests": 5.0})
    assert [s.values["requests"] for s in store.list_metric_samples("iris", since=1500)] == [5.0]
    week = 7 * 86_400_000
    store.add_metric_sample("iris", 1500 + week, {"requests": 9.0})  # drops the one at 1000
    assert [s.at for s in store.list_metric_samples("iris")] == [2000, 1500 + week]
    rule = store.create_alert_rule(
        "iris", kind=AlertKind.LATENCY_P99, threshold=0.2, webhook_url="http://x/hook"
    )
    with pytest.raises(InvalidArgument, match="webhook URL or a workflow"):
        store.create_alert_rule("iris", kind=AlertKind.DRIFT, threshold=0.5)
    with pytest.raises(InvalidArgument, match="webhook URL"):
        store.create_alert_rule("iris", kind=AlertKind.DRIFT, threshold=0.5, webhook_url="ftp://x")
    assert store.set_alert_firing(rule.id, True).firing
    firing = store.add_alert_firing(rule.id, value=0.5, delivered=False, error="refused")
    assert store.list_alert_firings("iris") == [firing]
    assert store.list_alert_rules("iris")[0].last_fired_at == firing.at
    report = store.add_drift_report(
        "iris", rows_checked=10, dataset_drift=True, share_drifted=0.75, report={"features": []}
    )
    assert store.list_drift_reports("iris") == [report]
    with pytest.raises(InvalidArgument, match="limit"):
        store.list_drift_reports("iris", limit=0)
    _age(store, report.id, firing.id, days=31)  # reports are kept 30 days, firings 90
    newer = store.add_drift_report(
        "iris", rows_checked=5, dataset_drift=False, share_drifted=0.0, report={"features": []}
    )
    assert store.list_drift_reports("iris") == [newer]
    store.add_alert_firing(rule.id, value=0.6, delivered=True)
    assert firing.id in {f.id for f in store.list_alert_firings("iris")}
    _age(store, report.id, firing.id, days=91)
    store.add_alert_firing(rule.id, value=0.7, delivered=True)
    assert firing.id not in {f.id for f in store.list_alert_firings("iris")}

    store.delete_deployment("iris")
    for read in (store.get_deployment, store.list_drift_reports, store.list_alert_firings):
        with pytest.raises(NotFound, match="deployment 'iris' not found"):
            read("iris")
    with pytest.raises(NotFound, match="alert rule"):
        store.delete_alert_rule(rule.id)
    assert [d.name for d in store.list_deployments()] == ["other"]


def _age(store: SqlRunStore, report_id: str, firing_id: str, *, days: int) -> None:
    """Move a drift report and an alert firing ``days`` into the past."""
    at = int(time.time() * 1000) - days * 86_400_000
    with store.engine.begin() as connection:
        for table, row_id in ((DriftReportRow, report_id), (AlertFiringRow, firing_id)):
            connection.execute(sa.update(table).where(table.id == row_id).values(at=at))


@pytest.fixture
def api(
    sqlite_store: SqlRunStore, server_blobs: LocalArtifactStore, http_runs: HttpRunStore
) -> tuple[SqlRunStore, HttpDeployments]:
    log_iris_model(sqlite_store, server_blobs)
    log_iris_model(sqlite_store, server_blobs, kind="tree")
    sqlite_store.set_model_alias("iris-clf", "champion", 1)
    return sqlite_store, HttpDeployments(http_runs)


def test_the_api_records_rollouts(api: tuple[SqlRunStore, HttpDeployments]) -> None:
    store, deployments = api
    created = deployments.create("iris", "models:/iris-clf@champion", follow_alias=True)
    assert (created.project, created.stable_uri, created.follow_alias) == (
        "iris", "models:/iris-clf/1", True,
    )  # fmt: skip
    canary = deployments.update("iris", "models:/iris-clf/2", canary_percent=10)
    assert canary.canary_uri == "models:/iris-clf/2"
    assert canary.follow_alias is True
    promoted = deployments.promote("iris")
    assert (promoted.stable_version, promoted.canary_uri, promoted.follow_alias) == (2, None, False)
    with pytest.raises(Conflict, match="no canary to roll back"):
        deployments.rollback("iris")
    store.set_model_alias("iris-clf", "champion", 2)
    with pytest.raises(InvalidArgument, match="follow-alias needs"):
        deployments.create("x", "models:/iris-clf/1", follow_alias=True)
    with pytest.raises(NotFound, match="alias"):
        deployments.create("x", "models:/iris-clf@nope")
    with pytest.raises(InvalidArgument, match="unknown deployment options"):
        deployments.create("x", "models:/iris-clf/1", config={"gpus": 1})
    bad_configs = [
        ({"max_batch_size": "32"}, "max_batch_size must be a whole number from 1"),
        ({"max_batch_size": 0}, "max_batch_size must be a whole number from 1"),
        ({"max_wait_ms": -1}, "max_wait_ms must be a number from 0"),
        ({"predlog_rate": True}, "predlog_rate must be a number from 0 to 1"),
        ({"drift_window_s": 0}, "drift_window_s must be a number from 1"),
        ({"drift_tests": {"*": "nope"}}, "unknown drift test 'nope' for '\\*'"),
        ({"drift_tests": "psi"}, "drift_tests must map feature names to tests"),
    ]
    for config, message in bad_configs:
        with pytest.raises(InvalidArgument, match=message):
            deployments.create("x", "models:/iris-clf/1", config=config)
    with pytest.raises(InvalidArgument, match="malformed drift reference"):
        deployments.set_reference("iris", {"rows": "many"})
    deployments.set_reference("iris", summarize([[1.0, 2.0], [3.0, 4.0]]).to_dict())
    with pytest.raises(NotFound, match="not been started"):
        deployments.drift("iris")
    assert deployments.logs("iris") == ""
    assert deployments.metrics("iris")["window"]["requests"] == 0.0
    rule = deployments.add_alert(
        "iris", kind=AlertKind.DRIFT, threshold=0.5, workflow="retrain.yaml"
    )
    with pytest.raises(NotFound, match="no alert rule"):
        deployments.delete_alert("iris", "0" * 32)
    deployments.delete_alert("iris", rule.id)
    assert deployments.alerts("iris") == ([], [])
    assert [d.name for d in deployments.list_deployments("iris")] == ["iris"]
    assert deployments.delete("iris") is not None
    assert store.get_deployment("iris").status is DeploymentStatus.DELETING
