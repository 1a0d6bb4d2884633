"""``shipyard workflow schedule`` as a subprocess, and the daemon firing a local file's schedule
(injected clock), plus ``shipyard server --help`` naming the daemon switch."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from workflow_helpers import engine_settings

from shipyard.artifacts.base import open_artifact_store
from shipyard.domain.triggers import RequestSource
from shipyard.domain.workflows import WorkflowStatus
from shipyard.store.sql.store import SqlRunStore
from shipyard.workflows import schedule
from shipyard.workflows.daemon import WorkflowDaemon
from shipyard.workflows.service import wait_workflow

CLI = [sys.executable, "-m", "shipyard.cli"]
NIGHTLY = """
name: nightly
on: {schedule: "0 3 * * *"}
jobs:
  report: {run: "echo nightly report"}
"""


def shipyard(cwd: Path, uri: str, *args: str, rc: int = 0) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
    env.update(SHIPYARD_TRACKING_URI=uri, COLUMNS="200")
    proc = subprocess.run([*CLI, *args], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=120, check=False)  # fmt: skip
    assert proc.returncode == rc, f"exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}"
    return proc


def test_schedule_add_list_fire_remove(tmp_path: Path) -> None:
    settings = engine_settings(tmp_path, f"sqlite:///{tmp_path}/shipyard.db")
    uri = str(settings.tracking_uri)
    path = tmp_path / "jobs" / ".shipyard" / "workflows" / "nightly.yml"
    path.parent.mkdir(parents=True)
    path.write_text(NIGHTLY)
    added = json.loads(shipyard(tmp_path, uri, "workflow", "schedule", "add", str(path),
                                "--json").stdout)  # fmt: skip
    assert added["schedules"] == ["0 3 * * *"]
    listed = json.loads(shipyard(tmp_path, uri, "workflow", "schedule", "list", "--json").stdout)
    assert [w["path"] for w in listed] == [str(path.resolve())]
    bad = shipyard(tmp_path, uri, "workflow", "schedule", "add", str(path), "--cron", "nope", rc=1)
    assert "invalid cron expression 'nope'" in bad.stderr

    store = SqlRunStore.from_uri(uri)
    try:
        (watch,) = store.list_workflow_watches()
        due = schedule.next_time("0 3 * * *", watch.last_tick_at) / 1000
        daemon = WorkflowDaemon(store, open_artifact_store(settings.artifact_uri),
                                tmp_path / "d", settings=settings, clock=lambda: due)  # fmt: skip
        (fired,) = daemon.run_once()
        assert fired.source is RequestSource.SCHEDULE
        (run_id,) = fired.workflow_run_ids
        info = wait_workflow(store, run_id, timeout=120)
        assert info.status is WorkflowStatus.SUCCEEDED, info.run.message
        assert info.run.name == "nightly"
    finally:
        store.close()
    shipyard(tmp_path, uri, "workflow", "schedule", "remove", added["id"][:8])
    assert (
        json.loads(shipyard(tmp_path, uri, "workflow", "schedule", "list", "--json").stdout) == []
    )


def test_server_help_names_the_daemon_switch(tmp_path: Path) -> None:
    out = shipyard(tmp_path, f"sqlite:///{tmp_path}/s.db", "server", "--help").stdout
    assert "--no-workflows" in out
