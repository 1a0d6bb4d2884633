"""How a captured environment is stored with a run: artifact paths, tags and the relaunch command.

One place for the conventions that the SDK (which writes), the server's environment route and the
CLI (which read) share. Artifacts of a run, all under ``.shipyard/``:

* ``environment.json``: the :func:`~shipyard.capture.capture_environment` record without the
  patch text, plus ``"launcher"`` (``"sdk"``, ``"cli"``...), ``"command"`` (the argv that runs the
  same thing again from ``code.cwd``, or ``null`` when unknown: an interactive shell, ``-c``) and,
  when the process called ``shipyard.seed_everything`` before the run started, ``"seeds"``.
* ``code.patch``: the uncommitted changes; ``git apply`` on a checkout of ``code.git.commit``
  rebuilds the working tree (``code.git.patch_artifact`` names it when it exists).
* ``notebook.ipynb``: a copy of the notebook the run was started from.
* ``output.log``: what a launched command wrote to stdout and stderr.

Tags: the :func:`~shipyard.capture.summarize` tags (``shipyard.git.commit``...), plus
``shipyard.launcher``, ``shipyard.seed`` and ``shipyard.seed.deterministic``.
"""

from __future__ import annotations

import copy
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from shipyard.capture._common import Record
from shipyard.capture.environment import TAG_PREFIX, summarize

ARTIFACT_DIR = ".shipyard"
ENVIRONMENT_ARTIFACT = f"{ARTIFACT_DIR}/environment.json"
PATCH_ARTIFACT = f"{ARTIFACT_DIR}/code.patch"
NOTEBOOK_ARTIFACT = f"{ARTIFACT_DIR}/notebook.ipynb"
OUTPUT_ARTIFACT = f"{ARTIFACT_DIR}/output.log"

LAUNCHER_TAG = f"{TAG_PREFIX}launcher"
SEED_TAG = f"{TAG_PREFIX}seed"
DETERMINISTIC_TAG = f"{TAG_PREFIX}seed.deterministic"
SEED_PARAM = "seed"


def stored_environment(
    env: Mapping[str, Any],
    *,
    launcher: str,
    command: Sequence[str] | None,
    notebook_saved: bool = False,
) -> tuple[Record, str]:
    """Split a capture into the JSON to store and the patch text (``""`` when the tree is clean).

    The input is not modified. ``launcher`` says what started the run (``"sdk"``, ``"cli"``...),
    ``command`` how to run it again; ``notebook_saved`` that a copy of the notebook is stored.

    Example::

        record, patch = stored_environment(capture_environment(), launcher="sdk", command=None)
    """
    record: Record = copy.deepcopy(dict(env))
    code = record.get("code")
    git = code.get("git") if isinstance(code, dict) else None
    patch = ""
    if isinstance(git, dict):
        patch = str(git.pop("patch", "") or "")
        git["patch_artifact"] = PATCH_ARTIFACT if patch else None
    notebook = code.get("notebook") if isinstance(code, dict) else None
    if isinstance(notebook, dict):
        notebook["copy_artifact"] = NOTEBOOK_ARTIFACT if notebook_saved else None
    record["launcher"] = launcher
    record["command"] = None if command is None else [str(arg) for arg in command]
    return record, patch


def environment_tags(env: Mapping[str, Any], launcher: str) -> dict[str, str]:
    """The tags a captured run gets: :func:`summarize` plus ``shipyard.launcher``."""
    return {**summarize(env), LAUNCHER_TAG: launcher}


def notebook_file(env: Mapping[str, Any]) -> Path | None:
    """The notebook file to store a copy of, when the capture found one on disk."""
    code = env.get("code")
    notebook = code.get("notebook") if isinstance(code, Mapping) else None
    if not isinstance(notebook, Mapping) or not notebook.get("save_copy"):
        return None
    path = Path(str(notebook.get("path")))
    return path if path.is_file() else None


def relaunch_command(env: Mapping[str, Any], executable: str) -> list[str] | None:
    """The argv that runs this process's program again from ``code.cwd``; ``None`` when unknown.

    ``[python, script, *args]`` for a script (its path relative to the working directory when it
    is inside it or inside the same repository, else absolute), ``[python, "-m", module, *args]``
    for ``python -m``, and ``jupyter nbconvert --execute`` for a notebook. ``python`` is the
    file name of ``executable`` (``sys.executable``).

    Example::

        relaunch_command(env, sys.executable)  # ['python', 'train.py', '--lr', '0.1']
    """
    code = env.get("code")
    if not isinstance(code, Mapping):
        return None
    python = Path(executable).name or "python"
    cwd = Path(str(code["cwd"])) if code.get("cwd") else None
    notebook = notebook_file(env)
    if notebook is not None:
        return ["jupyter", "nbconvert", "--to", "notebook", "--execute", _shown(notebook, cwd)]
    entry = code.get("entry_point")
    if not isinstance(entry, Mapping):
        return None
    args = [str(arg) for arg in list(entry.get("argv") or [])[1:]]
    module = entry.get("module")
    if module:
        return [python, "-m", str(module).removesuffix(".__main__"), *args]
    if entry.get("script"):
        git = code.get("git")
        root = Path(str(git["root"])) if isinstance(git, Mapping) and git.get("root") else None
        return [python, _shown(Path(str(entry["script"])), cwd, root), *args]
    return None


def _shown(path: Path, cwd: Path | None, root: Path | None = None) -> str:
    """``path`` relative to ``cwd`` when it lies under ``cwd`` (or ``root``), else absolute."""
    if cwd is None:
        return str(path)
    if path.is_relative_to(cwd) or (root is not None and path.is_relative_to(root)):
        return os.path.relpath(path, cwd)
    return str(path)
