"""Sweep throughput (trials/s): ``shipyard.sweep`` versus Optuna's ``study.optimize`` on the same
objective, same sampler (TPE, seeded) and same number of trials, no pruning.

* in-process: a cheap objective that reports 5 intermediate values. Shipyard makes every trial a
  tracked run (created, 5 metric points, ended) and keeps the study in SQLite; Optuna runs it
  with an in-memory study and with the same kind of SQLite storage.
* commands on the local executor: a script that continues its run (``shipyard.start_run()``),
  logs 5 points and prints the result. Shipyard runs it through ``LocalExecutor`` (a detached
  supervisor per job) with the driver polling the metric for pruning; the Optuna baseline runs
  the same script with ``subprocess.run`` from its objective (``n_jobs`` threads), reading the
  printed value. The script's own cost (Python start, SDK import, its run) is in both.

Every sweep's trials are checked: count, state, and each run's params against the trial's.
"""

from __future__ import annotations

import functools
import logging
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import optuna
from _harness import Json, emit, log, machine, parse_args, ratio, workdir

import shipyard
from shipyard.executors import LocalExecutor
from shipyard.settings import Settings
from shipyard.sweeps import SweepResult, SweepTrial

STEPS = 5
SCRIPT = f"""\
import sys
import shipyard

x, y = float(sys.argv[1]), int(sys.argv[2])
with shipyard.start_run() as run:
    for step in range({STEPS}):
        value = -((x - 0.3) ** 2) * (step + 1) / {STEPS} + y / 100
        run.log_metrics({{"score": value}}, step=step)
print(value)
"""


def score(x: float, y: int, step: int) -> float:
    """The objective both sides optimise (best at x = 0.3, y = 3)."""
    return -((x - 0.3) ** 2) * (step + 1) / STEPS + y / 100


def spec(trials: int, command: list[str] | None = None) -> dict[str, Any]:
    """The sweep spec: TPE seeded, no pruning, so both sides evaluate every trial in full."""
    data: dict[str, Any] = {
        "project": "bench",
        "metric": {"name": "score", "goal": "maximize"},
        "method": "tpe",
        "seed": 1,
        "parameters": {
            "x": {"distribution": "uniform", "min": 0, "max": 1},
            "y": {"values": [1, 2, 3]},
        },
        "max_trials": trials,
    }
    return data | ({"command": command} if command else {})


def settings_for(home: Path) -> Settings:
    """Embedded store under ``home``; no capture or system metrics (the same work per trial)."""
    return Settings(home=home, capture=False, system_metrics_interval=0, flush_interval=0.05)


def timed(fn: Callable[[], Any]) -> tuple[float, Any]:
    start = time.perf_counter()
    value = fn()
    return time.perf_counter() - start, value


def check(result: SweepResult, settings: Settings, trials: int) -> None:
    """Every trial completed and is a run with the trial's params."""
    assert result.counts["COMPLETE"] == trials, result.counts
    with shipyard.Client(settings=settings) as client:
        for trial in result.trials:
            assert dict(client.get_run(trial.run_id or "").params) == dict(trial.params)


def rate(trials: int, seconds: float) -> Json:
    return {
        "trials": trials,
        "seconds": round(seconds, 3),
        "trials_per_s": round(trials / seconds, 2),
    }


# -- in-process ----------------------------------------------------------------------------------
def shipyard_objective(trial: SweepTrial) -> float:
    x, y = float(trial.params["x"]), int(trial.params["y"] or 0)
    value = 0.0
    for step in range(STEPS):
        value = score(x, y, step)
        trial.report(value, step)
    return value


def optuna_objective(trial: optuna.Trial) -> float:
    x, y = trial.suggest_float("x", 0, 1), int(trial.suggest_categorical("y", [1, 2, 3]))
    value = 0.0
    for step in range(STEPS):
        value = score(x, y, step)
        trial.report(value, step)
    return value


def optuna_direct(
    objective: Callable[[optuna.Trial], float], trials: int, storage: str | None, jobs: int
) -> float:
    study = optuna.create_study(
        storage=storage, direction="maximize", sampler=optuna.samplers.TPESampler(seed=1)
    )
    seconds, _ = timed(lambda: study.optimize(objective, n_trials=trials, n_jobs=jobs))
    assert len(study.trials) == trials
    return seconds


def in_process(trials: int) -> Json:
    results: Json = {}
    with workdir("sweeps") as tmp:
        for parallel in (1, 2):
            settings = settings_for(tmp / f"home-{parallel}")
            run = functools.partial(
                shipyard.sweep,
                spec(trials),
                shipyard_objective,
                parallel=parallel,
                settings=settings,
            )
            seconds, result = timed(run)
            check(result, settings, trials)
            results[f"shipyard_parallel_{parallel}"] = rate(trials, seconds)
            log(f"in-process shipyard parallel={parallel}: {trials / seconds:.1f} trials/s")
        memory = optuna_direct(optuna_objective, trials, None, 1)
        sqlite = optuna_direct(optuna_objective, trials, f"sqlite:///{tmp / 'optuna.db'}", 1)
    results["optuna_in_memory"] = rate(trials, memory)
    results["optuna_sqlite"] = rate(trials, sqlite)
    ours = results["shipyard_parallel_1"]["seconds"]
    results["shipyard_ms_per_trial_over_optuna_sqlite"] = round((ours - sqlite) / trials * 1000, 2)
    results["slowdown_vs_optuna_in_memory"] = ratio(ours, memory)
    results["slowdown_vs_optuna_sqlite"] = ratio(ours, sqlite)
    return results


# -- commands --------------------------------------------------------------------------------------
def commands(trials: int) -> Json:
    results: Json = {}
    with workdir("sweeps-cmd") as tmp:
        script = tmp / "trial.py"
        script.write_text(SCRIPT)
        command = [sys.executable, str(script), "${x}", "${y}"]
        for parallel in (1, 2):
            settings = settings_for(tmp / f"home-{parallel}")
            executor = LocalExecutor(settings.home / "jobs")
            run = functools.partial(
                shipyard.sweep,
                spec(trials, command),
                executor=executor,
                parallel=parallel,
                settings=settings,
                cwd=tmp,
                poll_interval=0.05,
            )
            seconds, result = timed(run)
            check(result, settings, trials)
            results[f"shipyard_local_parallel_{parallel}"] = rate(trials, seconds)
            log(f"commands shipyard parallel={parallel}: {trials / seconds:.2f} trials/s")
            baseline = optuna_direct(
                _subprocess_objective(script, tmp / f"base-{parallel}"), trials, None, parallel
            )
            results[f"optuna_subprocess_parallel_{parallel}"] = rate(trials, baseline)
            log(f"commands optuna subprocess n_jobs={parallel}: {trials / baseline:.2f} trials/s")
            results[f"shipyard_s_per_trial_over_optuna_parallel_{parallel}"] = round(
                (seconds - baseline) / trials, 3
            )
    return results


def _subprocess_objective(script: Path, home: Path) -> Callable[[optuna.Trial], float]:
    env = {**os.environ, "SHIPYARD_HOME": str(home), "SHIPYARD_CAPTURE": "false"}
    env |= {"SHIPYARD_SYSTEM_METRICS_INTERVAL": "0", "SHIPYARD_FLUSH_INTERVAL": "0.05"}

    def objective(trial: optuna.Trial) -> float:
        x, y = trial.suggest_float("x", 0, 1), trial.suggest_categorical("y", [1, 2, 3])
        done = subprocess.run(
            [sys.executable, str(script), repr(x), str(y)],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        return float(done.stdout.strip().splitlines()[-1])

    return objective


def main() -> None:
    args = parse_args(__doc__ or "")
    logging.getLogger("optuna").setLevel(logging.WARNING)
    inproc_trials, command_trials = (30, 4) if args.quick else (200, 16)
    log(f"sweeps: {inproc_trials} in-process trials, {command_trials} command trials")
    emit(
        {
            "benchmark": "sweeps",
            "machine": machine(),
            "load_avg_1m": round(os.getloadavg()[0], 2),
            "optuna": optuna.__version__,
            "in_process": in_process(inproc_trials),
            "commands_local_executor": commands(command_trials),
        }
    )


if __name__ == "__main__":
    main()
