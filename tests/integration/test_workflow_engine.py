"""The workflow engine end to end: real jobs (local executor), a real store (SQLite and
PostgreSQL), the step cache, params, failures, retry, gates and promotion."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from workflow_helpers import GATED, engine_settings, make_repo

from shipyard.artifacts.base import ArtifactStore, open_artifact_store
from shipyard.domain.workflows import StepStatus, WorkflowStatus
from shipyard.errors import NotFound
from shipyard.settings import Settings
from shipyard.store.factory import open_store
from shipyard.store.sql.store import SqlRunStore
from shipyard.workflows.engine import fail_lost_runs
from shipyard.workflows.service import (
    WorkflowRunInfo,
    cancel_workflow,
    job_logs,
    retry_workflow,
    start_workflow,
    wait_workflow,
)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store_uri(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/shipyard.db"
    url: str = request.getfixturevalue("pg_url")
    return url


@pytest.fixture
def settings(tmp_path: Path, store_uri: str) -> Settings:
    return engine_settings(tmp_path, store_uri)


@pytest.fixture
def store(settings: Settings) -> Iterator[SqlRunStore]:
    opened = open_store(settings.store_uri, auto_create=True)
    assert isinstance(opened, SqlRunStore)
    yield opened
    opened.close()


@pytest.fixture
def artifacts(settings: Settings) -> ArtifactStore:
    return open_artifact_store(settings.artifact_uri)


def run(
    store: SqlRunStore, artifacts: ArtifactStore, settings: Settings, path: Path, **kw: Any
) -> WorkflowRunInfo:
    return start_workflow(store, artifacts, path, settings=settings, wait=True, **kw)


def statuses(info: WorkflowRunInfo) -> dict[str, StepStatus]:
    return {job.name: job.status for job in info.jobs}


def test_second_run_is_fully_cached_and_a_param_change_reruns_downstream(
    tmp_path: Path, store: SqlRunStore, artifacts: ArtifactStore, settings: Settings
) -> None:
    path = make_repo(tmp_path)
    first = run(store, artifacts, settings, path)
    assert first.status is WorkflowStatus.SUCCEEDED, first.run.message
    assert set(statuses(first).values()) == {StepStatus.SUCCEEDED}
    assert first.job("prepare").outputs == {"data": "iris-clean@1"}
    assert first.job("train").outputs == {"model": "models:/iris-clf/1"}
    assert first.job("train").reason == "ran: no earlier run of this job"
    train_run = store.get_run(first.job("train").run_id or "")
    assert train_run.tags["shipyard.workflow.run_id"] == first.id
    assert train_run.params == {"lr": 0.01}
    assert any(
        "trained on iris-clean@1" in line for line in job_logs(store, artifacts, first.id, "train")
    )

    second = run(store, artifacts, settings, path)
    assert second.status is WorkflowStatus.SUCCEEDED
    assert set(statuses(second).values()) == {StepStatus.CACHED}
    for job in second.jobs:
        assert job.run_id == first.job(job.name).run_id
        assert job.reason == f"cached: same inputs as run {job.run_id}"
        assert job.outputs == first.job(job.name).outputs

    third = run(store, artifacts, settings, path, params={"lr": 0.02})
    assert statuses(third) == {
        "prepare": StepStatus.CACHED,
        "train": StepStatus.SUCCEEDED,
        "evaluate": StepStatus.SUCCEEDED,
    }
    assert third.job("train").reason == "ran: params.lr changed"
    assert third.job("evaluate").reason == "ran: inputs.model changed"
    assert third.job("train").outputs == {"model": "models:/iris-clf/2"}

    forced = run(store, artifacts, settings, path, params={"lr": 0.02}, no_cache=True)
    assert set(statuses(forced).values()) == {StepStatus.SUCCEEDED}
    assert {job.reason for job in forced.jobs} == {"ran: --no-cache"}


def test_a_failed_job_skips_its_dependents_and_retry_resumes_from_it(
    tmp_path: Path, store: SqlRunStore, artifacts: ArtifactStore, settings: Settings
) -> None:
    path = make_repo(tmp_path)
    text = path.read_text()
    path.write_text(text.replace("eval.py", "fail.py"))
    failed = run(store, artifacts, settings, path)
    assert failed.status is WorkflowStatus.FAILED
    assert statuses(failed) == {
        "prepare": StepStatus.SUCCEEDED,
        "train": StepStatus.SUCCEEDED,
        "evaluate": StepStatus.FAILED,
    }
    assert "exit code 3" in failed.job("evaluate").message
    assert "about to fail" in failed.job("evaluate").message
    assert "job 'evaluate' failed" in failed.run.message
    assert store.get_run(failed.job("evaluate").run_id or "").status.value == "FAILED"

    path.write_text(text)  # the retry runs the spec it recorded: evaluate still fails
    retried = retry_workflow(store, artifacts, failed.id, settings=settings, wait=True)
    assert retried.run.retry_of == failed.id
    assert retried.job("train").status is StepStatus.CACHED
    assert retried.job("train").reason == f"reused: succeeded in workflow run {failed.id}"
    assert retried.job("evaluate").status is StepStatus.FAILED


def test_a_failing_gate_blocks_promotion_and_a_passing_gate_moves_the_alias(
    tmp_path: Path, store: SqlRunStore, artifacts: ArtifactStore, settings: Settings
) -> None:
    path = make_repo(tmp_path, GATED)

    low = run(store, artifacts, settings, path, params={"acc": 0.5})
    assert low.status is WorkflowStatus.FAILED
    assert low.job("gate").status is StepStatus.FAILED
    assert "FAIL  evaluate.metrics.accuracy >= 0.9  (evaluate.metrics.accuracy=0.5)" in (
        low.job("gate").message
    )
    assert "no iris-clf@champion yet" in low.job("gate").message
    assert low.job("promote").status is StepStatus.SKIPPED
    with pytest.raises(NotFound):
        store.get_model_version_by_alias("iris-clf", "champion")

    good = run(store, artifacts, settings, path, params={"acc": 0.95})
    assert good.status is WorkflowStatus.SUCCEEDED, good.run.message
    assert good.job("promote").message == "iris-clf@champion set to version 1"
    assert store.get_model_version_by_alias("iris-clf", "champion").version == 1

    worse = run(store, artifacts, settings, path, params={"lr": 0.05, "acc": 0.93})
    assert worse.job("gate").status is StepStatus.FAILED
    assert "FAIL  evaluate.metrics.accuracy >= champion.metrics.accuracy - 0.01" in (
        worse.job("gate").message
    )
    assert store.get_model_version_by_alias("iris-clf", "champion").version == 1

    better = run(store, artifacts, settings, path, params={"lr": 0.05, "acc": 0.96})
    assert better.status is WorkflowStatus.SUCCEEDED, better.run.message
    assert better.job("train").status is StepStatus.CACHED
    assert better.job("promote").message == "iris-clf@champion moved from version 1 to version 2"
    assert store.get_model_version_by_alias("iris-clf", "champion").version == 2


PARALLEL = """
name: fan
jobs:
  a: {run: "touch a.ready; while [ ! -e b.ready ]; do sleep 0.05; done"}
  b: {run: "touch b.ready; while [ ! -e a.ready ]; do sleep 0.05; done"}
  join: {needs: [a, b], run: "echo joined", cache: false}
"""

SLOW = """
name: slow
jobs:
  first: {run: "touch started; sleep 120"}
  after: {needs: [first], run: "echo never"}
"""


def test_independent_jobs_run_in_parallel(
    tmp_path: Path, store: SqlRunStore, artifacts: ArtifactStore, settings: Settings
) -> None:
    path = tmp_path / "fan.yaml"
    path.write_text(PARALLEL)  # a and b each wait for the other: only parallel runs end
    info = run(store, artifacts, settings, path)
    assert info.status is WorkflowStatus.SUCCEEDED, info.run.message
    assert info.job("join").reason == "ran: cache: false for this job"


def test_cancel_stops_running_jobs_and_starts_nothing_new(
    tmp_path: Path, store: SqlRunStore, artifacts: ArtifactStore, settings: Settings
) -> None:
    path = tmp_path / "slow.yaml"
    path.write_text(SLOW)
    started = start_workflow(store, artifacts, path, settings=settings)
    while not (tmp_path / "started").exists():
        time.sleep(0.05)
    cancel_workflow(store, started.id)
    ended = wait_workflow(store, started.id, timeout=120)
    assert ended.status is WorkflowStatus.CANCELLED
    assert statuses(ended) == {"first": StepStatus.CANCELLED, "after": StepStatus.CANCELLED}
    assert store.get_run(ended.job("first").run_id or "").status.value == "KILLED"


def test_an_engine_whose_run_was_declared_lost_stops_its_jobs(
    tmp_path: Path, store: SqlRunStore, artifacts: ArtifactStore, settings: Settings
) -> None:
    """A run ended FAILED by the lost-runner sweep (its heartbeat looked stale) is never
    resurrected: its engine, if it was only slow, stops its jobs like a cancelled one."""
    path = tmp_path / "slow.yaml"
    path.write_text(SLOW)
    started = start_workflow(store, artifacts, path, settings=settings)
    while not (tmp_path / "started").exists():
        time.sleep(0.05)
    assert fail_lost_runs(store, lost_after_s=0) == [started.id]
    ended = wait_workflow(store, started.id, timeout=120)
    assert ended.status is WorkflowStatus.FAILED
    assert "its runner stopped" in ended.run.message
    assert statuses(ended) == {"first": StepStatus.FAILED, "after": StepStatus.SKIPPED}
    first = store.get_run(ended.job("first").run_id or "")
    deadline = time.monotonic() + 60
    while not first.status.is_terminal and time.monotonic() < deadline:
        time.sleep(0.1)
        first = store.get_run(first.id)
    assert first.status.value == "KILLED"  # the engine cancelled the job it had started
    time.sleep(1)  # the engine's own last word on the job does not rewrite it
    assert store.list_workflow_jobs(started.id)[0].status is StepStatus.FAILED
    retried = retry_workflow(store, artifacts, started.id, settings=settings)
    assert retried.run.retry_of == started.id  # a lost run resumes like a failed one
    cancel_workflow(store, retried.id)
    wait_workflow(store, retried.id, timeout=120)
