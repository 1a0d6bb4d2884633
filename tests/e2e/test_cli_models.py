"""``shipyard models`` end to end: every command in a real subprocess on an embedded store."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from cli_runner import Cli, clean_env

from conftest import free_port, wait_for_port

TRAIN = """
import json, shipyard
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
X, y = load_iris(return_X_y=True)
uris = []
for c in (1.0, 0.01):
    with shipyard.start_run(project="iris") as run:
        run.log_params({"C": c})
        uris.append(run.log_model(LogisticRegression(C=c, max_iter=1000).fit(X, y), "clf",
                                  input_example=X[:3]).uri)
print(json.dumps(uris))
"""


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    env = clean_env(SHIPYARD_CAPTURE="false", SHIPYARD_SYSTEM_METRICS_INTERVAL="0")
    return Cli(tmp_path, env, timeout=180)


def test_register_show_alias_download(cli: Cli, tmp_path: Path) -> None:
    first, second = json.loads(cli.run([sys.executable, "-c", textwrap.dedent(TRAIN)]).stdout)
    assert "no registered models yet" in cli("models", "list").stdout

    one = cli.json("models", "register", first, "iris-clf")
    assert (one["version"], one["uri"], one["flavor"]) == (1, "models:/iris-clf/1", "sklearn")
    assert "registered models:/iris-clf/2" in cli("models", "register", second, "iris-clf").stdout

    listed = cli.json("models", "list", "--project", "iris")["models"]
    assert [(m["name"], m["latest_version"]) for m in listed] == [("iris-clf", 2)]
    assert "iris-clf" in cli("models", "list").stdout

    moved = cli.json("models", "alias", "iris-clf", "1", "champion")
    assert (moved["version"], moved["previous"]) == (1, None)
    assert "was version 1" in cli("models", "alias", "iris-clf", "2", "champion").stdout
    cli("models", "alias", "iris-clf", "1", "challenger")

    shown = cli.json("models", "show", "iris-clf")
    assert shown["aliases"] == {"challenger": 1, "champion": 2}
    assert [v["version"] for v in shown["versions"]] == [2, 1]
    assert shown["versions"][0]["signature"]["inputs"][0]["shape"] == [-1, 4]
    text = cli("models", "show", "iris-clf").stdout
    assert "champion" in text
    assert "challenger" in text

    cli("models", "unalias", "iris-clf", "challenger")
    assert cli.json("models", "show", "iris-clf")["aliases"] == {"champion": 2}

    out = cli("models", "download", "models:/iris-clf@champion", "model").stdout
    assert "wrote models:/iris-clf@champion" in out
    assert (tmp_path / "model" / "shipyard-model.yaml").is_file()
    assert (tmp_path / "model" / "model.joblib").is_file()


def test_errors_are_reported_without_a_traceback(cli: Cli) -> None:
    for args in (
        ("models", "show", "nope"),
        ("models", "download", "models:/nope@champion", "out"),
        ("models", "register", "s3://bucket/model", "x"),
        ("models", "alias", "nope", "1", "latest"),
    ):
        proc = cli(*args, rc=1)
        assert "error:" in proc.stderr
        assert "hint:" in proc.stderr
        assert "Traceback" not in proc.stderr


def test_the_same_commands_against_a_server(cli: Cli, tmp_path: Path) -> None:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "shipyard.server", "--store", f"sqlite:///{tmp_path}/hub.db",
         "--artifacts", str(tmp_path / "hub-artifacts"), "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_for_port(port, timeout=60)
        cli.env["SHIPYARD_TRACKING_URI"] = f"http://127.0.0.1:{port}"
        first, _ = json.loads(cli.run([sys.executable, "-c", textwrap.dedent(TRAIN)]).stdout)
        assert cli.json("models", "register", first, "iris-clf")["version"] == 1
        assert cli.json("models", "alias", "iris-clf", "1", "champion")["previous"] is None
        shown = cli.json("models", "show", "iris-clf")
        assert (shown["project"], shown["aliases"]) == ("iris", {"champion": 1})
        cli("models", "download", "models:/iris-clf@champion", "served")
        assert (tmp_path / "served" / "shipyard-model.yaml").is_file()
    finally:
        server.terminate()
        server.wait(timeout=30)
