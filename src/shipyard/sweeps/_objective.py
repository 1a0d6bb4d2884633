"""Trials as Python function calls in this process (``parallel`` threads), each a tracked run.

The objective takes a :class:`SweepTrial` and returns the metric's final value::

    def objective(trial: SweepTrial) -> float:
        model = fit(depth=trial.params["depth"])
        for step in range(10):
            acc = model.partial_fit()
            trial.report(acc, step)          # logged to the run and fed to the pruner
            if trial.should_prune():
                trial.prune()                # raises Pruned
        return acc

An exception fails the trial (the sweep goes on); ``KeyboardInterrupt`` stops the sweep.
"""

from __future__ import annotations

import concurrent.futures
import math
import numbers
import threading
from collections.abc import Callable, Mapping
from typing import NoReturn

import optuna
from optuna.trial import Trial

from shipyard.domain.entities import ParamValue, RunStatus
from shipyard.sdk.run import Run, format_error
from shipyard.sweeps._optuna import RUN_ATTR
from shipyard.sweeps._session import SweepSession

WAIT_S = 0.2


class Pruned(Exception):
    """Raised (by :meth:`SweepTrial.prune`) to stop a trial the pruner gave up on."""


class SweepTrial:
    """What an objective gets: the trial's params, its run, and the pruning hooks."""

    def __init__(self, trial: Trial, run: Run, params: Mapping[str, ParamValue], metric: str):
        self._trial = trial
        self._metric = metric
        self._last: tuple[int, float] | None = None
        self.run = run
        """The trial's run: log anything else to it (params are already set)."""
        self.params: Mapping[str, ParamValue] = dict(params)
        """The values of this trial, constants included."""

    @property
    def number(self) -> int:
        """The trial's number in the sweep (0, 1, 2...)."""
        return self._trial.number

    def report(self, value: float, step: int) -> None:
        """Log an intermediate value of the metric at ``step`` to the run and the pruner."""
        value = float(value)
        self.run.log_metrics({self._metric: value}, step=step)
        self._trial.report(value, step)
        self._last = (step, value)

    def should_prune(self) -> bool:
        """Whether the pruner would stop this trial now (after the last :meth:`report`)."""
        return self._trial.should_prune()

    def prune(self) -> NoReturn:
        """Stop this trial as pruned (raises :class:`Pruned`; let it propagate)."""
        where = "" if self._last is None else f" at step {self._last[0]}"
        raise Pruned(f"trial {self.number} pruned{where}")

    def log_result(self, value: float) -> None:
        """Log the returned value as the metric unless the last report already holds it."""
        if self._last is not None and self._last[1] == value:
            return
        step = 0 if self._last is None else self._last[0] + 1
        self.run.log_metrics({self._metric: value}, step=step)


Objective = Callable[[SweepTrial], float]


def run_objectives(session: SweepSession, objective: Objective, parallel: int) -> None:
    """Call ``objective`` for trials until the budget is spent, ``parallel`` at a time."""
    for orphan in session.adopt_orphans():  # no job to watch in-process: run them again
        run_id = orphan.user_attrs.get(RUN_ATTR)
        session.requeue(orphan.number, None if run_id is None else str(run_id), "not finished")
    if parallel == 1:
        while session.claim():
            _one(session, objective)
        return
    stop = threading.Event()

    def worker() -> None:
        while not stop.is_set() and session.claim():
            _one(session, objective)

    with concurrent.futures.ThreadPoolExecutor(parallel, "shipyard-trial") as pool:
        futures = [pool.submit(worker) for _ in range(parallel)]
        _wait(futures, stop)


def _wait(futures: list[concurrent.futures.Future[None]], stop: threading.Event) -> None:
    """Wait for the workers; stop them all when one fails or on Ctrl-C, then re-raise."""
    try:
        pending = set(futures)
        while pending:
            done, pending = concurrent.futures.wait(pending, WAIT_S, "FIRST_EXCEPTION")
            for future in done:
                if future.exception() is not None:
                    stop.set()
    except BaseException:
        stop.set()
        raise
    for future in futures:
        future.result()  # re-raise the first worker error


def _one(session: SweepSession, objective: Objective) -> None:
    started = session.ask()
    run = session.runs.attach(started.run)
    trial = SweepTrial(started.trial, run, started.params, session.spec.metric.name)
    try:
        value = objective(trial)
    except (Pruned, optuna.TrialPruned):
        run.finish(RunStatus.KILLED, "pruned")
        session.prune(started.trial, run.id)
    except KeyboardInterrupt:
        run.finish(RunStatus.KILLED, "KeyboardInterrupt")
        session.requeue(started.trial, run.id, "KeyboardInterrupt")
        raise
    except Exception as exc:
        run.finish(RunStatus.FAILED, format_error(exc))
        session.fail(started.trial, run.id, format_error(exc), RunStatus.FAILED)
    else:
        _complete(session, trial, started.trial, value)


def _complete(session: SweepSession, trial: SweepTrial, optuna_trial: Trial, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value):
        error = f"the objective returned {value!r}, not a finite number"
        trial.run.finish(RunStatus.FAILED, error)
        session.fail(optuna_trial, trial.run.id, error, RunStatus.FAILED)
        return
    trial.log_result(float(value))
    trial.run.finish(RunStatus.FINISHED)
    session.complete(optuna_trial, trial.run.id, float(value))
