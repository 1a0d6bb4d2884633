"""``shipyard.sweep``: the Python API of sweeps (what ``shipyard sweep run`` does, and more)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from shipyard.executors import Executor
from shipyard.settings import Settings
from shipyard.sweeps._objective import Objective
from shipyard.sweeps._session import ProgressCallback
from shipyard.sweeps.engine import POLL_INTERVAL_S, run_sweep
from shipyard.sweeps.result import SweepResult
from shipyard.sweeps.spec import SweepSpec, load_spec, parse_spec

SpecLike = SweepSpec | Mapping[str, Any] | str | os.PathLike[str]


def as_spec(spec: SpecLike, *, max_trials: int | None = None) -> SweepSpec:
    """A :class:`SweepSpec` from a spec, a dict in the YAML layout, or a YAML file's path;
    ``max_trials`` replaces the spec's own."""
    if isinstance(spec, SweepSpec):
        return spec if max_trials is None else spec.with_max_trials(max_trials)
    if isinstance(spec, Mapping):
        return parse_spec(spec, source="the sweep spec", max_trials=max_trials)
    return load_spec(Path(spec), max_trials=max_trials)


def sweep(
    spec: SpecLike,
    objective: Objective | None = None,
    *,
    executor: Executor | None = None,
    parallel: int = 1,
    settings: Settings | None = None,
    storage: str | None = None,
    sweep_id: str | None = None,
    max_trials: int | None = None,
    cwd: str | Path | None = None,
    poll_interval: float = POLL_INTERVAL_S,
    on_progress: ProgressCallback | None = None,
) -> SweepResult:
    """Run a hyperparameter sweep driven by Optuna; every trial is a tracked run.

    With ``objective``, each trial calls it in this process (``parallel`` threads) with a
    :class:`~shipyard.sweeps.SweepTrial` (``params``, ``run``, ``report``, ``should_prune``)
    and takes the value it returns. Without, each trial runs the spec's ``command`` through
    ``executor`` (default: local processes). The other arguments are those of
    :func:`~shipyard.sweeps.run_sweep`.

    Example::

        def objective(trial):
            for step in range(10):
                trial.report(score(trial.params["lr"], step), step)
                if trial.should_prune():
                    trial.prune()
            return score(trial.params["lr"], 9)

        result = shipyard.sweep({
            "metric": {"name": "score", "goal": "maximize"},
            "parameters": {"lr": {"distribution": "log_uniform", "min": 1e-4, "max": 1e-1}},
            "max_trials": 20,
            "early_stop": {"type": "median"},
        }, objective)
        print(result.best.params)
    """
    return run_sweep(
        as_spec(spec, max_trials=max_trials),
        executor=executor,
        objective=objective,
        parallel=parallel,
        settings=settings,
        storage=storage,
        sweep_id=sweep_id,
        cwd=cwd,
        poll_interval=poll_interval,
        on_progress=on_progress,
    )
