"""``shipyard ci run`` as a real subprocess: a passing gate exits 0, a regression caught by the
gate exits 1; both print the Markdown summary (gates, metrics versus the champion, jobs)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from workflow_helpers import GATED, make_repo

from shipyard.domain.workflows import StepStatus, WorkflowJob
from shipyard.workflows.ci import champion_rows, gate_report

CLI = [sys.executable, "-m", "shipyard.cli"]


def shipyard(cwd: Path, home: Path, *args: str, rc: int) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
    env.update(SHIPYARD_HOME=str(home), SHIPYARD_SYSTEM_METRICS_INTERVAL="0",
               SHIPYARD_CAPTURE="false", SHIPYARD_PROJECT="ci", COLUMNS="200")  # fmt: skip
    env.pop("GITHUB_STEP_SUMMARY", None)
    proc = subprocess.run(
        [*CLI, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    assert proc.returncode == rc, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc


def test_ci_run_passes_then_blocks_a_regression(tmp_path: Path) -> None:
    path = make_repo(tmp_path, GATED)
    repo, home = path.parents[2], tmp_path / "home"
    summary = tmp_path / "summary.md"
    first = shipyard(repo, home, "ci", "run", str(path), "--summary-file", str(summary), rc=0)
    assert "## ✅ Workflow `iris` succeeded" in first.stdout
    assert "| ✅ | `evaluate.metrics.accuracy >= 0.9` |" in first.stdout
    assert "| `train` | ✅ succeeded | ran: no earlier run of this job |" in first.stdout
    assert summary.read_text() == first.stdout

    second = shipyard(repo, home, "ci", "run", str(path), "-p", "acc=0.5", rc=1)
    out = second.stdout
    assert "## ❌ Workflow `iris` failed" in out
    assert "**gate**: failed ❌" in out
    assert "| ❌ | `evaluate.metrics.accuracy >= 0.9` |" in out
    assert "### Metrics versus the champion" in out
    assert "| `accuracy` | 0.5 | 0.95 | -0.45 |" in out
    assert "| `train` | ♻️ cached |" in out  # only the changed param's jobs ran again
    assert "| `promote` (promote) | ⏭️ skipped |" in out
    assert "a gate failed" in second.stderr

    as_json = json.loads(shipyard(repo, home, "ci", "run", str(path), "-p", "acc=0.5", "--json",
                                  rc=1).stdout)  # fmt: skip
    assert as_json["gate_failed"] is True
    assert as_json["status"] == "FAILED"


def test_ci_run_names_a_hub_it_cannot_reach(tmp_path: Path) -> None:
    path = make_repo(tmp_path)
    done = shipyard(path.parents[2], tmp_path / "home", "--tracking-uri", "http://127.0.0.1:9",
                    "ci", "run", str(path), rc=1)  # fmt: skip
    assert "cannot reach Shipyard server at http://127.0.0.1:9" in done.stderr
    assert "Traceback" not in done.stderr


def test_bad_param_is_a_usage_error(tmp_path: Path) -> None:
    path = make_repo(tmp_path)
    done = shipyard(path.parents[2], tmp_path / "home", "ci", "run", str(path), "-p", "oops", rc=1)
    assert "--param 'oops' is not KEY=VALUE" in done.stderr


def test_gate_report_reads_the_engine_verdicts() -> None:
    job = WorkflowJob(
        workflow_run_id="w", name="gate", status=StepStatus.FAILED,
        message="gate 'gate' failed\n"
        "FAIL  evaluate.metrics.acc >= champion.metrics.acc - 0.01  "
        "(evaluate.metrics.acc=0.8, champion.metrics.acc=0.9)\nERROR no metric x",
    )  # fmt: skip
    report = gate_report(job)
    assert not report.passed
    assert [c.verdict for c in report.checks] == ["FAIL", "ERROR"]
    assert report.checks[0].text == "evaluate.metrics.acc >= champion.metrics.acc - 0.01"
    assert champion_rows([report]) == [("acc", "0.8", "0.9", "-0.1")]
