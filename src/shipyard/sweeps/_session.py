"""One sweep being driven: its Optuna study, its runs, its trial budget and its progress.

Both engines (commands through an executor, and Python objectives in this process) use a
:class:`SweepSession`: ``claim`` a slot, ``ask`` a trial (which creates its run), then end it
with ``complete``, ``prune``, ``fail`` or ``requeue``. Every ending tells the study, ends the
trial's run, and updates the parent run and the progress callback. Thread-safe.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace

import optuna
from optuna.storages import RDBStorage
from optuna.trial import FrozenTrial, Trial, TrialState

from shipyard.domain.entities import ParamValue, RunStatus
from shipyard.domain.entities import Run as RunRecord
from shipyard.domain.ids import new_id
from shipyard.sdk.run import format_error
from shipyard.settings import Settings
from shipyard.sweeps import _optuna as opt
from shipyard.sweeps._tracking import SweepRuns
from shipyard.sweeps.result import SweepProgress, SweepResult, best_trial, summarize
from shipyard.sweeps.spec import SweepSpec

logger = logging.getLogger("shipyard.sweeps")

ProgressCallback = Callable[[SweepProgress], None]
_STATUS = {"COMPLETE": RunStatus.FINISHED, "PRUNED": RunStatus.KILLED, "FAIL": RunStatus.FAILED}


@dataclass(frozen=True, slots=True)
class Started:
    """A trial just asked for: the Optuna trial, its params (constants included), its run."""

    trial: Trial
    params: Mapping[str, ParamValue]
    run: RunRecord

    @property
    def number(self) -> int:
        """The trial's number in the study."""
        return self.trial.number


class SweepSession:
    """The state of one sweep while it runs (open it with :func:`open_session`)."""

    def __init__(
        self,
        study: optuna.Study,
        storage: RDBStorage,
        spec: SweepSpec,
        runs: SweepRuns,
        on_progress: ProgressCallback | None,
    ) -> None:
        self.study = study
        self.storage = storage
        self.spec = spec
        self.runs = runs
        self.sweep_id = study.study_name
        self.distributions = opt.distributions(spec)
        self.constants = {n: p.values[0] for n, p in spec.parameters.items() if p.is_constant}
        self._on_progress = on_progress
        self._lock = threading.Lock()
        trials = [summarize(t, spec) for t in study.get_trials(deepcopy=False)]
        self._trials = {t.number: t for t in trials if t.state != "RUNNING"}
        self._running = 0

    # -- the budget ----------------------------------------------------------------------------
    def claim(self) -> bool:
        """Reserve a slot for one more trial; ``False`` once ``max_trials`` are used up."""
        with self._lock:
            if self._finished_count() + self._running >= self.spec.max_trials:
                return False
            self._running += 1
            return True

    def _finished_count(self) -> int:
        return sum(1 for t in self._trials.values() if t.state in _STATUS and not t.requeued)

    # -- trials ------------------------------------------------------------------------------
    def ask(self) -> Started:
        """Ask the study for a trial (after :meth:`claim`) and create its run."""
        trial = self.study.ask(self.distributions)
        params = {**trial.params, **self.constants}
        try:
            record = self.runs.create_trial(trial.number, params)
        except BaseException:
            self.study.tell(trial, state=TrialState.FAIL)
            self._release()
            raise
        trial.set_user_attr(opt.RUN_ATTR, record.id)
        return Started(trial, params, record)

    def adopt_orphans(self) -> list[FrozenTrial]:
        """Trials left RUNNING by a driver that went away, each counted as running here until
        it is ended (call before starting new trials)."""
        orphans = self.study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
        with self._lock:
            self._running += len(orphans)
        return orphans

    def set_job(self, trial: Trial, run_id: str, job: str) -> None:
        """Record the job that runs ``trial`` on the trial and on its run."""
        trial.set_user_attr(opt.JOB_ATTR, job)
        self.runs.tag_job(run_id, job)

    def complete(self, trial: Trial | int, run_id: str, value: float) -> None:
        """The trial ended with ``value``: tell the study and finish its run."""
        frozen = self.study.tell(trial, value)
        self.runs.end_trial(run_id, "COMPLETE", RunStatus.FINISHED)
        self._record(frozen)

    def prune(self, trial: Trial | int, run_id: str) -> None:
        """The pruner stopped the trial: its run ends KILLED with ``shipyard.sweep.pruned``."""
        frozen = self.study.tell(trial, state=TrialState.PRUNED)
        error = "pruned: the sweep stopped this trial early (its intermediate values lagged)"
        self.runs.end_trial(run_id, "PRUNED", RunStatus.KILLED, error, force=True)
        self._record(frozen)

    def fail(self, trial: Trial | int, run_id: str | None, error: str, status: RunStatus) -> None:
        """The trial failed: tell the study, end its run with ``status`` and ``error``."""
        frozen = self.study.tell(trial, state=TrialState.FAIL)
        if run_id is not None:
            self.runs.end_trial(run_id, "FAIL", status, error)
        self._record(frozen)

    def requeue(self, trial: Trial | int, run_id: str | None, why: str) -> None:
        """An interruption cut the trial short: fail it without counting it, end its run
        KILLED, and queue its params again so that the next ``ask`` retries them."""
        number = trial if isinstance(trial, int) else trial.number
        study_id = self.storage.get_study_id_from_name(self.sweep_id)
        trial_id = self.storage.get_trial_id_from_study_id_trial_number(study_id, number)
        self.storage.set_trial_user_attr(trial_id, opt.REQUEUED_ATTR, True)
        frozen = self.study.tell(trial, state=TrialState.FAIL, skip_if_finished=True)
        params = {k: v for k, v in frozen.params.items() if k in self.distributions}
        self.study.enqueue_trial(params, user_attrs={opt.RETRY_OF_ATTR: number})
        for run in [run_id] if run_id is not None else self.runs.stray_runs(number):
            self.runs.end_trial(run, "FAIL", RunStatus.KILLED, f"interrupted: {why}")
        self._record(self.storage.get_trial(trial_id))  # read again: the requeued mark is set

    def _release(self) -> None:
        with self._lock:
            self._running -= 1

    def _record(self, frozen: FrozenTrial) -> None:
        summary = summarize(frozen, self.spec)
        with self._lock:
            self._running = max(self._running - 1, 0)
            self._trials[summary.number] = summary
            progress = self._progress()
        if not summary.requeued:
            self.runs.summarize(progress, summary)
        if self._on_progress is not None:
            self._on_progress(progress)

    # -- reporting ---------------------------------------------------------------------------
    def progress(self) -> SweepProgress:
        """The counters now."""
        with self._lock:
            return self._progress()

    def _progress(self) -> SweepProgress:
        counted = [t for t in self._trials.values() if not t.requeued]
        return SweepProgress(
            self.sweep_id,
            self.spec.max_trials,
            completed=sum(1 for t in counted if t.state == "COMPLETE"),
            pruned=sum(1 for t in counted if t.state == "PRUNED"),
            failed=sum(1 for t in counted if t.state == "FAIL"),
            running=self._running,
            best=best_trial(counted, self.spec.metric),
        )

    def notify(self) -> None:
        """Send the current progress to the callback (e.g. after trials started)."""
        if self._on_progress is not None:
            self._on_progress(self.progress())

    def result(self) -> SweepResult:
        """Every trial of the study, as it is stored now."""
        trials = tuple(summarize(t, self.spec) for t in self.study.get_trials(deepcopy=False))
        return SweepResult(self.sweep_id, self.runs.parent.project, self.spec, trials)


@contextlib.contextmanager
def open_session(
    spec: SweepSpec,
    *,
    settings: Settings,
    storage: str | None,
    sweep_id: str | None,
    on_progress: ProgressCallback | None,
) -> Iterator[SweepSession]:
    """Start sweep ``spec`` (or resume ``sweep_id``) and end its parent run when the block ends:
    ``FINISHED``, ``KILLED`` on ``KeyboardInterrupt``, ``FAILED`` on another error."""
    url = opt.storage_url(settings, storage)
    optuna_storage = opt.open_storage(url)
    try:
        session = _start(spec, settings, optuna_storage, url, sweep_id, on_progress)
        try:
            yield session
        except BaseException as exc:
            status = RunStatus.KILLED if isinstance(exc, KeyboardInterrupt) else RunStatus.FAILED
            hint = f"; resume it with --resume {session.sweep_id}"
            session.runs.close(status, f"{format_error(exc)}{hint}")
            raise
        session.runs.close(RunStatus.FINISHED)
    finally:
        optuna_storage.engine.dispose()


def _start(
    spec: SweepSpec,
    settings: Settings,
    storage: RDBStorage,
    url: str,
    sweep_id: str | None,
    on_progress: ProgressCallback | None,
) -> SweepSession:
    if sweep_id is not None:
        study = opt.load_study(storage, sweep_id, spec)
        project = opt.study_project(study)
        spec = replace(spec, project=project)
        study.set_user_attr(opt.SPEC_ATTR, spec.to_dict())  # e.g. a new max_trials
        runs = SweepRuns.open(
            settings, spec, sweep_id, project, resume=True, storage_label=opt.redact(url)
        )
        return SweepSession(study, storage, spec, runs, on_progress)
    opt.make_sampler(spec)  # fail before creating anything (e.g. cmaes not installed)
    sweep_id = new_id()
    project = spec.project or settings.project
    runs = SweepRuns.open(
        settings, spec, sweep_id, project, resume=False, storage_label=opt.redact(url)
    )
    try:
        study = opt.create_study(storage, sweep_id, spec, project)
    except BaseException as exc:
        runs.close(RunStatus.FAILED, f"could not create the sweep's study: {exc}")
        raise
    return SweepSession(study, storage, spec, runs, on_progress)
