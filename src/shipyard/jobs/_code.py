"""The code a job runs: captured when it is submitted, rebuilt where it runs.

Submitting captures the environment of the submitter's folder (git commit, uncommitted patch,
packages, machine) and stores it with the run, as ``shipyard run`` does; that capture is the
job's code state. Launching an attempt rebuilds it with the reproducibility tools: a clone of the
repository at the commit with the patch applied (:func:`shipyard.repro._workspace.checkout`), so
edits made after submitting never reach the job.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from shipyard.capture import capture_environment
from shipyard.capture.layout import (
    ENVIRONMENT_ARTIFACT,
    PATCH_ARTIFACT,
    environment_tags,
    stored_environment,
)
from shipyard.errors import NotFound
from shipyard.repro._codediff import CodeState
from shipyard.repro._workspace import checkout
from shipyard.repro.source import Record, lookup
from shipyard.sdk._capture import read_environment
from shipyard.sdk.backend import Backend
from shipyard.sdk.launch import program_argv

LAUNCHER = "job"
"""The ``shipyard.launcher`` tag and ``environment.json`` launcher of job runs."""


@dataclass(frozen=True, slots=True)
class CodeSnapshot:
    """A job's code state: the recorded git state and where the submitter stood in the tree."""

    state: CodeState
    cwd_relative: str = "."

    @property
    def recorded(self) -> bool:
        """Whether a git state was captured (outside git there is nothing to rebuild)."""
        return self.state.recorded

    @property
    def clean(self) -> bool:
        """Whether the working tree had no uncommitted change (the commit alone rebuilds it)."""
        return self.state.recorded and not self.state.dirty


def capture_snapshot(
    backend: Backend, run_id: str, cwd: Path, command: Sequence[str], diff_cap_bytes: int
) -> CodeSnapshot:
    """Capture the environment of ``cwd``, store it with the run (tags, ``environment.json``,
    ``code.patch``) and return its code state. Raises what the backend raises."""
    env = capture_environment(cwd=cwd, argv=program_argv(command), diff_cap_bytes=diff_cap_bytes)
    record, patch = stored_environment(env, launcher=LAUNCHER, command=list(command))
    backend.store.set_tags(run_id, environment_tags(env, LAUNCHER))
    with tempfile.TemporaryDirectory(prefix="shipyard-job-") as tmp:
        document = Path(tmp, "environment.json")
        document.write_text(json.dumps(record, indent=2, default=str) + "\n", encoding="utf-8")
        files = [(document, ENVIRONMENT_ARTIFACT)]
        if patch:
            patch_file = Path(tmp, "code.patch")
            patch_file.write_bytes(patch.encode("utf-8", errors="surrogateescape"))
            files.append((patch_file, PATCH_ARTIFACT))
        backend.upload_artifacts(run_id, files)
    return snapshot_of(run_id, record, patch)


def read_snapshot(backend: Backend, run_id: str) -> CodeSnapshot:
    """The code state stored with a run (what an agent rebuilds). A run without a captured
    environment has no recorded state."""
    try:
        record = read_environment(backend, run_id)
    except NotFound:
        return CodeSnapshot(CodeState(run_id))
    patch = ""
    if lookup(record, "code", "git", "patch_artifact"):
        artifact = backend.store.get_artifact(run_id, PATCH_ARTIFACT)
        with tempfile.TemporaryDirectory(prefix="shipyard-job-") as tmp:
            local = Path(tmp, "code.patch")
            backend.download_artifact(run_id, artifact, local)
            patch = local.read_bytes().decode("utf-8", errors="surrogateescape")
    return snapshot_of(run_id, record, patch)


def snapshot_of(run_id: str, record: Record, patch: str) -> CodeSnapshot:
    """The code snapshot in a stored environment record and its patch."""
    relative = lookup(record, "code", "git", "cwd_relative")
    return CodeSnapshot(CodeState.of(run_id, record, patch), str(relative or "."))


def materialize(snapshot: CodeSnapshot, workdir: Path) -> Path:
    """Rebuild the snapshot in ``workdir`` (kept when it is already there, for a retry) and
    return the folder the command runs in. Raises ``NotFound`` when the commit cannot be found,
    a ``ShipyardError`` when the patch does not apply."""
    if not is_materialized(workdir):
        checkout(snapshot.state, workdir, allow_missing_commit=False)
    return inside(workdir, snapshot.cwd_relative)


def is_materialized(workdir: Path) -> bool:
    """Whether a snapshot was already rebuilt in ``workdir``."""
    return workdir.is_dir() and any(workdir.iterdir())


def inside(workdir: Path, cwd_relative: str) -> Path:
    """The folder ``cwd_relative`` of a rebuilt snapshot (the root when it would leave it)."""
    where = (workdir / cwd_relative).resolve()
    if not where.is_relative_to(workdir.resolve()):  # a damaged record must not escape
        return workdir
    where.mkdir(parents=True, exist_ok=True)
    return where


def remove_workdir(workdir: Path) -> None:
    """Delete a snapshot folder (and the patch copy the checkout leaves beside it)."""
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.with_name(f"{workdir.name}.patch").unlink(missing_ok=True)
