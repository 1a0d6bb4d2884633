"""Automatic reproducibility capture for runs, and ``shipyard.seed_everything``.

When ``start_run`` creates a run (``Settings.capture``, on by default; ``SHIPYARD_CAPTURE=0`` turns
it off), :func:`on_run_start` captures the environment in a daemon thread so that ``start_run``
returns at once; the run waits for it (up to ``Settings.capture_timeout``) before it ends. What is
stored where is described in :mod:`shipyard.capture.layout`. Rule: capture never fails a run; a
failure is logged as a warning and the run goes on.

Seeds: :func:`seed_everything` records the seed on the active run; called before any run started,
it records it on the next run this process starts (and in that run's ``environment.json``).
This module holds that one piece of process-wide state, like :mod:`shipyard.sdk.fluent`.
"""

from __future__ import annotations

import json
import logging
import sys
import tempfile
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shipyard.capture import capture_environment
from shipyard.capture import seed_everything as seed_generators
from shipyard.capture.layout import (
    DETERMINISTIC_TAG,
    ENVIRONMENT_ARTIFACT,
    NOTEBOOK_ARTIFACT,
    PATCH_ARTIFACT,
    SEED_PARAM,
    SEED_TAG,
    environment_tags,
    notebook_file,
    relaunch_command,
    stored_environment,
)
from shipyard.errors import IntegrityError, NotFound
from shipyard.sdk.backend import Backend
from shipyard.settings import Settings

if TYPE_CHECKING:
    from shipyard.sdk.run import Run

logger = logging.getLogger("shipyard.sdk")

Record = dict[str, Any]

SDK_LAUNCHER = "sdk"


def store_environment(
    run: Run,
    env: Mapping[str, Any],
    *,
    launcher: str,
    command: Sequence[str] | None,
    seeds: Mapping[str, Any] | None = None,
) -> None:
    """Store a captured environment with ``run``: its tags, ``environment.json``, the patch and
    the notebook copy (see :mod:`shipyard.capture.layout`). Raises what the backend raises."""
    run.set_tags(environment_tags(env, launcher))
    notebook = notebook_file(env)
    record, patch = stored_environment(
        env, launcher=launcher, command=command, notebook_saved=notebook is not None
    )
    if seeds is not None:
        record["seeds"] = dict(seeds)
    with tempfile.TemporaryDirectory(prefix="shipyard-env-") as tmp:
        document = Path(tmp, "environment.json")
        document.write_text(json.dumps(record, indent=2, default=str) + "\n", encoding="utf-8")
        files = [(document, ENVIRONMENT_ARTIFACT)]
        if patch:
            patch_file = Path(tmp, "code.patch")
            patch_file.write_bytes(patch.encode("utf-8", errors="surrogateescape"))
            files.append((patch_file, PATCH_ARTIFACT))
        if notebook is not None:
            files.append((notebook, NOTEBOOK_ARTIFACT))
        run.backend.upload_artifacts(run.id, files)


def capture_into(
    run: Run,
    *,
    cwd: Path | None,
    argv: Sequence[str],
    diff_cap_bytes: int,
    launcher: str,
    command: Sequence[str] | None = None,
    seeds: Mapping[str, Any] | None = None,
) -> bool:
    """Capture the environment of ``cwd`` and store it with ``run``; never raises.

    ``command`` defaults to :func:`~shipyard.capture.layout.relaunch_command` of the capture.
    Returns whether everything was stored; a failure is logged as a warning.
    """
    try:
        env = capture_environment(cwd=cwd, argv=argv, diff_cap_bytes=diff_cap_bytes)
        if command is None:
            command = relaunch_command(env, sys.executable)
        store_environment(run, env, launcher=launcher, command=command, seeds=seeds)
    except Exception as exc:
        logger.warning("shipyard could not store the environment of run %s: %s", run.id, exc)
        return False
    return True


def read_environment(backend: Backend, run_id: str) -> Record:
    """The ``environment.json`` stored with a run, parsed.

    Raises ``NotFound`` when the run does not exist or no environment was captured for it.
    """
    backend.store.get_run(run_id)
    try:
        artifact = backend.store.get_artifact(run_id, ENVIRONMENT_ARTIFACT)
    except NotFound:
        raise NotFound(
            f"run {run_id} has no captured environment ({ENVIRONMENT_ARTIFACT})",
            hint="runs record it when started with capture on (the default; SHIPYARD_CAPTURE=0 "
            "turns it off) or through `shipyard run -- COMMAND`",
        ) from None
    with tempfile.TemporaryDirectory(prefix="shipyard-env-") as tmp:
        local = Path(tmp, "environment.json")
        backend.download_artifact(run_id, artifact, local)
        try:
            data = json.loads(local.read_text(encoding="utf-8"))
        except ValueError:
            data = None
    if not isinstance(data, dict):
        raise IntegrityError(
            f"{ENVIRONMENT_ARTIFACT} of run {run_id} is not a JSON object",
            hint="the artifact was overwritten; it cannot be read as an environment",
        )
    return data


class EnvironmentCapture:
    """:func:`capture_into` in a daemon thread; :meth:`wait` before the run ends."""

    def __init__(self, run: Run, *, cwd: Path, argv: Sequence[str], diff_cap_bytes: int) -> None:
        self._done = threading.Event()
        self.stored = False
        self._run = run
        self._kwargs: dict[str, Any] = {"cwd": cwd, "argv": list(argv)}
        self._kwargs["diff_cap_bytes"] = diff_cap_bytes
        self._thread = threading.Thread(
            target=self._work, name=f"shipyard-capture-{run.id}", daemon=True
        )

    def start(self, seeds: Mapping[str, Any] | None = None) -> None:
        """Start capturing (``seeds``: a seed record to store with it)."""
        self._kwargs["seeds"] = seeds
        self._thread.start()

    def wait(self, timeout: float | None) -> bool:
        """Wait up to ``timeout`` seconds; ``False`` (and a warning) when still running."""
        if self._done.wait(timeout):
            return True
        logger.warning(
            "shipyard: the environment capture of run %s did not finish in %ss; the run ends "
            "without it (raise SHIPYARD_CAPTURE_TIMEOUT to wait longer)",
            self._run.id,
            timeout,
        )
        return False

    def _work(self) -> None:
        try:
            self.stored = capture_into(self._run, launcher=SDK_LAUNCHER, **self._kwargs)
        finally:
            self._done.set()


class _PendingSeed:
    """The last seed set while no run was active, for the next run this process starts."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._record: Record | None = None

    def put(self, record: Record) -> None:
        with self._lock:
            self._record = record

    def take(self) -> Record | None:
        with self._lock:
            record, self._record = self._record, None
            return record


_PENDING_SEED = _PendingSeed()


def on_run_start(run: Run, settings: Settings, *, continued: bool) -> EnvironmentCapture | None:
    """Record a pending seed on ``run`` and, for a created run, start capturing; never raises."""
    try:
        seeds = _PENDING_SEED.take()
        if seeds is not None:
            record_seed(run, int(seeds["seed"]), bool(seeds["deterministic"]))
        if continued or not settings.capture:
            return None
        capture = EnvironmentCapture(
            run, cwd=Path.cwd(), argv=sys.argv, diff_cap_bytes=settings.diff_cap_bytes
        )
        capture.start(seeds)
    except Exception as exc:
        logger.warning(
            "shipyard could not start the environment capture of run %s: %s", run.id, exc
        )
        return None
    return capture


def record_seed(run: Run, seed: int, deterministic: bool) -> None:
    """Tag ``run`` with the seed (``shipyard.seed``) and log a ``seed`` param unless it has one."""
    run.set_tags({SEED_TAG: str(seed), DETERMINISTIC_TAG: str(deterministic).lower()})
    if SEED_PARAM not in run.params:
        run.log_params({SEED_PARAM: seed})


def seed_everything(seed: int, deterministic: bool = False) -> Record:
    """Seed every random generator (see :func:`shipyard.capture.seed_everything`) and record it.

    The seed goes on the active run (tag ``shipyard.seed``, and param ``seed`` unless the run has
    one); with no active run, on the next run this process starts.

    Raises:
        InvalidArgument: ``seed`` is not an integer from 0 to 2**32 - 1.

    Example::

        shipyard.seed_everything(42)
        with shipyard.start_run(project="iris") as run:  # tagged shipyard.seed=42
            ...
    """
    from shipyard.sdk.fluent import active_run  # fluent imports run, which imports this module

    record = seed_generators(seed, deterministic=deterministic)
    run = active_run()
    if run is None:
        _PENDING_SEED.put(record)
    else:
        record_seed(run, seed, deterministic)
    return record
