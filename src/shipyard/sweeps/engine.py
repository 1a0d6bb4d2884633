"""Run a sweep: Optuna asks, each trial runs as a tracked run, Optuna is told how it ended.

Command trials go through an :class:`~shipyard.executors.Executor` (up to ``parallel`` at
once): the trial's run is created first, and the command gets ``SHIPYARD_RUN_ID`` so that
``shipyard.start_run()`` inside it logs into that run. While a trial runs, the driver reads the
run's history of the spec's metric, reports new points to the trial, and cancels the job when
the pruner says so. When the job ends, the run's last value of the metric is the trial's value.

An interrupted sweep resumes with ``sweep_id``: completed trials are kept; a trial whose job
still runs is watched to its end, one whose job ended meanwhile is told its result, and one
that never got a job (or whose job was lost) is failed and queued again.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass
from pathlib import Path

from optuna.trial import FrozenTrial, Trial

from shipyard.domain.entities import RunStatus
from shipyard.errors import InvalidArgument, ShipyardError, Unavailable
from shipyard.executors import Executor, JobHandle, JobSpec, JobState, JobStatus, LocalExecutor
from shipyard.sdk._process import child_environment
from shipyard.settings import Settings
from shipyard.sweeps import _optuna as opt
from shipyard.sweeps._objective import Objective, run_objectives
from shipyard.sweeps._session import (
    ProgressCallback,
    Started,
    SweepSession,
    logger,
    open_session,
)
from shipyard.sweeps.result import SweepResult
from shipyard.sweeps.spec import SweepSpec

POLL_INTERVAL_S = 0.25
OUTPUT_TAIL_LINES = 20
UNREACHABLE_GRACE_S = 60.0
_ENDED_BY_EXECUTOR = {
    JobState.CANCELLED: RunStatus.KILLED,
    JobState.TIMED_OUT: RunStatus.FAILED,
    JobState.LOST: RunStatus.FAILED,
}


def run_sweep(
    spec: SweepSpec,
    *,
    executor: Executor | None = None,
    objective: Objective | None = None,
    parallel: int = 1,
    settings: Settings | None = None,
    storage: str | None = None,
    sweep_id: str | None = None,
    max_trials: int | None = None,
    cwd: str | Path | None = None,
    poll_interval: float = POLL_INTERVAL_S,
    on_progress: ProgressCallback | None = None,
) -> SweepResult:
    """Run (or, with ``sweep_id``, resume) a sweep and return its trials and best one.

    Args:
        spec: the sweep (see :func:`~shipyard.sweeps.parse_spec`).
        executor: where command trials run (default: local processes under ``<home>/jobs``).
        objective: a Python function to call for each trial instead of running the spec's
            command (see :class:`~shipyard.sweeps.SweepTrial`); trials then run in this process,
            in ``parallel`` threads.
        parallel: how many trials run at once.
        settings: configuration (default: ``Settings()``); trial commands inherit it.
        storage: the Optuna storage URL (default: ``sqlite:///<home>/sweeps.db``).
        sweep_id: resume this sweep instead of starting one.
        max_trials: override the spec's trial budget.
        cwd: the folder command trials run in (default: the current one).
        poll_interval: seconds between looks at running trials.
        on_progress: called with a :class:`~shipyard.sweeps.SweepProgress` as trials end.

    Raises ``InvalidArgument`` for a spec without a command (and no objective) or a bad
    ``parallel``, ``NotFound`` for an unknown ``sweep_id``, ``Conflict`` when a resumed sweep's
    spec searches another space.

    Example::

        result = run_sweep(load_spec("sweep.yaml"), parallel=2)
        print(result.best.params, result.best.value)
    """
    _check_parallel(parallel)
    settings = settings or Settings()
    if max_trials is not None:
        spec = spec.with_max_trials(max_trials)
    if objective is None and not spec.command:
        raise InvalidArgument(
            "the sweep spec has no command to run for each trial",
            hint="add command: python train.py --lr ${lr} to the spec, or pass an objective",
        )
    with open_session(
        spec, settings=settings, storage=storage, sweep_id=sweep_id, on_progress=on_progress
    ) as session:
        if objective is not None:
            run_objectives(session, objective, parallel)
        else:
            executor = executor or LocalExecutor(settings.home / "jobs")
            where = Path(cwd or Path.cwd()).absolute()
            _CommandLoop(session, executor, settings, where, parallel, poll_interval).run()
        return session.result()


def _check_parallel(parallel: int) -> None:
    if isinstance(parallel, bool) or not isinstance(parallel, int) or parallel < 1:
        raise InvalidArgument(
            f"parallel must be a whole number of at least 1, got {parallel!r}",
            hint="e.g. --parallel 2",
        )


@dataclass
class _Job:
    """A trial whose command runs: ``trial`` is ``None`` for one adopted after a resume (it
    is watched to its end, not pruned)."""

    number: int
    run_id: str
    handle: JobHandle
    trial: Trial | None
    last_step: int = -1
    unreachable_since: float | None = None

    @property
    def ref(self) -> Trial | int:
        """What ``study.tell`` takes for this trial."""
        return self.number if self.trial is None else self.trial


class _CommandLoop:
    """Keeps ``parallel`` command trials running until the budget is spent."""

    def __init__(
        self,
        session: SweepSession,
        executor: Executor,
        settings: Settings,
        cwd: Path,
        parallel: int,
        poll_interval: float,
    ) -> None:
        self.session = session
        self.executor = executor
        self.settings = settings
        self.cwd = cwd
        self.parallel = parallel
        self.poll_interval = poll_interval
        self.active: list[_Job] = []

    def run(self) -> None:
        """Drive the sweep to its end; on any error, stop running trials and queue them again."""
        try:
            self._recover()
            while self._fill():
                time.sleep(self.poll_interval)
                for job in list(self.active):
                    self._poll(job)
        except BaseException as exc:
            self._abort(exc)
            raise

    # -- starting ------------------------------------------------------------------------------
    def _fill(self) -> bool:
        """Start trials up to ``parallel``; whether any trial is running."""
        started = False
        while len(self.active) < self.parallel and self.session.claim():
            self._start()
            started = True
        if started:
            self.session.notify()
        return bool(self.active)

    def _start(self) -> None:
        started = self.session.ask()
        try:
            handle = self.executor.submit(self._job_spec(started))
        except BaseException as exc:
            self.session.requeue(started.trial, started.run.id, f"the job could not start: {exc}")
            raise
        self.session.set_job(started.trial, started.run.id, str(handle))
        self.active.append(_Job(started.number, started.run.id, handle, started.trial))

    def _job_spec(self, started: Started) -> JobSpec:
        spec, run_id = self.session.spec, started.run.id
        env = child_environment(self.settings, run_id, {}, Path.cwd())
        return JobSpec(
            spec.command_for(started.params),
            cwd=str(self.cwd),
            env={**spec.env, **env},
            name=f"sweep {self.session.sweep_id} trial {started.number}",
            labels={"shipyard.sweep.id": self.session.sweep_id, "shipyard.run_id": run_id},
        )

    # -- watching ------------------------------------------------------------------------------
    def _poll(self, job: _Job) -> None:
        """Look at one trial; an executor or store that does not answer is retried for
        ``UNREACHABLE_GRACE_S`` before the sweep gives up."""
        try:
            self._look(job)
        except Unavailable as exc:
            now = time.monotonic()
            job.unreachable_since = job.unreachable_since or now
            if now - job.unreachable_since > UNREACHABLE_GRACE_S:
                raise
            logger.warning("trial %s: %s (retrying)", job.number, exc)
        else:
            job.unreachable_since = None

    def _look(self, job: _Job) -> None:
        status = self.executor.status(job.handle)
        if job.trial is not None and not status.state.is_terminal and self._report(job):
            if job.trial.should_prune():
                self._prune(job, job.trial)
        elif status.state.is_terminal:
            self._drop(job)
            self._finish(job, status)

    def _prune(self, job: _Job, trial: Trial) -> None:
        self.executor.cancel(job.handle)
        self._drop(job)
        self._store_output(job)
        self.session.prune(trial, job.run_id)

    def _report(self, job: _Job) -> bool:
        """Report the metric's new points to the trial; whether there were any."""
        assert job.trial is not None
        points = self.session.runs.points_after(job.run_id, job.last_step)
        for step, value in points:
            job.trial.report(value, step)
            job.last_step = step
        return bool(points)

    def _finish(self, job: _Job, status: JobStatus) -> None:
        if job.trial is not None:
            self._report(job)  # the last points, for the pruner's view of later trials
        lines = self._store_output(job)
        if status.state is JobState.SUCCEEDED:
            value = self.session.runs.final_value(job.run_id)
            if value is not None:
                self.session.complete(job.ref, job.run_id, value)
                return
            error = (
                f"the command succeeded but never logged the metric "
                f"{self.session.spec.metric.name!r} (log it with shipyard.start_run())"
            )
            self.session.fail(job.ref, job.run_id, error, RunStatus.FAILED)
            return
        run_status = _ENDED_BY_EXECUTOR.get(status.state, RunStatus.FAILED)
        self.session.fail(job.ref, job.run_id, _failure(status, lines), run_status)

    def _store_output(self, job: _Job) -> list[str]:
        try:
            lines = list(self.executor.logs(job.handle))
            self.session.runs.store_output(job.run_id, lines)
        except ShipyardError as exc:  # the output is a convenience: it never fails the trial
            logger.warning("could not store the output of trial %s: %s", job.number, exc)
            return []
        return lines

    def _drop(self, job: _Job) -> None:
        self.active.remove(job)

    # -- resuming and aborting -------------------------------------------------------------------
    def _recover(self) -> None:
        for frozen in self.session.adopt_orphans():
            job = _adoptable(frozen)
            if job is None:
                self.session.requeue(frozen.number, _run_of(frozen), "the trial never started")
                continue
            try:
                status = self.executor.status(job.handle)
            except ShipyardError as exc:
                self.session.requeue(frozen.number, job.run_id, f"its job is gone ({exc})")
                continue
            if status.state in (JobState.CANCELLED, JobState.LOST):
                self.session.requeue(frozen.number, job.run_id, f"its job was {status.state}")
            elif status.state.is_terminal:
                self._finish(job, status)
            else:
                self.active.append(job)

    def _abort(self, exc: BaseException) -> None:
        why = "the sweep was interrupted" if isinstance(exc, KeyboardInterrupt) else str(exc)
        for job in self.active:
            with contextlib.suppress(Exception):
                self.executor.cancel(job.handle)
            with contextlib.suppress(Exception):
                self.session.requeue(job.ref, job.run_id, why)
        self.active.clear()


def _run_of(frozen: FrozenTrial) -> str | None:
    run_id = frozen.user_attrs.get(opt.RUN_ATTR)
    return None if run_id is None else str(run_id)


def _adoptable(frozen: FrozenTrial) -> _Job | None:
    run_id, job = _run_of(frozen), frozen.user_attrs.get(opt.JOB_ATTR)
    if run_id is None or job is None:
        return None
    try:
        handle = JobHandle.parse(str(job))
    except InvalidArgument:
        return None
    return _Job(frozen.number, run_id, handle, None)


def _failure(status: JobStatus, lines: list[str]) -> str:
    if status.state is JobState.FAILED:
        head = f"the command exited with code {status.exit_code}"
    else:
        head = f"the job ended {status.state.value}"
    if status.message:
        head += f": {status.message}"
    tail = "\n".join(lines[-OUTPUT_TAIL_LINES:])
    return f"{head}\nlast output:\n{tail}" if tail else head
