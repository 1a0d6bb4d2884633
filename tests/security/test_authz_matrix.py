"""The authorization matrix: every route of the app (REST and UI pages) x every kind of caller.

Each route's expected behaviour comes from the rule it declares (``shipyard.server.access``):
anonymous callers get 401, callers who are not members of the resource's project 404, members
whose role (or token scope) is too weak 403, everyone else passes the rule. Whether the rule let
a request through is read from ``scope["state"]["access"]`` (set by the rule itself), so a
handler's own answer to the test's empty bodies (400, 404, 409...) never hides the rule's.

A route without a rule fails. A route with a path parameter that :data:`SEED` does not know
fails too, telling its author what to add; a project finder that cannot find the seeded
resource fails for the roles that should pass (seed it in a :data:`SEEDERS` function).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from fastapi import FastAPI
from fastapi.routing import iter_route_contexts
from starlette.routing import Mount
from starlette.types import ASGIApp, Receive, Scope, Send

from shipyard.artifacts.local import LocalArtifactStore
from shipyard.domain.auth import Role, TokenScope
from shipyard.errors import NotFound
from shipyard.server.access import Need, Rule, declared_rule
from shipyard.server.app import create_app
from shipyard.store.sql.store import SqlRunStore
from shipyard.testing.asgi import asgi_client

PROJECT = "matrix"
DUMMY_USER = "matrix-dummy"
ROLES = ("anonymous", "outsider", "viewer", "editor", "project-admin", "server-admin", "read-token")
PUBLIC_MOUNTS = ("/static/swagger-ui", "/static/ui/")
"""Mounted static folders (no rules possible): the API docs' and the UI's own assets."""


@dataclass
class Seeded:
    """What the seeding created: the store, the run in the project, and a token per role."""

    store: SqlRunStore
    run_id: str
    tokens: dict[str, str | None] = field(default_factory=dict)


SEEDED_IDS: dict[str, str] = {}
"""Ids of resources the SEEDERS made (path parameter -> id), for SEED."""


def _seed_values(seeded: Seeded) -> dict[str, str]:
    return {
        "run_id": seeded.run_id,
        "sweep_id": seeded.run_id,
        "name": PROJECT,
        "version": "1",
        "key": "k",
        "sha256": "0" * 64,
        "queue": "matrix-queue",
        "user": DUMMY_USER,
        "token_id": "0" * 32,
        "team": "matrix-team",
        "kind": "user",
        "principal": DUMMY_USER,
        "alias": "champion",
        "job": "train",
        **SEEDED_IDS,
    }


SEED: Callable[[Seeded], dict[str, str]] = _seed_values
"""Path parameter -> the value a request uses; the value must name a resource in PROJECT."""

QUERY = {"project": PROJECT}
"""Query parameters sent with every request (``by_query`` finders read them)."""


def _seed_projects(seeded: Seeded) -> None:
    seeded.store.create_team("matrix-team")


def _seed_models(seeded: Seeded) -> None:
    """A registered model named like the project, with version 1 and the alias ``champion``
    (made again when a request deleted any of them: see :data:`RESTORERS`)."""
    store = seeded.store
    try:
        if store.get_model_version_by_alias(PROJECT, "champion").version == 1:
            return
    except NotFound:
        pass
    with contextlib.suppress(NotFound):
        store.delete_registered_model(PROJECT)
    store.create_registered_model(PROJECT, project=PROJECT)
    store.create_model_version(PROJECT, run_id=seeded.run_id, source="models/m", flavor="sklearn")
    store.set_model_alias(PROJECT, "champion", 1)


def _seed_workflows(seeded: Seeded) -> None:
    """A failed workflow run in the project and a workflow request (their ids go to SEED)."""
    from shipyard.domain.workflows import WorkflowStatus

    store = seeded.store
    made = store.create_workflow_run(name="wf", project=PROJECT, jobs=["train"])
    store.set_workflow_status(made.id, WorkflowStatus.FAILED, message="seeded")
    SEEDED_IDS["workflow_run_id"] = made.id
    SEEDED_IDS["request_id"] = store.request_workflow_event("dataset", {"name": PROJECT}).id


def _seed_comments(seeded: Seeded) -> None:
    """A comment on the seeded run (its id goes to SEED)."""
    comment = seeded.store.add_run_comment(seeded.run_id, "seeded", author=DUMMY_USER)
    SEEDED_IDS["comment_id"] = comment.id


def _seed_deployments(seeded: Seeded) -> None:
    """A deployment named like the project, with an alert rule (its id goes to SEED)."""
    from shipyard.domain.serving import AlertKind

    store = seeded.store
    store.create_deployment(
        PROJECT, project=PROJECT, model_uri=f"models:/{PROJECT}/1",
        stable_uri=f"models:/{PROJECT}/1", stable_version=1,
    )  # fmt: skip
    rule = store.create_alert_rule(PROJECT, kind=AlertKind.DRIFT, threshold=0.5, workflow="w")
    SEEDED_IDS["rule_id"] = rule.id


def _seed_mlflow(seeded: Seeded) -> None:
    """The project's MLflow experiment id, a logged model and an artifact of the seeded run."""
    from shipyard.domain.entities import Artifact

    store = seeded.store
    experiment = store.mlflow_experiment_by_name(PROJECT).experiment_id
    model = store.mlflow_create_logged_model(
        experiment, name="m", run_id=seeded.run_id, source_run_id=seeded.run_id, tags={"k": "v"}
    )
    store.add_artifacts(seeded.run_id, [Artifact("f.txt", 0, "0" * 64, "text/plain")])
    path = f"{experiment}/{seeded.run_id}/artifacts/f.txt"
    SEEDED_IDS.update(model_id=model.model_id, tag_key="k", path=path)
    QUERY.update(experiment_id=str(experiment), experiment_ids=str(experiment), path=path)


def _restore_mlflow(seeded: Seeded) -> None:
    """Undo a permitted delete of the logged model or of the experiment."""
    store = seeded.store
    store.mlflow_update_logged_model(SEEDED_IDS["model_id"], deleted=False)
    experiment = int(QUERY["experiment_id"])
    if store.mlflow_experiment(experiment).lifecycle_stage != "active":
        store.mlflow_update_experiment(experiment, lifecycle_stage="active")


SEEDERS: list[Callable[[Seeded], None]] = [
    _seed_projects,
    _seed_mlflow,
    _seed_models,
    _seed_workflows,
    _seed_comments,
    _seed_deployments,
]
"""Functions creating the resources, in PROJECT, that SEED's values name (add yours)."""
RESTORERS: list[Callable[[Seeded], None]] = [_seed_models, _restore_mlflow]
"""Seeders run again after every permitted change, for resources a permitted DELETE removes."""


def _query(seeded: Seeded) -> dict[str, str]:
    """Fields sent in every query string and (non-GET) JSON body: finders that read request
    fields (the MLflow-compatible routes) find PROJECT's resources with them."""
    return {
        **QUERY,
        "a": seeded.run_id,
        "b": seeded.run_id,
        "runs": seeded.run_id,
        "run_id": seeded.run_id,
        "run_uuid": seeded.run_id,
        "name": PROJECT,
        "experiment_name": PROJECT,
        "version": "1",
        "alias": "champion",
    }


@pytest.fixture
def seeded(tmp_path: Path) -> Iterator[Seeded]:
    store = SqlRunStore.from_uri(f"sqlite:///{tmp_path}/shipyard.db", auto_create=True)
    run = store.create_run(PROJECT, name="seeded")
    seeded = Seeded(store, run.id, {"anonymous": None})
    grants = {"viewer": Role.VIEWER, "editor": Role.EDITOR, "project-admin": Role.ADMIN}
    for name in ("outsider", "viewer", "editor", "project-admin", "server-admin", DUMMY_USER):
        store.create_user(name, "matrix-password", is_admin=name == "server-admin")
        if name in grants:
            store.grant_role(PROJECT, name, grants[name])
        seeded.tokens[name] = store.create_token(name).secret
    seeded.tokens["read-token"] = store.create_token("editor", scope=TokenScope.READ).secret
    for seeder in SEEDERS:
        seeder(seeded)
    yield seeded
    store.close()


class _Recorder:
    """Wraps the app to keep each request's ``scope["state"]`` (where the rule says its answer)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.last: dict[str, Any] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.last = {}
        scope["state"] = self.last
        await self.app(scope, receive, send)


def expected(rule: Rule, method: str, role: str) -> int | None:
    """The status the rule answers for this role, or ``None`` when the rule lets it pass."""
    need = rule.need
    if need is Need.PUBLIC:
        return None
    if role == "anonymous":
        return 401
    if need is Need.USER:
        reads = method in ("GET", "HEAD") or rule.reads
        return 403 if role == "read-token" and not reads else None
    if need is Need.SERVER_ADMIN:
        return None if role == "server-admin" else 403
    if role == "outsider":
        return 404
    rank = {"viewer": 1, "read-token": 2, "editor": 2, "project-admin": 3, "server-admin": 3}
    needed = {Need.READ: 1, Need.WRITE: 2, Need.ADMIN: 3}[need]
    if need is not Need.READ and role == "read-token":
        return 403
    return None if rank[role] >= needed else 403


@dataclass
class Case:
    method: str
    template: str
    path: str
    rule: Rule


def _cases(app: FastAPI, seeded: Seeded, problems: list[str]) -> list[Case]:
    values = SEED(seeded)
    cases = []
    for route in iter_route_contexts(app.routes):  # included routers flattened
        path_template = str(route.path)
        if isinstance(route.original_route, Mount):
            if not path_template.startswith(PUBLIC_MOUNTS):
                problems.append(f"mount {path_template}: mounted apps cannot declare a rule")
            continue
        methods = route.methods
        dependencies = getattr(route, "dependencies", None)
        if not methods or dependencies is None:
            problems.append(f"{path_template}: not an API route, so it cannot declare a rule")
            continue
        found = declared_rule(list(dependencies))
        if found is None:
            problems.append(f"{sorted(methods)} {path_template}: no access rule declared")
            continue
        params = {name: values.get(name) for name in route.param_convertors}
        unknown = [name for name, value in params.items() if value is None]
        if unknown:
            problems.append(
                f"{path_template}: path parameter(s) {unknown} unknown to the matrix test: add "
                "them to SEED (and create what they name in SEEDERS) in "
                "tests/security/test_authz_matrix.py"
            )
            continue
        path = str(route.path_format).format(
            **{k: quote(str(v), safe="") for k, v in params.items()}
        )
        cases.extend(Case(m, path_template, path, found) for m in sorted(methods))
    return cases


def test_every_route_enforces_its_rule_for_every_role(seeded: Seeded, tmp_path: Path) -> None:
    app = create_app(seeded.store, LocalArtifactStore(tmp_path / "artifacts"), auth=True)
    recorder = _Recorder(app)
    client = asgi_client(recorder)
    problems: list[str] = []
    cases = _cases(app, seeded, problems)
    checked = 0
    for case in cases:
        for role in ROLES:
            problem = _check(client, recorder, seeded, case, role)
            for restore in RESTORERS:
                restore(seeded)
            checked += 1
            if problem:
                problems.append(problem)
    routes = len({(c.method, c.template) for c in cases})
    print(f"authorization matrix: {routes} routes x {len(ROLES)} roles = {checked} checks")
    assert not problems, "\n".join(problems)
    assert routes >= 60


def _check(
    client: httpx.Client, recorder: _Recorder, seeded: Seeded, case: Case, role: str
) -> str | None:
    token = seeded.tokens[role]
    headers = {"Accept": "application/json", "Accept-Encoding": "identity"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    fields = _query(seeded)
    body = None if case.method in ("GET", "HEAD") else json.dumps(fields).encode()
    if body is not None:
        headers["Content-Type"] = "application/json"
    response = client.request(case.method, case.path, params=fields, headers=headers, content=body)
    if case.method not in ("GET", "HEAD") and response.status_code < 300:
        seeded.store.restore_run(seeded.run_id)  # a permitted delete must not hide it from others
        for restore in RESTORERS:
            restore(seeded)
    want = expected(case.rule, case.method, role)
    access = recorder.last.get("access")
    where = f"{case.method} {case.template} as {role} ({case.rule.need.value})"
    if response.status_code >= 500:
        return f"{where}: {response.status_code} {response.text[:200]}"
    if want is None and access != "allowed":
        return (
            f"{where}: the rule refused with {response.status_code} {response.text[:160]} "
            "(seed the resource the rule's project finder looks for)"
        )
    if want is not None and (access != "denied" or response.status_code != want):
        return f"{where}: expected {want} from the rule, got {response.status_code} ({access})"
    return None
