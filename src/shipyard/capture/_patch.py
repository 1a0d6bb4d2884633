"""The uncommitted changes of a working tree as one patch that ``git apply`` replays on HEAD.

How: untracked files are marked intent-to-add (``git add -N``) in a *copy* of the index
(``GIT_INDEX_FILE``), so ``git diff HEAD --binary`` shows them as new files while the user's index
stays untouched. Sizes are checked before the diff runs (a file over the per-file cap is excluded
with a pathspec, so a 2 GB checkpoint never reaches memory), the diff output is read with a hard
limit, and each per-file section is kept or skipped (binary, too large, over the total cap, not
UTF-8). Skipped sections are whole files, so the rest of the patch still applies cleanly.
"""

from __future__ import annotations

import os
import shutil
import stat
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from shipyard.capture._common import ProbeErrors, Record
from shipyard.capture._git import Change, Git, Status, header_path

_DIFF_OPTIONS = (
    "--binary",
    "--no-color",
    "--no-ext-diff",
    "--no-textconv",
    "--no-renames",
    "--unified=3",
    "--src-prefix=a/",
    "--dst-prefix=b/",
    "--submodule=short",
)
# Settings a user may have that would change what a patch looks like.
_CONFIG = ("-c", "diff.suppressBlankEmpty=false", "-c", "core.quotePath=true")
_SNIFF = 8000  # git's own binary heuristic: a NUL byte in the first 8000 bytes


@dataclass(frozen=True)
class Caps:
    """Size limits of a captured patch, in bytes."""

    total: int
    per_file: int


@dataclass
class Patch:
    """The outcome: the patch text, the files it covers and what was left out (and why)."""

    text: str = ""
    files: list[str] = field(default_factory=list)
    skipped: list[Record] = field(default_factory=list)

    def skip(self, path: str, reason: str, size: int) -> None:
        """Record a file left out of the patch."""
        self.skipped.append({"path": _printable(path), "reason": reason, "size": size})


@dataclass
class _Plan:
    tracked: list[str] = field(default_factory=list)  # expected in the diff
    untracked: list[str] = field(default_factory=list)  # marked intent-to-add
    excluded: list[str] = field(default_factory=list)  # tracked, kept out by pathspec
    sizes: dict[str, int] = field(default_factory=dict)


def build_patch(
    git: Git, status: Status, index_path: Path, caps: Caps, errors: ProbeErrors
) -> Patch:
    """Diff the working tree (untracked files included) against HEAD within ``caps``."""
    patch = Patch()
    plan = _plan(git, status.changes, caps, patch)
    base = status.commit or git.run("hash-object", "-t", "tree", "--stdin", stdin=b"").decode()
    with tempfile.TemporaryDirectory(prefix="shipyard-capture-") as tmp:
        env = git.env()
        if plan.untracked:
            env = _intent_to_add(git, index_path, Path(tmp) / "index", plan, patch, errors)
        args = [*_CONFIG, "diff", base.strip(), *_DIFF_OPTIONS, *_pathspecs(plan.excluded)]
        limit = caps.total + 2 * caps.per_file + (1 << 16)
        raw, truncated = git.stream(args, limit=limit, env=env)
    _assemble(raw, truncated, plan, caps, patch)
    return patch


def _pathspecs(excluded: Sequence[str]) -> list[str]:
    if not excluded:
        return []
    return ["--", ".", *(f":(exclude,literal){path}" for path in excluded)]


def _plan(git: Git, changes: Sequence[Change], caps: Caps, patch: Patch) -> _Plan:
    plan = _Plan(sizes=_sizes(git, changes))
    for change in changes:
        if change.untracked:
            continue
        if plan.sizes[change.path] > caps.per_file:
            plan.excluded.append(change.path)
            patch.skip(change.path, "too_large", plan.sizes[change.path])
        else:
            plan.tracked.append(change.path)
    budget = caps.total
    for change in sorted((c for c in changes if c.untracked), key=lambda c: c.path):
        reason = _untracked_reason(git.cwd, change, plan.sizes[change.path], caps, budget)
        if reason is None:
            plan.untracked.append(change.path)
            budget -= plan.sizes[change.path]
        else:
            patch.skip(change.path, reason, plan.sizes[change.path])
    return plan


def _sizes(git: Git, changes: Sequence[Change]) -> dict[str, int]:
    """For each changed path, the larger of its HEAD blob and its working-tree file."""
    oids = sorted({c.head_oid for c in changes if c.head_oid})
    blob_sizes: dict[str, int] = {}
    if oids:
        out = git.run(
            "cat-file", "--batch-check=%(objectname) %(objectsize)", stdin="\n".join(oids).encode()
        )
        for line in out.decode().splitlines():
            oid, _, size = line.partition(" ")
            blob_sizes[oid] = int(size) if size.isdigit() else 0
    return {
        c.path: max(_worktree_size(git.cwd / c.path), blob_sizes.get(c.head_oid or "", 0))
        for c in changes
    }


def _worktree_size(path: Path) -> int:
    try:
        info = os.lstat(path)
    except OSError:
        return 0
    return info.st_size if stat.S_ISREG(info.st_mode) or stat.S_ISLNK(info.st_mode) else 0


def _untracked_reason(root: Path, change: Change, size: int, caps: Caps, budget: int) -> str | None:
    if change.nested_repo:
        return "nested_repository"
    try:
        mode = os.lstat(root / change.path).st_mode
        if stat.S_ISLNK(mode):
            return None
        if not stat.S_ISREG(mode):
            return "not_a_file"
        if size > caps.per_file:
            return "too_large"
        with (root / change.path).open("rb") as handle:
            if b"\0" in handle.read(_SNIFF):
                return "binary"
    except OSError:
        return "unreadable"
    return "total_cap" if size > budget else None


def _intent_to_add(
    git: Git, index_path: Path, temp_index: Path, plan: _Plan, patch: Patch, errors: ProbeErrors
) -> dict[str, str]:
    """A private copy of the index with the untracked files marked intent-to-add."""
    try:
        if index_path.is_file():
            # copy2 keeps the index's mtime: git trusts the cached stat data of entries older
            # than the index file, so a fresh mtime would hide same-size edits made just after
            # the index was written ("racy git") and drop them from the patch.
            shutil.copy2(index_path, temp_index)
        paths = b"\0".join(os.fsencode(p) for p in plan.untracked)
        args = ("add", "--intent-to-add", "--pathspec-from-file=-", "--pathspec-file-nul")
        git.run(*args, stdin=paths, env=git.env(temp_index, GIT_LITERAL_PATHSPECS="1"))
    except Exception as exc:
        errors.add("git add --intent-to-add (untracked files)", exc)
        for path in plan.untracked:
            patch.skip(path, "error", plan.sizes[path])
        plan.untracked.clear()
        return git.env()
    return git.env(temp_index)


def _split(raw: bytes) -> list[bytes]:
    """Cut a diff into its per-file sections (each starts with ``diff --git``)."""
    starts = [0] if raw.startswith(b"diff --git ") else []
    at = raw.find(b"\ndiff --git ")
    while at >= 0:
        starts.append(at + 1)
        at = raw.find(b"\ndiff --git ", at + 1)
    return [raw[a:b] for a, b in zip(starts, [*starts[1:], len(raw)], strict=True)]


def _is_binary(section: bytes) -> bool:
    hunk = section.find(b"\n@@ ")
    head = section if hunk < 0 else section[:hunk]
    return b"\nGIT binary patch\n" in head or b"\nBinary files " in head


def _assemble(raw: bytes, truncated: bool, plan: _Plan, caps: Caps, patch: Patch) -> None:
    sections = _split(raw)
    if truncated and sections:
        sections.pop()  # cut off mid-way
    texts: list[str] = []
    total = 0
    seen: set[str] = set()
    for section in sections:
        path = header_path(section.split(b"\n", 1)[0])
        seen.add(path)
        size = plan.sizes.get(path, len(section))
        reason, text = _judge(section, caps, total)
        if reason is not None:
            patch.skip(path, reason, size)
            continue
        texts.append(text)
        patch.files.append(_printable(path))
        total += len(section)
    if truncated:
        for path in _unseen(plan, seen):
            patch.skip(path, "total_cap", plan.sizes.get(path, 0))
    patch.text = "".join(texts)


def _judge(section: bytes, caps: Caps, total: int) -> tuple[str | None, str]:
    if _is_binary(section):
        return "binary", ""
    if len(section) > caps.per_file:
        return "too_large", ""
    if total + len(section) > caps.total:
        return "total_cap", ""
    try:
        return None, section.decode("utf-8")
    except UnicodeDecodeError:
        return "not_utf8", ""


def _unseen(plan: _Plan, seen: set[str]) -> Iterable[str]:
    return sorted({*plan.tracked, *plan.untracked} - seen)


def _printable(path: str) -> str:
    """A path safe for JSON (undecodable bytes become U+FFFD)."""
    return path.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
