"""``shipyard import mlflow`` on histories created by the real MLflow client: an ``mlruns``
folder (MLflow 2's file store), a tracking database (MLflow 3, SQLite) and a live ``mlflow
server`` (MLflow 3, REST). Imports run through the CLI, into SQLite and PostgreSQL, twice."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from compat.test_mlflow_clients import SCRIPTS, client_python, start_server
from conftest import free_port, wait_for_port
from shipyard.cli.app import app
from shipyard.store.sql.store import SqlRunStore

pytestmark = pytest.mark.slow


def make_history(version: str, uri: str, cwd: Path) -> dict[str, str]:
    """Run ``make_history.py`` with a real client; returns the run ids by name."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "SHIPYARD_"))}
    env.update(MLFLOW_TRACKING_URI=uri, MLFLOW_DISABLE_TELEMETRY="true")
    done = subprocess.run(
        [str(client_python(version)), str(SCRIPTS / "make_history.py")],
        cwd=cwd, env=env, capture_output=True, text=True, timeout=240,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout.strip().splitlines()[-1])["runs"])


@pytest.fixture(scope="module")
def db_history(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, str]]:
    root = tmp_path_factory.mktemp("mlflow-db")
    uri = f"sqlite:///{(root / 'mlflow.db').as_posix()}"
    return uri, make_history("v3", uri, root)


@pytest.fixture(scope="module")
def folder_history(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, str]]:
    root = tmp_path_factory.mktemp("mlflow-folder")
    runs = make_history("v2", "file:./mlruns", root)
    return str(root / "mlruns"), runs


@pytest.fixture(scope="module")
def mlflow_server(
    db_history: tuple[str, dict[str, str]], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A real ``mlflow server`` (MLflow 3) over the database history."""
    root = tmp_path_factory.mktemp("mlflow-server")
    port = free_port()
    exe = client_python("v3").with_name("mlflow")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "SHIPYARD_"))}
    env["MLFLOW_DISABLE_TELEMETRY"] = "true"
    command = [str(exe), "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    command += ["--backend-store-uri", db_history[0], "--artifacts-destination", str(root / "a")]
    with (root / "log").open("wb") as log:
        proc = subprocess.Popen(command, stdout=log, stderr=log, cwd=root, env=env)
    try:
        wait_for_port(port, timeout=180)
        time.sleep(1)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def run_import(target: str, source: str) -> dict[str, object]:
    result = CliRunner().invoke(
        app, ["--tracking-uri", target, "import", "mlflow", "--from", source, "--json"]
    )
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.stdout))


def check_imported(store: SqlRunStore, runs: dict[str, str], *, logged_models: bool) -> None:
    first = store.get_run(runs["run-0"])
    assert first.project == "import-a"
    assert (first.name, first.status.value) == ("run-0", "FINISHED")
    assert first.params == {"lr": "0.1", "opt": "adam"}
    assert first.tags["idx"] == "0"
    loss = store.metric_history(first.id, "loss")
    assert sorted(zip(loss.steps, loss.values, strict=True)) == sorted(
        [(s, 1.0 / (s + 1)) for s in range(5)] + [(2, 0.5)]
    )
    odd = store.metric_history(first.id, "odd")
    assert math.isnan(odd.values[0])
    paths = [a.path for a in store.list_artifacts(first.id)]
    assert paths == ["plots/loss.csv", "report.txt"]
    assert store.get_run(runs["run-2"]).deleted is True
    fit = store.get_run(runs["fit"])
    assert fit.project == "import-b"
    model = store.get_registered_model("imported-clf")
    assert model.project == "import-b"
    assert model.tags["owner"] == "ml"
    versions = sorted(store.list_model_versions("imported-clf"), key=lambda v: v.version)
    assert [v.version for v in versions] == [1, 2]
    assert model.aliases == {"champion": 2}
    assert versions[0].run_id == fit.id
    assert versions[0].flavor == "sklearn"
    files = [a.path for a in store.list_artifacts(fit.id, versions[0].source)]
    assert f"{versions[0].source}/MLmodel" in files
    if logged_models:
        assert versions[0].source.startswith("models/m-")


def _targets(tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{(tmp_path / 'target.db').as_posix()}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture(params=["sqlite", "postgresql"])
def target(tmp_path: Path, request: pytest.FixtureRequest) -> str:
    """An empty Shipyard store to import into."""
    uri = _targets(tmp_path, request)
    SqlRunStore.from_uri(uri, auto_create=True).close()
    return uri


def test_import_database(target: str, db_history: tuple[str, dict[str, str]]) -> None:
    first = run_import(target, db_history[0])
    assert (first["runs_new"], first["experiments"]) == (4, 3)
    assert (first["models_new"], first["versions_new"]) == (1, 2)
    assert first["metric_points"] == 22
    again = run_import(target, db_history[0])
    assert (again["runs_new"], again["runs_existing"], again["metric_points"]) == (0, 4, 0)
    assert (again["artifacts_new"], again["versions_new"]) == (0, 0)
    store = SqlRunStore.from_uri(target)
    try:
        check_imported(store, db_history[1], logged_models=True)
    finally:
        store.close()


def test_import_folder(tmp_path: Path, folder_history: tuple[str, dict[str, str]]) -> None:
    target = f"sqlite:///{(tmp_path / 'target.db').as_posix()}"
    first = run_import(target, folder_history[0])
    assert (first["runs_new"], first["versions_new"]) == (4, 2)
    again = run_import(target, folder_history[0])
    assert (again["runs_new"], again["metric_points"], again["artifacts_new"]) == (0, 0, 0)
    store = SqlRunStore.from_uri(target)
    try:
        check_imported(store, folder_history[1], logged_models=False)
    finally:
        store.close()


def test_import_server(
    tmp_path: Path, mlflow_server: str, db_history: tuple[str, dict[str, str]]
) -> None:
    target = f"sqlite:///{(tmp_path / 'target.db').as_posix()}"
    first = run_import(target, mlflow_server)
    assert (first["runs_new"], first["versions_new"]) == (4, 2)
    again = run_import(target, mlflow_server)
    assert (again["runs_new"], again["metric_points"], again["artifacts_new"]) == (0, 0, 0)
    store = SqlRunStore.from_uri(target)
    try:
        check_imported(store, db_history[1], logged_models=True)
    finally:
        store.close()


def test_import_missing_folder(tmp_path: Path) -> None:
    target = f"sqlite:///{(tmp_path / 'target.db').as_posix()}"
    command = [sys.executable, "-m", "shipyard.cli", "--tracking-uri", target, "import", "mlflow"]
    done = subprocess.run(
        [*command, "--from", str(tmp_path / "nope")], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 1
    assert "does not exist" in done.stderr
    assert "Traceback" not in done.stderr


def test_import_into_a_shipyard_server(
    tmp_path: Path, db_history: tuple[str, dict[str, str]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The target is a live ``shipyard server`` (the SDK's HTTP backend), not a database."""
    monkeypatch.setenv("SHIPYARD_HOME", str(tmp_path / "home"))
    store_uri = f"sqlite:///{(tmp_path / 'server.db').as_posix()}"
    server, proc = start_server(tmp_path, store_uri)
    try:
        first = run_import(server.url, db_history[0])
        again = run_import(server.url, db_history[0])
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert (first["runs_new"], first["versions_new"], first["warnings"]) == (4, 2, [])
    assert (again["runs_new"], again["metric_points"], again["artifacts_new"]) == (0, 0, 0)
    store = SqlRunStore.from_uri(store_uri)
    try:
        check_imported(store, db_history[1], logged_models=True)
    finally:
        store.close()
