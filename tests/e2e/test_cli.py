"""End-to-end tests of the ``shipyard`` command line.

Every command runs as a real subprocess (``python -m shipyard.cli``) against a real SQLite store and
local artifact folder, seeded through the store and artifact APIs. Read-only tests share one seeded
home; tests that change data get their own.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from cli_runner import Cli, clean_env, cli_server

from shipyard.artifacts import open_artifact_store
from shipyard.cli import main
from shipyard.domain.batch import IngestBatch, MetricColumns, RunEnd
from shipyard.domain.entities import Artifact, RunStatus
from shipyard.settings import Settings
from shipyard.store.factory import open_store

T0 = 1_700_000_000_000
MODEL_BYTES = os.urandom(300_000)
META = b'{"framework": "sklearn"}\n'
REPORT = b"accuracy: 0.95\n"


def _all_commands() -> list[list[str]]:
    """Every command and group of the real Typer app, so a new command is covered automatically."""
    import typer.main

    from shipyard.cli.app import app

    found: list[list[str]] = []

    def walk(command: Any, path: list[str]) -> None:
        found.append(path)
        for name, sub in sorted(getattr(command, "commands", {}).items()):
            if not sub.hidden:
                walk(sub, [*path, name])

    walk(typer.main.get_command(app), [])
    return found


HELP_COMMANDS = _all_commands()


@dataclass(frozen=True)
class Seeded:
    """A home folder with two projects, four runs and three artifacts."""

    cli: Cli
    ids: dict[str, str]


def make_cli(home: Path, cwd: Path) -> Cli:
    """A CLI runner whose embedded store lives in ``home``."""
    return Cli(cwd=cwd, env=clean_env(SHIPYARD_HOME=str(home), PYTHONWARNINGS="error"))


def _finish(store: Any, run_id: str, metrics: dict[str, list[float]], end: int | None) -> None:
    columns = {
        key: MetricColumns(list(range(len(v))), [T0 + i for i in range(len(v))], v)
        for key, v in metrics.items()
    }
    done = None if end is None else RunEnd(RunStatus.FINISHED, end)
    store.ingest(run_id, IngestBatch(f"b-{run_id}", metrics=columns, end=done))


def seed(home: Path) -> dict[str, str]:
    """Create the runs and artifacts the read-only tests look at; return run ids by name."""
    settings = Settings(home=home)
    store = open_store(settings.store_uri, auto_create=True)
    blobs = open_artifact_store(settings.artifact_uri)
    specs: list[tuple[str, str, dict[str, Any], dict[str, list[float]], int | None]] = [
        ("iris", "rf-1", {"model": "rf", "depth": 4}, {"acc": [0.8, 0.91]}, 65_000),
        ("iris", "rf-2", {"model": "rf", "depth": 8}, {"acc": [0.85, 0.95]}, 3_723_000),
        ("iris", "lr-1", {"model": "lr", "C": 0.5}, {"acc": [0.85]}, 1_500),
        ("mnist", "[bold]cnn", {"epochs": 3}, {"loss": [2.3, 0.4]}, None),
    ]
    ids = {}
    try:
        for i, (project, name, params, metrics, duration) in enumerate(specs):
            start = T0 + i * 1000
            run = store.create_run(project, name=name, user="ada", params=params, start_time=start)
            _finish(store, run.id, metrics, None if duration is None else start + duration)
            ids[name] = run.id
        store.set_tags(ids["[bold]cnn"], {"team": "vision"})
        files = {"model/model.pkl": MODEL_BYTES, "model/meta.json": META, "report.txt": REPORT}
        records = []
        for path, data in files.items():
            info = blobs.put_stream([data])
            records.append(Artifact(path, info.size, info.sha256, "application/octet-stream"))
        store.add_artifacts(ids["rf-2"], records)
    finally:
        store.close()
    return ids


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Seeded:
    """One seeded home shared by the read-only tests of this module."""
    root = tmp_path_factory.mktemp("seeded")
    ids = seed(root / ".shipyard")
    return Seeded(make_cli(root / ".shipyard", root), ids)


@pytest.fixture
def fresh(tmp_path: Path) -> Seeded:
    """A seeded home of this test's own, for tests that change data."""
    ids = seed(tmp_path / ".shipyard")
    return Seeded(make_cli(tmp_path / ".shipyard", tmp_path), ids)


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    """A CLI over an empty home in this test's folder."""
    return make_cli(tmp_path / ".shipyard", tmp_path)


# -- help, version, usage -------------------------------------------------------------------
def test_help_in_a_subprocess(cli: Cli) -> None:
    out = cli("--help").stdout
    assert "Usage: shipyard" in out
    for group in ("projects", "runs", "artifacts", "db", "sync", "server"):
        assert group in out


@pytest.mark.parametrize("command", HELP_COMMANDS, ids=lambda c: " ".join(c) or "shipyard")
def test_help_for_every_command(command: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    # In-process (the same main() the console script runs) to keep sixteen startups off the clock.
    with pytest.raises(SystemExit) as exit_info:
        main([*command, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "Usage: " in out
    assert " ".join(["shipyard", *command]) in " ".join(out.split())
    assert "Example" in out or len(command) <= 1


def test_version(cli: Cli) -> None:
    assert cli("--version").stdout.strip() == "shipyard 0.1.0"


def test_usage_errors_exit_2(cli: Cli) -> None:
    assert "--limit" in cli("runs", "list", "--limit", "0", rc=2).stderr
    assert "No such command" in cli("runs", "frobnicate", rc=2).stderr


# -- projects and runs ----------------------------------------------------------------------
def test_projects_list(seeded: Seeded) -> None:
    data = seeded.cli.json("projects", "list")
    assert [p["name"] for p in data["projects"]] == ["iris", "mnist"]
    table = seeded.cli("projects", "list").stdout
    assert "iris" in table
    assert "mnist" in table


def test_runs_list_filter_order_json(seeded: Seeded) -> None:
    data = seeded.cli.json(
        "runs", "list", "-p", "iris", "--filter", "metrics.acc > 0.88", "--order-by", "-metrics.acc"
    )
    runs = data["runs"]
    assert [r["name"] for r in runs] == ["rf-2", "rf-1"]
    assert runs[0]["id"] == seeded.ids["rf-2"]
    assert runs[0]["metrics"]["acc"]["last"] == pytest.approx(0.95)
    assert runs[0]["params"] == {"model": "rf", "depth": 8}
    assert runs[0]["duration_ms"] == 3_723_000
    assert data["next_page_token"] is None


def test_runs_list_order_by_param_ascending(seeded: Seeded) -> None:
    data = seeded.cli.json(
        "runs", "list", "-p", "iris", "-o", "params.depth", "-f", "params.model = 'rf'"
    )
    assert [r["params"]["depth"] for r in data["runs"]] == [4, 8]


def test_runs_list_table(seeded: Seeded) -> None:
    out = seeded.cli("runs", "list", "--columns", "params.model,metrics.acc,tags.team").stdout
    header = out.splitlines()[0]
    for column in ("id", "project", "name", "status", "duration", "params.model", "metrics.acc"):
        assert column in header
    assert "[bold]cnn" in out  # user data is never read as Rich markup
    assert "0.95" in out
    assert "1h 02m" in out  # rf-2 ran 3,723 s
    assert "vision" in out
    assert "\x1b" not in out  # a pipe gets no escape codes


def test_runs_list_default_columns(seeded: Seeded) -> None:
    out = seeded.cli("runs", "list", "-p", "iris").stdout
    assert "params.model" in out
    assert "metrics.acc" in out
    assert "project" not in out.splitlines()[0]  # one project asked for: no project column


def test_runs_list_pages(seeded: Seeded) -> None:
    first = seeded.cli.json("runs", "list", "-p", "iris", "--limit", "2")
    token = first["next_page_token"]
    assert len(first["runs"]) == 2
    assert token
    rest = seeded.cli.json("runs", "list", "-p", "iris", "--limit", "2", "--page-token", token)
    assert len(rest["runs"]) == 1
    assert rest["next_page_token"] is None
    names = {r["name"] for r in first["runs"] + rest["runs"]}
    assert names == {"rf-1", "rf-2", "lr-1"}
    every = seeded.cli.json("runs", "list", "-p", "iris", "--limit", "1", "--all")
    assert {r["name"] for r in every["runs"]} == names
    assert "--page-token" in seeded.cli("runs", "list", "-p", "iris", "--limit", "2").stdout


def test_filter_syntax_error(seeded: Seeded) -> None:
    proc = seeded.cli("runs", "list", "--filter", "metrics.acc >> 0.9", rc=1)
    assert proc.stderr.startswith("error:")
    assert "position 13" in proc.stderr
    assert "metrics.acc >> 0.9\n" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""
    debug = seeded.cli("--debug", "runs", "list", "--filter", "metrics.acc >> 0.9", rc=1)
    assert "Traceback" in debug.stderr
    assert "error:" in debug.stderr


def test_unknown_column_is_an_error(seeded: Seeded) -> None:
    proc = seeded.cli("runs", "list", "--columns", "lr", rc=1)
    assert "error: unknown column 'lr'" in proc.stderr
    assert "hint:" in proc.stderr


def test_runs_show_by_prefix(seeded: Seeded) -> None:
    run_id = seeded.ids["rf-2"]
    others = [i for name, i in seeded.ids.items() if name != "rf-2"]
    unique = next(n for n in range(6, 33) if all(not o.startswith(run_id[:n]) for o in others))
    data = seeded.cli.json("runs", "show", run_id[:unique])
    assert data["id"] == run_id
    assert data["name"] == "rf-2"
    out = seeded.cli("runs", "show", run_id).stdout
    for text in (run_id, "rf-2", "FINISHED", "depth", "acc", "0.95", "ada"):
        assert text in out


def test_runs_show_ambiguous_short_and_unknown(seeded: Seeded) -> None:
    # Ids start with their creation time: runs made together share their first characters.
    prefix = seeded.ids["rf-1"][:6]
    sharing = [run_id for run_id in seeded.ids.values() if run_id.startswith(prefix)]
    assert len(sharing) > 1
    ambiguous = seeded.cli("runs", "show", prefix, rc=1).stderr
    assert f"error: run id prefix '{prefix}' is ambiguous" in ambiguous
    assert all(run_id in ambiguous for run_id in sharing)
    assert "too short" in seeded.cli("runs", "show", "abc", rc=1).stderr
    assert "not a run id" in seeded.cli("runs", "show", "hello-world", rc=1).stderr
    unknown = seeded.cli("runs", "show", "f" * 32, rc=1).stderr
    assert unknown.startswith("error:")
    assert "Traceback" not in unknown


def test_delete_and_restore(fresh: Seeded) -> None:
    run_id = fresh.ids["lr-1"]
    assert "deleted run" in fresh.cli("runs", "delete", run_id).stdout
    listed = fresh.cli.json("runs", "list", "-p", "iris")
    assert run_id not in {r["id"] for r in listed["runs"]}
    with_deleted = fresh.cli.json("runs", "list", "-p", "iris", "--deleted")
    assert {r["id"]: r["deleted"] for r in with_deleted["runs"]}[run_id] is True
    assert fresh.cli.json("runs", "show", run_id)["deleted"] is True
    assert "restored run" in fresh.cli("runs", "restore", run_id).stdout
    listed = fresh.cli.json("runs", "list", "-p", "iris")
    assert run_id in {r["id"] for r in listed["runs"]}


# -- artifacts ------------------------------------------------------------------------------
def test_artifacts_ls(seeded: Seeded) -> None:
    run_id = seeded.ids["rf-2"]
    data = seeded.cli.json("artifacts", "ls", run_id)
    assert [a["path"] for a in data["artifacts"]] == [
        "model/meta.json",
        "model/model.pkl",
        "report.txt",
    ]
    assert {a["path"]: a["size"] for a in data["artifacts"]}["model/model.pkl"] == 300_000
    folder = seeded.cli.json("artifacts", "ls", run_id, "model/")
    assert len(folder["artifacts"]) == 2
    table = seeded.cli("artifacts", "ls", run_id).stdout
    assert "model/model.pkl" in table
    assert "293.0 KiB" in table
    assert "has no artifacts" in seeded.cli("artifacts", "ls", seeded.ids["rf-1"]).stdout


def test_artifacts_get(seeded: Seeded, tmp_path: Path) -> None:
    run_id = seeded.ids["rf-2"]
    out = seeded.cli("artifacts", "get", run_id, "--dest", str(tmp_path / "all")).stdout
    assert "downloaded 3 files" in out
    assert (tmp_path / "all" / "model" / "model.pkl").read_bytes() == MODEL_BYTES
    assert (tmp_path / "all" / "model" / "meta.json").read_bytes() == META
    assert (tmp_path / "all" / "report.txt").read_bytes() == REPORT
    seeded.cli("artifacts", "get", run_id, "report.txt", "--dest", str(tmp_path / "one"))
    assert [p.name for p in (tmp_path / "one").rglob("*") if p.is_file()] == ["report.txt"]
    seeded.cli("artifacts", "get", run_id, "model/", "--dest", str(tmp_path / "model"))
    assert sorted(p.name for p in (tmp_path / "model").iterdir()) == ["meta.json", "model.pkl"]
    assert (tmp_path / "model" / "model.pkl").read_bytes() == MODEL_BYTES
    missing = seeded.cli("artifacts", "get", run_id, "nope/", "--dest", str(tmp_path), rc=1)
    assert "has no artifacts under 'nope/'" in missing.stderr


# -- db, sync, server -----------------------------------------------------------------------
def test_db_upgrade_and_current(cli: Cli, tmp_path: Path) -> None:
    from shipyard.store.sql.migrate import head_revision

    head = head_revision()
    uri = f"sqlite:///{(tmp_path / 'fresh.db').as_posix()}"
    before = cli.json("db", "current", "--store", uri)
    assert before["revision"] is None
    assert before["head"] == head
    assert not (tmp_path / "fresh.db").exists()  # looking does not create the database
    assert head in cli("db", "upgrade", "--store", uri).stdout
    assert cli.json("db", "current", "--store", uri)["revision"] == head
    assert "(head)" in cli("db", "current", "--store", uri).stdout
    assert "already at the newest revision" in cli("db", "upgrade", "--store", uri).stdout
    cli("db", "upgrade")  # the default: the embedded store under SHIPYARD_HOME
    assert (tmp_path / ".shipyard" / "shipyard.db").exists()


def test_db_refuses_a_server_uri(cli: Cli) -> None:
    proc = cli("--tracking-uri", "http://127.0.0.1:9", "db", "current", rc=1)
    assert "is a Shipyard server, not a database" in proc.stderr
    assert "hint: pass --store" in proc.stderr


def test_sync_with_nothing_to_do(cli: Cli) -> None:
    report = cli.json("sync")
    assert report["batches_sent"] == 0
    assert report["batches_left"] == 0
    assert report["complete"] is True
    assert "nothing to sync" in cli("sync").stdout


def test_bad_setting_names_the_variable(cli: Cli) -> None:
    env = {**cli.env, "SHIPYARD_FLUSH_INTERVAL": "soon"}
    proc = Cli(cli.cwd, env)("projects", "list", rc=1)
    assert "SHIPYARD_FLUSH_INTERVAL" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.fixture
def server(seeded: Seeded) -> Iterator[str]:
    """``shipyard server`` over the seeded home, on a free port; yields its base URL."""
    with cli_server(seeded.cli) as url:
        yield url


def test_server_serves_health(server: str) -> None:
    response = httpx.get(f"{server}/api/v1/health", timeout=10)
    assert response.status_code == 200


def test_cli_against_a_server(server: str, seeded: Seeded) -> None:
    names = seeded.cli.json("--tracking-uri", server, "projects", "list")
    assert [p["name"] for p in names["projects"]] == ["iris", "mnist"]
    runs = seeded.cli.json("--tracking-uri", server, "runs", "list", "-p", "iris", "-o", "name")
    assert [r["name"] for r in runs["runs"]] == ["lr-1", "rf-1", "rf-2"]
