"""``shipyard datasets`` end to end: every command in a real subprocess on an embedded store."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from cli_runner import Cli, clean_env


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.fixture
def cli(tmp_path: Path) -> Cli:
    return Cli(tmp_path, clean_env())


@pytest.fixture
def data(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    (root / "images").mkdir(parents=True)
    (root / "labels.csv").write_text("id,label\n1,cat\n")
    (root / "images" / "1.png").write_bytes(os.urandom(4096))
    return root


def test_add_list_versions_show_and_get(cli: Cli, data: Path, tmp_path: Path) -> None:
    first = cli("datasets", "add", "pets", str(data), "-m", "first cut")
    assert "created pets@1 (2 files" in first.stdout
    v1_files = tree(data)
    assert "unchanged: pets@1" in cli("datasets", "add", "pets", str(data)).stdout
    (data / "labels.csv").write_text("id,label\n1,dog\n")
    added = cli.json("datasets", "add", "pets", str(data), "--message", "relabel")
    assert (added["ref"], added["created"], added["file_count"]) == ("pets@2", True, 2)

    listed = cli.json("datasets", "list")["datasets"]
    assert [(d["name"], d["latest"]["version"]) for d in listed] == [("pets", 2)]
    assert "pets" in cli("datasets", "list").stdout
    versions = cli.json("datasets", "versions", "pets")["versions"]
    assert [(v["version"], v["message"]) for v in versions] == [(1, "first cut"), (2, "relabel")]

    shown = cli.json("datasets", "show", "pets@1")
    assert [f["path"] for f in shown["files"]] == ["images/1.png", "labels.csv"]
    assert (shown["digest"], shown["runs"]) == (versions[0]["digest"], [])
    table = cli("datasets", "show", "pets").stdout
    assert "pets@2" in table
    assert "labels.csv" in table

    got = cli("datasets", "get", "pets@1", str(tmp_path / "restored"))
    assert "wrote pets@1 (2 files" in got.stdout
    assert tree(tmp_path / "restored") == v1_files


def test_errors_say_what_to_do(cli: Cli, data: Path, tmp_path: Path) -> None:
    bad = cli("datasets", "add", "../escape", str(data), rc=1)
    assert "error: invalid dataset name '../escape'" in bad.stderr
    assert "hint:" in bad.stderr
    assert "Traceback" not in bad.stderr
    missing = cli("datasets", "show", "nope@1", rc=1)
    assert "error: dataset 'nope' not found" in missing.stderr
    cli("datasets", "add", "pets", str(data))
    assert "no version 3" in cli("datasets", "get", "pets@3", "out", rc=1).stderr
    assert "invalid dataset version" in cli("datasets", "get", "pets@x", "out", rc=1).stderr
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "other.txt").write_text("x")
    busy = cli("datasets", "get", "pets", str(tmp_path / "busy"), rc=1)
    assert "not part of pets@1" in busy.stderr
    assert "no datasets yet" not in cli("datasets", "list").stdout


def test_help_lists_the_commands(cli: Cli) -> None:
    out = cli("datasets", "--help").stdout
    for command in ("add", "list", "versions", "get", "show"):
        assert command in out
