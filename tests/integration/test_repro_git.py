"""The code diff and the code checkout of reproductions, against real git repositories.

Patches come from the real capture layer (``capture_code``), as a run records them.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import replace
from pathlib import Path

import pytest

from shipyard.capture import capture_code
from shipyard.errors import InvalidArgument, NotFound, ShipyardError
from shipyard.repro._codediff import CodeState, diff_code
from shipyard.repro._workspace import checkout


@pytest.fixture(autouse=True)
def _git_identity(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for key, value in {
        "GIT_AUTHOR_NAME": "Test",
        "GIT_AUTHOR_EMAIL": "test@example.com",
        "GIT_COMMITTER_NAME": "Test",
        "GIT_COMMITTER_EMAIL": "test@example.com",
        "GIT_CONFIG_GLOBAL": str(tmp_path / "gitconfig"),
        "GIT_CONFIG_NOSYSTEM": "1",
    }.items():
        monkeypatch.setenv(key, value)


def git(repo: Path, *args: str) -> str:
    done = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True, check=True)
    return done.stdout.strip()


def commit_all(repo: Path, message: str) -> str:
    git(repo, "add", "-A")
    git(repo, "commit", "-q", "-m", message)
    return git(repo, "rev-parse", "HEAD")


def record(repo: Path, run_id: str) -> CodeState:
    """What a run started now in ``repo`` records: its git section and patch."""
    code = capture_code(repo, ["train.py"])
    git_section = dict(code["git"])
    patch = git_section.pop("patch")
    return CodeState.of(run_id, {"code": {"git": git_section}}, patch)


def snapshot(repo: Path) -> tuple[str, str, str]:
    """The repository's objects, index and status: what a diff must never change."""
    objects = git(repo, "count-objects", "-v")
    index = (repo / ".git" / "index").read_bytes().hex()
    return objects, index, git(repo, "status", "--porcelain=v2", "--untracked-files=all")


@pytest.fixture
def two_runs(tmp_path: Path) -> tuple[Path, CodeState, CodeState]:
    """Run A: commit 1 plus an edit of train.py. Run B: commit 2 plus a new untracked file."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "train.py").write_text("lr = 0.1\nepochs = 5\n")
    (repo / "data.csv").write_text("x,y\n1,2\n")
    commit_all(repo, "one")
    (repo / "train.py").write_text("lr = 0.1\nepochs = 7\n")
    a = record(repo, "run-a")
    git(repo, "checkout", "-q", "--", "train.py")
    (repo / "data.csv").write_text("x,y\n1,2\n3,4\n")
    commit_all(repo, "two")
    (repo / "notes.md").write_text("try a smaller lr\n")
    b = record(repo, "run-b")
    (repo / "notes.md").unlink()
    return repo, a, b


def test_tree_diff_between_two_code_states(two_runs: tuple[Path, CodeState, CodeState]) -> None:
    repo, a, b = two_runs
    before = snapshot(repo)
    diff = diff_code(a, b)
    assert diff.method == "git"
    assert diff.repo == str(repo)
    assert set(diff.files) == {"train.py", "data.csv", "notes.md"}
    assert "-epochs = 7\n+epochs = 5\n" in diff.patch  # A's uncommitted edit, undone in B
    assert "+3,4\n" in diff.patch  # B's commit
    assert "+++ b/notes.md\n@@ -0,0 +1 @@\n+try a smaller lr\n" in diff.patch  # B's new file
    assert not diff.notes
    assert snapshot(repo) == before  # no object, index entry or file was written


def test_same_code_is_identical_without_git(two_runs: tuple[Path, CodeState, CodeState]) -> None:
    _, a, _ = two_runs
    diff = diff_code(a, a, repo=Path("/nonexistent"))
    assert diff.method == "identical"
    assert diff.to_dict()["identical"] is True


def test_a_remote_is_cloned_when_the_folder_is_gone(
    two_runs: tuple[Path, CodeState, CodeState], tmp_path: Path
) -> None:
    repo, a, b = two_runs
    remote = tmp_path / "remote.git"
    git(tmp_path, "clone", "-q", "--bare", str(repo), str(remote))
    shutil.rmtree(repo)
    moved_a = replace(a, remote_url=str(remote))
    diff = diff_code(moved_a, b)
    assert diff.method == "git"
    assert diff.repo is not None
    assert not Path(diff.repo).exists()  # a temporary clone, removed afterwards
    assert "+3,4\n" in diff.patch


def test_without_a_repository_the_patches_are_compared(
    two_runs: tuple[Path, CodeState, CodeState],
) -> None:
    repo, a, b = two_runs
    shutil.rmtree(repo)
    diff = diff_code(a, b)
    assert diff.method == "patches"
    assert "++try a smaller lr" in diff.patch
    assert "-+epochs = 7" in diff.patch
    (note,) = diff.notes
    assert f"{repo} is not a git repository" in note
    assert "no remote URL was recorded" in note
    assert "pass --repo PATH" in note


def test_an_explicit_repository_is_used_first(
    two_runs: tuple[Path, CodeState, CodeState], tmp_path: Path
) -> None:
    repo, a, b = two_runs
    elsewhere = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(repo), str(elsewhere))
    shutil.rmtree(repo)
    diff = diff_code(a, b, repo=elsewhere)
    assert diff.method == "git"
    assert diff.repo == str(elsewhere)


def test_a_patch_that_does_not_apply_is_noted(two_runs: tuple[Path, CodeState, CodeState]) -> None:
    _, a, b = two_runs
    broken = replace(a, patch=a.patch.replace("epochs = 5", "epochs = 9"))
    diff = diff_code(broken, b)
    assert diff.method == "git"
    assert any("patch of run run-a does not apply" in n for n in diff.notes)
    assert "+3,4\n" in diff.patch


def test_a_large_diff_is_cut(two_runs: tuple[Path, CodeState, CodeState]) -> None:
    _, a, b = two_runs
    diff = diff_code(a, b, max_bytes=120)
    assert diff.truncated
    assert len(diff.patch.encode()) <= 120
    assert any("only the first" in n for n in diff.notes)


# -- checkout ------------------------------------------------------------------------------------
def files(root: Path) -> dict[str, bytes]:
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in root.rglob("*")
        if p.is_file() and ".git" not in p.relative_to(root).parts
    }


def test_checkout_rebuilds_the_working_tree(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "src").mkdir(parents=True)
    git(repo, "init", "-q", "-b", "main")
    (repo / "src" / "model.py").write_text("depth = 3\n")
    (repo / "gone.txt").write_text("bye\n")
    commit_all(repo, "one")
    (repo / "src" / "model.py").write_text("depth = 4\n")
    (repo / "gone.txt").unlink()
    (repo / "src" / "new_file.py").write_text("print('new')\n")
    state = replace(record(repo, "run-1"), remote_url="https://example.com/team/proj.git")
    expected = files(repo)
    result = checkout(state, tmp_path / "work" / "code", allow_missing_commit=False)
    assert files(result.path) == expected
    assert result.source == str(repo)  # the folder still holds the commit: no network
    assert git(result.path, "remote", "get-url", "origin") == state.remote_url
    assert result.checked_out == state.commit
    assert result.patch_applied
    assert result.to_dict()["exact"] is True
    assert git(repo, "status", "--porcelain").count("\n") == 2  # the original is untouched


def test_checkout_refuses_a_folder_that_is_not_empty(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "a.txt").write_text("a\n")
    commit_all(repo, "one")
    dest = tmp_path / "busy"
    dest.mkdir()
    (dest / "file").write_text("x")
    with pytest.raises(InvalidArgument, match="is not empty"):
        checkout(record(repo, "r"), dest, allow_missing_commit=False)


def test_a_missing_commit_is_a_clear_error_unless_allowed(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "a.txt").write_text("one\n")
    commit_all(repo, "one")
    (repo / "a.txt").write_text("two\n")
    commit_all(repo, "two")
    (repo / "b.txt").write_text("new\n")
    state = record(repo, "run-9")
    (repo / "b.txt").unlink()
    git(repo, "reset", "-q", "--hard", "HEAD~1")
    git(repo, "reflog", "expire", "--expire=now", "--all")
    git(repo, "gc", "-q", "--prune=now")
    assert state.commit is not None
    with pytest.raises(NotFound, match=f"commit {state.commit} of run run-9 is not in") as info:
        checkout(state, tmp_path / "w1", allow_missing_commit=False)
    assert "--allow-missing-commit" in (info.value.hint or "")
    result = checkout(state, tmp_path / "w2", allow_missing_commit=True)
    assert result.checked_out == git(repo, "rev-parse", "HEAD")
    assert (result.path / "b.txt").read_text() == "new\n"
    assert any(f"commit {state.commit} is missing" in n for n in result.notes)


def test_a_run_without_git_cannot_be_checked_out(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="recorded no git state"):
        checkout(CodeState("r0"), tmp_path / "w", allow_missing_commit=False)


def test_a_patch_that_does_not_apply_to_its_commit_stops(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "a.txt").write_text("one\n")
    commit_all(repo, "one")
    (repo / "a.txt").write_text("two\n")
    state = record(repo, "run-3")
    broken = replace(state, patch=state.patch.replace("-one", "-uno"))
    with pytest.raises(ShipyardError, match="does not apply to commit"):
        checkout(broken, tmp_path / "w", allow_missing_commit=False)
