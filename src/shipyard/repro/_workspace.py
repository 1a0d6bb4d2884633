"""Rebuild a run's code in a fresh folder: clone the recorded repository, check out the recorded
commit and apply the recorded patch. Nothing is written to the original repository."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shipyard.errors import InvalidArgument, NotFound, ShipyardError
from shipyard.repro._codediff import CodeState
from shipyard.repro._git import GitError, git, has_commit, is_repository

CLONE_TIMEOUT = 600.0


@dataclass
class Checkout:
    """What was restored of a run's code, and what could not be."""

    source: str
    path: Path
    commit: str | None
    checked_out: str | None = None
    patch_applied: bool = False
    rejected: list[str] = field(default_factory=list)
    not_restored: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "source": self.source,
            "path": str(self.path),
            "commit": self.commit,
            "checked_out": self.checked_out,
            "exact": self.checked_out == self.commit and not self.not_restored,
            "patch_applied": self.patch_applied,
            "rejected": self.rejected,
            "not_restored": self.not_restored,
            "notes": self.notes,
        }


def clone_source(state: CodeState) -> tuple[str, list[str]]:
    """Where to clone a run's code from, and notes on what was passed over.

    The recorded repository root when it still exists and holds the commit, else the recorded
    remote URL, else the root even without the commit. Raises ``NotFound`` when neither exists.
    """
    root = Path(state.root) if state.root else None
    notes: list[str] = []
    if root is not None and is_repository(root):
        if state.commit is None or has_commit(root, state.commit):
            return str(root), notes
        notes.append(f"the recorded repository {root} no longer holds commit {state.commit}")
    elif root is not None:
        notes.append(f"the recorded repository {root} no longer exists")
    if state.remote_url:
        return state.remote_url, notes
    if root is not None and is_repository(root):
        return str(root), notes
    raise NotFound(
        f"run {state.run_id} cannot be rebuilt: its repository {state.root or '(unknown)'} is gone "
        "and it recorded no remote URL",
        hint="restore the repository at that path, or push the code to a remote",
    )


def checkout(state: CodeState, dest: Path, *, allow_missing_commit: bool) -> Checkout:
    """Clone the run's repository into ``dest`` at the recorded commit and apply the patch.

    Raises ``NotFound`` when the commit is missing (unless ``allow_missing_commit``: the recorded
    branch, else the default branch, is used instead and the patch applied as far as it goes),
    ``InvalidArgument`` when ``dest`` exists and is not empty, and a ``ShipyardError`` when the
    patch does not apply to the recorded commit.
    """
    if not state.recorded:
        raise NotFound(
            f"run {state.run_id} recorded no git state, so its code cannot be rebuilt",
            hint="only runs started inside a git repository can be reproduced",
        )
    if dest.exists() and any(dest.iterdir()):
        raise InvalidArgument(
            f"{dest} exists and is not empty", hint="pass an empty or new --workdir"
        )
    source, notes = clone_source(state)
    dest.parent.mkdir(parents=True, exist_ok=True)
    git(
        dest.parent,
        "clone",
        "--quiet",
        "--no-checkout",
        "--",
        source,
        str(dest),
        timeout=CLONE_TIMEOUT,
    )
    if state.remote_url and source != state.remote_url:
        # The reproduction records the same remote as the original, not the local folder.
        git(dest, "remote", "set-url", "origin", state.remote_url)
    result = Checkout(source, dest, state.commit, notes=notes)
    result.checked_out = _check_out(state, dest, allow_missing_commit, result.notes)
    result.not_restored = list(state.skipped)
    if state.dirty and not state.patch:
        result.not_restored.append("the uncommitted changes (the run stored no patch)")
    if state.patch:
        _apply(state, dest, exact=result.checked_out == state.commit, result=result)
    return result


def _check_out(state: CodeState, dest: Path, allowed: bool, notes: list[str]) -> str | None:
    if state.commit is not None and has_commit(dest, state.commit):
        git(dest, "checkout", "--quiet", "--detach", state.commit)
        return state.commit
    if state.commit is None:  # the run was made before the repository's first commit
        return None
    if not allowed:
        raise NotFound(
            f"commit {state.commit} of run {state.run_id} is not in {state.root or '?'} "
            f"nor in its remote {state.remote_url or '(none recorded)'}",
            hint="fetch or push that commit, or pass --allow-missing-commit to rebuild on the "
            "recorded branch instead (not an exact reproduction)",
        )
    fallback = _fallback_ref(dest, state.branch)
    if fallback is None:
        notes.append(f"commit {state.commit} is missing and the repository has no commit at all")
        return None
    git(dest, "checkout", "--quiet", "--detach", fallback)
    head = git(dest, "rev-parse", "HEAD").decode().strip()
    notes.append(f"commit {state.commit} is missing: rebuilt on {fallback} ({head}) instead")
    return head


def _fallback_ref(dest: Path, branch: str | None) -> str | None:
    for ref in ([f"origin/{branch}"] if branch else []) + ["origin/HEAD", "HEAD"]:
        if has_commit(dest, ref):
            return ref
    return None


def _apply(state: CodeState, dest: Path, *, exact: bool, result: Checkout) -> None:
    patch_file = dest.parent / f"{dest.name}.patch"
    patch_file.write_text(state.patch, encoding="utf-8", errors="surrogateescape")
    try:
        git(dest, "apply", "--whitespace=nowarn", str(patch_file))
    except GitError as exc:
        if exact:
            raise ShipyardError(
                f"the recorded patch of run {state.run_id} does not apply to commit "
                f"{state.commit}: {exc.stderr}",
                hint=f"the patch is in {patch_file}; inspect it with `git apply --check`",
            ) from None
        _apply_rejecting(dest, patch_file, result)
        return
    finally:
        result.notes.append(f"the recorded patch is kept in {patch_file}")
    result.patch_applied = True


def _apply_rejecting(dest: Path, patch_file: Path, result: Checkout) -> None:
    """Apply what applies; the hunks that do not are listed (and their ``.rej`` files removed)."""
    try:
        git(dest, "apply", "--reject", "--whitespace=nowarn", str(patch_file))
        result.patch_applied = True
    except ShipyardError:
        result.patch_applied = False
    for rej in sorted(dest.rglob("*.rej")):
        result.rejected.append(rej.relative_to(dest).as_posix().removesuffix(".rej"))
        rej.unlink()
