"""Git checkouts for the workflow daemon: one bare mirror per repository URL, one detached
worktree per request.

Everything goes through the ``git`` executable (any URL it accepts works, ``file://`` included);
prompts are turned off so a private repository without credentials fails instead of hanging.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path

from shipyard.errors import InvalidArgument, Unavailable

GIT_TIMEOUT_S = 600.0
_ENV = {"GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "true", "LC_ALL": "C"}


def git(*args: str, cwd: Path | None = None, timeout: float = GIT_TIMEOUT_S) -> str:
    """Run ``git ARGS`` and return its stdout; ``Unavailable`` with git's message on failure."""
    try:
        done = subprocess.run(  # fixed executable, arguments as a list
            ["git", *args],  # git is found on PATH like any CLI would
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**os.environ, **_ENV},
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise Unavailable(f"git {args[0]} failed: {exc}", hint="is git installed?") from None
    if done.returncode != 0:
        message = done.stderr.strip().splitlines()[-1:] or ["(no message)"]
        raise Unavailable(
            f"git {args[0]} failed: {message[0][:500]}",
            hint="check that the repository URL and the commit are reachable from the hub",
        )
    return done.stdout


def mirror_dir(root: Path, repo_url: str) -> Path:
    """Where the bare mirror of ``repo_url`` lives under ``root``."""
    digest = hashlib.sha256(repo_url.encode()).hexdigest()[:20]
    return root / "repos" / f"{digest}.git"


def fetch(root: Path, repo_url: str, ref: str = "") -> Path:
    """Clone (first time) or fetch the mirror of ``repo_url``, plus ``ref`` when it is not a
    branch (``refs/pull/7/head``); returns the mirror's folder."""
    if not repo_url or repo_url.startswith("-"):
        raise InvalidArgument(f"invalid repository URL {repo_url!r}", hint="give a git URL")
    mirror = mirror_dir(root, repo_url)
    if not (mirror / "HEAD").exists():
        mirror.parent.mkdir(parents=True, exist_ok=True)
        git("clone", "--bare", "--quiet", "--", repo_url, str(mirror))
    else:
        git("fetch", "--quiet", "--prune", "origin", "+refs/heads/*:refs/heads/*", cwd=mirror)
    if ref and not ref.startswith("refs/heads/"):
        git("fetch", "--quiet", "origin", f"+{ref}:{ref}", cwd=mirror)
    return mirror


def resolve(mirror: Path, rev: str) -> str:
    """The full commit id of ``rev`` (a commit id, a branch or a ref) in the mirror."""
    return git("rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}", cwd=mirror).strip()


def worktree(mirror: Path, commit: str, dest: Path) -> Path:
    """Check ``commit`` out, detached, in a fresh worktree at ``dest``."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    git("worktree", "add", "--detach", "--force", "--quiet", str(dest), commit, cwd=mirror)
    return dest


def checkout(root: Path, repo_url: str, ref: str, commit: str, dest: Path) -> tuple[Path, str]:
    """Fetch ``repo_url`` and check out ``commit`` (or the head of ``ref`` when empty) at
    ``dest``; returns the worktree and the commit checked out."""
    mirror = fetch(root, repo_url, ref)
    target = resolve(mirror, commit or ref or "HEAD")
    return worktree(mirror, target, dest), target
