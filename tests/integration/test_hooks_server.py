"""The whole path through a real ``shipyard server`` process: the webhook secret comes from
SHIPYARD_WEBHOOK_SECRET, the server starts the workflow daemon, a signed GitHub push of a
file:// repository starts its workflow on the pushed commit; an unsigned one is refused."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from workflow_helpers import git

from conftest import free_port, wait_for_port
from shipyard.workflows.hooks import sign_github

SECRET = "live-server-secret"
WORKFLOW = """
name: live
on: {push: {branches: [main]}}
jobs:
  hello: {run: "echo hello from the hub"}
"""


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
    env.update(SHIPYARD_WEBHOOK_SECRET=SECRET, SHIPYARD_HOME=str(tmp_path / "hub"),
               SHIPYARD_CAPTURE="false", SHIPYARD_SYSTEM_METRICS_INTERVAL="0")  # fmt: skip
    argv = [sys.executable, "-m", "shipyard.cli", "server", "--port", str(port),
            "--log-level", "warning"]  # fmt: skip
    with (tmp_path / "server.log").open("wb") as log:
        process = subprocess.Popen(argv, cwd=tmp_path, env=env, stdout=log, stderr=log)
    try:
        wait_for_port(port)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_signed_push_runs_the_workflow_on_the_hub(server: str, tmp_path: Path) -> None:
    repo = tmp_path / "origin"
    (repo / ".shipyard" / "workflows").mkdir(parents=True)
    (repo / ".shipyard" / "workflows" / "live.yml").write_text(WORKFLOW)
    git(repo, "init", "-q", "-b", "main")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "live")
    sha = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True,
                         text=True, check=True).stdout.strip()  # fmt: skip
    body = json.dumps({"ref": "refs/heads/main", "after": sha,
                       "repository": {"clone_url": repo.as_uri()}}).encode()  # fmt: skip
    with httpx.Client(base_url=server, timeout=30) as client:
        unsigned = client.post("/api/v1/hooks/github", content=body,
                               headers={"X-GitHub-Event": "push"})  # fmt: skip
        assert unsigned.status_code == 401
        headers = {"X-GitHub-Event": "push", "X-Hub-Signature-256": sign_github(body, SECRET)}
        accepted = client.post("/api/v1/hooks/github", content=body, headers=headers)
        assert accepted.status_code == 202, accepted.text
        request = poll(client, f"/api/v1/workflow-requests/{accepted.json()['request_id']}",
                       lambda r: r["status"] in ("started", "failed"))  # fmt: skip
        assert request["status"] == "started", request["error"]
        (run_id,) = request["workflow_run_ids"]
        ended = ("SUCCEEDED", "FAILED", "CANCELLED")
        found = poll(client, f"/api/v1/workflow-runs/{run_id}", lambda r: r["status"] in ended)
        assert found["status"] == "SUCCEEDED", found
        assert found["commit"] == sha
        page = client.get(f"/workflows/runs/{run_id}")
        assert page.status_code == 200
        assert 'data-job="hello" data-status="SUCCEEDED"' in page.text


def poll(client: httpx.Client, path: str, done: object, tries: int = 600) -> dict[str, object]:
    assert callable(done)
    for _ in range(tries):
        response = client.get(path)
        response.raise_for_status()
        data: dict[str, object] = response.json()
        if done(data):
            return data
        time.sleep(0.2)
    raise AssertionError(f"{path} did not get there: {data}")
