"""A hub with auth on, over HTTP (in-process ASGI): tokens, roles, listings, sign-in, CSRF,
rate limits and the audit log."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI

from deploy_support import log_iris_model
from shipyard.api import auth as api
from shipyard.api import routes
from shipyard.artifacts.local import LocalArtifactStore
from shipyard.domain.auth import Role, TokenScope
from shipyard.domain.datasets import ManifestEntry
from shipyard.domain.entities import RunInput
from shipyard.errors import NotFound, PermissionDenied, Unauthenticated
from shipyard.sdk._http_auth import HttpAuthClient
from shipyard.sdk._http_deployments import HttpDeployments
from shipyard.sdk._http_store import HttpRunStore
from shipyard.server.app import create_app
from shipyard.store.base import SearchQuery
from shipyard.store.sql.store import SqlRunStore
from shipyard.testing.asgi import asgi_client

PASSWORD = "correct horse battery"
BASE = "http://shipyard.test"


@dataclass
class Hub:
    store: SqlRunStore
    app: FastAPI
    client: httpx.Client
    tokens: dict[str, str]

    def sdk(self, user: str | None) -> HttpRunStore:
        token = None if user is None else self.tokens[user]
        return HttpRunStore(BASE, token=token, client=self.client)

    def auth(self, user: str) -> HttpAuthClient:
        return HttpAuthClient(self.sdk(user))


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[Hub]:
    store = SqlRunStore.from_uri(f"sqlite:///{tmp_path}/shipyard.db", auto_create=True)
    app = create_app(store, LocalArtifactStore(tmp_path / "artifacts"), auth=True)
    tokens = {}
    for name in ("root", "ada", "bob"):
        store.create_user(name, PASSWORD, is_admin=name == "root")
        tokens[name] = store.create_token(name).secret
    tokens["ada-read"] = store.create_token("ada", scope=TokenScope.READ).secret
    client = asgi_client(app, BASE)
    yield Hub(store, app, client, tokens)
    client.close()
    store.close()


def test_no_or_a_bad_token_is_unauthenticated_without_echoing_it(hub: Hub) -> None:
    with pytest.raises(Unauthenticated, match="sign in") as caught:
        hub.sdk(None).list_projects()
    assert caught.value.hint
    assert "SHIPYARD_TOKEN" in caught.value.hint
    bogus = "shp_" + "x" * 43
    response = hub.client.get(routes.PROJECTS, headers={"Authorization": f"Bearer {bogus}"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert bogus not in response.text
    assert hub.client.get(routes.HEALTH).status_code == 200


def test_the_creator_of_a_project_is_its_admin_and_others_do_not_see_it(hub: Hub) -> None:
    ada, bob = hub.sdk("ada"), hub.sdk("bob")
    run = ada.create_run("secret-project", name="r1")
    assert hub.store.roles_of("ada") == {"secret-project": Role.ADMIN}
    bob.create_run("bobs", name="r2")
    assert [p.name for p in bob.list_projects()] == ["bobs"]
    assert {p.name for p in hub.sdk("root").list_projects()} == {"secret-project", "bobs"}
    with pytest.raises(NotFound, match="secret-project"):
        bob.get_project("secret-project")
    with pytest.raises(NotFound):
        bob.get_run(run.id)
    with pytest.raises(NotFound):
        bob.create_run("secret-project", name="intruder")
    everything = bob.search_runs(SearchQuery())
    assert [r.name for r in everything.items] == ["r2"]
    with pytest.raises(NotFound):
        bob.search_runs(SearchQuery(project="secret-project"))
    hub.auth("ada").grant("secret-project", Role.VIEWER, user="bob")
    assert bob.get_run(run.id).name == "r1"
    with pytest.raises(PermissionDenied, match="viewer"):
        bob.set_tags(run.id, {"k": "v"})
    with pytest.raises(PermissionDenied):
        hub.auth("bob").grant("secret-project", Role.ADMIN, user="bob")
    members = hub.auth("bob").members("secret-project")
    assert {(m.principal, m.role) for m in members} == {("ada", Role.ADMIN), ("bob", Role.VIEWER)}


def test_teams_grant_roles_to_their_members(hub: Hub) -> None:
    run = hub.sdk("ada").create_run("vision", name="r")
    root = hub.auth("root")
    root.create_team("cv")
    root.add_team_member("cv", "bob")
    hub.auth("ada").grant("vision", Role.EDITOR, team="cv")
    hub.sdk("bob").set_tags(run.id, {"by": "bob"})
    root.remove_team_member("cv", "bob")
    with pytest.raises(NotFound):
        hub.sdk("bob").get_run(run.id)


def test_a_read_only_token_reads_and_searches_but_never_writes(hub: Hub) -> None:
    run = hub.sdk("ada").create_run("p", name="r")
    reader = HttpRunStore(BASE, token=hub.tokens["ada-read"], client=hub.client)
    assert reader.get_run(run.id).name == "r"
    assert len(reader.search_runs(SearchQuery(project="p")).items) == 1
    with pytest.raises(PermissionDenied, match="read-only"):
        reader.set_tags(run.id, {"k": "v"})
    with pytest.raises(PermissionDenied, match="read-only"):
        reader.create_run("p", name="nope")


def test_tokens_users_and_admin_routes(hub: Hub) -> None:
    ada, root = hub.auth("ada"), hub.auth("root")
    assert ada.whoami().user == "ada"
    issued = ada.create_token(scope=TokenScope.READ, expires_in="1d")
    assert issued.token.user == "ada"
    assert {t.id for t in ada.list_tokens()} >= {issued.token.id}
    assert all(t.user == "ada" for t in ada.list_tokens())
    with pytest.raises(PermissionDenied):
        ada.create_token("bob")
    with pytest.raises(NotFound):
        hub.auth("bob").revoke_token(issued.token.id)
    ada.revoke_token(issued.token.id)
    with pytest.raises(Unauthenticated):
        HttpRunStore(BASE, token=issued.secret, client=hub.client).list_projects()
    with pytest.raises(PermissionDenied, match="server admin"):
        ada.list_users()
    root.create_user("carol", PASSWORD)
    carol = root.create_token("carol")
    root.disable_user("carol")
    with pytest.raises(Unauthenticated):
        HttpRunStore(BASE, token=carol.secret, client=hub.client).list_projects()
    assert [u.name for u in root.list_users()] == ["ada", "bob", "carol", "root"]


def _login_form(client: httpx.Client, next_url: str = "/") -> str:
    page = client.get("/login", params={"next": next_url})
    assert page.status_code == 200
    match = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert match is not None
    return match.group(1)


def _login(client: httpx.Client, user: str, password: str, **headers: str) -> httpx.Response:
    csrf = _login_form(client)
    form = {"username": user, "password": password, "csrf_token": csrf, "next": "/projects/p"}
    return client.post("/login", data=form, headers=headers)


def test_sign_in_sets_a_safe_session_cookie_and_writes_need_csrf(hub: Hub) -> None:
    run = hub.sdk("ada").create_run("p", name="r")
    browser = asgi_client(hub.app, BASE)
    page = browser.get("/", headers={"Accept": "text/html"})
    assert page.status_code == 303
    assert page.headers["location"] == "/login?next=%2F"
    signed_in = _login(browser, "ada", PASSWORD)
    assert signed_in.status_code == 303
    assert signed_in.headers["location"] == "/projects/p"
    cookie = next(c for c in signed_in.headers.get_list("set-cookie") if "shipyard_session" in c)
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie or "samesite=lax" in cookie.lower()
    assert "Secure" not in cookie
    home = browser.get("/", headers={"Accept": "text/html"})
    assert home.status_code == 200
    meta = re.search(r'<meta name="csrf-token" content="([^"]+)">', home.text)
    assert meta is not None
    assert 'id="signed-in-user">ada<' in home.text
    path = routes.url(routes.RUN, run_id=run.id)
    refused = browser.patch(path, json={"notes": "x"})
    assert refused.status_code == 403
    assert "CSRF" in refused.json()["error"]["message"]
    changed = browser.patch(path, json={"notes": "x"}, headers={"X-CSRF-Token": meta.group(1)})
    assert changed.status_code == 200
    out = browser.post("/logout", data={"csrf_token": meta.group(1)})
    assert out.status_code == 303
    assert browser.get(api.WHOAMI).status_code == 401


def test_sign_in_over_https_marks_the_cookie_secure(hub: Hub) -> None:
    response = _login(hub.client, "ada", PASSWORD, **{"X-Forwarded-Proto": "https"})
    cookie = next(c for c in response.headers.get_list("set-cookie") if "shipyard_session" in c)
    assert "Secure" in cookie


def test_failed_sign_ins_are_rate_limited(hub: Hub) -> None:
    for _ in range(5):
        assert _login(hub.client, "ada", "wrong password").status_code == 401
    limited = _login(hub.client, "ada", PASSWORD)
    assert limited.status_code == 429
    assert int(limited.headers["retry-after"]) >= 1
    assert _login(hub.client, "bob", PASSWORD).status_code == 303


def test_a_login_form_without_its_csrf_value_is_refused(hub: Hub) -> None:
    _login_form(hub.client)
    form = {"username": "ada", "password": PASSWORD, "csrf_token": "forged"}
    assert hub.client.post("/login", data=form).status_code == 403


def test_changes_are_audited_with_who_and_never_secrets(hub: Hub) -> None:
    run = hub.sdk("ada").create_run("p", name="r")
    hub.sdk("ada").set_tags(run.id, {"k": "v"})
    hub.sdk("ada").log_params(run.id, {"lr": 0.1})
    issued = hub.auth("ada").create_token(description="ci")
    hub.auth("ada").grant("p", Role.VIEWER, user="bob")
    _login(hub.client, "bob", "wrong password")
    _login(hub.client, "bob", PASSWORD)
    root = hub.auth("root")
    records = root.audit(limit=100)
    actions = [(r.actor, r.action) for r in records]
    assert ("ada", "project.create") in actions
    params = next(r for r in records if r.target.endswith(f"{run.id}/params"))
    assert (params.actor, params.action) == ("ada", "POST /api/v1/runs/{run_id}/params")
    assert params.address
    # the middleware (or the handler, with before/after values) recorded the tag change
    assert any(r.actor == "ada" and run.id in r.target and "tag" in r.action for r in records)
    assert ("ada", "token.issue") in actions
    assert ("bob", "login") in actions
    assert ("", "login.failed") in actions
    grant = next(r for r in records if r.action == "project.grant")
    assert (grant.before, grant.after) == ({"role": None}, {"role": "viewer"})
    dumped = json.dumps([r.to_dict() for r in records])
    for secret in (issued.secret, *hub.tokens.values(), PASSWORD):
        assert secret not in dumped
    assert root.verify_audit() == (len(records), [])
    assert [r.actor for r in root.audit(user="bob")] == ["bob"]
    with pytest.raises(PermissionDenied):
        hub.auth("ada").audit()


def test_dataset_lineage_lists_only_runs_the_caller_may_see(hub: Hub) -> None:
    ada, bob = hub.sdk("ada"), hub.sdk("bob")
    secret = ada.create_run("secret-project", name="uses-iris")
    public = bob.create_run("bobs", name="also-uses-iris")
    hub.store.create_dataset_version("iris", [ManifestEntry("data.csv", 1, "0" * 64)])
    for run_id in (secret.id, public.id):
        hub.store.add_run_inputs(run_id, [RunInput(kind="dataset", name="iris", version="1")])

    def lineage(user: str) -> set[str]:
        response = hub.client.get(
            "/api/v1/datasets/iris/lineage", headers={"Authorization": f"Bearer {hub.tokens[user]}"}
        )
        assert response.status_code == 200, response.text
        return {usage["run_id"] for usage in response.json()["usages"]}

    assert lineage("bob") == {public.id}
    assert lineage("ada") == {secret.id}
    assert lineage("root") == {secret.id, public.id}


def test_changes_are_audited_with_auth_off_too(tmp_path: Path) -> None:
    store = SqlRunStore.from_uri(f"sqlite:///{tmp_path}/s.db", auto_create=True)
    app = create_app(store, LocalArtifactStore(tmp_path / "artifacts"))
    with asgi_client(app, BASE) as client:
        run = client.post(routes.PROJECTS, json={"name": "iris"})
        assert run.status_code == 201
    (record,) = [r for r in store.list_audit() if r.target == "/api/v1/projects"]
    assert (record.actor, record.action) == ("local", "POST /api/v1/projects")
    assert store.verify_audit() == (len(store.list_audit()), [])
    store.close()


def test_a_model_the_caller_cannot_see_cannot_be_deployed(hub: Hub, tmp_path: Path) -> None:
    """Deploying (or rolling out) a model serves it to whoever can call the deployment, so the
    caller needs READ on the model's project, not only WRITE on the deployment's."""
    artifacts = LocalArtifactStore(tmp_path / "artifacts")
    hub.sdk("ada").create_run("secret-project", name="owner")
    hub.sdk("bob").create_run("bobs", name="owner")
    log_iris_model(hub.store, artifacts, name="secret-clf", project="secret-project")
    log_iris_model(hub.store, artifacts, name="bobs-clf", project="bobs")
    bob = HttpDeployments(hub.sdk("bob"))
    with pytest.raises(NotFound, match="model 'models:/secret-clf/1' not found"):
        bob.create("steal", "models:/secret-clf/1", project="bobs")
    with pytest.raises(NotFound, match="not found"):
        hub.store.get_deployment("steal")
    mine = bob.create("mine", "models:/bobs-clf/1")
    with pytest.raises(NotFound, match="model 'models:/secret-clf/1' not found"):
        bob.update("mine", "models:/secret-clf/1", canary_percent=50)
    assert hub.store.get_deployment("mine").generation == mine.generation

    hub.auth("ada").grant("secret-project", Role.VIEWER, user="bob")  # now bob may read it
    canary = bob.update("mine", "models:/secret-clf/1", canary_percent=50)
    assert canary.canary_uri == "models:/secret-clf/1"
