"""A quiet ``git`` runner for the reproducibility tools (never prompts, never pages, C locale)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Collection, Mapping
from pathlib import Path

from shipyard.errors import ShipyardError, Unavailable

DEFAULT_TIMEOUT = 60.0
_QUIET = {
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_OPTIONAL_LOCKS": "0",
    "GIT_PAGER": "cat",
    "LC_ALL": "C",
}
_MAX_STDERR = 1500


class GitError(ShipyardError):
    """A git command exited with a non-zero status (the message quotes its stderr)."""

    def __init__(self, args: list[str], status: int, stderr: str) -> None:
        super().__init__(f"`git {' '.join(args)[:200]}` exited with status {status}: {stderr}")
        self.args_list = args
        self.status = status
        self.stderr = stderr


def git(
    cwd: Path,
    *args: str,
    env: Mapping[str, str] | None = None,
    allowed: Collection[int] = (0,),
    timeout: float = DEFAULT_TIMEOUT,
) -> bytes:
    """Run ``git ARGS`` in ``cwd`` and return its stdout.

    ``env`` adds variables to this process's environment (e.g. ``GIT_INDEX_FILE``).

    Raises:
        Unavailable: git is not installed, or it ran past ``timeout`` seconds.
        GitError: it exited with a status outside ``allowed``.
    """
    try:
        done = subprocess.run(
            ["git", *args],
            cwd=cwd,
            capture_output=True,
            timeout=timeout,
            env={**os.environ, **_QUIET, **(env or {})},
            check=False,
        )
    except FileNotFoundError as exc:
        raise Unavailable("git is not installed or not on PATH", hint="install git") from exc
    except subprocess.TimeoutExpired as exc:
        raise Unavailable(f"`git {' '.join(args)[:200]}` ran past {timeout:g}s") from exc
    if done.returncode not in allowed:
        raise GitError(list(args), done.returncode, stderr_line(done.stderr))
    return done.stdout


def git_text(cwd: Path, *args: str, env: Mapping[str, str] | None = None) -> str:
    """:func:`git` with its output decoded and stripped."""
    return git(cwd, *args, env=env).decode("utf-8", errors="replace").strip()


def has_commit(repo: Path, commit: str) -> bool:
    """Whether ``repo`` holds the commit object ``commit``."""
    try:
        git(repo, "cat-file", "-e", f"{commit}^{{commit}}")
    except ShipyardError:
        return False
    return True


def is_repository(path: Path) -> bool:
    """Whether ``path`` is (inside) a git repository or a bare one."""
    if not path.is_dir():
        return False
    try:
        git(path, "rev-parse", "--git-dir")
    except ShipyardError:
        return False
    return True


def stderr_line(data: bytes) -> str:
    """A failed command's stderr as one readable line (its tail when long)."""
    text = " | ".join(data.decode("utf-8", errors="replace").strip().splitlines())
    return text[-_MAX_STDERR:] or "(no error output)"
