"""What the workflow engine tests share: a git repository with prep/train/eval scripts."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

from shipyard.settings import Settings

PREP = """
import pathlib, shipyard
with shipyard.start_run() as run:
    out = pathlib.Path("out/data")
    out.mkdir(parents=True, exist_ok=True)
    (out / "iris.csv").write_text("a,b\\n1,2\\n")
    run.log_dataset("iris-clean", out)
    print("prepared")
"""

TRAIN = """
import os, pathlib, sys, shipyard
from shipyard.errors import AlreadyExists
from shipyard.settings import Settings
from shipyard.store.factory import open_store
lr = float(sys.argv[1])
data = os.environ["SHIPYARD_INPUT_DATA"]
with shipyard.start_run() as run:
    folder = pathlib.Path("out/model")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.txt").write_text(f"lr={lr}")
    run.log_artifact(folder, "models/iris-clf")
    run.log_metrics({"train_loss": lr})
    run.flush()
    store = open_store(Settings().store_uri)
    try:
        store.create_registered_model("iris-clf", project=run.project)
    except AlreadyExists:
        pass
    store.create_model_version("iris-clf", run_id=run.id, source="models/iris-clf", flavor="python")
    print("trained on", data)
"""

EVAL = """
import os, sys, shipyard
with shipyard.start_run() as run:
    run.log_metrics({"accuracy": float(sys.argv[1])})
    print("evaluated", os.environ["SHIPYARD_INPUT_MODEL"])
"""

FAIL = """
import sys
print("about to fail")
sys.exit(3)
"""

WORKFLOW = """
name: iris
on: {push: {branches: [main]}, manual: {}}
params: {lr: 0.01, acc: 0.95}
jobs:
  prepare: {run: "PY prep.py", outputs: {data: {dataset: iris-clean}}}
  train:
    needs: [prepare]
    run: "PY train.py ${params.lr}"
    inputs: {data: prepare.outputs.data}
    outputs: {model: {model: iris-clf}}
  evaluate: {needs: [train], run: "PY eval.py ${params.acc}", inputs: {model: train.outputs.model}}
"""

GATED = (
    WORKFLOW
    + """
  gate:
    needs: [evaluate]
    gate: {all: ["evaluate.metrics.accuracy >= 0.9",
                 "evaluate.metrics.accuracy >= champion.metrics.accuracy - 0.01"]}
  promote: {needs: [gate], promote: {model: train.outputs.model, alias: champion}}
"""
)


def git(repo: Path, *args: str) -> None:
    """Run git quietly in ``repo``."""
    subprocess.run(
        ["git", "-c", "user.email=t@t", "-c", "user.name=t", *args],
        cwd=repo,
        check=True,
        capture_output=True,
    )


def make_repo(root: Path, workflow: str = WORKFLOW, name: str = "iris.yaml") -> Path:
    """A git repository with the scripts and ``.shipyard/workflows/NAME``; returns the file."""
    repo = root / "repo"
    folder = repo / ".shipyard" / "workflows"
    folder.mkdir(parents=True)
    scripts = {"prep.py": PREP, "train.py": TRAIN, "eval.py": EVAL, "fail.py": FAIL}
    for script, text in scripts.items():
        (repo / script).write_text(textwrap.dedent(text).lstrip())
    (repo / ".gitignore").write_text("out/\n.shipyard/jobs/\n")
    path = folder / name
    path.write_text(workflow.replace("PY ", f"{sys.executable} "))
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "init")
    return path


def engine_settings(root: Path, store_uri: str) -> Settings:
    """Settings for the engine and its jobs: the test store, local artifacts, no capture."""
    return Settings(
        tracking_uri=store_uri,
        artifacts=str(root / "artifacts"),
        home=root / "home",
        project="wf",
        capture=False,
        system_metrics_interval=0,
    )
