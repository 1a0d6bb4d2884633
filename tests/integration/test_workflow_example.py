"""The iris workflow example runs end to end with the real SDK (log_dataset, log_model,
load_model): trained, evaluated, gated and promoted; a second run is fully cached."""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

import pytest
from workflow_helpers import engine_settings, git

from shipyard.artifacts.base import open_artifact_store
from shipyard.domain.workflows import StepStatus, WorkflowStatus
from shipyard.store.sql.store import SqlRunStore
from shipyard.workflows.service import start_workflow

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "workflows" / "iris"


def test_the_iris_example(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    repo = tmp_path / "iris"
    shutil.copytree(EXAMPLE, repo, ignore=shutil.ignore_patterns("out", "__pycache__"))
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "init")
    # the example's commands say `python`: make it this interpreter
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    settings = engine_settings(tmp_path, f"sqlite:///{tmp_path}/shipyard.db")
    store = SqlRunStore.from_uri(settings.store_uri, auto_create=True)
    artifacts = open_artifact_store(settings.artifact_uri)
    path = repo / ".shipyard" / "workflows" / "train.yaml"
    try:
        first = start_workflow(store, artifacts, path, settings=settings, wait=True)
        assert first.status is WorkflowStatus.SUCCEEDED, first.run.message
        assert first.job("promote").message == "iris-clf@champion set to version 1"
        assert store.get_model_version_by_alias("iris-clf", "champion").version == 1
        second = start_workflow(store, artifacts, path, settings=settings, wait=True)
        assert [j.status for j in second.jobs][:3] == [StepStatus.CACHED] * 3
        assert "champion.metrics.accuracy=0.97" in second.job("gate").message
    finally:
        store.close()
