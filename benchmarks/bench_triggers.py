"""Workflow triggers: what a webhook costs the hub, and how long from a push to a started run.

    .venv/bin/python benchmarks/bench_triggers.py [--quick]

In the embedded store (SQLite + local artifacts), with the app in-process (ASGI, no sockets):

* ``hook_accept_ms``: one signed GitHub push delivery -> signature checked, payload parsed,
  request recorded, 202 answered;
* ``claim_finish_ms``: a daemon claiming one pending request and finishing it (no git);
* ``push_to_started_ms``: the daemon handling a push of a small ``file://`` repository: fetch
  the mirror, add a worktree for the commit, read the workflow files, start the matching one
  (the workflow's jobs run afterwards, in the background). ``first`` clones the mirror; the
  others fetch it.

JSON on stdout, progress on stderr. The figures depend on the machine's load (reported).
"""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path

from _harness import Json, emit, log, machine, parse_args, summarize, workdir

from shipyard.artifacts.base import open_artifact_store
from shipyard.domain.triggers import RequestSource, RequestStatus
from shipyard.server.app import create_app
from shipyard.settings import Settings
from shipyard.store.sql.store import SqlRunStore
from shipyard.testing.asgi import asgi_client
from shipyard.workflows.daemon import WorkflowDaemon
from shipyard.workflows.hooks import sign_github
from shipyard.workflows.service import wait_workflow

SECRET = "bench-secret"
WORKFLOW = "name: bench\non: {push: {branches: [main]}}\njobs:\n  one: {run: 'true'}\n"


def make_repo(root: Path) -> tuple[Path, str]:
    """A one-commit repository with one workflow; returns it and its head."""
    repo = root / "origin"
    (repo / ".shipyard" / "workflows").mkdir(parents=True)
    (repo / ".shipyard" / "workflows" / "bench.yml").write_text(WORKFLOW)
    for args in (["init", "-q", "-b", "main"], ["add", "."], ["commit", "-qm", "bench"]):
        subprocess.run(["git", "-c", "user.email=b@b", "-c", "user.name=b", *args], cwd=repo,
                       check=True, capture_output=True)  # fmt: skip
    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, check=True,
                          capture_output=True, text=True).stdout.strip()  # fmt: skip
    return repo, head


def main() -> None:
    """Measure and print the JSON result."""
    args = parse_args(__doc__ or "")
    hooks, pushes = (50, 3) if args.quick else (500, 10)
    result: Json = {"benchmark": "triggers", "machine": machine()}
    with workdir("triggers") as root:
        settings = Settings(tracking_uri=f"sqlite:///{root}/shipyard.db", home=root / "home",
                            artifacts=str(root / "artifacts"), capture=False,
                            system_metrics_interval=0)  # fmt: skip
        store = SqlRunStore.from_uri(settings.store_uri, auto_create=True)
        artifacts = open_artifact_store(settings.artifact_uri)
        app = create_app(store, artifacts)
        app.state.webhook_secret = SECRET
        client = asgi_client(app)
        repo, head = make_repo(root)
        body = json.dumps({"ref": "refs/heads/main", "after": head,
                           "repository": {"clone_url": repo.as_uri()}}).encode()  # fmt: skip
        headers = {"X-GitHub-Event": "push", "X-Hub-Signature-256": sign_github(body, SECRET)}
        try:
            log(f"{hooks} signed deliveries")
            accept = []
            for _ in range(hooks):
                start = time.perf_counter()
                assert client.post("/api/v1/hooks/github", content=body,
                                   headers=headers).status_code == 202  # fmt: skip
                accept.append((time.perf_counter() - start) * 1000)
            log(f"{hooks} claims")
            claims = []
            for _ in range(hooks):
                start = time.perf_counter()
                got = store.claim_workflow_request(daemon="bench", lease_s=60)
                assert got is not None
                store.finish_workflow_request(got.id, daemon="bench", status=RequestStatus.FAILED)
                claims.append((time.perf_counter() - start) * 1000)
            log(f"{pushes} pushes through the daemon")
            daemon = WorkflowDaemon(store, artifacts, root / "daemon", settings=settings)
            started = []
            for _ in range(pushes):
                store.create_workflow_request(source=RequestSource.GITHUB, repo_url=repo.as_uri(),
                                              ref="refs/heads/main", commit=head,
                                              event={"kind": "push", "branch": "main"})  # fmt: skip
                begin = time.perf_counter()
                (done,) = daemon.run_once()
                started.append((time.perf_counter() - begin) * 1000)
                assert done.status is RequestStatus.STARTED, done.error
                wait_workflow(store, done.workflow_run_ids[0], timeout=120)
        finally:
            store.close()
    result["hook_accept_ms"] = summarize(accept, "ms", 2)
    result["claim_finish_ms"] = summarize(claims, "ms", 2)
    result["push_to_started_ms"] = {"first": round(started[0], 1),
                                    **summarize(started[1:] or started, "ms", 1)}  # fmt: skip
    emit(result)


if __name__ == "__main__":
    main()
