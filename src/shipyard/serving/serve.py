"""Run a model server with uvicorn: one process, or N worker processes built by a factory.

With ``workers > 1`` uvicorn starts fresh processes that import :func:`app_from_env`; the slots
and options travel to them as JSON in the ``SHIPYARD_SERVING_CONFIG`` environment variable (this
entry point is the one place the serving package reads the environment)::

    run([ModelSlot("iris", "3", Path("/models/iris/3"))], port=8000, workers=2)
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from fastapi import FastAPI

from shipyard.errors import InvalidArgument, Unavailable
from shipyard.serving.app import create_serving_app
from shipyard.serving.batching import BatchingConfig
from shipyard.serving.metrics import MULTIPROC_ENV
from shipyard.serving.predlog import PredLogConfig
from shipyard.serving.runtime import ModelSlot, ModelTable, ServingState

CONFIG_ENV = "SHIPYARD_SERVING_CONFIG"


@dataclass(frozen=True)
class ServeConfig:
    """Everything a worker process needs to build the app."""

    slots: tuple[ModelSlot, ...]
    batching: BatchingConfig | None = None
    predlog: PredLogConfig | None = None
    options: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        """The config as JSON (paths as strings)."""
        return json.dumps(
            {
                "slots": [{**asdict(s), "path": str(s.path)} for s in self.slots],
                "batching": None if self.batching is None else asdict(self.batching),
                "predlog": None if self.predlog is None else _predlog_dict(self.predlog),
                "options": self.options,
            }
        )

    @classmethod
    def from_json(cls, text: str) -> ServeConfig:
        """Inverse of :meth:`to_json`."""
        doc = json.loads(text)
        slots = tuple(ModelSlot(**{**s, "path": Path(s["path"])}) for s in doc["slots"])
        batching = None if doc.get("batching") is None else BatchingConfig(**doc["batching"])
        plog = doc.get("predlog")
        predlog = (
            None if plog is None else PredLogConfig(**{**plog, "folder": Path(plog["folder"])})
        )
        return cls(slots, batching, predlog, dict(doc.get("options") or {}))


def _predlog_dict(config: PredLogConfig) -> dict[str, Any]:
    return {**asdict(config), "folder": str(config.folder)}


def app_from_env() -> FastAPI:
    """The app of one worker process, from ``SHIPYARD_SERVING_CONFIG`` (uvicorn factory)."""
    text = os.environ.get(CONFIG_ENV)
    if not text:
        raise InvalidArgument(
            f"{CONFIG_ENV} is not set",
            hint="start workers with shipyard.serving.serve.run or `shipyard serve`",
        )
    config = ServeConfig.from_json(text)
    return create_serving_app(config.slots, batching=config.batching, predlog=config.predlog)


def _require_ready(table: ModelTable) -> None:
    """Refuse to start a server whose models did not all load."""
    if table.failed:
        reasons = "; ".join(f"{name} version {v} {why}" for (name, v), why in table.failed.items())
        raise Unavailable(
            f"not serving: {reasons}",
            hint="check the model folder (it needs shipyard-model.yaml or an MLflow MLmodel)",
        )


def run(
    slots: Sequence[ModelSlot],
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 1,
    *,
    batching: BatchingConfig | None = None,
    predlog: PredLogConfig | None = None,
    log_level: str = "warning",
    access_log: bool = False,
) -> None:
    """Serve ``slots`` until interrupted (blocks).

    Args:
        slots: the model versions to serve.
        host: the address to listen on.
        port: the TCP port.
        workers: uvicorn worker processes (each loads the models; ``/metrics`` sums them).
        batching: adaptive batching limits (off when None).
        predlog: prediction logging (off when None); each process writes its own files.
        log_level: uvicorn's log level.
        access_log: log every request (off: it costs throughput).

    Raises:
        Unavailable: a model failed to load (checked before serving; with several workers the
            models are loaded once more in this process to check).
    """
    import uvicorn

    if workers < 1:
        raise InvalidArgument(f"workers must be at least 1, got {workers}", hint="e.g. --workers 2")
    if workers == 1:
        app = create_serving_app(slots, batching=batching, predlog=predlog)
        _require_ready(app.state.serving.table)
        uvicorn.run(app, host=host, port=port, log_level=log_level, access_log=access_log)
        return
    _require_ready(ServingState(slots).table)  # fail here, not in every worker
    os.environ[CONFIG_ENV] = ServeConfig(tuple(slots), batching, predlog).to_json()
    with _shared_metrics():
        uvicorn.run(
            "shipyard.serving.serve:app_from_env",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level=log_level,
            access_log=access_log,
        )


@contextlib.contextmanager
def _shared_metrics() -> Iterator[None]:
    """A folder the workers (spawned fresh, so they read it on import) keep their metric values
    in, removed afterwards; one set by the caller is used as it is."""
    if os.environ.get(MULTIPROC_ENV):
        yield
        return
    with tempfile.TemporaryDirectory(prefix="shipyard-metrics-") as folder:
        os.environ[MULTIPROC_ENV] = folder
        try:
            yield
        finally:
            os.environ.pop(MULTIPROC_ENV, None)
