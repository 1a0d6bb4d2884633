"""The workflow daemon end to end: a signed GitHub push to the hub starts the workflows of the
pushed commit (cloned from a file:// repository); schedules (injected clock), internal events
and manual runs start watched workflows; a push nothing matches starts nothing."""

from __future__ import annotations

import json
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from workflow_helpers import engine_settings, git

from shipyard.artifacts.base import ArtifactStore, open_artifact_store
from shipyard.domain.triggers import RequestSource, RequestStatus, WorkflowRequest
from shipyard.domain.workflows import WorkflowStatus
from shipyard.server.app import create_app
from shipyard.settings import Settings
from shipyard.store.factory import open_store
from shipyard.store.sql.store import SqlRunStore
from shipyard.testing.asgi import asgi_client
from shipyard.workflows import schedule
from shipyard.workflows.daemon import WorkflowDaemon
from shipyard.workflows.hooks import sign_github
from shipyard.workflows.service import WorkflowRunInfo, job_logs, wait_workflow

SECRET = "daemon-test-secret"
CI = """
name: ci
on:
  push: {branches: [main]}
  schedule: "0 3 * * *"
  manual: {}
  dataset: {name: iris}
jobs:
  build: {run: "echo built version $(cat version.txt)"}
  test: {needs: [build], run: "echo tested"}
"""
RELEASE = """
name: release
on: {push: {branches: [release]}}
jobs:
  ship: {run: "echo shipped"}
"""


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    if request.param == "sqlite":
        return engine_settings(tmp_path, f"sqlite:///{tmp_path}/shipyard.db")
    return engine_settings(tmp_path, str(request.getfixturevalue("pg_url")))


@pytest.fixture
def store(settings: Settings) -> Iterator[SqlRunStore]:
    opened = open_store(settings.store_uri, auto_create=True)
    assert isinstance(opened, SqlRunStore)
    yield opened
    opened.close()


@pytest.fixture
def artifacts(settings: Settings) -> ArtifactStore:
    return open_artifact_store(settings.artifact_uri)


@pytest.fixture
def hub(store: SqlRunStore, artifacts: ArtifactStore) -> httpx.Client:
    app = create_app(store, artifacts)
    app.state.webhook_secret = SECRET
    return asgi_client(app)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    folder = tmp_path / "origin"
    (folder / ".shipyard" / "workflows").mkdir(parents=True)
    (folder / ".shipyard" / "workflows" / "ci.yml").write_text(CI)
    (folder / ".shipyard" / "workflows" / "release.yaml").write_text(RELEASE)
    (folder / "version.txt").write_text("one\n")
    git(folder, "init", "-q", "-b", "main")
    git(folder, "add", ".")
    git(folder, "commit", "-qm", "one")
    return folder


@pytest.fixture
def daemon(store: SqlRunStore, artifacts: ArtifactStore, settings: Settings,
           tmp_path: Path) -> WorkflowDaemon:  # fmt: skip
    return WorkflowDaemon(store, artifacts, tmp_path / "daemon", settings=settings, name="t1")


def head(repo: Path) -> str:
    done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True)
    return done.stdout.strip()


def push(hub: httpx.Client, repo: Path, branch: str = "main", commit: str = "") -> str:
    payload = {"ref": f"refs/heads/{branch}", "after": commit or head(repo),
               "repository": {"clone_url": repo.as_uri()}}  # fmt: skip
    body = json.dumps(payload).encode()
    headers = {"X-GitHub-Event": "push", "X-Hub-Signature-256": sign_github(body, SECRET)}
    response = hub.post("/api/v1/hooks/github", content=body, headers=headers)
    assert response.status_code == 202, response.text
    return str(response.json()["request_id"])


def finished(store: SqlRunStore, request: WorkflowRequest) -> list[WorkflowRunInfo]:
    assert request.status is RequestStatus.STARTED, request.error
    return [wait_workflow(store, run_id, timeout=120) for run_id in request.workflow_run_ids]


def test_signed_push_starts_the_matching_workflows_on_that_commit(
    hub: httpx.Client, repo: Path, store: SqlRunStore, artifacts: ArtifactStore,
    daemon: WorkflowDaemon,
) -> None:  # fmt: skip
    first = head(repo)
    (repo / "version.txt").write_text("two\n")
    git(repo, "commit", "-qam", "two")
    request_id = push(hub, repo, commit=first)  # the older commit: the daemon must check it out
    done = daemon.run_once()
    assert [r.id for r in done] == [request_id]
    (info,) = finished(store, done[0])
    assert info.status is WorkflowStatus.SUCCEEDED, info.run.message
    assert info.run.name == "ci"
    assert info.run.commit == first
    assert info.run.trigger is not None
    assert info.run.trigger.kind == "push"
    assert info.run.trigger.branch == "main"
    assert info.run.trigger.data["commit"] == first
    assert "built version one" in "\n".join(job_logs(store, artifacts, info.id, "build"))
    watched = {w.path: w for w in store.list_workflow_watches()}
    assert set(watched) == {".shipyard/workflows/ci.yml", ".shipyard/workflows/release.yaml"}
    assert watched[".shipyard/workflows/ci.yml"].schedules == ("0 3 * * *",)
    assert watched[".shipyard/workflows/ci.yml"].commit == first

    push(hub, repo)
    (again,) = finished(store, daemon.run_once()[0])
    assert again.run.commit == head(repo)
    assert "built version two" in "\n".join(job_logs(store, artifacts, again.id, "build"))


def test_push_to_a_branch_nothing_watches_starts_nothing(
    hub: httpx.Client, repo: Path, store: SqlRunStore, daemon: WorkflowDaemon
) -> None:
    git(repo, "checkout", "-qb", "feature")
    push(hub, repo, branch="feature")
    (done,) = daemon.run_once()
    assert done.status is RequestStatus.STARTED
    assert done.workflow_run_ids == ()
    assert "matches" in done.error
    assert store.list_workflow_runs() == []


def test_release_branch_starts_only_its_workflow(
    hub: httpx.Client, repo: Path, store: SqlRunStore, daemon: WorkflowDaemon
) -> None:
    git(repo, "checkout", "-qb", "release")
    push(hub, repo, branch="release")
    (info,) = finished(store, daemon.run_once()[0])
    assert info.run.name == "release"
    assert info.status is WorkflowStatus.SUCCEEDED


def test_unreachable_repository_fails_the_request(
    hub: httpx.Client, tmp_path: Path, daemon: WorkflowDaemon
) -> None:
    push(hub, tmp_path / "missing", commit="c" * 40)
    (done,) = daemon.run_once()
    assert done.status is RequestStatus.FAILED
    assert "git clone failed" in done.error


def test_cron_schedule_fires_once_per_tick(
    hub: httpx.Client, repo: Path, store: SqlRunStore, artifacts: ArtifactStore,
    settings: Settings, tmp_path: Path,
) -> None:  # fmt: skip
    now = [0.0]
    daemon = WorkflowDaemon(store, artifacts, tmp_path / "d", settings=settings,
                            clock=lambda: now[0])  # fmt: skip
    push(hub, repo)
    now[0] = 1.0  # 1970: before the watch existed
    for done in daemon.run_once():
        finished(store, done)
    (watch,) = [w for w in store.list_workflow_watches() if w.schedules]
    next_fire = schedule.next_time("0 3 * * *", watch.last_tick_at)
    now[0] = (next_fire - 1) / 1000  # one millisecond early: nothing
    assert daemon.run_once() == []
    now[0] = (next_fire + 60_000) / 1000
    (fired,) = daemon.run_once()
    assert fired.source is RequestSource.SCHEDULE
    (info,) = finished(store, fired)
    assert info.run.trigger is not None
    assert info.run.trigger.kind == "schedule"
    assert info.status is WorkflowStatus.SUCCEEDED, info.run.message
    assert daemon.run_once() == []  # the same tick does not fire twice


def test_internal_event_and_manual_run_start_watched_workflows(
    hub: httpx.Client, repo: Path, store: SqlRunStore, daemon: WorkflowDaemon
) -> None:
    push(hub, repo)
    for done in daemon.run_once():
        finished(store, done)
    store.request_workflow_event("dataset", {"name": "iris", "version": 2})
    store.request_workflow_event("dataset", {"name": "mnist", "version": 1})
    iris, mnist = daemon.run_once()
    (info,) = finished(store, iris)
    assert info.run.trigger is not None
    assert info.run.trigger.kind == "dataset"
    assert info.run.trigger.name == "iris"
    assert mnist.workflow_run_ids == ()

    watch = next(w for w in store.list_workflow_watches() if w.path.endswith("ci.yml"))
    response = hub.post("/api/v1/workflow-requests", json={"watch_id": watch.id})
    assert response.status_code == 202, response.text
    (manual,) = daemon.run_once()
    (info,) = finished(store, manual)
    assert info.run.trigger is not None
    assert info.run.trigger.kind == "manual"
    assert info.run.commit == head(repo)


def test_a_manual_run_of_a_workflow_without_manual_trigger_says_why(
    hub: httpx.Client, repo: Path, store: SqlRunStore, daemon: WorkflowDaemon
) -> None:
    git(repo, "checkout", "-qb", "release")
    push(hub, repo, branch="release")
    for done in daemon.run_once():
        finished(store, done)
    watch = next(w for w in store.list_workflow_watches() if w.path.endswith("release.yaml"))
    hub.post("/api/v1/workflow-requests", json={"watch_id": watch.id})
    (done,) = daemon.run_once()
    assert done.status is RequestStatus.FAILED
    assert "does not include manual" in done.error


def test_daemon_thread_serves_requests(
    hub: httpx.Client, repo: Path, store: SqlRunStore, artifacts: ArtifactStore,
    settings: Settings, tmp_path: Path,
) -> None:  # fmt: skip
    daemon = WorkflowDaemon(store, artifacts, tmp_path / "d", settings=settings, poll_s=0.1)
    request_id = push(hub, repo)
    daemon.start()
    try:
        for _ in range(600):
            request = store.get_workflow_request(request_id)
            if request.status in (RequestStatus.STARTED, RequestStatus.FAILED):
                break
            time.sleep(0.1)
    finally:
        daemon.stop()
    (info,) = finished(store, request)
    assert info.status is WorkflowStatus.SUCCEEDED


FLAKY = """
name: flaky
on: {push: {branches: [main]}}
jobs:
  check: {run: "test -f ok.flag && echo flag found"}
"""


def test_retry_from_the_hub_resumes_a_failed_run(
    hub: httpx.Client, tmp_path: Path, store: SqlRunStore, daemon: WorkflowDaemon
) -> None:
    origin = tmp_path / "flaky"
    (origin / ".shipyard" / "workflows").mkdir(parents=True)
    (origin / ".shipyard" / "workflows" / "flaky.yml").write_text(FLAKY)
    git(origin, "init", "-q", "-b", "main")
    git(origin, "add", ".")
    git(origin, "commit", "-qm", "flaky")
    push(hub, origin)
    (failed,) = finished(store, daemon.run_once()[0])
    assert failed.status is WorkflowStatus.FAILED
    running = hub.post(f"/api/v1/workflow-requests/retry/{'0' * 32}")
    assert running.status_code == 404

    checkout = Path(failed.run.path).parents[2]
    (checkout / "ok.flag").write_text("ok\n")  # what the fix would have changed
    response = hub.post(f"/api/v1/workflow-requests/retry/{failed.id}")
    assert response.status_code == 202, response.text
    (done,) = daemon.run_once()
    (retried,) = finished(store, done)
    assert retried.status is WorkflowStatus.SUCCEEDED, retried.run.message
    assert retried.run.retry_of == failed.id
    again = hub.post(f"/api/v1/workflow-requests/retry/{retried.id}")
    assert again.status_code == 400
    assert "only a failed or cancelled run" in again.json()["error"]["message"]


PR_CHECK = """
name: pr-check
on: {pull_request: {branches: [main]}}
jobs:
  check: {run: "echo checking $(cat version.txt)"}
"""


def test_pull_request_runs_the_head_of_its_pull_ref(
    hub: httpx.Client, repo: Path, store: SqlRunStore, artifacts: ArtifactStore,
    daemon: WorkflowDaemon,
) -> None:  # fmt: skip
    git(repo, "checkout", "-qb", "feature")
    (repo / ".shipyard" / "workflows" / "pr.yml").write_text(PR_CHECK)
    (repo / "version.txt").write_text("from the pr\n")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "pr")
    sha = head(repo)
    git(repo, "checkout", "-q", "main")
    git(repo, "branch", "-qD", "feature")  # only the pull ref keeps the commit, as on GitHub
    git(repo, "update-ref", "refs/pull/7/head", sha)
    payload = {
        "action": "opened", "number": 7,
        "pull_request": {"head": {"sha": sha, "ref": "feature"}, "base": {"ref": "main"}},
        "repository": {"clone_url": repo.as_uri()},
    }  # fmt: skip
    body = json.dumps(payload).encode()
    headers = {"X-GitHub-Event": "pull_request",
               "X-Hub-Signature-256": sign_github(body, SECRET)}  # fmt: skip
    assert hub.post("/api/v1/hooks/github", content=body, headers=headers).status_code == 202
    (info,) = finished(store, daemon.run_once()[0])
    assert info.run.name == "pr-check"
    assert info.run.commit == sha
    assert info.run.trigger is not None
    assert info.run.trigger.kind == "pull_request"
    assert "checking from the pr" in "\n".join(job_logs(store, artifacts, info.id, "check"))
    assert store.list_workflow_watches() == []  # a PR does not change what the hub watches


def test_a_broken_workflow_file_fails_the_request_naming_the_line(
    hub: httpx.Client, repo: Path, store: SqlRunStore, daemon: WorkflowDaemon
) -> None:
    broken = CI.replace("needs: [build]", "needs: [biuld]")
    (repo / ".shipyard" / "workflows" / "ci.yml").write_text(broken)
    git(repo, "commit", "-qam", "typo")
    push(hub, repo)
    (done,) = daemon.run_once()
    assert done.status is RequestStatus.FAILED
    assert "ci.yml:" in done.error
    assert "biuld" in done.error
    assert store.list_workflow_runs() == []
