"""The entry points users call: ``start_run`` / ``init`` and the W&B-style functional API.

Runs started here are kept on a stack of active runs: ``shipyard.log`` writes to the innermost one
and ``shipyard.finish`` ends it. A run still active when the interpreter exits is finished by an
``atexit`` hook: ``FAILED`` (``KILLED`` for ``KeyboardInterrupt``) when the process dies from an
uncaught exception (we chain ``sys.excepthook`` to see it), ``FINISHED`` otherwise (``sys.exit``
never reaches the hook, so an exit with a non-zero code still counts as ``FINISHED`` here; inside a
``with`` block it ends the run ``FAILED``).

This module is an entry point, so it holds the process-wide state the functional API needs; the
rest of the SDK takes everything it uses as arguments.
"""

from __future__ import annotations

import atexit
import logging
import secrets
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from shipyard.domain.entities import Artifact, RunStatus
from shipyard.domain.ids import new_id
from shipyard.domain.validation import (
    validate_params,
    validate_project_name,
    validate_run_name,
    validate_tags,
)
from shipyard.errors import InvalidArgument
from shipyard.sdk.backend import Backend, open_backend
from shipyard.sdk.run import Run, outcome_of
from shipyard.settings import Settings

if TYPE_CHECKING:
    from shipyard.domain.models import ModelVersion
    from shipyard.flavors import LoadedModel
    from shipyard.sdk._models import LoggedModel

logger = logging.getLogger("shipyard.sdk")

_ADJECTIVES = (
    "amber", "bold", "brisk", "calm", "clever", "crisp", "eager", "fair",
    "gentle", "keen", "lively", "mellow", "nimble", "quiet", "swift", "vivid",
)  # fmt: skip
_NOUNS = (
    "anchor", "beacon", "brig", "compass", "cutter", "dock", "galley", "harbor",
    "keel", "mast", "rudder", "sail", "schooner", "sloop", "tide", "wharf",
)  # fmt: skip


class _ActiveRuns:
    """The stack of runs started in this process and not yet finished."""

    def __init__(self) -> None:
        self._runs: list[Run] = []
        self._lock = threading.Lock()
        self._hooks_installed = False

    def push(self, run: Run) -> None:
        with self._lock:
            self._runs.append(run)
        run.add_end_callback(self.remove)
        self._install_hooks()

    def remove(self, run: Run) -> None:
        with self._lock:
            if run in self._runs:
                self._runs.remove(run)

    def top(self) -> Run | None:
        runs = self._runs
        return runs[-1] if runs else None

    def finish_all(self, exc: BaseException | None = None) -> None:
        """Finish every active run, innermost first, as ``exc`` dictates."""
        status, error = outcome_of(exc)
        while (run := self.top()) is not None:
            try:
                run.finish(status, error)
            except Exception:  # one broken run must not keep the others from ending
                logger.exception("shipyard could not finish run %s", run.id)
            self.remove(run)

    def _install_hooks(self) -> None:
        if self._hooks_installed:
            return
        self._hooks_installed = True
        previous = sys.excepthook

        def excepthook(
            exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None
        ) -> None:
            previous(exc_type, exc, tb)
            self.finish_all(exc)

        sys.excepthook = excepthook
        atexit.register(self.finish_all)


_ACTIVE = _ActiveRuns()


def _run_name() -> str:
    return f"{secrets.choice(_ADJECTIVES)}-{secrets.choice(_NOUNS)}-{secrets.randbelow(1000)}"


def start_run(
    project: str | None = None,
    name: str | None = None,
    *,
    params: Mapping[str, object] | None = None,
    tags: Mapping[str, object] | None = None,
    parent: Run | str | None = None,
    run_id: str | None = None,
    settings: Settings | None = None,
) -> Run:
    """Start a run (or continue one) and return it; use it as a context manager.

    Args:
        project: the project's name (default ``settings.project``: ``SHIPYARD_PROJECT`` or
            ``"default"``; a nested run defaults to its parent's project).
        name: a display name (default: a generated one like ``"swift-keel-42"``).
        params, tags: logged with the run's creation.
        parent: a run (or run id) this run is nested under.
        run_id: continue this existing run instead of creating one. Without it,
            ``SHIPYARD_RUN_ID`` (set by job launchers) is continued when no ``parent`` is given.
        settings: configuration (default: ``Settings()`` from the environment).

    Example::

        with shipyard.start_run(project="iris", params={"lr": 0.01}) as run:
            run.log_metrics({"loss": 0.3}, step=1)
    """
    settings = settings or Settings()
    shared = parent.backend if isinstance(parent, Run) else None
    backend = shared or open_backend(settings)
    try:
        continue_id = run_id or (settings.run_id if parent is None else None)
        if continue_id:
            run = _continue(backend, settings, continue_id, owns=shared is None)
            _log_extra(run, params, tags)
        else:
            run = _create(backend, settings, project, name, params, tags, parent, shared is None)
    except BaseException:
        if shared is None:
            backend.close()
        raise
    _ACTIVE.push(run)
    return run


def _create(
    backend: Backend,
    settings: Settings,
    project: str | None,
    name: str | None,
    params: Mapping[str, object] | None,
    tags: Mapping[str, object] | None,
    parent: Run | str | None,
    owns: bool,
) -> Run:
    parent_id = parent.id if isinstance(parent, Run) else parent
    if project is None and parent is not None:
        project = (
            parent.project if isinstance(parent, Run) else backend.store.get_run(parent).project
        )
    record = backend.store.create_run(
        validate_project_name(project or settings.project),
        name=validate_run_name(_run_name() if name is None else name),
        user=settings.user,
        params=validate_params(params or {}),
        tags=validate_tags(tags or {}),
        parent_id=parent_id,
        start_time=time.time_ns() // 1_000_000,
        run_id=new_id(),
    )
    return Run(backend, record, settings, owns_backend=owns)


def _continue(backend: Backend, settings: Settings, run_id: str, *, owns: bool) -> Run:
    record = backend.store.get_run(run_id)
    if record.status.is_terminal:
        raise InvalidArgument(
            f"run {run_id} has already ended ({record.status.value})",
            hint="continue a RUNNING run, or unset SHIPYARD_RUN_ID to start a new one",
        )
    return Run(backend, record, settings, owns_backend=owns, continued=True)


def _log_extra(
    run: Run, params: Mapping[str, object] | None, tags: Mapping[str, object] | None
) -> None:
    if params:
        run.log_params(params)
    if tags:
        run.set_tags(tags)


def init(
    project: str | None = None,
    name: str | None = None,
    *,
    params: Mapping[str, object] | None = None,
    tags: Mapping[str, object] | None = None,
    parent: Run | str | None = None,
    run_id: str | None = None,
    settings: Settings | None = None,
) -> Run:
    """Start a run for the functional API (same arguments as :func:`start_run`).

    Example::

        shipyard.init(project="iris", params={"lr": 0.01})
        shipyard.log({"loss": 0.3})
        shipyard.finish()
    """
    return start_run(
        project, name, params=params, tags=tags, parent=parent, run_id=run_id, settings=settings
    )


def active_run() -> Run | None:
    """The innermost run started in this process and not yet finished."""
    return _ACTIVE.top()


def _current() -> Run:
    run = _ACTIVE.top()
    if run is None:
        raise InvalidArgument(
            "no active run", hint="call shipyard.init(project=...) or shipyard.start_run() first"
        )
    return run


def log(metrics: Mapping[str, float], step: int | None = None) -> None:
    """Log metrics to the active run (see :meth:`Run.log_metrics`)."""
    _current().log_metrics(metrics, step)


def log_params(params: Mapping[str, object]) -> None:
    """Add params to the active run."""
    _current().log_params(params)


def set_tags(tags: Mapping[str, object]) -> None:
    """Set tags on the active run."""
    _current().set_tags(tags)


def log_artifact(path: str | Path, artifact_path: str | None = None) -> list[Artifact]:
    """Upload a file or folder to the active run."""
    return _current().log_artifact(path, artifact_path)


def finish(status: RunStatus | str = RunStatus.FINISHED, error: str | None = None) -> None:
    """Finish the active run (does nothing when there is none)."""
    run = _ACTIVE.top()
    if run is not None:
        run.finish(status, error)


def log_model(
    model: Any,
    name: str,
    *,
    input_example: Any = None,
    register_as: str | None = None,
    flavor: str | None = None,
) -> LoggedModel:
    """Log a model to the active run (see :meth:`Run.log_model`)."""
    return _current().log_model(
        model, name, input_example=input_example, register_as=register_as, flavor=flavor
    )


def load_model(uri: str, *, settings: Settings | None = None) -> LoadedModel:
    """Load a model by URI: ``runs:/RUN_ID/models/NAME``, ``models:/NAME/VERSION``,
    ``models:/NAME@ALIAS`` or ``models:/NAME/latest``.

    Uses the active run's backend, else the configured one. Example::

        model = shipyard.load_model("models:/iris-clf@champion")
        model.predict(X)
    """
    from shipyard.sdk import _models

    run = _ACTIVE.top()
    if run is not None and settings is None:
        return _models.load(run.backend, run.settings, uri)
    settings = settings or Settings()
    backend = open_backend(settings)
    try:
        return _models.load(backend, settings, uri)
    finally:
        backend.close()


def register_model(uri: str, name: str, *, settings: Settings | None = None) -> ModelVersion:
    """Register the model a URI names (``runs:/RUN_ID/models/NAME``...) as the next version of
    registered model ``name``, created in the source run's project when new."""
    from shipyard.sdk import _models

    settings = settings or Settings()
    backend = open_backend(settings)
    try:
        return _models.register(backend, settings, uri, name)
    finally:
        backend.close()
