"""``shipyard diff`` and ``shipyard reproduce`` end to end: real git repositories, real training
scripts run as subprocesses against a real SQLite store, and the CLI as a subprocess."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from importlib.metadata import version
from pathlib import Path

import pytest

from shipyard.artifacts import open_artifact_store
from shipyard.cli import main
from shipyard.domain.entities import Run
from shipyard.repro._pyenv import find_uv
from shipyard.sdk.client import Client
from shipyard.server.app import create_app
from shipyard.settings import Settings
from shipyard.store.factory import open_store
from shipyard.testing.asgi import asgi_client

pytestmark = pytest.mark.slow  # training scripts and reproductions run as subprocesses

TRAIN = """\
import argparse

import shipyard
from sklearn.datasets import load_iris
from sklearn.linear_model import SGDClassifier
from sklearn.metrics import accuracy_score, log_loss
from sklearn.model_selection import train_test_split

ALPHA = 1e-4

parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float, default=0.01)
args = parser.parse_args()

shipyard.seed_everything(7)
X, y = load_iris(return_X_y=True)
X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.3, random_state=7)
with shipyard.start_run(project="iris", name="sgd") as run:
    run.log_params({"lr": args.lr, "alpha": ALPHA})
    model = SGDClassifier(loss="log_loss", alpha=ALPHA, learning_rate="constant", eta0=args.lr)
    for epoch in range(4):
        model.partial_fit(X_train, y_train, classes=[0, 1, 2])
        proba = model.predict_proba(X_test)
        accuracy = accuracy_score(y_test, proba.argmax(axis=1))
        run.log_metrics({"accuracy": accuracy, "loss": log_loss(y_test, proba)}, step=epoch)
"""

NOISY = """\
import random

import shipyard

with shipyard.start_run(project="noise", name="noisy") as run:
    for step in range(3):
        run.log_metrics({"score": random.random(), "steps": step}, step=step)
"""

PINNED = """\
import shipyard

with shipyard.start_run(project="pinned", name="pinned") as run:
    folder = run.use_dataset("points")
    run.log_metrics({"value": float((folder / "value.txt").read_text())})
"""

CONSTANT = """\
import shipyard

with shipyard.start_run(project="const", name="const") as run:
    run.log_metrics({"value": 1.5})
"""


@dataclass
class Workspace:
    """A tracking home shared by scripts and the CLI, with a clean environment for both."""

    root: Path

    @property
    def home(self) -> Path:
        return self.root / "home"

    @property
    def tmp(self) -> Path:
        folder = self.root / "tmp"
        folder.mkdir(exist_ok=True)
        return folder

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
        env.update(
            SHIPYARD_HOME=str(self.home),
            SHIPYARD_SYSTEM_METRICS_INTERVAL="0",
            GIT_AUTHOR_NAME="Test",
            GIT_AUTHOR_EMAIL="test@example.com",
            GIT_COMMITTER_NAME="Test",
            GIT_COMMITTER_EMAIL="test@example.com",
            GIT_CONFIG_GLOBAL=str(self.root / "gitconfig"),
            GIT_CONFIG_NOSYSTEM="1",
            COLUMNS="200",
            TMPDIR=str(self.tmp),  # default reproduction folders land inside the test's folder
        )
        env.update(extra)
        return env

    def git(self, repo: Path, *args: str) -> str:
        done = subprocess.run(
            ["git", *args], cwd=repo, env=self.env(), capture_output=True, text=True, check=True
        )
        return done.stdout.strip()

    def repo(self, name: str, files: dict[str, str]) -> Path:
        repo = self.root / name
        repo.mkdir()
        self.git(repo, "init", "-q", "-b", "main")
        for path, text in files.items():
            (repo / path).write_text(text)
        self.git(repo, "add", "-A")
        self.git(repo, "commit", "-q", "-m", "initial")
        return repo

    def python(self, repo: Path, *args: str) -> None:
        done = subprocess.run(
            [sys.executable, *args], cwd=repo, env=self.env(), capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr

    def cli(self, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "shipyard.cli", *args],
            cwd=self.root,
            env=self.env(**extra),
            capture_output=True,
            text=True,
            timeout=600,
        )

    def main(
        self, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], *args: str
    ) -> tuple[int, str, str]:
        """The CLI in-process (no interpreter start-up) for commands that start no child."""
        for key, value in self.env().items():
            if key.startswith(("SHIPYARD_", "GIT_", "COLUMNS")):
                monkeypatch.setenv(key, value)
        monkeypatch.chdir(self.root)
        with pytest.raises(SystemExit) as info:
            main(list(args))
        captured = capsys.readouterr()
        code = info.value.code
        return (code if isinstance(code, int) else 1), captured.out, captured.err

    def client(self) -> Client:
        return Client(settings=Settings(home=self.home, tracking_uri=None))

    def runs(self, project: str) -> list[Run]:
        with self.client() as client:
            return list(client.iter_runs(project, order_by="start_time"))


@dataclass
class Iris:
    """Run A (clean, lr 0.1) and run B (lr 0.05, ALPHA edited, an untracked file) of one repo."""

    ws: Workspace
    repo: Path
    a: Run
    b: Run


@pytest.fixture(scope="module")
def iris(tmp_path_factory: pytest.TempPathFactory) -> Iris:
    ws = Workspace(tmp_path_factory.mktemp("repro"))
    repo = ws.repo("iris", {"train.py": TRAIN})
    ws.python(repo, "train.py", "--lr", "0.1")
    (repo / "train.py").write_text(TRAIN.replace("ALPHA = 1e-4", "ALPHA = 1e-3"))
    (repo / "notes.txt").write_text("alpha 1e-3 looks better\n")
    ws.python(repo, "train.py", "--lr", "0.05")
    a, b = ws.runs("iris")
    return Iris(ws, repo, a, b)


def reproduced_runs(ws: Workspace, project: str, original: str) -> list[Run]:
    return [r for r in ws.runs(project) if r.tags.get("shipyard.reproduction_of") == original]


# -- diff ----------------------------------------------------------------------------------------
def test_diff_json_shows_the_code_and_param_changes(iris: Iris) -> None:
    objects = iris.ws.git(iris.repo, "count-objects", "-v")
    done = iris.ws.cli("diff", iris.a.id, iris.b.id[:12], "--json")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    assert (data["a"]["id"], data["b"]["id"]) == (iris.a.id, iris.b.id)
    code = data["code"]
    assert code["method"] == "git"
    assert code["same_commit"] is True
    assert (code["a"]["dirty"], code["b"]["dirty"]) == (False, True)
    assert "-ALPHA = 1e-4\n+ALPHA = 1e-3\n" in code["patch"]
    assert "+alpha 1e-3 looks better\n" in code["patch"]
    assert sorted(code["files"]) == ["notes.txt", "train.py"]
    assert data["params"]["changed"] == {
        "alpha": {"a": 1e-4, "b": 1e-3},
        "lr": {"a": 0.1, "b": 0.05},
    }
    assert data["packages"]["same"] is True
    assert [m["key"] for m in data["metrics"]] == ["accuracy", "loss"]
    assert all(f["same"] for f in data["hardware"])
    assert iris.ws.git(iris.repo, "count-objects", "-v") == objects  # nothing written to it


def test_diff_renders_every_section(
    iris: Iris, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = iris.ws.main(monkeypatch, capsys, "diff", iris.a.id, iris.b.id)
    assert code == 0, err
    for title in ("code", "params", "packages", "environment", "hardware", "datasets", "metrics"):
        assert f"\n{title}\n" in out
    assert "+ALPHA = 1e-3" in out
    assert "2 file(s) differ: notes.txt, train.py" in out
    assert "all 2 compared values" not in out
    args = ("diff", iris.a.id, iris.b.id, "--metrics-only")
    code, out, err = iris.ws.main(monkeypatch, capsys, *args)
    assert code == 0, err
    assert "\nmetrics\n" in out
    assert "ALPHA" not in out


def test_diff_of_an_unknown_run_is_an_error(
    iris: Iris, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = iris.ws.main(monkeypatch, capsys, "diff", iris.a.id, "f" * 32)
    assert code == 1
    assert err.startswith("error:")
    assert "f" * 32 in err


def test_the_diff_route_serves_the_same_document(iris: Iris) -> None:
    store = open_store(f"sqlite:///{iris.ws.home / 'shipyard.db'}")
    app = create_app(store, open_artifact_store(str(iris.ws.home / "artifacts")))
    try:
        with asgi_client(app) as http:
            response = http.get("/api/v1/runs/diff", params={"a": iris.a.id, "b": iris.b.id})
            assert response.status_code == 200, response.text
            data = response.json()
            run = http.get(f"/api/v1/runs/{iris.b.id}")
            missing = http.get("/api/v1/runs/diff", params={"a": iris.a.id, "b": "0" * 32})
    finally:
        store.close()
    assert data["params"]["changed"]["lr"] == {"a": 0.1, "b": 0.05}
    assert data["packages"]["same"] is True
    assert data["code"]["method"] == "patches"  # the server does not read git repositories
    assert "+ALPHA = 1e-3" in data["code"]["patch"]
    assert run.status_code == 200
    assert run.json()["id"] == iris.b.id
    assert missing.status_code == 404
    assert "0" * 32 in missing.json()["error"]["message"]


# -- reproduce -----------------------------------------------------------------------------------
def test_reproduce_a_clean_run_and_verify(iris: Iris) -> None:
    done = iris.ws.cli("reproduce", iris.a.id, "--verify", "--env", "current")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"commit     {iris.a.tags['shipyard.git.commit']}" in done.stdout
    assert "✓ reproduced: all 6 metric values match" in done.stdout
    (new,) = reproduced_runs(iris.ws, "iris", iris.a.id)
    assert new.name == "sgd (repro)"
    assert {k: m.last for k, m in new.metrics.items()} == {
        k: m.last for k, m in iris.a.metrics.items()
    }
    assert new.params == iris.a.params


def test_reproduce_a_run_with_uncommitted_changes(iris: Iris, tmp_path: Path) -> None:
    workdir = tmp_path / "rebuild"
    done = iris.ws.cli(
        "reproduce", iris.b.id, "--verify", "--env", "current", "--workdir", str(workdir), "--json"
    )
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["verified"] is True
    assert report["succeeded"] is True
    assert report["code"]["patch_applied"] is True
    assert report["code"]["exact"] is True
    assert report["variables"] == {"PYTHONHASHSEED": "7"}
    assert all(check["ok"] for check in report["checks"])
    code = workdir / "code"
    assert "ALPHA = 1e-3" in (code / "train.py").read_text()
    assert (code / "notes.txt").read_text() == "alpha 1e-3 looks better\n"
    (new,) = reproduced_runs(iris.ws, "iris", iris.b.id)
    assert new.id == report["run_id"]
    assert new.params == iris.b.params


def test_recorded_environment_dry_run_prints_the_install_plan(
    iris: Iris, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    workdir = tmp_path / "never"
    args = ["reproduce", iris.a.id, "--env", "recorded", "--dry-run", "--workdir", str(workdir)]
    code, out, err = iris.ws.main(monkeypatch, capsys, *args, "--json")
    assert code == 0, err
    plan = json.loads(out)
    assert plan["dry_run"] is True
    assert plan["run_id"] is None
    python = plan["python"]
    assert python["mode"] == "recorded"
    assert python["venv"] == str(workdir / "venv")
    sklearn = f"scikit-learn=={version('scikit-learn')}"
    assert sklearn in python["requirements"]
    assert not any(line.startswith("shipyard") for line in python["requirements"])
    assert python["shipyard"]  # the running Shipyard is installed instead
    assert not workdir.exists()
    code, out, err = iris.ws.main(monkeypatch, capsys, *args)
    assert code == 0, err
    assert "dry run: nothing was created" in out
    assert "install plan:" in out
    assert f"  {sklearn}\n" in out
    assert not workdir.exists()


def test_reproduce_in_the_recorded_environment(iris: Iris, tmp_path: Path) -> None:
    uv = find_uv()
    if uv is None:
        pytest.skip("uv is not installed (scripts/_env.sh installs it into .tools/)")
    workdir = tmp_path / "venv-rebuild"
    args = ["--env", "recorded", "--verify", "--workdir", str(workdir), "--json"]
    done = iris.ws.cli(
        "reproduce",
        iris.a.id,
        *args,
        # uv reads the package index (the wheels themselves mostly come from its cache); offline
        # it would need the index pages cached too, which only an earlier online resolve leaves
        PATH=f"{uv.parent}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["python"]["tool"] == "uv"
    assert report["python"]["failed"] == []
    assert report["verified"] is True
    venv_python = workdir / "venv" / "bin" / "python"
    assert report["python"]["python"] == str(venv_python)
    listed = subprocess.run(
        [str(venv_python), "-c", "import sklearn, shipyard; print(sklearn.__version__)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert listed.stdout.strip() == version("scikit-learn")


@pytest.fixture
def workspace(tmp_path: Path) -> Workspace:
    return Workspace(tmp_path)


def test_a_non_deterministic_run_fails_verification(workspace: Workspace) -> None:
    repo = workspace.repo("noise", {"noisy.py": NOISY})
    workspace.python(repo, "noisy.py")
    (original,) = workspace.runs("noise")
    done = workspace.cli("reproduce", original.id, "--verify")
    assert done.returncode == 1, done.stdout + done.stderr
    out = done.stdout
    assert "verification (exact match)" in out
    score_rows = [line for line in out.splitlines() if line.startswith("score")]
    assert len(score_rows) == 3
    assert all(row.rstrip().endswith("✗") for row in score_rows)
    steps_rows = [line for line in out.splitlines() if line.startswith("steps")]
    assert all(row.rstrip().endswith("✓") for row in steps_rows)
    assert (
        "✗ not reproduced: 3 of 6 metric values differ: score (last), score (min), score (max)"
        in out
    )
    assert len(reproduced_runs(workspace, "noise", original.id)) == 1  # the run itself succeeded


def test_dataset_versions_are_pinned(workspace: Workspace) -> None:
    repo = workspace.repo("pinned", {"pinned.py": PINNED})
    data = workspace.root / "points"
    data.mkdir()
    (data / "value.txt").write_text("1.0\n")
    with workspace.client() as client:
        client.add_dataset("points", data, "first")
    workspace.python(repo, "pinned.py")
    (original,) = workspace.runs("pinned")
    (data / "value.txt").write_text("2.0\n")
    with workspace.client() as client:
        assert client.add_dataset("points", data, "second").version == 2
    done = workspace.cli("reproduce", original.id, "--verify", "--json")
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["dataset_pins"] == {"points": 1}
    assert report["verified"] is True  # version 1 again, not the latest (2)
    with workspace.client() as client:
        used = client.backend.store.list_run_inputs(report["run_id"])
    assert [(i.name, i.version) for i in used] == [("points", "1")]


def test_a_missing_commit_is_a_clear_error(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    repo = workspace.repo("const", {"const.py": CONSTANT})
    (repo / "const.py").write_text(CONSTANT + "# tuned\n")
    workspace.git(repo, "commit", "-q", "-am", "tune")
    workspace.python(repo, "const.py")
    (original,) = workspace.runs("const")
    commit = original.tags["shipyard.git.commit"]
    workspace.git(repo, "reset", "-q", "--hard", "HEAD~1")
    workspace.git(repo, "reflog", "expire", "--expire=now", "--all")
    workspace.git(repo, "gc", "-q", "--prune=now")
    monkeypatch.setattr(tempfile, "tempdir", str(workspace.tmp))
    code, _, err = workspace.main(monkeypatch, capsys, "reproduce", original.id, "--verify")
    assert code == 1
    assert list(workspace.tmp.iterdir()) == []  # the folder made for the rebuild is removed
    assert f"error: commit {commit} of run {original.id} is not in {repo}" in err
    assert "hint: fetch or push that commit, or pass --allow-missing-commit" in err
    assert "Traceback" not in err
    assert reproduced_runs(workspace, "const", original.id) == []
    allowed = workspace.cli("reproduce", original.id, "--verify", "--allow-missing-commit")
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    assert f"note: commit {commit} is missing: rebuilt on origin/main" in allowed.stdout


def test_a_run_without_a_recorded_environment_cannot_be_reproduced(
    workspace: Workspace, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    with workspace.client() as client:
        run = client.backend.store.create_run("bare", name="bare")
    code, _, err = workspace.main(monkeypatch, capsys, "reproduce", run.id)
    assert code == 1
    assert f"error: run {run.id} has no environment record" in err
