"""The code probe against real git repositories: the captured patch rebuilds the working tree."""

from __future__ import annotations

import os
import stat
import subprocess
from collections.abc import Set as AbstractSet
from pathlib import Path

import pytest

from shipyard.capture import capture_code, capture_environment, summarize

MIB = 1 << 20


@pytest.fixture(autouse=True)
def _git_identity(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Commits work without a user config, and the developer's git config cannot leak in."""
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


def make_repo(path: Path, files: dict[str, bytes]) -> str:
    """A repository with ``files`` committed on ``main``; returns the commit."""
    path.mkdir(parents=True)
    git(path, "init", "-q", "-b", "main")
    for name, data in files.items():
        (path / name).parent.mkdir(parents=True, exist_ok=True)
        (path / name).write_bytes(data)
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "initial")
    return git(path, "rev-parse", "HEAD")


def tree_state(
    root: Path, leave_out: AbstractSet[str] = frozenset()
) -> dict[str, tuple[str, bytes]]:
    """Every file under root (but .git): kind (file, exec, link) and content (or link target)."""
    state: dict[str, tuple[str, bytes]] = {}
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root).as_posix()
        if rel == ".git" or rel.startswith(".git/") or rel in leave_out or path.is_dir():
            continue
        if path.is_symlink():
            state[rel] = ("link", os.readlink(path).encode())
        else:
            executable = bool(path.stat().st_mode & stat.S_IXUSR)
            state[rel] = ("exec" if executable else "file", path.read_bytes())
    return state


def replay(repo: Path, commit: str, patch: str, dest: Path) -> None:
    """Clone ``repo`` at ``commit`` into ``dest`` and apply ``patch`` with ``git apply``."""
    git(repo.parent, "clone", "-q", str(repo), str(dest))
    git(dest, "checkout", "-q", "--detach", commit)
    patch_file = dest.parent / f"{dest.name}.patch"
    patch_file.write_text(patch, encoding="utf-8")
    git(dest, "apply", "--check", str(patch_file))
    git(dest, "apply", str(patch_file))


@pytest.fixture
def dirty_repo(tmp_path: Path) -> tuple[Path, str]:
    """A committed repo, then: edits, a deletion, new files of every kind, and big/binary files."""
    repo = tmp_path / "repo"
    commit = make_repo(
        repo,
        {
            "train.py": b"print('v1')\n",
            "lib/model.py": b"W = 1\n" * 50,
            "gone.txt": b"bye\n",
            "weights.bin": b"\x00\x01\x02" * 100,
            "data/big.csv": b"a,b\n" * 300_000,  # 1.2 MB tracked text
        },
    )
    (repo / ".gitignore").write_text("*.log\n")
    (repo / "train.py").write_text("print('v2')\nprint('more')\n")
    (repo / "lib/model.py").write_bytes(b"W = 1\n" * 25 + b"W = 2\n" + b"W = 1\n" * 24)
    (repo / "gone.txt").unlink()
    (repo / "weights.bin").write_bytes(b"\x00\x09\x02" * 100)
    (repo / "data/big.csv").write_bytes(b"a,b\n" * 300_001)
    (repo / "notes dir").mkdir()
    (repo / "notes dir/ünïcode *name.md").write_text("# notes\nno newline at end")
    (repo / "run.sh").write_text("#!/bin/sh\necho hi\n")
    (repo / "run.sh").chmod(0o755)
    (repo / "empty.txt").write_bytes(b"")
    (repo / "link.py").symlink_to("train.py")
    (repo / "blob.dat").write_bytes(os.urandom(4096) + b"\x00")
    (repo / "huge.bin").write_bytes(b"\x00" * (2 * MIB))
    (repo / "debug.log").write_text("ignored\n")
    return repo, commit


def test_dirty_repo_fields(dirty_repo: tuple[Path, str]) -> None:
    repo, commit = dirty_repo
    code = capture_code(repo / "lib", ["train.py", "--epochs", "3"])
    info = code["git"]
    assert code["errors"] == []
    assert info["root"] == str(repo.resolve())
    assert info["commit"] == commit
    assert info["branch"] == "main"
    assert info["detached"] is False
    assert info["dirty"] is True
    assert info["cwd_relative"] == "lib"
    assert info["remote_url"] is None
    assert info["remotes"] == {}
    skipped = {entry["path"]: entry for entry in info["skipped"]}
    assert skipped["huge.bin"]["reason"] == "too_large"
    assert skipped["huge.bin"]["size"] == 2 * MIB
    assert skipped["data/big.csv"]["reason"] == "too_large"
    assert skipped["blob.dat"]["reason"] == "binary"
    assert skipped["weights.bin"]["reason"] == "binary"
    assert "debug.log" not in skipped
    assert info["patch_complete"] is False
    assert set(info["patch_files"]) == {
        ".gitignore",
        "train.py",
        "lib/model.py",
        "gone.txt",
        "notes dir/ünïcode *name.md",
        "run.sh",
        "empty.txt",
        "link.py",
    }
    assert info["patch_bytes"] == len(info["patch"].encode())
    assert len(info["patch_sha256"]) == 64
    assert code["entry_point"]["argv"] == ["train.py", "--epochs", "3"]


def test_patch_rebuilds_working_tree(dirty_repo: tuple[Path, str], tmp_path: Path) -> None:
    repo, commit = dirty_repo
    info = capture_code(repo, ["train.py"])["git"]
    replay(repo, commit, info["patch"], tmp_path / "replayed")
    leave_out = {entry["path"] for entry in info["skipped"]} | {"debug.log"}
    assert tree_state(tmp_path / "replayed", leave_out) == tree_state(repo, leave_out)


def test_capture_leaves_the_index_alone(dirty_repo: tuple[Path, str]) -> None:
    repo, _ = dirty_repo
    status_before = git(repo, "status", "--porcelain")  # refreshes (rewrites) the index
    before = (repo / ".git/index").read_bytes()
    capture_code(repo, [])
    assert (repo / ".git/index").read_bytes() == before
    assert git(repo, "status", "--porcelain") == status_before
    assert "?? run.sh" in status_before


def test_clean_repo_has_no_patch(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    commit = make_repo(repo, {"a.py": b"x = 1\n"})
    info = capture_code(repo, ["a.py"])["git"]
    assert info["commit"] == commit
    assert info["dirty"] is False
    assert info["patch"] == ""
    assert info["patch_sha256"] is None
    assert info["skipped"] == []
    assert info["patch_complete"] is True


def test_entry_point_is_resolved_against_the_repository(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    make_repo(repo, {"src/train.py": b"pass\n"})
    entry = capture_code(repo / "src", ["train.py", "--fast"])["entry_point"]
    assert entry["script"] == str((repo / "src/train.py").resolve())
    assert entry["script_relative"] == "src/train.py"
    assert entry["argv"] == ["train.py", "--fast"]


def test_remote_credentials_are_stripped(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    make_repo(repo, {"a.py": b"x = 1\n"})
    git(repo, "remote", "add", "origin", "https://alice:s3cr3t-token@github.com/org/proj.git")
    git(repo, "remote", "add", "backup", "ssh://bob:hunter2@git.example.com:2222/org/proj.git")
    git(repo, "remote", "add", "scp", "git@github.com:org/proj.git")
    info = capture_code(repo, [])["git"]
    assert info["remote_name"] == "origin"
    assert info["remote_url"] == "https://github.com/org/proj.git"
    assert info["remotes"] == {
        "origin": "https://github.com/org/proj.git",
        "backup": "ssh://bob@git.example.com:2222/org/proj.git",
        "scp": "git@github.com:org/proj.git",
    }
    assert "s3cr3t" not in str(capture_environment(cwd=repo))


def test_detached_head(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    commit = make_repo(repo, {"a.py": b"x = 1\n"})
    git(repo, "checkout", "-q", "--detach", commit)
    info = capture_code(repo, [])["git"]
    assert info["branch"] is None
    assert info["detached"] is True
    assert info["commit"] == commit


def test_not_a_repository(tmp_path: Path) -> None:
    folder = tmp_path / "plain"
    folder.mkdir()
    (folder / "job.py").write_text("pass\n")
    code = capture_code(folder, ["job.py", "-v"])
    assert code["git"] is None
    assert code["errors"] == []
    assert code["cwd"] == str(folder.resolve())
    assert code["entry_point"]["script"] == str((folder / "job.py").resolve())
    assert code["entry_point"]["script_relative"] is None


def test_repository_without_commits(tmp_path: Path) -> None:
    repo = tmp_path / "fresh"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    (repo / "first.py").write_text("print(1)\n")
    info = capture_code(repo, [])["git"]
    assert info["commit"] is None
    assert info["branch"] == "main"
    assert info["dirty"] is True
    assert info["patch_files"] == ["first.py"]
    assert "+print(1)" in info["patch"]


def test_total_cap_keeps_a_patch_that_applies(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    names = [f"m{i:02d}.txt" for i in range(40)]
    commit = make_repo(repo, dict.fromkeys(names, b"old line\n" * 2000))
    for name in names:
        (repo / name).write_bytes(b"new line\n" * 2000)
    (repo / "zz_new.txt").write_text("fresh\n" * 3000)
    info = capture_code(repo, [], diff_cap_bytes=100_000, file_cap_bytes=64 * 1024)["git"]
    accounted = set(info["patch_files"]) | {entry["path"] for entry in info["skipped"]}
    assert accounted == {*names, "zz_new.txt"}
    assert {entry["reason"] for entry in info["skipped"]} == {"total_cap"}
    assert 0 < info["patch_bytes"] <= 100_000
    replay(repo, commit, info["patch"], tmp_path / "replayed")
    for name in info["patch_files"]:
        assert (tmp_path / "replayed" / name).read_bytes() == (repo / name).read_bytes()


def test_git_missing_is_recorded_not_raised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tmp_path / "repo"
    make_repo(repo, {"a.py": b"x = 1\n"})
    empty = tmp_path / "no-tools"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    code = capture_code(repo, ["a.py"])
    assert code["git"] is None
    assert any("git is not installed" in error["error"] for error in code["errors"])
    env = capture_environment(cwd=repo, argv=["a.py"])
    assert any(error["probe"] == "code" for error in env["errors"])
    assert env["packages"]["count"] > 0
    assert "shipyard.git.commit" not in summarize(env)


def test_environment_tags_name_the_commit(tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    commit = make_repo(repo, {"a.py": b"x = 1\n"})
    tags = summarize(capture_environment(cwd=repo, argv=["a.py"]))
    assert tags["shipyard.git.commit"] == commit
    assert tags["shipyard.git.branch"] == "main"
    assert tags["shipyard.git.dirty"] == "false"
