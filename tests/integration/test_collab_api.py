"""The collaboration REST API on SQLite and PostgreSQL: bad input gets a clean 400 and changes
nothing; comments carry the signed-in author, whom only they or a project admin may overrule."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from shipyard.api import collab as api
from shipyard.api import routes
from shipyard.api.routes import url
from shipyard.artifacts.local import LocalArtifactStore
from shipyard.domain.collab import MAX_COMMENT_BYTES, MAX_NOTES_BYTES
from shipyard.domain.datasets import ManifestEntry
from shipyard.server.access import Role
from shipyard.server.app import create_app
from shipyard.store.base import SearchQuery
from shipyard.store.sql.store import SqlRunStore
from shipyard.testing.asgi import asgi_client

JSON = {"Content-Type": "application/json"}


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[SqlRunStore]:
    """A fresh store holding project ``iris`` (one run) and dataset ``iris-data``."""
    uri = (
        f"sqlite:///{tmp_path}/s.db"
        if request.param == "sqlite"
        else request.getfixturevalue("pg_url")
    )
    sql = SqlRunStore.from_uri(uri, auto_create=True)
    sql.create_run("iris", name="rf-1")
    sha = hashlib.sha256(b"x").hexdigest()
    sql.create_dataset_version("iris-data", [ManifestEntry("a.csv", 1, sha)])
    yield sql
    sql.close()


def _run_id(store: SqlRunStore) -> str:
    return store.search_runs(SearchQuery(project="iris")).items[0].id


@pytest.fixture
def http(store: SqlRunStore, tmp_path: Path) -> Iterator[httpx.Client]:
    client = asgi_client(create_app(store, LocalArtifactStore(tmp_path / "artifacts")))
    yield client
    client.close()


def assert_clean_error(response: httpx.Response, status: int, text: str) -> None:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert text in error["message"], error
    assert error["hint"]
    assert "Traceback" not in response.text


# -- auth off: the local admin ----------------------------------------------------------------


def test_project_notes_and_tags_over_rest(http: httpx.Client) -> None:
    patched = http.patch(url(routes.PROJECT, name="iris"), json={"notes": "# Iris"})
    assert patched.status_code == 200, patched.text
    assert patched.json()["notes"] == "# Iris"
    tag = url(api.PROJECT_TAG, name="iris", key="owner/email")
    assert http.put(tag, json={"value": "ada@example.com"}).status_code == 204
    found = http.get(url(api.PROJECT_ANNOTATIONS, name="iris")).json()
    assert found["tags"] == {"owner/email": "ada@example.com"}
    assert http.delete(tag).status_code == 204
    assert_clean_error(http.delete(tag), 404, "owner/email")


def test_dataset_notes_and_tags_over_rest(http: httpx.Client) -> None:
    patched = http.patch(url(api.DATASET, name="iris-data"), json={"notes": "150 flowers"})
    assert patched.json()["notes"] == "150 flowers"
    tag = url(api.DATASET_TAG, name="iris-data", key="license")
    assert http.put(tag, json={"value": "CC-BY-4.0"}).status_code == 204
    found = http.get(url(api.DATASET_ANNOTATIONS, name="iris-data")).json()
    assert (found["notes"], found["tags"]) == ("150 flowers", {"license": "CC-BY-4.0"})


def test_bad_input_is_refused_and_changes_nothing(http: httpx.Client, store: SqlRunStore) -> None:
    run_id = _run_id(store)
    project = url(routes.PROJECT, name="iris")
    comments = url(api.RUN_COMMENTS, run_id=run_id)
    http.patch(project, json={"notes": "kept"})
    too_long = "x" * (MAX_NOTES_BYTES + 1)
    assert_clean_error(http.patch(project, json={"notes": too_long}), 400, "64 KiB")
    assert_clean_error(http.patch(project, json={"notez": "typo"}), 400, "notez")
    assert_clean_error(http.patch(project, json={"notes": 3}), 400, "notes")
    assert_clean_error(
        http.patch(project, content=b"{not json", headers=JSON), 400, "malformed JSON"
    )
    dataset = url(api.DATASET, name="iris-data")
    assert_clean_error(http.patch(dataset, json={"notes": too_long}), 400, "64 KiB")
    tag = url(api.PROJECT_TAG, name="iris", key="team")
    assert_clean_error(http.put(tag, json={"value": "v", "extra": 1}), 400, "extra")
    assert_clean_error(http.put(tag, json={"value": "x" * 8001}), 400, "8000")
    big = {"body": "x" * (MAX_COMMENT_BYTES + 1)}
    assert_clean_error(http.post(comments, json=big), 400, "16 KiB")
    assert_clean_error(http.post(comments, json={"body": " "}), 400, "empty")
    forged = {"body": "hi", "author": "eve"}
    assert_clean_error(http.post(comments, json=forged), 400, "author")
    assert store.get_project_annotations("iris").notes == "kept"
    assert dict(store.get_project_annotations("iris").tags) == {}
    assert store.get_dataset_annotations("iris-data").notes == ""
    assert store.list_run_comments(run_id) == []


def test_unknown_things_are_404(http: httpx.Client, store: SqlRunStore) -> None:
    missing_run = "0" * 32
    assert_clean_error(http.get(url(api.PROJECT_ANNOTATIONS, name="nope")), 404, "nope")
    assert_clean_error(
        http.patch(url(routes.PROJECT, name="nope"), json={"notes": "x"}), 404, "nope"
    )
    assert_clean_error(http.get(url(api.DATASET_ANNOTATIONS, name="nope")), 404, "nope")
    assert_clean_error(http.get(url(api.RUN_COMMENTS, run_id=missing_run)), 404, missing_run)
    comment = url(api.RUN_COMMENT, run_id=_run_id(store), comment_id="f" * 32)
    assert_clean_error(http.patch(comment, json={"body": "x"}), 404, "f" * 32)
    assert_clean_error(http.delete(comment), 404, "f" * 32)


def test_comment_lifecycle_as_the_local_admin(http: httpx.Client, store: SqlRunStore) -> None:
    run_id = _run_id(store)
    posted = http.post(url(api.RUN_COMMENTS, run_id=run_id), json={"body": "**nice**"})
    assert posted.status_code == 201, posted.text
    comment = posted.json()
    assert (comment["author"], comment["body"]) == ("local", "**nice**")
    one = url(api.RUN_COMMENT, run_id=run_id, comment_id=comment["id"])
    edited = http.patch(one, json={"body": "nicer"}).json()
    assert (edited["body"], edited["created_at"]) == ("nicer", comment["created_at"])
    assert http.delete(one).status_code == 204
    assert http.get(url(api.RUN_COMMENTS, run_id=run_id)).json() == {"comments": []}


# -- auth on: authors, editors, admins and viewers --------------------------------------------


@pytest.fixture
def secured(store: SqlRunStore, tmp_path: Path) -> Iterator[dict[str, httpx.Client]]:
    """Clients signed in as ada and bob (editors), carol (project admin), vic (viewer) and
    olga (no role in iris)."""
    app = create_app(store, LocalArtifactStore(tmp_path / "artifacts"), auth=True)
    roles = {"ada": Role.EDITOR, "bob": Role.EDITOR, "carol": Role.ADMIN, "vic": Role.VIEWER}
    clients = {}
    for user in (*roles, "olga"):
        store.create_user(user, "correct horse battery staple")
        if user in roles:
            store.grant_role("iris", user, roles[user])
        secret = store.create_token(user).secret
        clients[user] = asgi_client(app)
        clients[user].headers["Authorization"] = f"Bearer {secret}"
    yield clients
    for client in clients.values():
        client.close()


def test_comment_permissions(secured: dict[str, httpx.Client], store: SqlRunStore) -> None:
    run_id = _run_id(store)
    comments = url(api.RUN_COMMENTS, run_id=run_id)
    posted = secured["ada"].post(comments, json={"body": "ada's view"})
    assert posted.status_code == 201, posted.text
    assert posted.json()["author"] == "ada"
    one = url(api.RUN_COMMENT, run_id=run_id, comment_id=posted.json()["id"])
    assert_clean_error(secured["bob"].patch(one, json={"body": "bob was here"}), 403, "ada")
    assert_clean_error(secured["bob"].delete(one), 403, "ada")
    assert_clean_error(secured["vic"].post(comments, json={"body": "me too"}), 403, "viewer")
    assert secured["vic"].get(comments).json()["comments"][0]["body"] == "ada's view"
    assert secured["olga"].get(comments).status_code == 404
    assert secured["ada"].patch(one, json={"body": "ada's edit"}).status_code == 200
    assert secured["carol"].delete(one).status_code == 204
    assert store.list_run_comments(run_id) == []


def test_notes_and_tags_need_an_editor(
    secured: dict[str, httpx.Client], store: SqlRunStore
) -> None:
    project = url(routes.PROJECT, name="iris")
    assert_clean_error(secured["vic"].patch(project, json={"notes": "x"}), 403, "viewer")
    assert secured["vic"].get(url(api.PROJECT_ANNOTATIONS, name="iris")).status_code == 200
    assert secured["olga"].get(url(api.PROJECT_ANNOTATIONS, name="iris")).status_code == 404
    assert secured["ada"].patch(project, json={"notes": "by ada"}).status_code == 200
    assert store.get_project_annotations("iris").notes == "by ada"


def test_changes_are_audited_with_before_and_after(
    secured: dict[str, httpx.Client], store: SqlRunStore
) -> None:
    run_id = _run_id(store)
    ada = secured["ada"]
    ada.patch(url(routes.PROJECT, name="iris"), json={"notes": "v1"})
    ada.patch(url(routes.PROJECT, name="iris"), json={"notes": "v2"})
    ada.put(url(api.PROJECT_TAG, name="iris", key="team"), json={"value": "tabular"})
    ada.patch(url(routes.RUN, run_id=run_id), json={"notes": "run notes"})
    ada.post(url(routes.RUN_TAGS, run_id=run_id), json={"tags": {"stage": "tuning"}})
    posted = ada.post(url(api.RUN_COMMENTS, run_id=run_id), json={"body": "first"}).json()
    one = url(api.RUN_COMMENT, run_id=run_id, comment_id=posted["id"])
    ada.patch(one, json={"body": "second"})
    secured["carol"].delete(one)
    records = {(r.actor, r.action): r for r in reversed(store.list_audit())}  # newest wins
    notes = records[("ada", "project.update")]  # the newest of the two
    assert (notes.target, notes.before, notes.after) == (
        "projects/iris",
        {"notes": "v1"},
        {"notes": "v2"},
    )
    assert records[("ada", "project.tag.set")].after == "tabular"
    assert records[("ada", "run.notes.update")].after == {"notes": "run notes"}
    assert records[("ada", "run.tags.set")].before == {"stage": None}
    edit = records[("ada", "run.comment.edit")]
    assert (edit.before, edit.after) == ({"body": "first"}, {"body": "second"})
    deleted = records[("carol", "run.comment.delete")]
    assert deleted.before == {"body": "second", "author": "ada"}
    assert store.verify_audit()[1] == []
