"""The registry's REST API beyond the store contract: audited alias moves, `latest`, and the access
checks made in handlers (the body's project on create, the source run's project on versions)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from shipyard.artifacts.local import LocalArtifactStore
from shipyard.domain.auth import Role
from shipyard.server.app import create_app
from shipyard.store.sql.store import SqlRunStore
from shipyard.testing.asgi import asgi_client


@pytest.fixture
def store(tmp_path: Path) -> Iterator[SqlRunStore]:
    opened = SqlRunStore.from_uri(f"sqlite:///{tmp_path}/s.db", auto_create=True)
    yield opened
    opened.close()


def _client(
    store: SqlRunStore, tmp_path: Path, *, auth: bool, token: str | None = None
) -> httpx.Client:
    client = asgi_client(create_app(store, LocalArtifactStore(tmp_path / "a"), auth=auth))
    if token:
        client.headers["Authorization"] = f"Bearer {token}"
    return client


def test_alias_moves_are_audited_with_before_and_after(store: SqlRunStore, tmp_path: Path) -> None:
    run = store.create_run("iris")
    store.create_registered_model("m", project="iris")
    for _ in range(2):
        store.create_model_version("m", run_id=run.id, source="models/m", flavor="sklearn")
    with _client(store, tmp_path, auth=False) as http:
        first = http.put("/api/v1/models/m/aliases/champion", json={"version": 1})
        assert first.json() == {"name": "m", "alias": "champion", "version": 1, "previous": None}
        assert (
            http.put("/api/v1/models/m/aliases/champion", json={"version": 2}).json()["previous"]
            == 1
        )
        assert http.get("/api/v1/models/m/aliases/champion").json()["version"] == 2
        assert http.get("/api/v1/models/m/versions/latest").json()["version"] == 2
        assert http.delete("/api/v1/models/m/aliases/champion").status_code == 204
    moves = [r for r in store.list_audit() if r.action.startswith("model.alias")]
    assert [(r.action, r.target, r.before, r.after) for r in reversed(moves)] == [
        ("model.alias.set", "models/m@champion", {"version": None}, {"version": 1}),
        ("model.alias.set", "models/m@champion", {"version": 1}, {"version": 2}),
        ("model.alias.delete", "models/m@champion", {"version": 2}, None),
    ]


def test_bad_input_is_a_clean_400(store: SqlRunStore, tmp_path: Path) -> None:
    store.create_registered_model("m", project="iris")
    with _client(store, tmp_path, auth=False) as http:
        for method, path, body in (
            ("PUT", "/api/v1/models/m/aliases/champion", {"version": 0}),
            ("PUT", "/api/v1/models/m/aliases/latest", {"version": 1}),
            ("GET", "/api/v1/models/m/versions/abc", None),
            ("POST", "/api/v1/models", {"name": "../x", "project": "iris"}),
            (
                "POST",
                "/api/v1/models/m/versions",
                {"run_id": None, "source": "../x", "flavor": "s"},
            ),
        ):
            response = http.request(method, path, json=body)
            assert response.status_code == 400, (path, response.text)
            assert response.json()["error"]["hint"]
        missing = http.get("/api/v1/models/m/versions/latest")
        assert missing.status_code == 404
        assert "no versions yet" in missing.json()["error"]["message"]


def test_handlers_check_the_body_project_and_the_source_run(
    store: SqlRunStore, tmp_path: Path
) -> None:
    store.create_user("ed", "password-123")
    store.grant_role("mine", "ed", Role.EDITOR)
    token = store.create_token("ed").secret
    private = store.create_run("private")
    own = store.create_run("mine")
    store.create_registered_model("m", project="mine")
    with _client(store, tmp_path, auth=True, token=token) as http:
        refused = http.post("/api/v1/models", json={"name": "x", "project": "private"})
        assert refused.status_code == 404
        made = http.post("/api/v1/models", json={"name": "x", "project": "mine"})
        assert made.status_code == 201
        body = {"run_id": private.id, "source": "models/m", "flavor": "sklearn"}
        assert http.post("/api/v1/models/m/versions", json=body).status_code == 404
        body["run_id"] = own.id
        created = http.post("/api/v1/models/m/versions", json={**body, "created_by": "mallory"})
        assert created.status_code == 201
        assert created.json()["created_by"] == "ed"
        assert [m["name"] for m in http.get("/api/v1/models").json()["models"]] == ["m", "x"]
