"""The real ``mlflow`` clients (newest 2.x and 3.x, each in its own virtualenv under
``.mlflow-clients/``) against a live ``shipyard server``.

Each client script runs as a subprocess with ``MLFLOW_TRACKING_URI`` pointing at the server and
prints one JSON object; the tests assert on it and on what Shipyard stored (read back through the
native store). The virtualenvs come from ``scripts/mlflow-clients.sh``: with
``SHIPYARD_TEST_REQUIRE_SERVICES=1`` (CI) the test creates missing ones, otherwise it skips.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import free_port, wait_for_port
from shipyard.store.sql.store import SqlRunStore

ROOT = Path(__file__).resolve().parents[2]
SCRIPTS = Path(__file__).with_name("mlflow_scripts")
CLIENTS = ("v2", "v3")

pytestmark = pytest.mark.slow


def client_python(version: str) -> Path:
    """The python of an MLflow client venv; created (CI) or skipped when missing."""
    python = ROOT / ".mlflow-clients" / version / "bin" / "python"
    if _importable(python):
        return python
    if not os.environ.get("SHIPYARD_TEST_REQUIRE_SERVICES"):
        pytest.skip(f"no MLflow {version} client: run scripts/mlflow-clients.sh {version}")
    subprocess.run([str(ROOT / "scripts" / "mlflow-clients.sh"), version], check=True)
    assert _importable(python), f"scripts/mlflow-clients.sh did not create {python}"
    return python


def _importable(python: Path) -> bool:
    if not python.exists():
        return False
    probe = subprocess.run([str(python), "-c", "import mlflow, sklearn"], capture_output=True)
    return probe.returncode == 0


@dataclass
class Server:
    """A ``python -m shipyard.server`` process."""

    url: str
    store_uri: str
    log: Path

    def store(self) -> SqlRunStore:
        """The server's metadata store, opened directly (to check what it stored)."""
        return SqlRunStore.from_uri(self.store_uri)


def start_server(root: Path, store_uri: str, *extra: str) -> tuple[Server, subprocess.Popen[bytes]]:
    """Start a server on a free port over ``store_uri`` and local artifacts under ``root``."""
    port = free_port()
    log = root / "server.log"
    command = [sys.executable, "-m", "shipyard.server", "--store", store_uri]
    command += ["--artifacts", str(root / "artifacts"), "--port", str(port), *extra]
    command += ["--log-level", "warning"]
    with log.open("ab") as out:
        proc = subprocess.Popen(command, stdout=out, stderr=out)
    deadline = time.monotonic() + 60
    while proc.poll() is None and time.monotonic() < deadline:
        try:
            wait_for_port(port, timeout=0.5)
            return Server(f"http://127.0.0.1:{port}", store_uri, log), proc
        except TimeoutError:
            continue
    proc.kill()
    raise AssertionError(f"the server did not start:\n{log.read_text()}")


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    root = tmp_path_factory.mktemp("mlflow-server")
    found, proc = start_server(root, f"sqlite:///{(root / 'shipyard.db').as_posix()}")
    yield found
    proc.terminate()
    proc.wait(timeout=30)


def run_client(
    version: str, script: str, url: str, *args: str, env: dict[str, str] | None = None
) -> dict[str, object]:
    """Run a client script with ``MLFLOW_TRACKING_URI=url``; its last stdout line as JSON."""
    python = client_python(version)
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("MLFLOW_", "SHIPYARD_"))}
    environ.update(
        MLFLOW_TRACKING_URI=url,
        MLFLOW_DISABLE_TELEMETRY="true",
        MLFLOW_ENABLE_ASYNC_LOGGING="false",
        GIT_PYTHON_REFRESH="quiet",
        **(env or {}),
    )
    done = subprocess.run(
        [str(python), str(SCRIPTS / script), *args],
        capture_output=True,
        text=True,
        env=environ,
        timeout=240,
    )
    assert done.returncode == 0, f"{script} ({version}) failed:\n{done.stdout}\n{done.stderr}"
    return dict(json.loads(done.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize("version", CLIENTS)
def test_tracking(server: Server, version: str) -> None:
    name = f"tracking-{version}"
    out = run_client(version, "tracking.py", server.url, name)
    run = out["run"]
    assert isinstance(run, dict)
    assert run["status"] == "FINISHED"
    assert run["name"] == "train"
    assert run["params"] == {"lr": "0.01", "depth": "3", "opt": "adam", "single": "x"}
    assert run["metrics"] == {
        "acc": 0.9, "f1": 0.8, "loss": 1 / 3, "weird": "nan", "big": "inf"
    }  # fmt: skip
    assert run["tags"]["stage"] == "dev"
    assert run["end_time_set"] is True
    assert out["history"] == [[0, 1.0], [1, 0.25], [1, 0.5], [2, 1 / 3]]
    assert out["artifacts"] == [
        ["data", True], ["notes.txt", False], ["data/a.csv", False], ["data/sub", True]
    ]  # fmt: skip
    assert out["downloaded"] == "hello from mlflow\n"
    assert out["downloaded_dir"] == ["a.csv", "sub/b.txt"]
    assert out["search_ids"] == [run["id"]]
    assert (out["search_none"], out["search_by_name"], out["pandas_rows"]) == (0, 1, 1)
    assert out["paged"][0] == run["id"]  # type: ignore[index]
    assert (out["after_delete"], out["deleted_only"], out["after_restore"]) == (1, 1, 2)
    assert "team" not in out["second_tags"]  # type: ignore[operator]
    assert out["experiment_tags"] == {"owner": "ml-team"}
    assert out["experiment_listed"] is True
    assert out["deleted_experiment_stage"] == "deleted"
    assert out["deleted_listed"] is False
    assert out["restored_stage"] == "active"
    assert out["duplicate_error"] == "RESOURCE_ALREADY_EXISTS"
    assert out["missing_error"] == "RESOURCE_DOES_NOT_EXIST"
    assert out["default_experiment"] == "Default"
    assert out["default_run_experiment"] == "0"
    # What Shipyard stored: an ordinary run in the project named like the experiment.
    store = server.store()
    try:
        stored = store.get_run(str(run["id"]))
        assert stored.project == name
        assert stored.name == "train"
        assert stored.params["lr"] == "0.01"
        assert stored.metrics["acc"].last == 0.9
        assert stored.status.value == "FINISHED"
        assert store.metric_history(stored.id, "loss").total == 4
        paths = [a.path for a in store.list_artifacts(stored.id)]
        assert paths == ["data/a.csv", "data/sub/b.txt", "notes.txt"]
    finally:
        store.close()


@pytest.mark.parametrize("version", CLIENTS)
def test_models_and_registry(server: Server, version: str) -> None:
    model_name = f"iris-{version}"
    out = run_client(version, "models.py", server.url, f"models-{version}", model_name)
    expected = out["expected"]
    assert out["runs_uri_predict"] == expected
    assert out["model_uri_predict"] == expected
    if version == "v3":
        assert str(out["model_uri"]).startswith("models:/m-")
    reg = out["registry"]
    assert isinstance(reg, dict)
    assert (reg["version"], reg["second_version"]) == ("1", "2")
    assert reg["version_predict"] == expected
    assert reg["alias_predict"] == expected
    assert reg["alias_version"] == "1"
    assert reg["model"] == {
        "name": model_name,
        "description": "iris classifier",
        "tags": {"team": "vision"},
        "aliases": {"champion": "1"},
    }
    assert reg["model_version"]["tags"] == {"validated": "yes"}
    assert reg["model_version"]["run_id"] == out["run_id"]
    assert model_name in reg["search_models"]
    assert reg["search_versions"] == ["1", "2"]
    assert reg["aliases_after_delete"] == {}
    assert reg["versions_after_delete"] == ["1"]
    assert reg["missing_error"] == "RESOURCE_DOES_NOT_EXIST"
    store = server.store()
    try:
        version_one = store.get_model_version(model_name, 1)
        assert version_one.run_id == out["run_id"]
        assert version_one.flavor == "sklearn"
        files = [a.path for a in store.list_artifacts(str(out["run_id"]), version_one.source)]
        assert f"{version_one.source}/MLmodel" in files
    finally:
        store.close()


@pytest.mark.parametrize("version", CLIENTS)
def test_sklearn_autolog(server: Server, version: str) -> None:
    out = run_client(version, "autolog.py", server.url, f"autolog-{version}")
    assert out["status"] == "FINISHED"
    params = out["params"]
    assert isinstance(params, dict)
    assert (params["n_estimators"], params["max_depth"]) == ("5", "3")
    assert "training_accuracy_score" in out["metrics"]  # type: ignore[operator]
    assert out["tags"] == ["estimator_class", "estimator_name"]
    store = server.store()
    try:
        stored = store.get_run(str(out["run_id"]))
        assert stored.metrics["training_accuracy_score"].last > 0.8
        assert any(a.path.endswith("MLmodel") for a in store.list_artifacts(stored.id))
    finally:
        store.close()


def test_auth_tokens(tmp_path: Path) -> None:
    from shipyard.domain.auth import Role

    store_uri = f"sqlite:///{(tmp_path / 'auth.db').as_posix()}"
    store = SqlRunStore.from_uri(store_uri, auto_create=True)
    try:
        store.create_user("alice", "correct horse battery")
        store.create_project("shared")
        secret = store.create_run("secret", name="hidden")
        store.grant_role("shared", "alice", Role.EDITOR)
        token = store.create_token("alice").secret
        secret_exp = store.mlflow_experiment_by_name("secret").experiment_id
    finally:
        store.close()
    found, proc = start_server(tmp_path, store_uri, "--auth")
    try:
        env = {
            "MLFLOW_TRACKING_TOKEN": token,
            "SECRET_RUN": secret.id,
            "SECRET_EXP": str(secret_exp),
        }
        out = run_client("v3", "auth.py", found.url, env=env)
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    assert out["visible"] == ["shared"]
    assert out["user"] == "alice"
    assert out["secret_by_name"] is True
    assert out["secret_run"] == "RESOURCE_DOES_NOT_EXIST"
    assert out["secret_search"] == "RESOURCE_DOES_NOT_EXIST"
    assert out["no_token"] == "UNAUTHENTICATED"


def test_tracking_on_postgresql(tmp_path: Path, pg_url: str) -> None:
    """The MLflow 3 tracking script once against a server over PostgreSQL."""
    found, proc = start_server(tmp_path, pg_url)
    try:
        out = run_client("v3", "tracking.py", found.url, "tracking-pg")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    run = out["run"]
    assert isinstance(run, dict)
    assert (run["status"], run["experiment_id"]) == ("FINISHED", "1")
    assert out["history"] == [[0, 1.0], [1, 0.25], [1, 0.5], [2, 1 / 3]]
    assert (out["after_delete"], out["after_restore"]) == (1, 2)
    assert out["downloaded"] == "hello from mlflow\n"
    store = SqlRunStore.from_uri(pg_url)
    try:
        assert store.get_run(str(run["id"])).project == "tracking-pg"
    finally:
        store.close()
