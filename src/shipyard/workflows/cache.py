"""The step cache: what a job's result depends on, hashed into one key.

A job's key is a sha256 over its **fingerprint**: the job and its declared outputs, its command
and environment as written (``${params.x}`` unrendered) with the values of the params they use,
the code (see :func:`code_fingerprint`), the Python environment
(:func:`environment_fingerprint`) and the *content* digest of each input (a dataset version's
manifest digest, a model version's artifact digest). A job whose key matches one that succeeded
earlier in the project is not run again; its run and outputs are reused. :func:`explain`
compares two fingerprints to say why a job ran.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import subprocess
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from shipyard.errors import NotFound
from shipyard.workflows._stores import EngineStore

LOCK_FILES = (
    "uv.lock",
    "poetry.lock",
    "Pipfile.lock",
    "requirements.txt",
    "requirements.lock",
    "environment.yml",
    "pyproject.toml",
)
CODE_SUFFIXES = (".py", ".sh", ".r", ".jl", ".sql", ".yaml", ".yml", ".toml", ".cfg", ".ini")
SKIP_DIRS = (".git", ".shipyard", "__pycache__", ".venv", "venv", "node_modules", ".mypy_cache")
_GIT_TIMEOUT_S = 30


def fingerprint(
    *,
    job: str,
    command: str,
    env: Mapping[str, str],
    params: Mapping[str, Any],
    outputs: Mapping[str, str],
    code: str,
    environment: str,
    inputs: Mapping[str, str],
) -> dict[str, Any]:
    """The JSON-ready record a cache key is computed from (see :func:`cache_key`)."""
    return {
        "job": job,
        "command": command,
        "env": dict(sorted(env.items())),
        "params": dict(sorted(params.items())),
        "outputs": dict(sorted(outputs.items())),
        "code": code,
        "environment": environment,
        "inputs": dict(sorted(inputs.items())),
    }


def cache_key(record: Mapping[str, Any]) -> str:
    """The sha256 (hex) of a fingerprint, canonically encoded."""
    text = json.dumps(record, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def explain(old: Mapping[str, Any] | None, new: Mapping[str, Any]) -> str:
    """Why a job with fingerprint ``new`` ran, given the last successful one ``old``.

    >>> explain({"command": "a", "params": {}}, {"command": "b", "params": {}})
    'ran: command changed'
    """
    if not old:
        return "ran: no earlier run of this job"
    changes: list[str] = []
    for key in ("command", "code", "environment", "outputs"):
        if old.get(key) != new.get(key):
            changes.append(f"{key} changed")
    changes += _changed_entries("params", old.get("params"), new.get("params"))
    changes += _changed_entries("inputs", old.get("inputs"), new.get("inputs"))
    changes += _changed_entries("env", old.get("env"), new.get("env"))
    if not changes:
        return "ran: the earlier result is no longer usable"
    return "ran: " + ", ".join(changes)


def _changed_entries(kind: str, old: Any, new: Any) -> list[str]:
    before, after = dict(old or {}), dict(new or {})
    names = sorted(k for k in set(before) | set(after) if before.get(k) != after.get(k))
    return [f"{kind}.{name} changed" for name in names]


# -- code and environment --------------------------------------------------------------------
def code_fingerprint(workdir: Path, *, skip: Path | None = None) -> str:
    """A digest of the code in ``workdir``.

    In a git work tree: the content of every tracked file as it is now (committed or not), so
    files the jobs write (ignored or untracked) do not count. Elsewhere: the files with a code
    suffix (:data:`CODE_SUFFIXES`), outside :data:`SKIP_DIRS` and the folder ``skip`` (the
    Shipyard home, where job records are written).
    """
    root = Path(workdir).resolve()
    files = _git_files(root)
    if files is None:
        files = sorted(_code_files(root, None if skip is None else Path(skip).resolve()))
    digest = hashlib.sha256()
    for relative in files:
        path = root / relative
        if path.is_file():
            digest.update(relative.encode("utf-8") + b"\0" + _file_digest(path).encode() + b"\n")
    return digest.hexdigest()


def environment_fingerprint(workdir: Path) -> str:
    """A digest of the Python version and the lock files found in ``workdir``."""
    digest = hashlib.sha256(f"python {platform.python_version()}\n".encode())
    for name in LOCK_FILES:
        path = Path(workdir) / name
        if path.is_file():
            digest.update(f"{name}\0{_file_digest(path)}\n".encode())
    return digest.hexdigest()


def _git_files(root: Path) -> list[str] | None:
    try:
        done = subprocess.run(
            ["git", "ls-files", "-z", "--cached"],
            cwd=root,
            capture_output=True,
            timeout=_GIT_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if done.returncode != 0:
        return None
    return sorted(name for name in done.stdout.decode("utf-8", "replace").split("\0") if name)


def _code_files(root: Path, skip: Path | None) -> Iterator[str]:
    for folder, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if d not in SKIP_DIRS and Path(folder, d) != skip]
        for name in names:
            if name.lower().endswith(CODE_SUFFIXES):
                yield (Path(folder) / name).relative_to(root).as_posix()


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


# -- inputs ----------------------------------------------------------------------------------
def content_digest(store: EngineStore, ref: str) -> str:
    """The content digest of an output reference: ``NAME@VERSION`` (a dataset version: its
    manifest digest) or ``models:/NAME/VERSION`` (the digest of the model folder's files)."""
    if ref.startswith("models:/"):
        name, _, version = ref.removeprefix("models:/").rpartition("/")
        model = store.get_model_version(name, int(version))
        if model.run_id is None:
            return hashlib.sha256(model.source.encode()).hexdigest()
        return artifacts_digest(store, model.run_id, model.source)
    name, _, version = ref.rpartition("@")
    return store.get_dataset_version(name, int(version)).digest


def artifacts_digest(store: EngineStore, run_id: str, folder: str) -> str:
    """A digest of the files a run logged under ``folder`` (paths and content addresses)."""
    prefix = folder.rstrip("/") + "/"
    entries = sorted(
        (a.path, a.sha256)
        for a in store.list_artifacts(run_id)
        if a.path == folder or a.path.startswith(prefix)
    )
    if not entries:
        raise NotFound(
            f"run {run_id} logged no files under {folder!r}",
            hint="log the model folder in the run that registers the model version",
        )
    return hashlib.sha256(_lines(entries)).hexdigest()


def _lines(entries: Iterable[tuple[str, str]]) -> bytes:
    return "".join(f"{path}\0{sha}\n" for path, sha in entries).encode("utf-8")
