"""``shipyard ci run`` against a real hub (``python -m shipyard.server`` on a free port): the jobs
run here, the workflow run, its jobs' runs, the dataset, the model, the step cache and the
promotion are recorded on the hub. With auth on, a write token works and a read-only token is
refused with a clear 403 message."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from test_server import running_server
from workflow_helpers import GATED, git, make_repo

from shipyard.domain.auth import TokenScope
from shipyard.domain.workflows import StepStatus, WorkflowStatus
from shipyard.sdk._http_workflows import HttpEngineStore
from shipyard.store.sql.store import SqlRunStore

CLI = [sys.executable, "-m", "shipyard.cli"]

TRAIN = """
import os, sys, shipyard

class Model:
    def __init__(self, lr):
        self.lr = lr

    def predict(self, x):
        return x

lr = float(sys.argv[1])
with shipyard.start_run() as run:
    run.log_metrics({"train_loss": lr})
    run.log_model(Model(lr), "iris-clf", register_as="iris-clf", flavor="python")
    print("trained on", os.environ["SHIPYARD_INPUT_DATA"])
"""


def hub_repo(root: Path) -> Path:
    """The gated workflow of the engine tests, with a train script that registers its model
    through the SDK (so over HTTP too); returns the workflow file."""
    path = make_repo(root, GATED)
    repo = path.parents[2]
    (repo / "train.py").write_text(textwrap.dedent(TRAIN).lstrip())
    git(repo, "commit", "-qam", "train through the SDK")
    return path


def ci_run(
    path: Path, hub: str, home: Path, *args: str, rc: int, token: str | None = None
) -> subprocess.CompletedProcess[str]:
    """``shipyard ci run`` in the workflow's repository, recording on ``hub``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
    env.update(SHIPYARD_HOME=str(home), SHIPYARD_SYSTEM_METRICS_INTERVAL="0",
               SHIPYARD_CAPTURE="false", SHIPYARD_PROJECT="ci", SHIPYARD_TRACKING_URI=hub,
               COLUMNS="200")  # fmt: skip
    if token is not None:
        env["SHIPYARD_TOKEN"] = token
    env.pop("GITHUB_STEP_SUMMARY", None)
    proc = subprocess.run(
        [*CLI, "ci", "run", str(path), *args], cwd=path.parents[2], env=env,
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert proc.returncode == rc, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc


FLAKY = """
name: flaky
jobs:
  prepare: {run: "PY prep.py", outputs: {data: {dataset: iris-clean}}}
  flaky: {needs: [prepare], run: "PY fail.py"}
"""


def shipyard(cwd: Path, hub: str, home: Path, *args: str, rc: int) -> str:
    """Any ``shipyard`` command recording on ``hub``; returns its stdout."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
    env.update(SHIPYARD_HOME=str(home), SHIPYARD_SYSTEM_METRICS_INTERVAL="0",
               SHIPYARD_CAPTURE="false", SHIPYARD_PROJECT="wf",
               SHIPYARD_TRACKING_URI=hub)  # fmt: skip
    proc = subprocess.run(
        [*CLI, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert proc.returncode == rc, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


def run_id_of(markdown: str) -> str:
    found = re.search(r"run `([0-9a-f]{32})`", markdown)
    assert found is not None, markdown
    return found.group(1)


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[str]:
    folder = tmp_path / "hub"
    folder.mkdir()
    with running_server(
        f"sqlite:///{folder}/shipyard.db", str(folder / "artifacts"), folder
    ) as url:
        yield url


def test_ci_run_records_on_the_hub_caches_and_blocks_a_regression(tmp_path: Path, hub: str) -> None:
    path, home = hub_repo(tmp_path), tmp_path / "home"
    first = ci_run(path, hub, home, rc=0)
    assert "## ✅ Workflow `iris` succeeded" in first.stdout
    assert "| ✅ | `evaluate.metrics.accuracy >= 0.9` |" in first.stdout
    assert "| `train` | ✅ succeeded | ran: no earlier run of this job |" in first.stdout
    wf_id = run_id_of(first.stdout)
    assert f"[open in Shipyard]({hub}/workflows/runs/{wf_id})" in first.stdout

    store = HttpEngineStore(hub)
    try:
        recorded = store.get_workflow_run(wf_id)
        assert recorded.status is WorkflowStatus.SUCCEEDED
        assert recorded.project == "ci"
        jobs = {job.name: job for job in store.list_workflow_jobs(wf_id)}
        assert jobs["promote"].message == "iris-clf@champion set to version 1"
        champion = store.get_model_version_by_alias("iris-clf", "champion")
        assert champion.version == 1
        assert champion.run_id == jobs["train"].run_id
        assert champion.tags["shipyard.metrics.accuracy"] == "0.95"
        assert store.get_dataset_version("iris-clean").version == 1
        assert store.get_run(str(jobs["evaluate"].run_id)).metrics["accuracy"].last == 0.95
        assert "evaluated models:/iris-clf/1" in store.job_logs(wf_id, "evaluate")

        second = ci_run(path, hub, home, rc=0)
        for job in ("prepare", "train", "evaluate"):
            assert f"| `{job}` | ♻️ cached | cached: same inputs as run" in second.stdout
        again = store.list_workflow_jobs(run_id_of(second.stdout))
        assert {j.name: j.run_id for j in again if j.status is StepStatus.CACHED} == {
            name: jobs[name].run_id for name in ("prepare", "train", "evaluate")
        }
        assert len(store.list_model_versions("iris-clf")) == 1

        third = ci_run(path, hub, home, "-p", "acc=0.5", rc=1)
        out = third.stdout
        assert "## ❌ Workflow `iris` failed" in out
        assert "**gate**: failed ❌" in out
        assert "| ❌ | `evaluate.metrics.accuracy >= 0.9` |" in out
        assert "| `accuracy` | 0.5 | 0.95 | -0.45 |" in out
        assert "| `promote` (promote) | ⏭️ skipped |" in out
        assert "a gate failed" in third.stderr
        assert store.get_workflow_run(run_id_of(out)).status is WorkflowStatus.FAILED
        assert store.get_model_version_by_alias("iris-clf", "champion").version == 1
    finally:
        store.close()


def test_workflow_run_and_retry_against_the_hub(tmp_path: Path, hub: str) -> None:
    path, home = make_repo(tmp_path, FLAKY, name="flaky.yaml"), tmp_path / "home"
    repo = path.parents[2]
    failed = json.loads(shipyard(repo, hub, home, "workflow", "run", str(path), "--json", rc=1))
    assert failed["status"] == "FAILED"
    retried = json.loads(
        shipyard(repo, hub, home, "workflow", "retry", failed["id"], "--json", rc=1)
    )
    assert retried["retry_of"] == failed["id"]
    jobs = {job["name"]: job for job in retried["jobs"]}
    assert jobs["prepare"]["status"] == "CACHED"
    assert jobs["prepare"]["reason"] == f"reused: succeeded in workflow run {failed['id']}"
    assert jobs["flaky"]["status"] == "FAILED"
    assert "exit code 3" in jobs["flaky"]["message"]
    logs = shipyard(repo, hub, home, "workflow", "logs", retried["id"], "flaky", rc=0)
    assert "about to fail" in logs


def test_ci_run_with_auth_needs_a_write_token(tmp_path: Path) -> None:
    folder = tmp_path / "hub"
    folder.mkdir()
    db = f"sqlite:///{folder}/shipyard.db"
    admin = SqlRunStore.from_uri(db, auto_create=True)
    try:
        admin.create_user("ci-bot", "a long enough password")
        write = admin.create_token("ci-bot", scope=TokenScope.WRITE).secret
        read = admin.create_token("ci-bot", scope=TokenScope.READ).secret
    finally:
        admin.close()
    path, home = hub_repo(tmp_path), tmp_path / "home"
    with running_server(db, str(folder / "artifacts"), folder, "--auth") as hub:
        refused = ci_run(path, hub, home, rc=1, token=read)
        assert "this token is read-only" in refused.stderr
        assert "--scope write" in refused.stderr
        assert "Traceback" not in refused.stderr

        done = ci_run(path, hub, home, rc=0, token=write)
        assert "## ✅ Workflow `iris` succeeded" in done.stdout
        store = HttpEngineStore(hub, token=read)
        try:
            assert store.get_model_version_by_alias("iris-clf", "champion").version == 1
            assert store.get_workflow_run(run_id_of(done.stdout)).user == "ci-bot"
        finally:
            store.close()
    audit = SqlRunStore.from_uri(db)
    try:
        actions = {(r.actor, r.action) for r in audit.list_audit(limit=1000)}
    finally:
        audit.close()
    assert ("ci-bot", "workflow.start") in actions
    assert ("ci-bot", "model.alias.set") in actions
    assert ("ci-bot", "workflow.status") in actions
