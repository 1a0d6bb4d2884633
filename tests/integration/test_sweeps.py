"""Sweeps end to end: real Optuna studies, a real SQLite store, real executors (local processes
and a local Ray head node), trial scripts that log through the SDK, and the CLI as a process."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import optuna
import pytest

import shipyard
from shipyard.cli import main
from shipyard.domain.entities import RunStatus
from shipyard.errors import Conflict, InvalidArgument
from shipyard.executors import LocalExecutor
from shipyard.executors.ray import RayExecutor
from shipyard.settings import Settings
from shipyard.sweeps import (
    Pruned,
    SweepResult,
    SweepTrial,
    list_sweeps,
    parse_spec,
    run_sweep,
    sweep_status,
)
from shipyard.sweeps._session import open_session

CLI = [sys.executable, "-m", "shipyard.cli"]
STEPS = 10
TRAIN = f"""\
import argparse, math, time
import shipyard

parser = argparse.ArgumentParser()
parser.add_argument("--lr", type=float, required=True)
parser.add_argument("--depth", type=int, required=True)
args = parser.parse_args()
quality = 1.0 - abs(math.log10(args.lr) + 2.0) / 3.0 + args.depth / 100.0  # best: lr=1e-2
with shipyard.start_run() as run:
    for step in range({STEPS}):
        run.log_metrics({{"val_acc": quality * (step + 1) / {STEPS}}}, step=step)
        time.sleep(0.15)
"""
QUICK = {"SHIPYARD_CAPTURE": "false", "SHIPYARD_FLUSH_INTERVAL": "0.05"}
QUICK |= {"SHIPYARD_SYSTEM_METRICS_INTERVAL": "0"}


@pytest.fixture
def settings(monkeypatch: pytest.MonkeyPatch) -> Settings:
    """Settings of the test's own home (``./.shipyard`` in its folder), quick to flush."""
    for key, value in QUICK.items():
        monkeypatch.setenv(key, value)
    return Settings()


@pytest.fixture
def train_script(tmp_path: Path) -> Path:
    path = tmp_path / "train.py"
    path.write_text(TRAIN)
    return path


def command_spec(script: Path, **extra: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "project": "tuning",
        "command": f"{sys.executable} {script} --lr ${{lr}} --depth ${{depth}}",
        "metric": {"name": "val_acc", "goal": "maximize"},
        "method": "tpe",
        "seed": 11,
        "parameters": {
            "lr": {"distribution": "log_uniform", "min": 1e-5, "max": 1.0},
            "depth": {"values": [2, 4, 8]},
        },
        "max_trials": 16,
        "early_stop": {"type": "median", "n_startup_trials": 3, "n_warmup_steps": 2},
    }
    return spec | extra


def study_trials(settings: Settings, sweep_id: str) -> list[optuna.trial.FrozenTrial]:
    url = f"sqlite:///{(settings.home / 'sweeps.db').absolute()}"
    return optuna.load_study(study_name=sweep_id, storage=url).get_trials()


def assert_trials_are_runs(result: SweepResult, settings: Settings, trials: int) -> None:
    """Every Optuna trial is a child run of the sweep with the trial's params and outcome."""
    frozen = study_trials(settings, result.sweep_id)
    assert len(frozen) == trials
    constants = {n: p.values[0] for n, p in result.spec.parameters.items() if p.is_constant}
    with shipyard.Client(settings=settings) as client:
        for trial in frozen:
            run = client.get_run(trial.user_attrs["shipyard.run_id"])
            assert dict(run.params) == {**trial.params, **constants}
            assert run.parent_id == result.sweep_id
            assert run.tags["shipyard.sweep.id"] == result.sweep_id
            assert run.tags["shipyard.sweep.trial"] == str(trial.number)
            assert run.tags["shipyard.sweep.method"] == result.spec.method
            assert_outcome(run, trial, result.spec.metric.name)
        parent = client.get_run(result.sweep_id)
    best = result.best
    assert best is not None
    assert parent.status is RunStatus.FINISHED
    assert parent.tags["shipyard.sweep.best_run"] == best.run_id
    assert float(parent.tags["shipyard.sweep.best_value"]) == best.value
    assert parent.tags["shipyard.sweep.progress"] == f"{trials}/{trials}"
    completed = [t for t in frozen if t.state is optuna.trial.TrialState.COMPLETE]
    pick = max if result.spec.metric.maximize else min
    assert best.value == pick(t.value for t in completed)


def assert_outcome(run: Any, trial: optuna.trial.FrozenTrial, metric: str) -> None:
    state = trial.state.name
    assert run.tags["shipyard.sweep.state"] == state
    if state == "COMPLETE":
        assert run.status is RunStatus.FINISHED
        assert run.metrics[metric].last == trial.value
    elif state == "PRUNED":
        assert run.status is RunStatus.KILLED
        assert run.tags["shipyard.sweep.pruned"] == "true"
        assert trial.intermediate_values  # pruned on reported points
    else:
        assert run.status in (RunStatus.FAILED, RunStatus.KILLED)


# -- command trials ---------------------------------------------------------------------------
@pytest.mark.slow
def test_sixteen_trials_two_at_a_time_on_local_processes(
    settings: Settings, train_script: Path
) -> None:
    spec = parse_spec(command_spec(train_script))
    executor = LocalExecutor(settings.home / "jobs")
    seen: list[int] = []
    result = run_sweep(
        spec,
        executor=executor,
        parallel=2,
        settings=settings,
        poll_interval=0.1,
        on_progress=lambda p: seen.append(p.running),
    )
    counts = result.counts
    assert counts["COMPLETE"] + counts["PRUNED"] == 16
    assert counts["PRUNED"] > 0  # the median pruner stopped bad trials
    assert max(seen) == 2  # never more than `parallel` at once, and it reached it
    assert_trials_are_runs(result, settings, 16)
    with shipyard.Client(settings=settings) as client:
        output = client.list_artifacts(result.trials[0].run_id or "", ".shipyard/output.log")
    assert len(output) == 1


@pytest.mark.slow
def test_sixteen_trials_two_at_a_time_on_ray(
    settings: Settings, train_script: Path, ray_address: str
) -> None:
    spec = parse_spec(command_spec(train_script))
    result = run_sweep(
        spec, executor=RayExecutor(ray_address), parallel=2, settings=settings, poll_interval=0.1
    )
    assert result.counts["COMPLETE"] + result.counts["PRUNED"] == 16
    assert result.counts["PRUNED"] > 0
    assert all((t.job or "").startswith("ray:") for t in result.trials)
    assert_trials_are_runs(result, settings, 16)


def test_failing_commands_fail_their_trials_with_the_output(settings: Settings) -> None:
    spec = parse_spec(
        {
            "command": [sys.executable, "-c", "print('bad input ${x}'); raise SystemExit(3)"],
            "metric": {"name": "loss", "goal": "minimize"},
            "method": "grid",
            "parameters": {"x": [1, 2]},
        }
    )
    result = run_sweep(spec, parallel=2, settings=settings, poll_interval=0.05)
    assert [t.state for t in result.trials] == ["FAIL", "FAIL"]
    assert result.best is None
    with shipyard.Client(settings=settings) as client:
        for trial in result.trials:
            run = client.get_run(trial.run_id or "")
            assert run.status is RunStatus.FAILED
            assert run.error is not None
            assert "exited with code 3" in run.error
            assert f"bad input {trial.params['x']}" in run.error


def test_a_command_that_never_logs_the_metric_fails(settings: Settings) -> None:
    spec = parse_spec(
        {
            "command": [sys.executable, "-c", "pass"],
            "metric": {"name": "loss", "goal": "minimize"},
            "parameters": {"x": [1]},
            "max_trials": 1,
        }
    )
    result = run_sweep(spec, settings=settings, poll_interval=0.05)
    assert result.trials[0].state == "FAIL"
    with shipyard.Client(settings=settings) as client:
        run = client.get_run(result.trials[0].run_id or "")
    assert run.status is RunStatus.FAILED
    assert "never logged the metric 'loss'" in (run.error or "")


# -- resume -----------------------------------------------------------------------------------
@pytest.mark.slow
def test_resume_after_the_driver_is_killed(
    settings: Settings, train_script: Path, tmp_path: Path
) -> None:
    spec_file = tmp_path / "sweep.yaml"
    spec_file.write_text(json.dumps(command_spec(train_script, max_trials=6, method="random")))
    env = {**os.environ, **QUICK}
    driver = subprocess.Popen(
        [*CLI, "sweep", "run", str(spec_file), "--parallel", "2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        sweep_id = _wait_for_progress(settings, driver)
    finally:
        driver.kill()  # SIGKILL: no cleanup at all, as when a machine goes down
        driver.wait()
    before = {t.number: t for t in sweep_status(sweep_id, settings=settings).trials}
    done_before = {n: t for n, t in before.items() if t.state in ("COMPLETE", "PRUNED")}

    resumed = subprocess.run(
        [*CLI, "sweep", "run", str(spec_file), "--resume", sweep_id, "--parallel", "2", "--json"],
        env=env,
        capture_output=True,
        check=False,
    )
    assert resumed.returncode == 0, resumed.stderr.decode()
    data = json.loads(resumed.stdout)
    after = {t.number: t for t in sweep_status(sweep_id, settings=settings).trials}
    assert data["finished"] == 6
    assert data["counts"]["RUNNING"] == data["counts"]["WAITING"] == 0
    for number, trial in done_before.items():  # finished trials are kept as they were
        assert after[number] == trial
    finished_params = [tuple(t.params.items()) for t in done_before.values()]
    for trial in after.values():
        if trial.number not in before:  # new trials never redo a finished one
            assert tuple(trial.params.items()) not in finished_params
    with shipyard.Client(settings=settings) as client:
        assert client.get_run(sweep_id).status is RunStatus.FINISHED
        for trial in after.values():
            if trial.run_id is None:  # killed between Optuna's ask and the run's creation
                assert trial.number in before
                assert trial.requeued
                assert any(t.retry_of == trial.number for t in after.values())
                continue
            assert client.get_run(trial.run_id).status.is_terminal


def test_a_run_created_just_before_a_kill_is_ended_on_requeue(settings: Settings) -> None:
    """A driver killed after creating a trial's run but before naming it on the trial leaves
    a RUNNING run that only its tags tie to the trial: requeueing the trial ends it."""
    spec = parse_spec(
        {
            "command": ["true"],
            "metric": {"name": "loss", "goal": "minimize"},
            "parameters": {"x": [1]},
            "max_trials": 1,
        }
    )
    with open_session(spec, settings=settings, storage=None, sweep_id=None, on_progress=None) as s:
        assert s.claim()
        trial = s.study.ask(s.distributions)
        stray = s.runs.create_trial(trial.number, {"x": 1})  # the kill lands here
        s.requeue(trial.number, None, "the driver went away")
    with shipyard.Client(settings=settings) as client:
        run = client.get_run(stray.id)
    assert run.status is RunStatus.KILLED
    assert "interrupted: the driver went away" in (run.error or "")


def _wait_for_progress(settings: Settings, driver: subprocess.Popen[bytes]) -> str:
    """The sweep's id once two trials finished and another runs (the moment to kill it)."""
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        assert driver.poll() is None, "the sweep ended before it could be interrupted"
        sweeps = list_sweeps(settings=settings)
        if sweeps:
            counts = sweep_status(sweeps[0].sweep_id, settings=settings).counts
            if counts["COMPLETE"] + counts["PRUNED"] >= 2 and counts["RUNNING"] >= 1:
                return sweeps[0].sweep_id
        time.sleep(0.1)
    raise AssertionError("the sweep made no progress")


def test_resume_refuses_another_search_space(settings: Settings) -> None:
    spec = {
        "metric": {"name": "score", "goal": "maximize"},
        "parameters": {"x": [1, 2]},
        "method": "grid",
    }
    result = shipyard.sweep(spec, lambda trial: float(trial.params["x"]), settings=settings)
    other = {**spec, "parameters": {"x": [1, 2, 3]}}
    with pytest.raises(Conflict, match="same space"):
        shipyard.sweep(other, lambda t: 0.0, settings=settings, sweep_id=result.sweep_id)
    again = shipyard.sweep(spec, lambda t: 0.0, settings=settings, sweep_id=result.sweep_id)
    assert again.trials == result.trials  # nothing left to do


# -- grid and the in-process objective --------------------------------------------------------
def test_grid_runs_every_combination_once(settings: Settings) -> None:
    spec = {
        "project": "grid",
        "metric": {"name": "score", "goal": "minimize"},
        "method": "grid",
        "parameters": {
            "depth": {"values": [2, 4, 8]},
            "opt": ["adam", "sgd"],
            "units": {"distribution": "int_uniform", "min": 8, "max": 16, "step": 8},
            "epochs": {"value": 3},
        },
        "max_trials": 50,  # capped to the grid's 12 points
    }

    def objective(trial: SweepTrial) -> float:
        p = trial.params
        return float(p["depth"]) * (1 if p["opt"] == "adam" else 2) + float(p["units"]) / 100

    result = shipyard.sweep(spec, objective, parallel=2, settings=settings)
    combos = sorted((t.params["depth"], t.params["opt"], t.params["units"]) for t in result.trials)
    expected = [(d, o, u) for d in (2, 4, 8) for o in ("adam", "sgd") for u in (8, 16)]
    assert combos == expected
    assert all(t.params["epochs"] == 3 and t.state == "COMPLETE" for t in result.trials)
    assert result.best is not None
    assert result.best.params == {"depth": 2, "opt": "adam", "units": 8, "epochs": 3}
    assert_trials_are_runs(result, settings, 12)


def test_objective_api_reports_prunes_and_survives_failures(settings: Settings) -> None:
    spec = shipyard.sweeps.SweepSpec  # exported, as documented
    assert spec.__name__ == "SweepSpec"

    def objective(trial: SweepTrial) -> float:
        if trial.number == 1:
            raise ValueError("this trial breaks")
        x = float(trial.params["x"])
        score = 0.0
        for step in range(5):
            score = -((x - 0.3) ** 2) * (step + 1)
            trial.report(score, step)
            if trial.should_prune():
                trial.prune()
        return score

    result = shipyard.sweep(
        {
            "project": "inproc",
            "metric": {"name": "score", "goal": "maximize"},
            "method": "random",
            "seed": 5,
            "parameters": {"x": {"distribution": "uniform", "min": 0, "max": 1}},
            "max_trials": 14,
            "early_stop": {"type": "median", "n_startup_trials": 3},
        },
        objective,
        settings=settings,
    )
    counts = result.counts
    assert (counts["FAIL"], counts["PRUNED"] > 0, sum(counts.values())) == (1, True, 14)
    assert_trials_are_runs(result, settings, 14)
    with shipyard.Client(settings=settings) as client:
        broken = client.get_run(result.trials[1].run_id or "")
        assert broken.status is RunStatus.FAILED
        assert "ValueError: this trial breaks" in (broken.error or "")
        best = client.get_run(result.best.run_id if result.best else "")
        history = client.metric_history(best.id, "score")
    assert list(history.steps) == list(range(5))  # reports were logged to the run


def test_hyperband_and_parallel_threads(settings: Settings) -> None:
    def objective(trial: SweepTrial) -> float:
        lr = float(trial.params["lr"])
        loss = 1.0
        for step in range(9):
            loss = abs(lr - 0.01) + 1.0 / (step + 1)
            trial.report(loss, step)
            if trial.should_prune():
                raise Pruned
        return loss

    result = shipyard.sweep(
        {
            "metric": {"name": "loss", "goal": "minimize"},
            "method": "tpe",
            "seed": 3,
            "parameters": {"lr": {"distribution": "log_uniform", "min": 1e-4, "max": 1.0}},
            "max_trials": 12,
            "early_stop": {"type": "hyperband", "min_resource": 1, "max_resource": 9},
        },
        objective,
        parallel=3,
        settings=settings,
    )
    assert result.progress().finished == 12
    assert {t.state for t in result.trials} <= {"COMPLETE", "PRUNED"}
    assert_trials_are_runs(result, settings, 12)


def test_cmaes(settings: Settings) -> None:
    spec = {
        "metric": {"name": "loss", "goal": "minimize"},
        "method": "cmaes",
        "parameters": {"x": {"distribution": "uniform", "min": -1, "max": 1}, "c": [1, 2]},
        "max_trials": 4,
    }

    def objective(trial: SweepTrial) -> float:
        return float(trial.params["x"]) ** 2 + float(trial.params["c"])

    try:
        import cmaes  # noqa: F401
    except ImportError:  # CmaEsSampler needs it; the error says how to install it
        with pytest.raises(InvalidArgument) as caught:
            shipyard.sweep(spec, objective, settings=settings)
        assert caught.value.hint is not None
        assert "pip install cmaes" in caught.value.hint
        assert list_sweeps(settings=settings) == []  # nothing was created
    else:
        assert shipyard.sweep(spec, objective, settings=settings).counts["COMPLETE"] == 4


def test_the_metadata_database_is_refused_as_storage(settings: Settings) -> None:
    spec = {"metric": {"name": "a", "goal": "maximize"}, "parameters": {"x": [1]}, "max_trials": 1}
    with pytest.raises(InvalidArgument, match="cannot be the Shipyard metadata database"):
        shipyard.sweep(spec, lambda t: 1.0, settings=settings, storage=settings.store_uri)


def test_custom_storage(settings: Settings, tmp_path: Path) -> None:
    storage = f"sqlite:///{tmp_path / 'elsewhere.db'}"
    spec = {"metric": {"name": "a", "goal": "maximize"}, "parameters": {"x": [1, 2]}}
    result = shipyard.sweep(
        spec, lambda t: float(t.params["x"]), settings=settings, storage=storage, max_trials=2
    )
    assert list_sweeps(settings=settings) == []
    assert [s.sweep_id for s in list_sweeps(settings=settings, storage=storage)] == [
        result.sweep_id
    ]


# -- the CLI ----------------------------------------------------------------------------------
def _cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    with pytest.raises(SystemExit) as exited:
        main(args)
    out, err = capsys.readouterr()
    return int(exited.value.code or 0), out, err


def test_cli_status_and_list(settings: Settings, capsys: pytest.CaptureFixture[str]) -> None:
    spec = {
        "project": "cli",
        "name": "tiny",
        "metric": {"name": "acc", "goal": "maximize"},
        "method": "grid",
        "parameters": {"depth": [1, 2, 3]},
    }
    result = shipyard.sweep(spec, lambda t: float(t.params["depth"]) / 10, settings=settings)
    capsys.readouterr()
    code, out, _ = _cli(["sweep", "status", result.sweep_id, "--json"], capsys)
    data = json.loads(out)
    assert code == 0
    assert data["counts"]["COMPLETE"] == 3
    assert data["best"]["params"] == {"depth": 3}
    assert data["best"]["run_id"] == result.best.run_id if result.best else False
    code, out, _ = _cli(["sweep", "status", result.sweep_id], capsys)
    assert code == 0
    assert "best value" in out
    assert "0.3 (trial" in out
    code, out, _ = _cli(["sweep", "list", "--json"], capsys)
    listing: list[Mapping[str, Any]] = json.loads(out)
    assert [(s["sweep_id"], s["name"], s["trials"]) for s in listing] == [
        (result.sweep_id, "tiny", 3)
    ]


def test_cli_points_spec_errors_to_the_line(
    settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    spec_file = tmp_path / "sweep.yaml"
    spec_file.write_text(
        "metric: {name: acc, goal: maximize}\n"
        "method: grid\n"
        "parameters:\n"
        "  lr: {distribution: log_uniform, min: 1e-4, max: 1e-1}\n"
    )
    code, _, err = _cli(["sweep", "run", str(spec_file)], capsys)
    assert code == 1
    assert f"error: {spec_file}, line 4: parameters.lr: is a continuous" in err
    assert "hint: give it values" in err
    code, _, err = _cli(["sweep", "status", "0" * 32], capsys)
    assert code == 1
    assert "not found" in err
