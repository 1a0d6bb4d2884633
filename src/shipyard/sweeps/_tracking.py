"""The Shipyard side of a sweep: the parent run that summarises it, and one run per trial.

The parent run's id is the sweep id. Its tags hold the progress and the best trial
(``shipyard.sweep.best_value``, ``.best_params``, ``.best_run``...), its metrics the best value
after each finished trial (``best/<metric>``, step = trials finished) and each completed trial's
value (``trial/<metric>``, step = trial number). Trial runs are its children, tagged with the
sweep id, the trial number and the method, and get the trial's params.
"""

from __future__ import annotations

import json
import math
import tempfile
import threading
import time
from collections.abc import Iterable, Mapping
from pathlib import Path

from shipyard.capture.layout import OUTPUT_ARTIFACT
from shipyard.domain.entities import ParamValue, RunStatus
from shipyard.domain.entities import Run as RunRecord
from shipyard.domain.ids import new_id
from shipyard.domain.validation import validate_params, validate_project_name, validate_tags
from shipyard.errors import NotFound
from shipyard.sdk.backend import Backend, open_backend
from shipyard.sdk.run import Run
from shipyard.settings import Settings
from shipyard.store.base import SearchQuery
from shipyard.sweeps.result import SweepProgress, TrialSummary
from shipyard.sweeps.spec import SweepSpec, format_value

SWEEP_TAG = "shipyard.sweep.id"
TRIAL_TAG = "shipyard.sweep.trial"
METHOD_TAG = "shipyard.sweep.method"
ROLE_TAG = "shipyard.sweep.role"
STATE_TAG = "shipyard.sweep.state"
PRUNED_TAG = "shipyard.sweep.pruned"
JOB_TAG = "shipyard.sweep.job"
STORAGE_TAG = "shipyard.sweep.storage"
SPEC_ARTIFACT = ".shipyard/sweep.json"


def now_ms() -> int:
    """The current time in epoch milliseconds."""
    return time.time_ns() // 1_000_000


class SweepRuns:
    """Creates and ends trial runs and keeps the parent run's summary current (thread-safe)."""

    def __init__(self, backend: Backend, parent: Run, spec: SweepSpec, settings: Settings) -> None:
        self.backend = backend
        self.parent = parent
        self.spec = spec
        self.settings = settings
        self.quiet = settings.model_copy(update={"capture": False, "system_metrics_interval": 0})
        self._lock = threading.Lock()

    @classmethod
    def open(
        cls,
        settings: Settings,
        spec: SweepSpec,
        sweep_id: str,
        project: str,
        *,
        resume: bool,
        storage_label: str,
    ) -> SweepRuns:
        """The parent run of sweep ``sweep_id``: created, or continued when ``resume``."""
        backend = open_backend(settings)
        try:
            if resume:
                parent = _continue_parent(backend, settings, sweep_id)
            else:
                parent = _new_parent(backend, settings, spec, sweep_id, project, storage_label)
        except BaseException:
            backend.close()
            raise
        return cls(backend, parent, spec, settings)

    # -- trials ------------------------------------------------------------------------------
    def create_trial(self, number: int, params: Mapping[str, ParamValue]) -> RunRecord:
        """A RUNNING child run of the sweep for trial ``number`` with the trial's params."""
        tags = {
            SWEEP_TAG: self.parent.id,
            TRIAL_TAG: str(number),
            METHOD_TAG: self.spec.method,
            ROLE_TAG: "trial",
        }
        return self.backend.store.create_run(
            self.parent.project,
            name=f"{self.parent.name}-{number}",
            user=self.settings.user,
            params=validate_params(params),
            tags=validate_tags(tags),
            parent_id=self.parent.id,
            start_time=now_ms(),
            run_id=new_id(),
        )

    def stray_runs(self, number: int) -> list[str]:
        """RUNNING runs of trial ``number`` that the trial does not name (a driver killed
        between creating the run and recording its id on the trial leaves one)."""
        clauses = (
            f"tags.`{SWEEP_TAG}` = '{self.parent.id}'",
            f"tags.`{TRIAL_TAG}` = '{number}'",
            "status = 'RUNNING'",
        )
        query = SearchQuery(project=self.parent.project, filter=" AND ".join(clauses), limit=10)
        return [run.id for run in self.backend.store.search_runs(query).items]

    def attach(self, record: RunRecord) -> Run:
        """A live :class:`Run` on a trial's run (for objectives that run in this process)."""
        return Run(self.backend, record, self.quiet, owns_backend=False)

    def tag_job(self, run_id: str, job: str) -> None:
        """Record the job that runs a trial on the trial's run."""
        self.backend.store.set_tags(run_id, {JOB_TAG: job})

    def end_trial(
        self,
        run_id: str,
        state: str,
        status: RunStatus,
        error: str | None = None,
        *,
        force: bool = False,
    ) -> None:
        """Tag the trial's run with its outcome and end it with ``status`` if it is still
        RUNNING (``force``: whatever it is, as for a pruned trial, which the sweep stopped)."""
        tags = {STATE_TAG: state}
        if state == "PRUNED":
            tags[PRUNED_TAG] = "true"
        store = self.backend.store
        store.set_tags(run_id, tags)
        if force or store.get_run(run_id).status is RunStatus.RUNNING:
            store.update_run(run_id, status=status, end_time=now_ms(), error=error)

    def final_value(self, run_id: str) -> float | None:
        """The last value the trial's run logged for the metric (``None``: none or NaN)."""
        summary = self.backend.store.get_run(run_id).metrics.get(self.spec.metric.name)
        if summary is None or not math.isfinite(summary.last):
            return None
        return summary.last

    def points_after(self, run_id: str, step: int) -> list[tuple[int, float]]:
        """The metric's finite points logged by the trial's run at steps above ``step``."""
        try:
            series = self.backend.store.metric_history(run_id, self.spec.metric.name)
        except NotFound:  # nothing logged yet
            return []
        return [
            (s, v)
            for s, v in zip(series.steps, series.values, strict=True)
            if s > step and math.isfinite(v)
        ]

    def store_output(self, run_id: str, lines: Iterable[str]) -> None:
        """Store a trial's output lines as its ``.shipyard/output.log`` artifact."""
        with tempfile.TemporaryDirectory(prefix="shipyard-sweep-") as tmp:
            path = Path(tmp, "output.log")
            with path.open("w", encoding="utf-8") as out:
                for line in lines:
                    out.write(line + "\n")
            self.backend.upload_artifacts(run_id, [(path, OUTPUT_ARTIFACT)])

    # -- the parent --------------------------------------------------------------------------
    def summarize(self, progress: SweepProgress, trial: TrialSummary | None) -> None:
        """Write the sweep's progress (and a trial that just finished) to the parent run."""
        name = self.spec.metric.name
        tags: dict[str, object] = {
            "shipyard.sweep.progress": f"{progress.finished}/{progress.max_trials}",
            "shipyard.sweep.trials.completed": progress.completed,
            "shipyard.sweep.trials.pruned": progress.pruned,
            "shipyard.sweep.trials.failed": progress.failed,
        }
        best = progress.best
        if best is not None and best.value is not None:
            tags.update(_best_tags(best))
        with self._lock:
            self.parent.set_tags(tags)
            if trial is not None and trial.state == "COMPLETE" and trial.value is not None:
                self.parent.log_metrics({f"trial/{name}": trial.value}, step=trial.number)
            if trial is not None and best is not None and best.value is not None:
                self.parent.log_metrics({f"best/{name}": best.value}, step=progress.finished)

    def close(self, status: RunStatus, error: str | None = None) -> None:
        """End the parent run and release the backend."""
        try:
            self.parent.finish(status, error)
        finally:
            self.backend.close()


def _best_tags(best: TrialSummary) -> dict[str, object]:
    return {
        "shipyard.sweep.best_value": format_value(best.value),
        "shipyard.sweep.best_trial": best.number,
        "shipyard.sweep.best_run": best.run_id or "",
        "shipyard.sweep.best_params": json.dumps(dict(best.params), sort_keys=True),
    }


def _new_parent(
    backend: Backend,
    settings: Settings,
    spec: SweepSpec,
    sweep_id: str,
    project: str,
    storage_label: str,
) -> Run:
    tags = {
        ROLE_TAG: "sweep",
        SWEEP_TAG: sweep_id,
        METHOD_TAG: spec.method,
        STORAGE_TAG: storage_label,
        "shipyard.sweep.metric": spec.metric.name,
        "shipyard.sweep.goal": spec.metric.goal,
        "shipyard.sweep.max_trials": spec.max_trials,
    }
    record = backend.store.create_run(
        validate_project_name(project),
        name=spec.name or f"sweep-{sweep_id[-6:]}",
        user=settings.user,
        tags=validate_tags(tags),
        start_time=now_ms(),
        run_id=sweep_id,
    )
    parent_settings = settings.model_copy(update={"system_metrics_interval": 0})
    parent = Run(backend, record, parent_settings, owns_backend=False)
    parent.log_dict(spec.to_dict(), SPEC_ARTIFACT)
    return parent


def _continue_parent(backend: Backend, settings: Settings, sweep_id: str) -> Run:
    try:
        record = backend.store.get_run(sweep_id)
    except NotFound:
        raise NotFound(
            f"the run of sweep {sweep_id} is not in this tracking store",
            hint="resume with the tracking URI the sweep started with (--tracking-uri)",
        ) from None
    if record.status.is_terminal:  # an interrupted sweep ended KILLED; it runs again now
        record = backend.store.update_run(sweep_id, status=RunStatus.RUNNING, error="")
    quiet = settings.model_copy(update={"capture": False, "system_metrics_interval": 0})
    return Run(backend, record, quiet, owns_backend=False, continued=True)
