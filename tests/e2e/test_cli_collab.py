"""Collaboration commands end to end, in real subprocesses: ``projects tag|untag|note``,
``datasets tag|note``, ``runs note|comment|comments``, on the embedded store and against a real
``shipyard server``."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from cli_runner import Cli, clean_env, cli_server

from shipyard.domain.collab import MAX_COMMENT_BYTES
from shipyard.domain.datasets import ManifestEntry
from shipyard.settings import Settings
from shipyard.store.sql.store import SqlRunStore


@dataclass(frozen=True)
class Home:
    cli: Cli
    run_id: str


@pytest.fixture
def home(tmp_path: Path) -> Home:
    """A home with project ``iris`` (one run) and dataset ``iris-data``."""
    settings = Settings(home=tmp_path / ".shipyard")
    store = SqlRunStore.from_uri(settings.store_uri, auto_create=True)
    try:
        run = store.create_run("iris", name="rf-1", user="ada")
        sha = hashlib.sha256(b"x").hexdigest()
        store.create_dataset_version("iris-data", [ManifestEntry("a.csv", 1, sha)])
    finally:
        store.close()
    env = clean_env(SHIPYARD_HOME=str(settings.home), SHIPYARD_USER="ada", PYTHONWARNINGS="error")
    return Home(Cli(tmp_path, env), run.id)


def test_project_tags_and_notes(home: Home) -> None:
    cli = home.cli
    assert "tagged project iris" in cli("projects", "tag", "iris", "team=vision", "a=b=c").stdout
    cli("projects", "untag", "iris", "team")
    cli("projects", "note", "iris", "-", "--description", "Fisher", stdin="# Iris\n**bold**\n")
    found = cli.json("projects", "note", "iris")
    assert (found["notes"], found["description"], found["tags"]) == (
        "# Iris\n**bold**\n",
        "Fisher",
        {"a": "b=c"},
    )
    shown = cli("projects", "note", "iris").stdout
    assert "Iris" in shown
    assert "a=b=c" in shown
    assert "**" not in shown


def test_dataset_tags_and_notes(home: Home) -> None:
    cli = home.cli
    cli("datasets", "tag", "iris-data", "license=CC-BY-4.0", "source=uci")
    cli("datasets", "tag", "iris-data", "--remove", "source")
    cli("datasets", "note", "iris-data", "150 flowers, 3 species.")
    found = cli.json("datasets", "note", "iris-data")
    assert (found["notes"], found["tags"]) == ("150 flowers, 3 species.", {"license": "CC-BY-4.0"})


def test_run_notes_and_comments(home: Home) -> None:
    cli, prefix = home.cli, home.run_id[:12]
    cli("runs", "note", prefix, "-", stdin="Diverged after **epoch 30**.\n")
    assert cli.json("runs", "show", prefix)["notes"] == "Diverged after **epoch 30**.\n"
    assert "no comments yet" in cli("runs", "comments", prefix).stdout
    cli("runs", "comment", prefix, "Beats the baseline")
    cli("runs", "comment", prefix, "-", stdin="Promote it?\n")
    comments = cli.json("runs", "comments", prefix)["comments"]
    assert [(c["author"], c["body"]) for c in comments] == [
        ("ada", "Beats the baseline"),
        ("ada", "Promote it?\n"),
    ]
    listed = cli("runs", "comments", prefix).stdout
    assert "Beats the baseline" in listed
    assert comments[0]["id"] in listed


def test_bad_input_is_a_clean_error(home: Home) -> None:
    cli = home.cli
    proc = cli("runs", "comment", home.run_id, "x" * (MAX_COMMENT_BYTES + 1), rc=1)
    assert "16 KiB" in proc.stderr
    assert "Traceback" not in proc.stderr
    proc = cli("projects", "tag", "iris", "no-equals-sign", rc=1)
    assert "KEY=VALUE" in proc.stderr
    proc = cli("projects", "note", "nope", "text", rc=1)
    assert "project 'nope' not found" in proc.stderr
    proc = cli("datasets", "note", "nope", "text", rc=1)
    assert "dataset 'nope' not found" in proc.stderr
    proc = cli("projects", "untag", "iris", "missing", rc=1)
    assert "'missing' is not set" in proc.stderr


@pytest.fixture
def server(home: Home) -> Iterator[str]:
    """``shipyard server`` over the home, on a free port; yields its base URL."""
    with cli_server(home.cli) as url:
        yield url


def test_commands_against_a_server(home: Home, server: str) -> None:
    cli, remote = home.cli, ("--tracking-uri", server)
    cli(*remote, "runs", "comment", home.run_id, "over HTTP")
    cli(*remote, "runs", "note", home.run_id, "remote notes")
    cli(*remote, "projects", "tag", "iris", "team=vision")
    cli(*remote, "datasets", "note", "iris-data", "remote dataset notes")
    comments = cli.json(*remote, "runs", "comments", home.run_id)["comments"]
    assert [(c["author"], c["body"]) for c in comments] == [("local", "over HTTP")]
    assert cli.json("projects", "note", "iris")["tags"] == {"team": "vision"}
    assert cli.json("datasets", "note", "iris-data")["notes"] == "remote dataset notes"
    assert cli.json("runs", "show", home.run_id)["notes"] == "remote notes"
