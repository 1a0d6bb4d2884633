"""``shipyard workflow`` as a real subprocess: validate, run (twice: cached), a param change,
show, runs, logs, a failing job with exit code 1, retry and cancel."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

CLI = [sys.executable, "-m", "shipyard.cli"]

WORKFLOW = """\
name: hello
params: {who: world, code: 0}
jobs:
  greet: {run: "echo hello ${params.who} > greeting.txt && cat greeting.txt"}
  shout:
    needs: [greet]
    run: "tr a-z A-Z < greeting.txt; exit ${params.code}"
"""


def shipyard(
    cwd: Path, home: Path, *args: str, rc: int | None = 0
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
    env.update(SHIPYARD_HOME=str(home), SHIPYARD_SYSTEM_METRICS_INTERVAL="0", COLUMNS="200")
    proc = subprocess.run(
        [*CLI, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=180, check=False
    )
    if rc is not None:
        assert proc.returncode == rc, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    work = tmp_path / "work"
    (work / ".shipyard" / "workflows").mkdir(parents=True)
    (work / ".shipyard" / "workflows" / "hello.yaml").write_text(WORKFLOW)
    return work


def as_json(proc: subprocess.CompletedProcess[str]) -> Any:
    return json.loads(proc.stdout)


def test_validate_points_at_the_line(folder: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    path = folder / ".shipyard" / "workflows" / "hello.yaml"
    ok = shipyard(folder, home, "workflow", "validate", str(path))
    assert "workflow 'hello' is valid (greet -> shout)" in ok.stdout
    path.write_text(WORKFLOW.replace("needs: [greet]", "needs: [gret]"))
    bad = shipyard(folder, home, "workflow", "validate", str(path), rc=1)
    assert f"error: {path}:6: job 'shout' needs unknown job 'gret'" in bad.stderr
    assert "hint: did you mean 'greet'?" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_run_cache_show_logs_retry(folder: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    spec = ".shipyard/workflows/hello.yaml"
    first = as_json(shipyard(folder, home, "workflow", "run", spec, "--json"))
    assert first["status"] == "SUCCEEDED"
    assert [j["status"] for j in first["jobs"]] == ["SUCCEEDED", "SUCCEEDED"]

    second = shipyard(folder, home, "workflow", "run", spec)
    assert second.stdout.count("CACHED") == 2
    assert "cached: same inputs as run" in second.stdout

    changed = as_json(shipyard(folder, home, "workflow", "run", spec, "-p", "who=you", "--json"))
    # only greet uses params.who; shout reads a file, not a declared input, so it stays cached
    assert [(j["status"], j["reason"][:24]) for j in changed["jobs"]] == [
        ("SUCCEEDED", "ran: params.who changed"),
        ("CACHED", "cached: same inputs as r"),
    ]

    logs = shipyard(folder, home, "workflow", "logs", changed["id"], "greet")
    assert logs.stdout.strip() == "hello you"

    failed = as_json(
        shipyard(folder, home, "workflow", "run", spec, "-p", "code=4", "--json", rc=1)
    )
    assert failed["status"] == "FAILED"
    assert "exit code 4" in failed["jobs"][1]["message"]
    shown = shipyard(folder, home, "workflow", "show", failed["id"])
    assert "FAILED" in shown.stdout
    assert "exit code 4" in shown.stdout

    retried = as_json(shipyard(folder, home, "workflow", "retry", failed["id"], "--json", rc=1))
    assert retried["retry_of"] == failed["id"]
    assert retried["jobs"][0]["reason"] == f"reused: succeeded in workflow run {failed['id']}"

    runs = as_json(shipyard(folder, home, "workflow", "runs", "--json"))
    assert [r["id"] for r in runs][:2] == [retried["id"], failed["id"]]
    cancelled = shipyard(folder, home, "workflow", "cancel", failed["id"])
    assert f"workflow run {failed['id']}: failed" in cancelled.stdout

    missing = shipyard(folder, home, "workflow", "show", "nope", rc=1)
    assert "error: workflow run 'nope' not found" in missing.stderr
