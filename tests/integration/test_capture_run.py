"""Every input of a run is captured: a seeded scikit-learn script in a dirty git repository, run
through the SDK and through ``shipyard run``, against the embedded store and a real server process.

All runs are real subprocesses (``python train.py`` and ``python -m shipyard.cli``); the records
are read back through the SDK client, the CLI and the server's REST route.
"""

from __future__ import annotations

import json
import logging
import os
import platform
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

import httpx
import pytest

import shipyard
from conftest import free_port, wait_for_port
from shipyard import Client, RunStatus, Settings
from shipyard.capture.layout import ENVIRONMENT_ARTIFACT, OUTPUT_ARTIFACT, PATCH_ARTIFACT
from shipyard.domain.entities import Run
from shipyard.errors import NotFound

CLI = [sys.executable, "-m", "shipyard.cli"]
PYTHON = Path(sys.executable).name
SEED = 7
TRAIN = """\
import argparse
import sys
import time

import shipyard
from sklearn.datasets import load_iris
from sklearn.linear_model import SGDClassifier

parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float, default=0.1)
parser.add_argument("--exit", type=int, default=0)
parser.add_argument("--wait", action="store_true", help="wait to be interrupted")
args = parser.parse_args()

shipyard.seed_everything(7)
features, labels = load_iris(return_X_y=True)
with shipyard.start_run(project="iris", params={"lr": args.lr}) as run:
    model = SGDClassifier(learning_rate="constant", eta0=args.lr, max_iter=20, tol=None)
    model.fit(features, labels)
    accuracy = model.score(features, labels)
    run.log_metrics({"accuracy": accuracy}, step=0)
    print(f"run={run.id} accuracy={accuracy:.3f}", flush=True)
    print("training done", file=sys.stderr, flush=True)
    if args.wait:
        print("waiting", flush=True)
        time.sleep(120)
sys.exit(args.exit)
"""
GIT_IDENTITY = {
    "GIT_AUTHOR_NAME": "Test",
    "GIT_AUTHOR_EMAIL": "test@example.com",
    "GIT_COMMITTER_NAME": "Test",
    "GIT_COMMITTER_EMAIL": "test@example.com",
    "GIT_CONFIG_NOSYSTEM": "1",
}


@dataclass
class Repo:
    """A git repository holding ``train.py`` (committed, then edited) and an untracked file."""

    root: Path
    commit: str
    env: dict[str, str]

    def run(
        self, *args: str, env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        """Run a command in the repository; it must succeed."""
        return subprocess.run(
            list(args),
            cwd=self.root,
            env=env or self.env,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )

    def client(self) -> Client:
        """A client on the store the runs of this repository write to."""
        return Client(settings=Settings(home=self.root / ".shipyard", system_metrics_interval=0))


def git(cwd: Path, env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Repo:
    for key, value in {**GIT_IDENTITY, "GIT_CONFIG_GLOBAL": str(tmp_path / "gitconfig")}.items():
        monkeypatch.setenv(key, value)
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
    # `python` on PATH is this interpreter, as in an activated virtual environment.
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    root = tmp_path / "repo"
    root.mkdir()
    (root / "train.py").write_text(TRAIN)
    git(root, env, "init", "-q", "-b", "main")
    git(root, env, "add", "-A")
    git(root, env, "commit", "-q", "-m", "train on iris")
    commit = git(root, env, "rev-parse", "HEAD")
    (root / "train.py").write_text(TRAIN.replace("max_iter=20", "max_iter=25"))
    (root / "notes.md").write_text("lr 0.1 looks best\n")
    return Repo(root, commit, env)


def _run_id(stdout: str) -> str:
    line = next(line for line in stdout.splitlines() if line.startswith("run="))
    return line.split()[0].removeprefix("run=")


def _artifact_text(client: Client, run_id: str, path: str, dest: Path) -> str:
    return client.download_artifact(run_id, path, dest).read_text(encoding="utf-8")


def _assert_complete_environment(env: dict[str, Any], repo: Repo) -> None:
    """The record names the code, the interpreter, the packages and the machine."""
    git_record = env["code"]["git"]
    assert git_record["commit"] == repo.commit
    assert git_record["branch"] == "main"
    assert git_record["dirty"] is True
    assert "patch" not in git_record
    assert git_record["patch_artifact"] == PATCH_ARTIFACT
    assert sorted(git_record["patch_files"]) == ["notes.md", "train.py"]
    assert env["code"]["entry_point"]["script"] == str((repo.root / "train.py").resolve())
    assert env["packages"]["distributions"]["scikit-learn"] == version("scikit-learn")
    assert env["packages"]["count"] == len(env["packages"]["distributions"])
    assert env["python"]["version"] == platform.python_version()
    assert env["system"]["os"]["system"] == platform.system()
    assert env["system"]["cpu"]["logical_cores"] == os.cpu_count()
    assert "gpus" in env["accelerators"]
    assert env["frameworks"]["versions"]["scikit-learn"] == version("scikit-learn")
    assert env["errors"] == []


def _assert_patch_rebuilds_tree(client: Client, run_id: str, repo: Repo, tmp_path: Path) -> None:
    """A clone at the commit plus the stored patch is the working tree the run saw."""
    patch = tmp_path / "code.patch"
    client.download_artifact(run_id, PATCH_ARTIFACT, patch)
    clone = tmp_path / "clone"
    git(tmp_path, repo.env, "clone", "-q", str(repo.root), str(clone))
    git(clone, repo.env, "checkout", "-q", repo.commit)
    git(clone, repo.env, "apply", "--whitespace=nowarn", str(patch))
    for name in ("train.py", "notes.md"):
        assert (clone / name).read_bytes() == (repo.root / name).read_bytes()


def _tags(run: Run) -> dict[str, str]:
    return {k: v for k, v in run.tags.items() if k.startswith("shipyard.")}


def test_sdk_run_captures_code_packages_machine_and_seed(repo: Repo, tmp_path: Path) -> None:
    done = repo.run("python", "train.py", "--lr", "0.1")
    assert done.returncode == 0, done.stderr
    run_id = _run_id(done.stdout)
    with repo.client() as client:
        run = client.get_run(run_id)
        env = client.environment(run_id)
        assert run.status is RunStatus.FINISHED
        assert run.params == {"lr": 0.1, "seed": SEED}
        _assert_complete_environment(env, repo)
        assert env["launcher"] == "sdk"
        assert env["command"] == [PYTHON, "train.py", "--lr", "0.1"]
        assert env["seeds"]["seed"] == SEED
        assert {"random", "numpy"} <= set(env["seeds"]["seeded"])
        assert _tags(run) == {
            "shipyard.git.commit": repo.commit,
            "shipyard.git.branch": "main",
            "shipyard.git.dirty": "true",
            "shipyard.python.version": platform.python_version(),
            "shipyard.packages.sha256": env["packages"]["sha256"],
            "shipyard.launcher": "sdk",
            "shipyard.seed": str(SEED),
            "shipyard.seed.deterministic": "false",
        }
        _assert_patch_rebuilds_tree(client, run_id, repo, tmp_path)


def test_shipyard_run_tracks_a_command_end_to_end(repo: Repo, tmp_path: Path) -> None:
    done = repo.run(
        *CLI, "run", "--project", "iris", "--param", "lr=0.1", "--tag", "team=cv",
        "--", "python", "train.py", "--lr", "0.1",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    run_id = _run_id(done.stdout)  # the command's output streams through
    assert "training done" in done.stderr
    assert f"shipyard: run {run_id} FINISHED (exit code 0)" in done.stderr
    with repo.client() as client:
        run = client.get_run(run_id)
        env = client.environment(run_id)
        assert (run.project, run.status) == ("iris", RunStatus.FINISHED)
        assert run.params == {"lr": 0.1, "seed": SEED}  # launcher and script agree: no conflict
        assert run.metrics["accuracy"].count == 1
        assert run.tags["team"] == "cv"
        _assert_complete_environment(env, repo)
        assert env["launcher"] == "cli"
        assert env["command"] == ["python", "train.py", "--lr", "0.1"]
        assert _tags(run)["shipyard.launcher"] == "cli"
        assert _tags(run)["shipyard.git.commit"] == repo.commit
        assert _tags(run)["shipyard.seed"] == str(SEED)
        paths = [a.path for a in client.list_artifacts(run_id)]
        assert paths == [PATCH_ARTIFACT, ENVIRONMENT_ARTIFACT, OUTPUT_ARTIFACT]
        output = _artifact_text(client, run_id, OUTPUT_ARTIFACT, tmp_path / "output.log")
        assert f"run={run_id} accuracy=" in output
        assert "training done" in output
        _assert_patch_rebuilds_tree(client, run_id, repo, tmp_path)
    shown = repo.run(*CLI, "runs", "env", run_id[:12], "--json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout) == env
    table = repo.run(*CLI, "runs", "env", run_id, "--packages", env=repo.env | {"COLUMNS": "200"})
    assert table.returncode == 0, table.stderr
    for expected in ("code", "python", "system", "accelerators", "packages", repo.commit):
        assert expected in table.stdout
    rows = [line.split() for line in table.stdout.splitlines()]
    assert ["scikit-learn", version("scikit-learn")] in rows


def test_a_failing_command_fails_the_run_with_its_exit_code(repo: Repo) -> None:
    """The script's own `with` block ends the run FINISHED; the launcher's FAILED wins."""
    done = repo.run(*CLI, "run", "--", "python", "train.py", "--exit", "3")
    assert done.returncode == 3, done.stderr
    run_id = _run_id(done.stdout)
    with repo.client() as client:
        run = client.get_run(run_id)
    assert run.status is RunStatus.FAILED
    assert run.error is not None
    assert run.error.startswith("the command exited with code 3")
    assert "training done" in run.error  # the last output, to see why at a glance
    assert run.metrics["accuracy"].count == 1


def test_ctrl_c_is_forwarded_and_the_run_is_killed(repo: Repo) -> None:
    launcher = subprocess.Popen(
        [*CLI, "run", "--", "python", "train.py", "--wait"],
        cwd=repo.root,
        env=repo.env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert launcher.stdout is not None
    lines = []
    for line in launcher.stdout:  # the command's output arrives while it runs
        lines.append(line)
        if line.strip() == "waiting":
            break
    launcher.send_signal(signal.SIGINT)
    _, errors = launcher.communicate(timeout=120)
    assert launcher.returncode == 128 + signal.SIGINT, errors
    run_id = _run_id("".join(lines))
    with repo.client() as client:
        run = client.get_run(run_id)
    assert run.status is RunStatus.KILLED
    assert run.error is not None
    assert "SIGINT" in run.error
    assert f"shipyard: run {run_id} KILLED" in errors


def test_a_command_that_does_not_exist_fails_the_run_with_127(repo: Repo) -> None:
    done = repo.run(*CLI, "run", "--", "no-such-program", "--flag")
    assert done.returncode == 127
    assert "error: the command 'no-such-program' was not found" in done.stderr
    run_id = done.stderr.split()[2]  # "shipyard: run <id> (project/name)"
    with repo.client() as client:
        run = client.get_run(run_id)
        assert client.environment(run_id)["command"] == ["no-such-program", "--flag"]
    assert run.status is RunStatus.FAILED
    assert run.error == "the command 'no-such-program' was not found"


def test_capture_failure_never_fails_the_run(repo: Repo) -> None:
    """Without git on PATH the code probe fails: the run still finishes, the error is recorded."""
    bin_dir = repo.root.parent / "bin"
    bin_dir.mkdir()
    (bin_dir / "python").write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    (bin_dir / "python").chmod(0o755)
    assert shutil.which("git", path=str(bin_dir)) is None
    done = repo.run("python", "train.py", env=repo.env | {"PATH": str(bin_dir)})
    assert done.returncode == 0, done.stderr
    run_id = _run_id(done.stdout)
    with repo.client() as client:
        run = client.get_run(run_id)
        env = client.environment(run_id)
    assert run.status is RunStatus.FINISHED
    assert run.metrics["accuracy"].count == 1
    assert env["code"]["git"] is None
    assert [e["probe"] for e in env["errors"]] == ["code"]
    assert "git" in env["errors"][0]["step"]
    assert env["packages"]["distributions"]["scikit-learn"] == version("scikit-learn")


def test_a_capture_that_cannot_start_is_a_warning(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The working directory vanished: no capture, a warning, and the run goes on."""
    settings = Settings(home=tmp_path / "home", system_metrics_interval=0, flush_interval=0.05)
    gone = tmp_path / "gone"
    gone.mkdir()
    os.chdir(gone)
    gone.rmdir()
    with (
        caplog.at_level(logging.WARNING, logger="shipyard.sdk"),
        shipyard.start_run(project="p", settings=settings) as run,
    ):
        run.log_metrics({"loss": 0.5})
    os.chdir(tmp_path)
    assert "could not start the environment capture" in caplog.text
    with Client(settings=settings) as client:
        assert client.get_run(run.id).status is RunStatus.FINISHED
        with pytest.raises(NotFound, match="has no captured environment") as caught:
            client.environment(run.id)
    assert caught.value.hint is not None
    assert "SHIPYARD_CAPTURE" in caught.value.hint


def test_capture_off_stores_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PYTHONHASHSEED", "0")  # seed_everything sets it: restored afterwards
    monkeypatch.setenv("SHIPYARD_CAPTURE", "0")
    monkeypatch.setenv("SHIPYARD_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SHIPYARD_SYSTEM_METRICS_INTERVAL", "0")
    with shipyard.start_run(project="p") as run:
        shipyard.seed_everything(3)
    with Client() as client:
        stored = client.get_run(run.id)
        assert list(client.list_artifacts(run.id)) == []
    assert stored.params == {"seed": 3}  # seeds are recorded either way
    assert stored.tags == {"shipyard.seed": "3", "shipyard.seed.deterministic": "false"}


# -- against a real server process -------------------------------------------------------------
@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    port = free_port()
    command = [sys.executable, "-m", "shipyard.server", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--store", f"sqlite:///{(tmp_path / 'server.db').as_posix()}"]
    command += ["--artifacts", str(tmp_path / "server-artifacts"), "--log-level", "warning"]
    log = (tmp_path / "server.log").open("wb")
    process = subprocess.Popen(command, stdout=log, stderr=log)
    try:
        wait_for_port(port, timeout=60)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def test_shipyard_run_against_a_server(repo: Repo, server: str, tmp_path: Path) -> None:
    env = repo.env | {"SHIPYARD_TRACKING_URI": server}
    done = repo.run(*CLI, "run", "--project", "iris", "--", "python", "train.py", env=env)
    assert done.returncode == 0, done.stderr
    run_id = _run_id(done.stdout)
    settings = Settings(tracking_uri=server, home=tmp_path / "client", system_metrics_interval=0)
    with Client(settings=settings) as client:
        run = client.get_run(run_id)
        env_record = client.environment(run_id)
        assert run.status is RunStatus.FINISHED
        _assert_complete_environment(env_record, repo)
        assert env_record["command"] == ["python", "train.py"]
        _assert_patch_rebuilds_tree(client, run_id, repo, tmp_path)
        bare = shipyard.start_run(
            project="iris", settings=settings.model_copy(update={"capture": False})
        )
        bare.finish()
    with httpx.Client(base_url=server, timeout=30) as http:
        response = http.get(f"/api/v1/runs/{run_id}/environment")
        assert response.status_code == 200
        assert response.json() == env_record
        missing = http.get(f"/api/v1/runs/{bare.id}/environment")
        assert missing.status_code == 404
        error = missing.json()["error"]
        assert error["code"] == "not_found"
        assert f"run {bare.id} has no captured environment" in error["message"]
        unknown = http.get(f"/api/v1/runs/{'0' * 32}/environment")
        assert unknown.status_code == 404
    # The local spool folder keeps itself out of git (and out of the patches runs capture).
    status = git(repo.root, repo.env, "status", "--porcelain", "--untracked-files=all")
    assert sorted(line.strip() for line in status.splitlines()) == ["?? notes.md", "M train.py"]


def test_the_capture_is_stored_before_the_run_ends(repo: Repo, tmp_path: Path) -> None:
    """start_run does not wait for the capture (benchmarks/bench_capture.py measures it); finish
    does, so a run that ends at once still has its environment."""
    os.chdir(repo.root)
    for capture in (True, False):
        settings = Settings(home=tmp_path / "home", system_metrics_interval=0, capture=capture)
        run = shipyard.start_run(project="quick", settings=settings)
        run.finish()
        with Client(settings=settings) as client:
            paths = [a.path for a in client.list_artifacts(run.id)]
            assert run.status is RunStatus.FINISHED
        assert paths == ([PATCH_ARTIFACT, ENVIRONMENT_ARTIFACT] if capture else [])
