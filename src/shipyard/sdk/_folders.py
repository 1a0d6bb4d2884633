"""Folders the SDK owns (the embedded home, the spool): created git-ignored."""

from __future__ import annotations

from pathlib import Path

GITIGNORE = "*\n"


def ensure_private_folder(path: Path) -> None:
    """Create ``path`` (and its parents) if missing; a folder created here gets a ``.gitignore``
    of ``*``, as a virtualenv does, so that ``git status`` and the code patches that runs capture
    leave Shipyard's data out. An existing folder is left as it is."""
    if path.is_dir():
        return
    path.mkdir(parents=True, exist_ok=True)
    (path / ".gitignore").write_text(GITIGNORE, encoding="utf-8")
