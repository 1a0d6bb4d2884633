"""Models through the SDK, embedded and against a real server process: log_model, register,
alias, and load_model by every URI form, with predictions identical to the trained model."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

import shipyard
from conftest import free_port, wait_for_port
from shipyard import Client, Settings
from shipyard.domain.models import MODEL_KIND
from shipyard.errors import InvalidArgument, NotFound
from shipyard.flavors import MODEL_FILE

X, Y = load_iris(return_X_y=True)


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("server")
    port = free_port()
    command = [sys.executable, "-m", "shipyard.server", "--store", f"sqlite:///{root}/s.db"]
    command += ["--artifacts", str(root / "artifacts"), "--host", "127.0.0.1"]
    command += ["--port", str(port), "--log-level", "warning"]
    with (root / "server.log").open("ab") as log:
        proc = subprocess.Popen(command, stdout=log, stderr=log)
    try:
        wait_for_port(port, timeout=60)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture(params=["embedded", "server"])
def settings(request: pytest.FixtureRequest, tmp_path: Path) -> Settings:
    uri = request.getfixturevalue("server_url") if request.param == "server" else None
    return Settings(
        tracking_uri=uri,
        home=tmp_path / "home",
        system_metrics_interval=0,
        flush_interval=0.05,
        capture=False,
    )


def train(c: float) -> LogisticRegression:
    return LogisticRegression(C=c, max_iter=1000).fit(X, Y)


def test_log_register_alias_and_load(settings: Settings, tmp_path: Path) -> None:
    first, second = train(1.0), train(0.01)
    assert not np.array_equal(first.predict_proba(X), second.predict_proba(X))
    name = f"iris-{tmp_path.name[-8:]}".strip("-_")
    with shipyard.start_run(project="iris", settings=settings) as run:
        one = run.log_model(first, "clf", input_example=X[:5], register_as=name)
    with shipyard.start_run(project="iris", settings=settings) as run2:
        two = shipyard.log_model(second, "clf", register_as=name)
    assert one.uri == f"runs:/{run.id}/models/clf"
    assert one.version is not None
    assert two.version is not None
    assert (one.version.version, two.version.version) == (1, 2)
    assert (one.version.run_id, one.version.source, one.version.flavor) == (
        run.id,
        "models/clf",
        "sklearn",
    )
    assert one.version.signature is not None
    assert two.version.signature is None

    with Client(settings=settings) as client:
        assert client.set_model_alias(name, "champion", 1) is None
        assert client.set_model_alias(name, "champion", 2) == 1
        assert dict(client.get_model(name).aliases) == {"champion": 2}
        assert client.get_model(name).project == "iris"
        outputs = [i for i in client.backend.store.list_run_inputs(run2.id) if i.kind == MODEL_KIND]
        assert [(o.name, o.version, o.direction) for o in outputs] == [(name, "2", "output")]

        champion = shipyard.load_model(f"models:/{name}@champion", settings=settings)
        assert np.array_equal(champion.raw.predict_proba(X), second.predict_proba(X))
        assert np.array_equal(champion.predict(X), second.predict(X))
        for uri, model in (
            (f"models:/{name}/1", first),
            (f"models:/{name}/latest", second),
            (one.uri, first),
        ):
            loaded = client.load_model(uri)
            assert np.array_equal(loaded.raw.predict_proba(X), model.predict_proba(X)), uri

        again = client.register_model(one.uri, f"{name}-copy")
        assert (again.version, again.run_id) == (1, run.id)
        assert client.get_model(f"{name}-copy").project == "iris"
        client.set_model_version_tag(name, 1, "validated", "yes")
        assert client.update_model_version(name, 1, "baseline").description == "baseline"
        assert dict(client.model_version(name, 1).tags) == {"validated": "yes"}
        client.delete_model_version(f"{name}-copy", 1)
        assert list(client.model_versions(f"{name}-copy")) == []

        folder = client.download_model(f"models:/{name}@champion", tmp_path / "out")
        assert (folder / MODEL_FILE).is_file()
        resolved = client.resolve_model(f"models:/{name}@champion")
        assert (resolved.run_id, resolved.artifact_path) == (run2.id, "models/clf")


def test_signature_is_checked_on_predict(settings: Settings) -> None:
    with shipyard.start_run(project="iris", settings=settings) as run:
        logged = run.log_model(train(1.0), "clf", input_example=X[:5])
    loaded = shipyard.load_model(logged.uri, settings=settings)
    with pytest.raises(InvalidArgument, match="expected 4 input columns, got 3"):
        loaded.predict(X[:, :3])


def test_unknown_models_and_bad_uris(settings: Settings) -> None:
    with pytest.raises(NotFound, match="'nope'"):
        shipyard.load_model("models:/nope@champion", settings=settings)
    with pytest.raises(InvalidArgument, match="invalid model URI"):
        shipyard.load_model("s3://x", settings=settings)
    with shipyard.start_run(project="iris", settings=settings) as run:
        run.log_text("x", "models/fake/readme.txt")
    with pytest.raises(NotFound, match="no model"):
        shipyard.load_model(f"runs:/{run.id}/models/fake", settings=settings)
    with pytest.raises(NotFound, match="no model"):
        shipyard.register_model(f"runs:/{run.id}/models/fake", "fake", settings=settings)
