"""``shipyard jobs`` as a real subprocess: submit and follow, list, status, logs, cancel, and the
manifests of ``--executor kubernetes --dry-run`` checked against the official client's models."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

CLI = [sys.executable, "-m", "shipyard.cli"]


def shipyard(
    cwd: Path, home: Path, *args: str, rc: int | None = 0
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
    env.update(SHIPYARD_HOME=str(home), SHIPYARD_SYSTEM_METRICS_INTERVAL="0", COLUMNS="200")
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    proc = subprocess.run(
        [*CLI, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=180, check=False
    )
    if rc is not None:
        assert proc.returncode == rc, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    work = tmp_path / "work"
    work.mkdir()
    (work / "hello.py").write_text(
        textwrap.dedent(
            """
            import sys, shipyard
            with shipyard.start_run() as run:
                run.log_metrics({"acc": 0.9}, step=0)
            print("hello", sys.argv[1:])
            sys.exit(int(sys.argv[1]) if len(sys.argv) > 1 else 0)
            """
        )
    )
    return work


def test_submit_follow_list_status_logs(folder: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    done = shipyard(
        folder, home, "jobs", "submit", "--follow", "--", "python", "hello.py", "4", rc=4
    )
    assert "hello ['4']" in done.stdout
    assert "FAILED (exit code 4)" in done.stderr

    listed = json.loads(shipyard(folder, home, "jobs", "list", "--json").stdout)
    assert [(j["state"], j["exit_code"], j["executor"]) for j in listed] == [("FAILED", 4, "local")]
    run_id = listed[0]["run_id"]

    status = json.loads(shipyard(folder, home, "jobs", "status", run_id[:12], "--json").stdout)
    assert status["history"][0]["message"].startswith("the command exited with code 4")
    table = shipyard(folder, home, "jobs", "status", run_id).stdout
    assert "attempts" in table
    assert "FAILED" in table
    assert shipyard(folder, home, "jobs", "logs", run_id).stdout == "hello ['4']\n"
    run = json.loads(shipyard(folder, home, "runs", "show", run_id, "--json").stdout)
    assert (run["status"], run["metrics"]["acc"]["last"]) == ("FAILED", 0.9)


def test_submit_prints_the_run_id_and_cancel_stops_it(folder: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    (folder / "slow.py").write_text("import time\ntime.sleep(600)\n")
    run_id = shipyard(folder, home, "jobs", "submit", "--", "python", "slow.py").stdout.strip()
    assert len(run_id) == 32
    cancelled = shipyard(folder, home, "jobs", "cancel", run_id[:8])
    assert "CANCELLED" in cancelled.stderr
    shown = json.loads(shipyard(folder, home, "runs", "show", run_id, "--json").stdout)
    assert shown["status"] == "KILLED"


def test_unknown_jobs_and_bad_options_are_errors(folder: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    missing = shipyard(folder, home, "jobs", "status", "0123456789", rc=1)
    assert "error: no job whose run id starts with '0123456789'" in missing.stderr
    bad = shipyard(folder, home, "jobs", "submit", "--timeout", "soon", "--", "true", rc=1)
    assert "invalid --timeout 'soon'" in bad.stderr
    assert "hint:" in bad.stderr


def test_a_local_dry_run_shows_the_spec(folder: Path, tmp_path: Path) -> None:
    out = shipyard(folder, tmp_path / "home", "jobs", "submit", "--dry-run", "--cpus", "2", "--",
                   "python", "hello.py").stdout  # fmt: skip
    document = json.loads(out)
    assert document["executor"] == "local"
    assert document["spec"]["command"] == ["python", "hello.py"]
    assert document["spec"]["cpus"] == 2
    assert "SHIPYARD_RUN_ID" not in document["spec"]["env"]
    assert not (tmp_path / "home" / "shipyard.db").exists()  # nothing was created


def test_kubernetes_dry_run_prints_manifests_the_client_accepts(
    folder: Path, tmp_path: Path
) -> None:
    kubernetes = pytest.importorskip("kubernetes")
    out = shipyard(
        folder,
        tmp_path / "home",
        *("jobs", "submit", "--executor", "kubernetes", "--dry-run", "--image", "repo/train:1"),
        *("--workers", "2", "--cpus", "1", "--memory", "1Gi", "--env", "LR=0.1", "--"),
        *("python", "train.py", "--epochs", "3"),
    ).stdout
    service, job = list(yaml.safe_load_all(out))
    api = kubernetes.client.ApiClient()

    def model(manifest: dict[str, Any], kind: str) -> Any:
        obj = api.deserialize(json.dumps(manifest), kind, "application/json")
        assert api.sanitize_for_serialization(obj) == manifest
        return obj

    service_model = model(service, "V1Service")
    assert service_model.spec.cluster_ip == "None"
    job_model = model(job, "V1Job")
    assert (job_model.spec.completions, job_model.spec.parallelism) == (2, 2)
    container = job_model.spec.template.spec.containers[0]
    assert container.image == "repo/train:1"
    assert container.command == ["python", "train.py", "--epochs", "3"]
    env = {var.name: var.value for var in container.env}
    assert env["LR"] == "0.1"
    assert "SHIPYARD_HOME" in env
    assert "SHIPYARD_TOKEN" not in env
    assert container.resources.limits == {"cpu": "1", "memory": "1073741824"}
