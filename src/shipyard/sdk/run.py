"""A live run: what ``shipyard.start_run`` returns.

Logging metrics, params and tags only validates and enqueues (see ``_writer.py``); artifacts upload
synchronously. Used as a context manager, a run ends ``FINISHED`` on a normal exit, ``FAILED`` (with
the error and a short traceback) on an exception and ``KILLED`` on ``KeyboardInterrupt``.
"""

from __future__ import annotations

import json
import math
import operator
import posixpath
import sys
import tempfile
import time
import traceback
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from shipyard.domain.batch import RunEnd
from shipyard.domain.collab import validate_notes
from shipyard.domain.datasets import DatasetVersion
from shipyard.domain.entities import Artifact, ParamValue, RunStatus
from shipyard.domain.entities import Run as RunRecord
from shipyard.domain.validation import (
    validate_artifact_path,
    validate_key,
    validate_metric_value,
    validate_params,
    validate_tags,
)
from shipyard.errors import Conflict, InvalidArgument, NotFound, ShipyardError
from shipyard.sdk import _capture
from shipyard.sdk._system import SystemMonitor
from shipyard.sdk._writer import BatchWriter, WriterStats
from shipyard.sdk.backend import Backend
from shipyard.settings import Settings

if TYPE_CHECKING:
    from shipyard.sdk._models import LoggedModel

MAX_ERROR_CHARS = 4000
_TRACEBACK_FRAMES = 8


def format_error(exc: BaseException) -> str:
    """``Type: message`` and the innermost frames of the traceback, at most 4,000 characters."""
    head = f"{type(exc).__name__}: {exc}".rstrip(": ")
    frames = traceback.format_tb(exc.__traceback__, limit=-_TRACEBACK_FRAMES)
    text = head + ("\nTraceback (most recent call last):\n" + "".join(frames) if frames else "")
    if len(text) > MAX_ERROR_CHARS:
        text = head[: MAX_ERROR_CHARS // 2] + "\n...\n" + text[-(MAX_ERROR_CHARS // 2) :]
    return text.rstrip("\n")


def _same_param(old: ParamValue, new: ParamValue) -> bool:
    if type(old) is not type(new):
        return False
    if isinstance(old, float) and isinstance(new, float) and math.isnan(old):
        return math.isnan(new)
    return old == new


def _coerce_step(step: object) -> int:
    if isinstance(step, bool):
        raise InvalidArgument(f"step {step!r} is a bool", hint="pass an integer step such as 10")
    try:
        value = operator.index(step)  # type: ignore[arg-type]  # numpy integers too
    except TypeError:
        raise InvalidArgument(
            f"step {step!r} is not an integer", hint="pass an integer step such as 10"
        ) from None
    if value < 0:
        raise InvalidArgument(f"step {value} is negative", hint="steps start at 0")
    return int(value)


class Run:
    """A run being tracked. Create one with :func:`shipyard.start_run` or :func:`shipyard.init`.

    Example::

        with shipyard.start_run(project="iris", params={"lr": 0.01}) as run:
            run.log_metrics({"loss": 0.5}, step=0)
    """

    def __init__(
        self,
        backend: Backend,
        record: RunRecord,
        settings: Settings,
        *,
        owns_backend: bool,
        continued: bool = False,
    ) -> None:
        self._backend = backend
        self._record = record
        self._settings = settings
        self._owns_backend = owns_backend
        self._continued = continued
        self._params: dict[str, ParamValue] = dict(record.params)
        self._tags: dict[str, str] = dict(record.tags)
        self._known_keys: set[str] = set(record.metrics)
        steps = [m.last_step for m in record.metrics.values() if not m.key.startswith("system/")]
        self._next_step = max(steps, default=-1) + 1
        self._status = record.status
        self._ended = False
        self._on_end: list[Callable[[Run], None]] = []
        self._writer = BatchWriter(
            backend.store,
            record.id,
            spool_dir=settings.spool_dir,
            flush_interval=settings.flush_interval,
        )
        self._monitor: SystemMonitor | None = None
        if settings.system_metrics_interval > 0:
            self._monitor = SystemMonitor(
                self._writer.put_metrics, settings.system_metrics_interval
            )
            self._monitor.start()
        self._capture = _capture.on_run_start(self, settings, continued=continued)

    # -- identity ----------------------------------------------------------------------------
    @property
    def id(self) -> str:
        """The run's id (stable: the same for the run's whole life and on the server)."""
        return self._record.id

    @property
    def project(self) -> str:
        """The project's name."""
        return self._record.project

    @property
    def name(self) -> str:
        """The run's display name."""
        return self._record.name

    @property
    def parent_id(self) -> str | None:
        """The parent run's id for a nested run."""
        return self._record.parent_id

    @property
    def status(self) -> RunStatus:
        """``RUNNING`` until :meth:`finish`; then the status it ended with."""
        return self._status

    @property
    def params(self) -> Mapping[str, ParamValue]:
        """The params this run has (a copy)."""
        return dict(self._params)

    @property
    def tags(self) -> Mapping[str, str]:
        """The tags this run has set (a copy)."""
        return dict(self._tags)

    @property
    def writer_stats(self) -> WriterStats:
        """Counters of the background writer (batches sent, rejected...)."""
        return self._writer.stats

    @property
    def backend(self) -> Backend:
        """The backend this run writes to."""
        return self._backend

    @property
    def settings(self) -> Settings:
        """The settings this run was started with."""
        return self._settings

    def __repr__(self) -> str:
        return f"Run(id={self.id!r}, project={self.project!r}, name={self.name!r})"

    # -- logging -----------------------------------------------------------------------------
    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        """Log several metrics at one step (default: the next step of this run's counter).

        Only validates and enqueues: never waits for I/O. Raises ``InvalidArgument`` for a bad key,
        a non-numeric value or a bad step, and ``Conflict`` after the run ended.
        """
        if self._ended:
            self._raise_ended()
        if step is None:
            step = self._next_step
            self._next_step = step + 1
        else:
            if type(step) is not int or step < 0:
                step = _coerce_step(step)
            if step >= self._next_step:
                self._next_step = step + 1
        known = self._known_keys
        values: dict[str, float] = {}
        for key, value in metrics.items():
            if key not in known:
                known.add(validate_key(key, "metric key"))
            values[key] = value if type(value) is float else validate_metric_value(key, value)
        self._writer.put_metrics(step, values)

    def log_metric(self, key: str, value: float, step: int | None = None) -> None:
        """Log one metric (see :meth:`log_metrics`)."""
        self.log_metrics({key: value}, step)

    def log_params(self, params: Mapping[str, object]) -> None:
        """Add params. The same value again is a no-op; another value raises ``Conflict`` here."""
        self._check_open()
        validated = validate_params(params)
        new: dict[str, ParamValue] = {}
        for key, value in validated.items():
            if key not in self._params:
                new[key] = value
            elif not _same_param(self._params[key], value):
                raise Conflict(
                    f"param {key!r} of run {self.id} is already {self._params[key]!r}; "
                    f"it cannot become {value!r}",
                    hint="params never change; use another key, or start a new run",
                )
        if new:
            self._params.update(new)
            self._writer.put_params(new)

    def set_tags(self, tags: Mapping[str, object]) -> None:
        """Set or overwrite tags (values are converted to text)."""
        self._check_open()
        validated = validate_tags(tags)
        self._tags.update(validated)
        self._writer.put_tags(validated)

    def set_notes(self, notes: str) -> None:
        """Replace the run's Markdown notes (at most 64 KiB), now: ``run.set_notes("# Why")``."""
        self._check_open()
        self._backend.store.update_run(self.id, notes=validate_notes(notes, "run notes"))

    # -- artifacts ---------------------------------------------------------------------------
    def log_artifact(self, path: str | Path, artifact_path: str | None = None) -> list[Artifact]:
        """Upload a file, or every file under a folder, now; returns the records.

        The file or folder keeps its name inside ``artifact_path`` (the run's root by default):
        ``log_artifact("out/model.pkl", "models")`` stores ``models/model.pkl``. Identical content
        is stored once. Raises ``NotFound`` when ``path`` does not exist.
        """
        self._check_open()
        local = Path(path)
        if not local.exists():
            raise NotFound(f"no file or folder at {local}", hint="check the path you passed")
        name = local.resolve().name
        target = (
            posixpath.join(validate_artifact_path(artifact_path), name) if artifact_path else name
        )
        if local.is_dir():
            files = [
                (file, f"{target}/{file.relative_to(local).as_posix()}")
                for file in sorted(local.rglob("*"))
                if file.is_file()
            ]
            if not files:
                raise InvalidArgument(f"folder {local} has no files", hint="log a non-empty folder")
        else:
            files = [(local, target)]
        return self._upload(files)

    def log_text(self, text: str, path: str) -> Artifact:
        """Store ``text`` (UTF-8) as the artifact ``path``: ``run.log_text(notes, "notes.md")``."""
        self._check_open()
        artifact_path = validate_artifact_path(path)
        with tempfile.TemporaryDirectory(prefix="shipyard-") as tmp:
            local = Path(tmp) / posixpath.basename(artifact_path)
            local.write_text(text, encoding="utf-8")
            return self._upload([(local, artifact_path)])[0]

    def log_dict(self, obj: object, path: str) -> Artifact:
        """Store a JSON-serializable object as the JSON artifact ``path``."""
        try:
            text = json.dumps(obj, indent=2, ensure_ascii=False)
        except (TypeError, ValueError) as exc:
            raise InvalidArgument(
                f"cannot log {type(obj).__name__} as JSON: {exc}",
                hint="log dicts, lists, strings, numbers, booleans and None",
            ) from None
        return self.log_text(text + "\n", path)

    def _upload(self, files: Sequence[tuple[Path, str]]) -> list[Artifact]:
        return list(self._backend.upload_artifacts(self.id, files))

    # -- lifecycle ---------------------------------------------------------------------------
    def flush(self, timeout: float | None = None) -> bool:
        """Wait until everything logged so far reached the backend; ``False`` on timeout."""
        if self._ended:
            return self._writer.pending_batches == 0
        return self._writer.flush(timeout)

    def finish(
        self, status: RunStatus | str = RunStatus.FINISHED, error: str | None = None
    ) -> None:
        """End the run: stop system metrics, send what is pending with the end status, and wait up
        to ``settings.end_timeout`` seconds. Unsent data stays spooled for ``shipyard sync``.
        Calling it again does nothing."""
        final = RunStatus(status)
        if final is RunStatus.RUNNING:
            raise InvalidArgument(
                "a run cannot finish as RUNNING", hint="use FINISHED, FAILED or KILLED"
            )
        if self._ended:
            return
        if self._capture is not None:  # the environment is stored while the run is still open
            self._capture.wait(self._settings.capture_timeout)
        self._ended = True
        if self._monitor is not None:
            self._monitor.stop()
        end = RunEnd(final, time.time_ns() // 1_000_000, error) if self._may_end() else None
        delivered = self._writer.close(end, self._settings.end_timeout)
        if end is not None:
            self._status = final
        if not delivered:
            self._report_spooled()
        for callback in self._on_end:
            callback(self)
        if self._owns_backend:
            self._backend.close()

    def _may_end(self) -> bool:
        """A run this process created always ends; a continued one only while still RUNNING."""
        if not self._continued:
            return True
        try:
            return self._backend.store.get_run(self.id).status is RunStatus.RUNNING
        except ShipyardError:
            return False

    def _report_spooled(self) -> None:
        sys.stderr.write(
            f"shipyard: run {self.id} could not reach the tracking backend; its unsent data is "
            f"kept in {self._settings.spool_dir} and `shipyard sync` will upload it.\n"
        )

    def add_end_callback(self, callback: Callable[[Run], None]) -> None:
        """Call ``callback(run)`` once the run has ended (used by the functional API)."""
        self._on_end.append(callback)

    def __enter__(self) -> Run:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        status, error = outcome_of(exc)
        self.finish(status, error)

    def _check_open(self) -> None:
        if self._ended:
            self._raise_ended()

    def _raise_ended(self) -> None:
        raise Conflict(
            f"run {self.id} has ended ({self._status.value})",
            hint="start a new run with shipyard.start_run()",
        )

    # -- datasets ----------------------------------------------------------------------------
    def use_dataset(self, name: str, version: int | None = None) -> Path:
        """Download a dataset version into the local cache (reused when already complete),
        record it as an input of this run, and return the folder that holds its files.

        ``version=None`` takes the version pinned in ``settings.dataset_pins`` (what
        ``shipyard reproduce`` sets), else the latest. Raises ``NotFound`` for an unknown dataset
        or version. Example: ``data = run.use_dataset("mnist", 3)``.
        """
        self._check_open()
        from shipyard.sdk._datasets import use_dataset

        return use_dataset(self._backend, self._settings, self.id, name, version)

    def log_dataset(self, name: str, path: str | Path, message: str = "") -> DatasetVersion:
        """Add a file or folder as a new version of dataset ``name`` (only content the store
        lacks is uploaded; unchanged content returns the latest version) and record it as an
        output of this run. Example: ``run.log_dataset("features", "out/features")``.
        """
        self._check_open()
        from shipyard.sdk._datasets import log_dataset

        return log_dataset(self._backend, self._settings, self.id, name, Path(path), message)

    # -- models ------------------------------------------------------------------------------
    def log_model(
        self,
        model: Any,
        name: str,
        *,
        input_example: Any = None,
        register_as: str | None = None,
        flavor: str | None = None,
    ) -> LoggedModel:
        """Save a model with its flavor, signature and requirements under the run's
        ``models/<name>/`` and, with ``register_as``, register it as the next version of that
        registered model (created in the run's project when new).

        The flavor (``sklearn``, ``xgboost``, ``lightgbm``, ``onnx``, ``python``) is found from
        the model's class unless named. Example::

            logged = run.log_model(clf, "iris-clf", input_example=X[:5], register_as="iris-clf")
            logged.uri      # runs:/<run id>/models/iris-clf
        """
        self._check_open()
        from shipyard.sdk._models import log_model

        return log_model(
            self._backend,
            self._settings,
            self.id,
            model,
            name,
            input_example=input_example,
            register_as=register_as,
            flavor=flavor,
        )


def outcome_of(exc: BaseException | None) -> tuple[RunStatus, str | None]:
    """The status and error a run ends with after ``exc`` (``None``: a normal exit)."""
    if exc is None:
        return RunStatus.FINISHED, None
    if isinstance(exc, KeyboardInterrupt):
        return RunStatus.KILLED, "KeyboardInterrupt"
    if isinstance(exc, SystemExit) and exc.code in (None, 0):
        return RunStatus.FINISHED, None
    return RunStatus.FAILED, format_error(exc)
