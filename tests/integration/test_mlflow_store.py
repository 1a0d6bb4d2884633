"""The MLflow extras of ``SqlRunStore`` (experiment ids, lifecycle, tags, logged models), on
SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from shipyard.errors import AlreadyExists, InvalidArgument, NotFound
from shipyard.store.mlflow import MlflowStore
from shipyard.store.sql.store import SqlRunStore


@pytest.fixture(params=["sqlite", "postgresql"])
def store(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[SqlRunStore]:
    if request.param == "sqlite":
        uri = f"sqlite:///{(tmp_path / 's.db').as_posix()}"
    else:
        uri = str(request.getfixturevalue("pg_url"))
    opened = SqlRunStore.from_uri(uri, auto_create=True)
    yield opened
    opened.close()


def test_is_an_mlflow_store(store: SqlRunStore) -> None:
    assert isinstance(store, MlflowStore)


def test_default_experiment_is_zero_and_created_on_demand(store: SqlRunStore) -> None:
    default = store.mlflow_experiment(0)
    assert (default.experiment_id, default.name) == (0, "Default")
    assert store.get_project("Default").id == default.project_id
    assert store.mlflow_experiment_by_name("Default").experiment_id == 0


def test_ids_are_stable_and_assigned_to_native_projects(store: SqlRunStore) -> None:
    store.create_run("native")
    created = store.mlflow_create_experiment("made-by-mlflow", {"team": "a"})
    ids = {e.name: e.experiment_id for e in store.mlflow_experiments()}
    assert ids["made-by-mlflow"] == created.experiment_id
    assert ids["native"] >= 1
    assert ids["native"] != created.experiment_id
    assert store.mlflow_experiment_ids(["native", "missing"]) == {"native": ids["native"]}
    assert {e.name: e.experiment_id for e in store.mlflow_experiments()} == ids
    assert store.mlflow_experiment(created.experiment_id).tags == {"team": "a"}


def test_create_twice_and_missing(store: SqlRunStore) -> None:
    store.mlflow_create_experiment("twice")
    with pytest.raises(AlreadyExists):
        store.mlflow_create_experiment("twice")
    with pytest.raises(NotFound):
        store.mlflow_experiment(999)
    with pytest.raises(NotFound):
        store.mlflow_experiment_by_name("nope")
    with pytest.raises(InvalidArgument):
        store.mlflow_create_experiment("/bad/name")


def test_lifecycle_rename_and_tags(store: SqlRunStore) -> None:
    exp = store.mlflow_create_experiment("life")
    deleted = store.mlflow_update_experiment(exp.experiment_id, lifecycle_stage="deleted")
    assert deleted.lifecycle_stage == "deleted"
    assert "life" not in [e.name for e in store.mlflow_experiments(include_deleted=False)]
    renamed = store.mlflow_update_experiment(exp.experiment_id, new_name="life2")
    assert renamed.name == "life2"
    assert store.get_project("life2").id == exp.project_id
    store.mlflow_create_experiment("taken")
    with pytest.raises(AlreadyExists):
        store.mlflow_update_experiment(exp.experiment_id, new_name="taken")
    with pytest.raises(InvalidArgument):
        store.mlflow_update_experiment(exp.experiment_id, lifecycle_stage="gone")
    store.mlflow_set_experiment_tags(exp.experiment_id, {"k": "v", "j": "w"})
    store.mlflow_delete_experiment_tag(exp.experiment_id, "j")
    assert store.mlflow_experiment(exp.experiment_id).tags == {"k": "v"}
    with pytest.raises(NotFound):
        store.mlflow_delete_experiment_tag(exp.experiment_id, "j")


def test_logged_models(store: SqlRunStore) -> None:
    run = store.create_run("models")
    exp = store.mlflow_experiment_by_name("models")
    model = store.mlflow_create_logged_model(
        exp.experiment_id, name="clf", run_id=run.id, source_run_id=run.id, tags={"a": "1"}
    )
    assert model.model_id.startswith("m-")
    assert model.artifact_path == f"models/{model.model_id}"
    assert model.status == "LOGGED_MODEL_PENDING"
    ready = store.mlflow_update_logged_model(
        model.model_id, status="LOGGED_MODEL_READY", set_tags={"b": "2"}, delete_tags=["a"]
    )
    assert (ready.status, dict(ready.tags)) == ("LOGGED_MODEL_READY", {"b": "2"})
    listed = store.mlflow_list_logged_models([exp.experiment_id], source_run_id=run.id)
    assert [m.model_id for m in listed] == [model.model_id]
    store.mlflow_update_logged_model(model.model_id, deleted=True)
    with pytest.raises(NotFound):
        store.mlflow_get_logged_model(model.model_id)
    assert store.mlflow_list_logged_models([exp.experiment_id]) == []
    with pytest.raises(NotFound):
        store.mlflow_create_logged_model(
            exp.experiment_id, name="x", run_id="0" * 32, source_run_id=None
        )
