"""The unified diff between the code of two runs, each a commit plus its uncommitted patch.

Each side's tree is built without touching any working tree or the repository's own index and
object database: a private ``GIT_INDEX_FILE`` and ``GIT_OBJECT_DIRECTORY`` (with the repository's
objects as an alternate) take ``git read-tree``, ``git apply --cached`` and ``git write-tree``;
``git diff TREE_A TREE_B`` then compares the two. When no repository holding both commits can be
reached, the two patches are compared with :mod:`difflib` instead, and a note says why.
"""

from __future__ import annotations

import difflib
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shipyard.errors import ShipyardError
from shipyard.repro._git import git, git_text, has_commit, is_repository
from shipyard.repro.source import Record, lookup

DEFAULT_MAX_DIFF_BYTES = 5 << 20
CLONE_TIMEOUT = 300.0


@dataclass(frozen=True, slots=True)
class CodeState:
    """The code one run executed: a commit plus the uncommitted patch on top of it."""

    run_id: str
    recorded: bool = False
    commit: str | None = None
    branch: str | None = None
    dirty: bool = False
    patch: str = ""
    root: str | None = None
    remote_url: str | None = None
    patch_complete: bool = True
    skipped: tuple[str, ...] = ()
    """Files the recorded patch left out (too large...), as ``path (reason)``."""

    @classmethod
    def of(cls, run_id: str, env: Record | None, patch: str | None) -> CodeState:
        """The code state recorded in an environment record and its patch artifact."""
        section = lookup(env, "code", "git")
        if not isinstance(section, dict):
            return cls(run_id)
        skipped = tuple(_skipped(item) for item in section.get("skipped") or () if item)
        return cls(
            run_id=run_id,
            recorded=True,
            commit=section.get("commit"),
            branch=section.get("branch"),
            dirty=bool(section.get("dirty")),
            patch=patch or "",
            root=section.get("root"),
            remote_url=section.get("remote_url"),
            patch_complete=bool(section.get("patch_complete", True)),
            skipped=skipped,
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON form (the patch itself is left out: the diff carries what changed)."""
        return {
            "commit": self.commit,
            "branch": self.branch,
            "dirty": self.dirty,
            "remote_url": self.remote_url,
            "root": self.root,
            "patch_bytes": len(self.patch.encode("utf-8", errors="surrogateescape")),
            "patch_complete": self.patch_complete,
            "skipped": list(self.skipped),
        }


@dataclass(frozen=True, slots=True)
class CodeDiff:
    """How the code of run B differs from run A.

    ``method`` says how ``patch`` was made: ``"identical"`` (same commit and patch), ``"git"``
    (a real tree diff), ``"patches"`` (a diff of the two uncommitted patches: no repository
    was reachable) or ``"none"`` (a run recorded no git state).
    """

    a: CodeState
    b: CodeState
    method: str
    patch: str = ""
    repo: str | None = None
    files: tuple[str, ...] = ()
    truncated: bool = False
    notes: tuple[str, ...] = ()

    @property
    def same_commit(self) -> bool:
        """Whether both runs started from the same commit."""
        return self.a.commit == self.b.commit

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "a": self.a.to_dict(),
            "b": self.b.to_dict(),
            "same_commit": self.same_commit,
            "identical": self.method == "identical" or (self.method == "git" and not self.patch),
            "method": self.method,
            "repo": self.repo,
            "files": list(self.files),
            "patch": self.patch,
            "truncated": self.truncated,
            "notes": list(self.notes),
        }


@dataclass
class _Search:
    """Where a repository holding both commits was looked for, and why each place failed."""

    tried: list[str] = field(default_factory=list)


def diff_code(
    a: CodeState,
    b: CodeState,
    *,
    repo: Path | None = None,
    search: bool = True,
    max_bytes: int = DEFAULT_MAX_DIFF_BYTES,
) -> CodeDiff:
    """Compare the code of two runs (see the module docstring for how).

    Args:
        a, b: the two code states.
        repo: a repository to use first (else the recorded roots, else a clone of the remote).
        search: look for a repository at all (a server must not read paths or clone URLs that
            run records name); without one, the two patches are compared.
        max_bytes: the most bytes of diff to keep; ``truncated`` says when more was cut.
    """
    missing = [s.run_id for s in (a, b) if not s.recorded]
    if missing:
        note = ", ".join(f"run {m}" for m in missing) + " recorded no git state"
        return CodeDiff(a, b, "none", notes=(note + " (not run inside a git repository?)",))
    if a.commit == b.commit and a.patch == b.patch:
        return CodeDiff(a, b, "identical", notes=_skipped_notes(a, b))
    tried = _Search()
    if not search:
        tried.tried.append("repository lookup is off here")
        return _patch_diff(a, b, tried, max_bytes)
    with tempfile.TemporaryDirectory(prefix="shipyard-diff-") as tmp:
        found = _find_repo(a, b, repo, Path(tmp), tried)
        if found is not None:
            try:
                return _git_diff(a, b, found, Path(tmp), max_bytes)
            except ShipyardError as exc:
                tried.tried.append(f"diffing in {found} failed: {exc.message}")
    return _patch_diff(a, b, tried, max_bytes)


def _find_repo(
    a: CodeState, b: CodeState, repo: Path | None, tmp: Path, search: _Search
) -> Path | None:
    commits = [c for c in (a.commit, b.commit) if c]
    local = [repo] if repo is not None else []
    local += [Path(r) for r in dict.fromkeys(s.root for s in (a, b)) if r]
    for candidate in local:
        if _usable(candidate, commits, search):
            return candidate
    urls = [u for u in dict.fromkeys(s.remote_url for s in (a, b)) if u]
    for index, url in enumerate(urls):
        clone = _clone(url, tmp / f"clone-{index}", search)
        if clone is not None and _usable(clone, commits, search):
            return clone
    if not urls:
        search.tried.append("no remote URL was recorded")
    return None


def _usable(path: Path, commits: list[str], search: _Search) -> bool:
    if not is_repository(path):
        search.tried.append(f"{path} is not a git repository")
        return False
    absent = [c[:12] for c in commits if not has_commit(path, c)]
    if absent:
        search.tried.append(f"{path} lacks commit {', '.join(absent)}")
        return False
    return True


def _clone(url: str, dest: Path, search: _Search) -> Path | None:
    try:
        git(dest.parent, "clone", "--quiet", "--bare", "--", url, str(dest), timeout=CLONE_TIMEOUT)
    except ShipyardError as exc:
        search.tried.append(f"cloning {url} failed: {exc.message}")
        return None
    return dest


def _git_diff(a: CodeState, b: CodeState, repo: Path, tmp: Path, max_bytes: int) -> CodeDiff:
    objects = tmp / "objects"
    objects.mkdir(exist_ok=True)
    shared = Path(git_text(repo, "rev-parse", "--git-path", "objects"))
    env = {
        "GIT_OBJECT_DIRECTORY": str(objects),
        "GIT_ALTERNATE_OBJECT_DIRECTORIES": str(shared if shared.is_absolute() else repo / shared),
    }
    notes: list[str] = list(_skipped_notes(a, b))
    tree_a = _tree(repo, a, tmp / "a", env, notes)
    tree_b = _tree(repo, b, tmp / "b", env, notes)
    args = ["--no-color", "--no-ext-diff", "--no-textconv", "--src-prefix=a/", "--dst-prefix=b/"]
    text = git(repo, "diff", *args, tree_a, tree_b, env=env).decode("utf-8", errors="replace")
    names = git(repo, "diff", "--name-only", "-z", tree_a, tree_b, env=env)
    patch, truncated = _cap(text, max_bytes, notes)
    files = tuple(n for n in names.decode("utf-8", errors="replace").split("\0") if n)
    return CodeDiff(a, b, "git", patch, str(repo), files, truncated, tuple(notes))


def _tree(repo: Path, state: CodeState, tmp: Path, env: dict[str, str], notes: list[str]) -> str:
    """Write the tree of ``commit + patch`` into the private object directory; return its id."""
    tmp.mkdir()
    side = {**env, "GIT_INDEX_FILE": str(tmp / "index")}
    git(repo, "read-tree", *([state.commit] if state.commit else ["--empty"]), env=side)
    if state.patch:
        patch_file = tmp / "code.patch"
        patch_file.write_text(state.patch, encoding="utf-8", errors="surrogateescape")
        try:
            apply = ["apply", "--cached", "--binary", "--whitespace=nowarn", str(patch_file)]
            git(repo, *apply, env=side)
        except ShipyardError as exc:
            notes.append(
                f"the uncommitted patch of run {state.run_id} does not apply to its commit, "
                f"so its side shows the commit only: {exc.message}"
            )
    return git_text(repo, "write-tree", env=side)


def _patch_diff(a: CodeState, b: CodeState, search: _Search, max_bytes: int) -> CodeDiff:
    lines = difflib.unified_diff(
        a.patch.splitlines(keepends=True),
        b.patch.splitlines(keepends=True),
        fromfile=f"a/uncommitted changes of run {a.run_id} on {_short(a.commit)}",
        tofile=f"b/uncommitted changes of run {b.run_id} on {_short(b.commit)}",
    )
    why = "; ".join(search.tried) or "no repository was found"
    what = "the two commits are the same, but " if a.commit == b.commit else ""
    notes = [
        f"{what}no git repository holding both commits could be reached ({why}): this is a "
        "diff of the two uncommitted patches, not of the code; pass --repo PATH to a clone",
        *_skipped_notes(a, b),
    ]
    patch, truncated = _cap("".join(_terminated(lines)), max_bytes, notes)
    return CodeDiff(a, b, "patches", patch, None, (), truncated, tuple(notes))


def _terminated(lines: Iterable[str]) -> Iterable[str]:
    for line in lines:
        yield line if line.endswith("\n") else line + "\n"


def _cap(text: str, max_bytes: int, notes: list[str]) -> tuple[str, bool]:
    data = text.encode("utf-8", errors="surrogateescape")
    if len(data) <= max_bytes:
        return text, False
    kept = data[:max_bytes].decode("utf-8", errors="ignore").rpartition("\n")[0] + "\n"
    notes.append(f"the diff has {len(data)} bytes; only the first {len(kept)} are shown")
    return kept, True


def _skipped_notes(a: CodeState, b: CodeState) -> tuple[str, ...]:
    return tuple(
        f"run {s.run_id} left files out of its recorded patch: {', '.join(s.skipped)}"
        for s in (a, b)
        if s.skipped
    )


def _skipped(item: object) -> str:
    """A file the recorded patch left out, as ``path (reason)``."""
    if not isinstance(item, dict):
        return str(item)
    reason = item.get("reason")
    return f"{item.get('path')} ({reason})" if reason else str(item.get("path"))


def _short(commit: str | None) -> str:
    return commit[:12] if commit else "(no commit)"
