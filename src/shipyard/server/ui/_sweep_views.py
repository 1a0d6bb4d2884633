"""What the sweep page shows, computed from a sweep's runs (no I/O, no HTML).

A sweep is stored as runs (``shipyard.sweeps._tracking`` writes them): a parent run whose id is
the sweep id, tagged with the method, metric, goal and budget, and one child run per trial,
tagged with the trial's number and, once it ended, its state. The server may not import
``shipyard.sweeps`` (it pulls in the SDK and Optuna), so the tag names are repeated here; a unit
test keeps the two lists in step.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from shipyard.domain.entities import ParamValue, Run, RunStatus
from shipyard.errors import NotFound
from shipyard.server.ui._templates import number, param_text

SWEEP_TAG = "shipyard.sweep.id"
TRIAL_TAG = "shipyard.sweep.trial"
METHOD_TAG = "shipyard.sweep.method"
ROLE_TAG = "shipyard.sweep.role"
STATE_TAG = "shipyard.sweep.state"
METRIC_TAG = "shipyard.sweep.metric"
GOAL_TAG = "shipyard.sweep.goal"
MAX_TRIALS_TAG = "shipyard.sweep.max_trials"
REQUEUED_ERROR = "interrupted: "
"""How the run of a trial that an interruption cut short (and that ran again) ends."""

COMPLETE, PRUNED, FAIL, RUNNING, REQUEUED = "COMPLETE", "PRUNED", "FAIL", "RUNNING", "REQUEUED"
COUNTED_STATES = (COMPLETE, PRUNED, FAIL, RUNNING)
"""The states the page counts (requeued trials ran again under another number)."""
STATE_LABELS = {COMPLETE: "Complete", PRUNED: "Pruned", FAIL: "Failed", RUNNING: "Running",
                REQUEUED: "Requeued"}  # fmt: skip
_ENDED_AS = {RunStatus.FINISHED: COMPLETE, RunStatus.FAILED: FAIL, RunStatus.KILLED: FAIL}
MAX_PARAM_AXES = 13
"""Parallel-coordinates axes for params (the metric is one more)."""
LOG_AXIS_SPAN = 100.0
"""Positive values spanning this factor or more are drawn on a log axis."""
TOP_TO_COMPARE = 5


@dataclass(frozen=True, slots=True)
class SweepLink:
    """How a run belongs to a sweep: its parent (``trial`` is ``None``) or one of its trials."""

    sweep_id: str
    trial: int | None = None

    @property
    def href(self) -> str:
        """The sweep's page."""
        return sweep_href(self.sweep_id)


@dataclass(frozen=True, slots=True)
class Column:
    """A column of the trials table: its sort key (``None``: not sortable), header text, kind
    (``param``, ``metric``) and whether it holds numbers."""

    sort: str | None
    label: str
    kind: str | None = None
    numeric: bool = False


@dataclass(frozen=True, slots=True)
class Trial:
    """One trial: its run, its state, and the metric's last finite value (``step`` it was at)."""

    number: int
    run: Run
    state: str
    value: float | None
    step: int | None

    @property
    def params(self) -> Mapping[str, ParamValue]:
        """The trial's params (constants included)."""
        return self.run.params


@dataclass(frozen=True, slots=True)
class Sweep:
    """A sweep as the page shows it: the parent run's facts and every trial, by number."""

    run: Run
    metric: str
    goal: str
    method: str
    max_trials: int | None
    trials: tuple[Trial, ...]

    @property
    def maximize(self) -> bool:
        """Whether higher values of the metric are better."""
        return self.goal == "maximize"

    @property
    def counts(self) -> dict[str, int]:
        """Trials per counted state (``COMPLETE``, ``PRUNED``, ``FAIL``, ``RUNNING``)."""
        counts = dict.fromkeys(COUNTED_STATES, 0)
        for trial in self.trials:
            if trial.state in counts:
                counts[trial.state] += 1
        return counts

    @property
    def finished(self) -> int:
        """Trials that count against the budget: completed, pruned or failed."""
        counts = self.counts
        return counts[COMPLETE] + counts[PRUNED] + counts[FAIL]

    @property
    def progress_percent(self) -> int:
        """How much of the budget is spent, 0 to 100 (0 without a known budget)."""
        if not self.max_trials:
            return 0
        return min(100, round(100 * self.finished / self.max_trials))

    @property
    def best(self) -> Trial | None:
        """The completed trial with the best value (the lowest number on ties)."""
        return next(iter(self.ranked()), None)

    def ranked(self) -> list[Trial]:
        """Completed trials with a value, best first (lower numbers first on ties)."""
        done = [t for t in self.trials if t.state == COMPLETE and t.value is not None]
        sign = -1.0 if self.maximize else 1.0
        return sorted(done, key=lambda t: (sign * (t.value or 0.0), t.number))

    @property
    def param_keys(self) -> list[str]:
        """Every param any trial has, sorted."""
        return sorted({key for trial in self.trials for key in trial.params})

    @property
    def columns(self) -> list[Column]:
        """The trials table's columns: number, state, each param, the metric, duration, run."""
        params = [Column(f"params.{key}", key, "param") for key in self.param_keys]
        return [
            Column("number", "Trial", numeric=True),
            Column("state", "State"),
            *params,
            Column("value", self.metric or "value", "metric", numeric=True),
            Column("duration", "Duration", numeric=True),
            Column(None, "Run"),
        ]

    @property
    def compare_href(self) -> str | None:
        """The compare page of the best few completed trials (``None`` with fewer than two)."""
        top = self.ranked()[:TOP_TO_COMPARE]
        if len(top) < 2:
            return None
        return "/compare?runs=" + ",".join(quote(t.run.id, safe="") for t in top)


# -- runs to sweeps ---------------------------------------------------------------------------


def sweep_href(sweep_id: str) -> str:
    """The page of sweep ``sweep_id``."""
    return f"/sweeps/{quote(sweep_id, safe='')}"


def is_sweep(run: Run) -> bool:
    """Whether ``run`` is the parent run of a sweep (its id is the sweep id)."""
    return run.tags.get(ROLE_TAG) == "sweep" or run.tags.get(SWEEP_TAG) == run.id


def sweep_link(run: Run) -> SweepLink | None:
    """The sweep ``run`` is the parent of, or a trial of (``None``: neither)."""
    if is_sweep(run):
        return SweepLink(run.id)
    sweep_id = run.tags.get(SWEEP_TAG)
    if not sweep_id or run.parent_id != sweep_id:
        return None
    return SweepLink(sweep_id, _trial_number(run))


def trial_state(run: Run) -> str:
    """The state of a trial's run: its state tag once it ended, else from its status."""
    state = run.tags.get(STATE_TAG)
    if state == FAIL and (run.error or "").startswith(REQUEUED_ERROR):
        return REQUEUED
    if state in (COMPLETE, PRUNED, FAIL):
        return state
    if run.status is RunStatus.RUNNING:
        return RUNNING
    return _ENDED_AS[run.status]


def trial_of(run: Run, metric: str) -> Trial | None:
    """The trial that ``run`` tracked (``None`` when it carries no trial number)."""
    number = _trial_number(run)
    if number is None:
        return None
    summary = run.metrics.get(metric)
    finite = summary is not None and math.isfinite(summary.last)
    value = summary.last if summary is not None and finite else None
    step = summary.last_step if summary is not None and finite else None
    return Trial(number, run, trial_state(run), value, step)


def sweep_of(parent: Run, children: Iterable[Run]) -> Sweep:
    """The sweep whose parent run is ``parent``, with the trials among its ``children``.

    Raises ``NotFound`` when ``parent`` is not the parent run of a sweep.
    """
    if not is_sweep(parent):
        raise NotFound(
            f"run {parent.id} is not a sweep",
            hint=f"a sweep's id is the id of its parent run; open /runs/{parent.id} for this run",
        )
    tags = parent.tags
    metric = tags.get(METRIC_TAG, "")
    trials = (trial_of(run, metric) for run in children if run.tags.get(SWEEP_TAG) == parent.id)
    return Sweep(
        run=parent,
        metric=metric,
        goal=tags.get(GOAL_TAG, "minimize"),
        method=tags.get(METHOD_TAG, ""),
        max_trials=_int(tags.get(MAX_TRIALS_TAG)),
        trials=tuple(sorted((t for t in trials if t is not None), key=lambda t: t.number)),
    )


# -- what the page's scripts draw -------------------------------------------------------------


def history(sweep: Sweep) -> dict[str, list[dict[str, Any]]]:
    """The best-so-far chart: completed trials' values, pruned trials' last reported values,
    and the best value after each completed trial, in trial order."""
    complete = [t for t in sweep.trials if t.state == COMPLETE and t.value is not None]
    pruned = [t for t in sweep.trials if t.state == PRUNED and t.value is not None]
    pick = max if sweep.maximize else min
    best: list[dict[str, Any]] = []
    so_far: float | None = None
    for trial in complete:
        value = float(trial.value or 0.0)
        so_far = value if so_far is None else pick(so_far, value)
        best.append({"number": trial.number, "value": so_far})
    return {
        "complete": [_point(t) for t in complete],
        "pruned": [{**_point(t), "step": t.step} for t in pruned],
        "best": best,
    }


def parcoords_dimensions(sweep: Sweep) -> list[dict[str, Any]]:
    """Parallel-coordinates axes over the completed trials: each param whose value varies
    (numbers on a linear or log axis, anything else as categories), then the metric."""
    done = [t for t in sweep.trials if t.state == COMPLETE and t.value is not None]
    if len(done) < 2:
        return []
    axes = []
    for key in sweep.param_keys:
        if all(key in t.params for t in done):
            axis = param_axis(key, [t.params[key] for t in done])
            if axis is not None:
                axes.append(axis)
    metric = {"label": sweep.metric, "values": [t.value for t in done]}
    return [*axes[:MAX_PARAM_AXES], metric]


def param_axis(label: str, values: Sequence[ParamValue]) -> dict[str, Any] | None:
    """One axis for a param's values (``None`` when they are all the same)."""
    if len({param_text(v) for v in values}) < 2:
        return None
    if all(_is_number(v) for v in values):
        numbers = [float(v) for v in values if isinstance(v, int | float)]
        low, high = min(numbers), max(numbers)
        if low > 0 and high / low >= LOG_AXIS_SPAN:
            return _log_axis(label, numbers)
        return {"label": label, "values": numbers}
    texts = [param_text(v) for v in values]
    categories = sorted(set(texts))
    return {
        "label": label,
        "values": [categories.index(t) for t in texts],
        "tickvals": list(range(len(categories))),
        "ticktext": categories,
        "range": [0, len(categories) - 1],
    }


def sweep_json(sweep: Sweep) -> dict[str, Any]:
    """What the page's script needs: the trials (for sorting), the chart and the axes."""
    return {
        "id": sweep.run.id,
        "metric": sweep.metric,
        "goal": sweep.goal,
        "trials": [_trial_json(t) for t in sweep.trials],
        "history": history(sweep),
        "dimensions": parcoords_dimensions(sweep),
    }


def _trial_json(trial: Trial) -> dict[str, Any]:
    return {
        "number": trial.number,
        "run": trial.run.id,
        "state": trial.state,
        "value": trial.value,
        "duration": trial.run.duration_ms,
        "params": {k: _json_param(v) for k, v in trial.params.items()},
    }


def _point(trial: Trial) -> dict[str, Any]:
    return {"number": trial.number, "value": trial.value, "run": trial.run.id}


def _log_axis(label: str, values: Sequence[float]) -> dict[str, Any]:
    """A log axis spanning whole decades, ticked at each power of ten."""
    logs = [math.log10(v) for v in values]
    low, high = math.floor(min(logs)), math.ceil(max(logs))
    return {
        "label": f"{label} (log)",
        "values": logs,
        "tickvals": list(range(low, high + 1)),
        "ticktext": [number(10.0**p) for p in range(low, high + 1)],
        "range": [low, high],
    }


def _is_number(value: ParamValue) -> bool:
    finite = isinstance(value, int | float) and math.isfinite(value)
    return finite and not isinstance(value, bool)


def _json_param(value: ParamValue) -> ParamValue:
    """A param for JSON: non-finite floats become their text (JSON has no NaN)."""
    if isinstance(value, float) and not math.isfinite(value):
        return param_text(value)
    return value


def _trial_number(run: Run) -> int | None:
    return _int(run.tags.get(TRIAL_TAG))


def _int(text: str | None) -> int | None:
    try:
        return None if text is None else int(text)
    except ValueError:
        return None
