"""What every job of one workflow run shares while the engine runs it."""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shipyard.artifacts.base import ArtifactStore
from shipyard.domain.workflows import WorkflowJob, WorkflowRun
from shipyard.executors.base import Executor
from shipyard.settings import Settings
from shipyard.workflows._stores import EngineStore
from shipyard.workflows.spec import Workflow


@dataclass
class RunContext:
    """One workflow run in progress: its stores, executor, spec, params and cancel flag.

    ``reuse`` holds the jobs a retry takes over from the failed run (name -> job); ``code`` and
    ``environment`` are the fingerprints taken once when the run started.
    """

    store: EngineStore
    artifacts: ArtifactStore
    executor: Executor
    workflow: Workflow
    run: WorkflowRun
    params: Mapping[str, Any]
    workdir: Path
    settings: Settings
    code: str
    environment: str
    no_cache: bool = False
    reuse: Mapping[str, WorkflowJob] = field(default_factory=dict)
    cancel: threading.Event = field(default_factory=threading.Event)
    poll_s: float = 0.2
    heartbeat_s: float = 30.0
    """Seconds between the engine's heartbeats (``shipyard.workflows.engine.LOST_AFTER_S``)."""
    beat_at: float = 0.0

    @property
    def project(self) -> str:
        """The project the workflow run and its jobs' runs belong to."""
        return self.run.project


def tracking_env(settings: Settings, run_id: str, project: str, cwd: Path) -> dict[str, str]:
    """Every setting as a ``SHIPYARD_*`` variable, with ``SHIPYARD_RUN_ID`` and
    ``SHIPYARD_PROJECT`` set, so that a job's script logs into its run (relative paths made
    absolute against ``cwd``). Mirrors what job launchers give their commands."""
    values = settings.model_dump()
    values.update(run_id=run_id, project=project, home=_absolute(Path(settings.home), cwd))
    uri = settings.tracking_uri
    if uri and uri.startswith("sqlite:///") and not uri.startswith("sqlite:////"):
        path, sep, query = uri.removeprefix("sqlite:///").partition("?")
        if path and path != ":memory:":
            values["tracking_uri"] = f"sqlite:///{(cwd / path).as_posix()}{sep}{query}"
    if settings.artifacts and "://" not in settings.artifacts:
        values["artifacts"] = str(_absolute(Path(settings.artifacts), cwd))
    env = {f"SHIPYARD_{k.upper()}": _text(v) for k, v in values.items() if v is not None}
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def _absolute(path: Path, cwd: Path) -> Path:
    return path if path.is_absolute() else cwd / path


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float | Path):
        return str(value)
    return json.dumps(value)
