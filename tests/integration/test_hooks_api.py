"""The webhook routes over the app in-process: signatures, audit, recorded requests."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from shipyard.artifacts.local import LocalArtifactStore
from shipyard.domain.triggers import RequestSource, RequestStatus
from shipyard.server.app import create_app
from shipyard.store.sql.store import SqlRunStore
from shipyard.testing.asgi import asgi_client
from shipyard.workflows.hooks import sign_github

SECRET = "hook-s3cret-value"
SHA = "b" * 40
PUSH = {"ref": "refs/heads/main", "after": SHA, "repository": {"clone_url": "file:///tmp/r"}}


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlRunStore]:
    opened = SqlRunStore.from_uri(f"sqlite:///{tmp_path}/shipyard.db", auto_create=True)
    yield opened
    opened.close()


def client_for(store: SqlRunStore, tmp_path: Path, secret: str | None) -> httpx.Client:
    app = create_app(store, LocalArtifactStore(tmp_path / "artifacts"))
    app.state.webhook_secret = secret
    return asgi_client(app)


@pytest.fixture
def client(store: SqlRunStore, tmp_path: Path) -> httpx.Client:
    return client_for(store, tmp_path, SECRET)


def github(client: httpx.Client, payload: object, *, event: str = "push", sign: str | None = SECRET,
           signature: str | None = None) -> httpx.Response:  # fmt: skip
    body = json.dumps(payload).encode()
    headers = {"X-GitHub-Event": event, "Content-Type": "application/json"}
    if signature is not None:
        headers["X-Hub-Signature-256"] = signature
    elif sign is not None:
        headers["X-Hub-Signature-256"] = sign_github(body, sign)
    return client.post("/api/v1/hooks/github", content=body, headers=headers)


def test_signed_push_records_a_request(client: httpx.Client, store: SqlRunStore) -> None:
    response = github(client, PUSH)
    assert response.status_code == 202, response.text
    answer = response.json()
    assert answer["accepted"] is True
    request = store.get_workflow_request(answer["request_id"])
    assert request.source is RequestSource.GITHUB
    assert request.status is RequestStatus.PENDING
    assert (request.repo_url, request.ref, request.commit) == (
        "file:///tmp/r",
        "refs/heads/main",
        SHA,
    )
    listed = client.get("/api/v1/workflow-requests").json()["requests"]
    assert [r["id"] for r in listed] == [request.id]
    assert client.get(f"/api/v1/workflow-requests/{request.id}").json()["commit"] == SHA


@pytest.mark.parametrize("signature", [None, "sha256=" + "0" * 64, "garbage"])
def test_unsigned_or_badly_signed_is_401_and_audited(
    client: httpx.Client, store: SqlRunStore, signature: str | None
) -> None:
    response = github(client, PUSH, sign=None, signature=signature)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"
    assert store.list_workflow_requests() == []
    records = [r for r in store.list_audit() if r.action == "hook.rejected"]
    assert len(records) == 1
    assert records[0].target == "hooks/github"
    dumped = json.dumps([records[0].before, records[0].after])
    assert SECRET not in dumped
    assert signature is None or signature not in dumped


def test_signed_with_another_secret_is_401(client: httpx.Client, store: SqlRunStore) -> None:
    assert github(client, PUSH, sign="other-secret").status_code == 401
    assert store.list_workflow_requests() == []


def test_no_secret_configured_refuses(store: SqlRunStore, tmp_path: Path) -> None:
    response = github(client_for(store, tmp_path, None), PUSH)
    assert response.status_code == 403
    assert "SHIPYARD_WEBHOOK_SECRET" in response.json()["error"]["hint"]


def test_ping_and_tag_push_are_ignored(client: httpx.Client, store: SqlRunStore) -> None:
    assert github(client, {"zen": "x"}, event="ping").json()["accepted"] is False
    tag = {**PUSH, "ref": "refs/tags/v1"}
    assert github(client, tag).json()["accepted"] is False
    assert store.list_workflow_requests() == []


def test_malformed_bodies_are_400(client: httpx.Client) -> None:
    body = b"not json"
    headers = {"X-GitHub-Event": "push", "X-Hub-Signature-256": sign_github(body, SECRET)}
    response = client.post("/api/v1/hooks/github", content=body, headers=headers)
    assert response.status_code == 400
    assert github(client, {"ref": "refs/heads/main", "after": SHA}).status_code == 400


def test_gitlab_token(client: httpx.Client, store: SqlRunStore) -> None:
    payload = {"ref": "refs/heads/dev", "checkout_sha": SHA,
               "project": {"git_http_url": "file:///tmp/g"}}  # fmt: skip
    headers = {"X-Gitlab-Event": "Push Hook", "X-Gitlab-Token": SECRET}
    response = client.post("/api/v1/hooks/gitlab", json=payload, headers=headers)
    assert response.status_code == 202, response.text
    request = store.get_workflow_request(response.json()["request_id"])
    assert request.source is RequestSource.GITLAB
    assert request.branch == "dev"
    headers["X-Gitlab-Token"] = "wrong"
    assert client.post("/api/v1/hooks/gitlab", json=payload, headers=headers).status_code == 401
    assert [r.target for r in store.list_audit() if r.action == "hook.rejected"] == ["hooks/gitlab"]


def test_manual_run_needs_a_watched_workflow(client: httpx.Client, store: SqlRunStore) -> None:
    response = client.post("/api/v1/workflow-requests", json={"watch_id": "0" * 32})
    assert response.status_code == 404
    watch = store.watch_workflow(repo_url="file:///r", path=".shipyard/workflows/a.yml",
                                 branch="main")  # fmt: skip
    assert client.get("/api/v1/workflow-watches").json()["watches"][0]["id"] == watch.id
    response = client.post(
        "/api/v1/workflow-requests", json={"watch_id": watch.id, "params": {"lr": 0.1}}
    )
    assert response.status_code == 202, response.text
    made = response.json()
    assert made["source"] == "manual"
    assert made["workflow"] == ".shipyard/workflows/a.yml"
    assert made["params"] == {"lr": 0.1}
    assert made["ref"] == "refs/heads/main"


def test_with_auth_on_hooks_need_only_the_signature(store: SqlRunStore, tmp_path: Path) -> None:
    app = create_app(store, LocalArtifactStore(tmp_path / "artifacts"), auth=True)
    app.state.webhook_secret = SECRET
    client = asgi_client(app)
    assert github(client, PUSH).status_code == 202
    assert github(client, PUSH, sign=None).status_code == 401
    assert client.get("/api/v1/workflow-requests").status_code == 401
    assert client.post("/api/v1/workflow-requests", json={"watch_id": "x"}).status_code == 401
    store.create_user("ada", "a-long-password")
    token = store.create_token("ada").secret
    listed = client.get("/api/v1/workflow-requests", headers={"Authorization": f"Bearer {token}"})
    assert listed.status_code == 200
    assert len(listed.json()["requests"]) == 1
