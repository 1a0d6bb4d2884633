"""Hostile input at the REST edge, on SQLite and PostgreSQL: each attempt gets a clear 4xx error
body (never a 500 or a traceback) and leaves the stored data exactly as it was.

Covered: SQL injection through the filter grammar, order keys and names; path traversal through
artifact paths (``../``, absolute paths, backslashes, percent-encoded and double-encoded variants);
oversized bodies; malformed JSON; unknown fields; wrong types.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from shipyard.api import routes
from shipyard.api.routes import url
from shipyard.artifacts.local import LocalArtifactStore
from shipyard.server.app import create_app
from shipyard.store.sql.store import SqlRunStore
from shipyard.testing.asgi import asgi_client

LIMIT = 64 * 1024


@pytest.fixture(params=["sqlite", "postgres"])
def client(
    request: pytest.FixtureRequest, tmp_path: Path
) -> Iterator[tuple[httpx.Client, SqlRunStore, str]]:
    """An in-process server over a fresh store holding one run with one artifact."""
    uri = (
        f"sqlite:///{tmp_path}/s.db"
        if request.param == "sqlite"
        else request.getfixturevalue("pg_url")
    )
    store = SqlRunStore.from_uri(uri, auto_create=True)
    app = create_app(store, LocalArtifactStore(tmp_path / "artifacts"), max_body_bytes=LIMIT)
    http = asgi_client(app)
    run = http.post(routes.RUNS, json={"project": "iris", "params": {"depth": 3}}).json()
    body = b"model bytes"
    sha = hashlib.sha256(body).hexdigest()
    put = http.put(url(routes.RUN_BLOB, run_id=run["id"], sha256=sha), content=body)
    assert put.status_code in (200, 201, 204), put.text
    record = {"path": "model/m.bin", "size": len(body), "sha256": sha}
    assert http.post(url(routes.RUN_ARTIFACTS, run_id=run["id"]), json={"artifacts": [record]})
    try:
        yield http, store, run["id"]
    finally:
        http.close()
        store.close()


def assert_clean_error(response: httpx.Response, *statuses: int) -> dict[str, str]:
    """A 4xx answer with the ``{error: {code, message, hint}}`` body and no traceback."""
    assert response.status_code in statuses, (response.status_code, response.text)
    error = response.json()["error"]
    assert error["code"]
    assert error["message"]
    assert "Traceback" not in response.text
    assert 'File "' not in response.text
    return dict(error)


def snapshot(store: SqlRunStore, run_id: str) -> tuple[object, ...]:
    """What must not change: the projects, the run, its params and its artifacts."""
    run = store.get_run(run_id)
    return (
        [p.name for p in store.list_projects()],
        run.status,
        dict(run.params),
        dict(run.tags),
        [(a.path, a.sha256) for a in store.list_artifacts(run_id)],
    )


INJECTIONS = [
    "params.depth = '3' OR 1=1 --",
    "params.depth = 3; DROP TABLE runs; --",
    "metrics.acc > 0 UNION SELECT * FROM runs",
    "tags.\"x\" = 'a'' OR ''1''=''1'",
    "params.`depth` = 3",
    "name = 'x' /*",
    "1=1",
    "params.depth = '3') OR ('1'='1",
]


@pytest.mark.parametrize("expression", INJECTIONS)
def test_sql_injection_through_the_filter_is_refused_or_harmless(
    client: tuple[httpx.Client, SqlRunStore, str], expression: str
) -> None:
    http, store, run_id = client
    before = snapshot(store, run_id)
    response = http.post(routes.RUNS_SEARCH, json={"projects": ["iris"], "filter": expression})
    if response.status_code == 200:  # a valid expression must match nothing it should not
        assert all(r["project"] == "iris" for r in response.json()["runs"])
    else:
        error = assert_clean_error(response, 400)
        assert error["code"] in ("invalid_argument", "filter_syntax_error")
    assert snapshot(store, run_id) == before


@pytest.mark.parametrize(
    "order_by", ["metrics.acc; DROP TABLE runs", "-params.depth DESC, (SELECT 1)", "name'"]
)
def test_sql_injection_through_order_keys_is_refused(
    client: tuple[httpx.Client, SqlRunStore, str], order_by: str
) -> None:
    http, store, run_id = client
    before = snapshot(store, run_id)
    response = http.post(routes.RUNS_SEARCH, json={"projects": ["iris"], "order_by": [order_by]})
    assert_clean_error(response, 400)
    assert snapshot(store, run_id) == before


@pytest.mark.parametrize(
    "name", ["iris'; DROP TABLE projects; --", 'x" OR "1"="1', "a/../b", "", "x" * 300, "n\x00ul"]
)
def test_hostile_project_names_are_refused_or_stored_verbatim(
    client: tuple[httpx.Client, SqlRunStore, str], name: str
) -> None:
    http, store, run_id = client
    before = snapshot(store, run_id)
    response = http.post(routes.PROJECTS, json={"name": name})
    if response.status_code == 201:
        assert response.json()["name"] == name
        assert store.get_project(name).name == name
    else:
        assert_clean_error(response, 400)
        assert snapshot(store, run_id) == before
    assert store.get_run(run_id).project == "iris"


TRAVERSALS = [
    "../../etc/passwd",
    "/etc/passwd",
    "model/../../secret",
    "..\\..\\windows\\win.ini",
    "%2e%2e/%2e%2e/etc/passwd",
    "%252e%252e%252fetc%252fpasswd",
    "C:/Windows/win.ini",
    "",
]


@pytest.mark.parametrize("path", TRAVERSALS)
def test_path_traversal_on_download_is_refused(
    client: tuple[httpx.Client, SqlRunStore, str], path: str
) -> None:
    http, _, run_id = client
    response = http.get(url(routes.RUN_ARTIFACT_CONTENT, run_id=run_id), params={"path": path})
    assert_clean_error(response, 400, 404)
    assert b"root:" not in response.content


@pytest.mark.parametrize("path", TRAVERSALS)
def test_path_traversal_on_register_is_refused_and_stores_nothing(
    client: tuple[httpx.Client, SqlRunStore, str], path: str
) -> None:
    http, store, run_id = client
    before = snapshot(store, run_id)
    sha = hashlib.sha256(b"model bytes").hexdigest()
    record = {"path": path, "size": 11, "sha256": sha}
    response = http.post(url(routes.RUN_ARTIFACTS, run_id=run_id), json={"artifacts": [record]})
    assert_clean_error(response, 400)
    assert snapshot(store, run_id) == before


def test_an_oversized_body_is_refused_with_413(
    client: tuple[httpx.Client, SqlRunStore, str],
) -> None:
    http, store, run_id = client
    before = snapshot(store, run_id)
    big = {"params": {f"p{i}": "x" * 200 for i in range(LIMIT // 100)}}
    response = http.post(url(routes.RUN_PARAMS, run_id=run_id), json=big)
    error = assert_clean_error(response, 413)
    assert str(LIMIT) in error["message"] or "large" in error["message"]
    assert snapshot(store, run_id) == before


@pytest.mark.parametrize(
    "content",
    [b"{", b'{"project": "iris",}', b"\xff\xfe\x00", b"[1, 2", b'{"project": NaN}', b"null"],
)
def test_malformed_json_is_refused_with_400(
    client: tuple[httpx.Client, SqlRunStore, str], content: bytes
) -> None:
    http, store, run_id = client
    before = snapshot(store, run_id)
    response = http.post(routes.RUNS, content=content, headers={"Content-Type": "application/json"})
    assert_clean_error(response, 400)
    assert snapshot(store, run_id) == before


@pytest.mark.parametrize(
    ("path", "body"),
    [
        (routes.PROJECTS, {"name": "p2", "owner": "mallory"}),
        (routes.RUNS, {"project": "iris", "status": "FINISHED", "is_admin": True}),
        (routes.RUNS_SEARCH, {"projects": ["iris"], "sql": "1=1"}),
    ],
)
def test_unknown_fields_are_refused_and_named(
    client: tuple[httpx.Client, SqlRunStore, str], path: str, body: dict[str, object]
) -> None:
    http, store, run_id = client
    before = snapshot(store, run_id)
    response = http.post(
        path, content=orjson.dumps(body), headers={"Content-Type": "application/json"}
    )
    error = assert_clean_error(response, 400)
    unknown = next(k for k in body if k not in ("name", "project", "projects"))
    assert unknown in error["message"]
    assert snapshot(store, run_id) == before


@pytest.mark.parametrize(
    "body",
    [{"project": 5}, {"project": ["iris"]}, {"project": "iris", "params": "depth=3"}, {}],
)
def test_wrong_types_are_refused_with_400(
    client: tuple[httpx.Client, SqlRunStore, str], body: dict[str, object]
) -> None:
    http, store, run_id = client
    before = snapshot(store, run_id)
    assert_clean_error(http.post(routes.RUNS, json=body), 400)
    assert snapshot(store, run_id) == before


def test_a_run_id_that_is_not_an_id_is_a_clean_error(
    client: tuple[httpx.Client, SqlRunStore, str],
) -> None:
    http, _, _ = client
    for run_id in ["' OR 1=1 --", "../../etc", "0" * 500]:
        assert_clean_error(http.get(url(routes.RUN, run_id=run_id)), 400, 404)
