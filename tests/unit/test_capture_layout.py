"""How a capture is stored with a run: the stored record, its tags and the relaunch command."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from shipyard.capture.layout import (
    LAUNCHER_TAG,
    NOTEBOOK_ARTIFACT,
    PATCH_ARTIFACT,
    environment_tags,
    relaunch_command,
    stored_environment,
)

ROOT = "/work/repo"


def _env(
    argv: list[str],
    script: str | None = None,
    module: str | None = None,
    cwd: str = f"{ROOT}/src",
    patch: str = "diff --git a/x b/x\n",
) -> dict[str, Any]:
    git = {"root": ROOT, "commit": "c" * 40, "branch": "main", "dirty": bool(patch)}
    git["patch"] = patch
    return {
        "schema": 1,
        "code": {
            "cwd": cwd,
            "entry_point": {"argv": argv, "script": script, "module": module},
            "git": git,
            "notebook": None,
        },
        "python": {"version": "3.11.7"},
        "packages": {"sha256": "p" * 64},
    }


def test_the_stored_record_leaves_the_patch_out_and_says_how_to_run_again() -> None:
    env = _env(["train.py"], script=f"{ROOT}/src/train.py")
    before = copy.deepcopy(env)
    record, patch = stored_environment(env, launcher="cli", command=["python", "train.py"])
    assert patch == "diff --git a/x b/x\n"
    assert "patch" not in record["code"]["git"]
    assert record["code"]["git"]["patch_artifact"] == PATCH_ARTIFACT
    assert (record["launcher"], record["command"]) == ("cli", ["python", "train.py"])
    assert env == before  # the capture itself is left alone


def test_a_clean_tree_has_no_patch_artifact() -> None:
    record, patch = stored_environment(_env(["x"], patch=""), launcher="sdk", command=None)
    assert patch == ""
    assert record["code"]["git"]["patch_artifact"] is None
    assert record["command"] is None


def test_outside_git_the_record_is_stored_as_is() -> None:
    env = _env(["x"])
    env["code"]["git"] = None
    env["code"]["notebook"] = {"path": "/nb.ipynb", "save_copy": True}
    record, patch = stored_environment(env, launcher="sdk", command=None, notebook_saved=True)
    assert (patch, record["code"]["git"]) == ("", None)
    assert record["code"]["notebook"]["copy_artifact"] == NOTEBOOK_ARTIFACT


def test_tags_are_the_summary_plus_the_launcher() -> None:
    tags = environment_tags(_env(["x"]), "sdk")
    assert tags[LAUNCHER_TAG] == "sdk"
    assert tags["shipyard.git.commit"] == "c" * 40
    assert tags["shipyard.git.dirty"] == "true"
    assert tags["shipyard.python.version"] == "3.11.7"


def test_a_script_under_the_working_directory_is_relative() -> None:
    env = _env(["train.py", "--lr", "0.1"], script=f"{ROOT}/src/train.py")
    assert relaunch_command(env, "/venv/bin/python3.11") == [
        "python3.11",
        "train.py",
        "--lr",
        "0.1",
    ]


def test_a_script_elsewhere_in_the_repository_is_relative_to_the_working_directory() -> None:
    env = _env(["../tools/train.py"], script=f"{ROOT}/tools/train.py")
    assert relaunch_command(env, "python") == ["python", "../tools/train.py"]


def test_a_script_outside_the_repository_is_absolute() -> None:
    env = _env(["/opt/train.py", "-v"], script="/opt/train.py")
    assert relaunch_command(env, "/usr/bin/python") == ["python", "/opt/train.py", "-v"]


def test_a_module_runs_with_dash_m() -> None:
    env = _env([f"{ROOT}/src/pkg/__main__.py", "--fast"], script="x", module="pkg.__main__")
    assert relaunch_command(env, "python") == ["python", "-m", "pkg", "--fast"]
    env = _env(["x"], module="pkg.train")
    assert relaunch_command(env, "python") == ["python", "-m", "pkg.train"]


def test_an_interactive_session_cannot_be_run_again() -> None:
    assert relaunch_command(_env(["-c", "print(1)"]), "python") is None
    assert relaunch_command({"code": None}, "python") is None


def test_a_notebook_runs_through_nbconvert(tmp_path: Path) -> None:
    notebook = tmp_path / "explore.ipynb"
    notebook.write_text("{}")
    env = _env(["ipykernel_launcher.py"], cwd=str(tmp_path))
    env["code"]["notebook"] = {"path": str(notebook), "save_copy": True}
    assert relaunch_command(env, "python") == [
        "jupyter",
        "nbconvert",
        "--to",
        "notebook",
        "--execute",
        "explore.ipynb",
    ]
