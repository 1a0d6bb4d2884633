"""What a sweep reports: its trials, their states, the best one, and live progress."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from optuna.trial import FrozenTrial, TrialState

from shipyard.domain.entities import ParamValue
from shipyard.sweeps._optuna import JOB_ATTR, REQUEUED_ATTR, RETRY_OF_ATTR, RUN_ATTR
from shipyard.sweeps.spec import Metric, SweepSpec

STATES = ("COMPLETE", "PRUNED", "FAIL", "RUNNING", "WAITING")
"""Trial states as Optuna names them."""


@dataclass(frozen=True, slots=True)
class TrialSummary:
    """One trial: its Optuna state and value, its params and the Shipyard run that tracked it.

    ``requeued`` marks a trial that an interruption cut short and that was queued again (as
    the trial ``retry_of`` points back to); it does not count against ``max_trials``.
    """

    number: int
    state: str
    value: float | None
    params: Mapping[str, ParamValue]
    run_id: str | None = None
    job: str | None = None
    requeued: bool = False
    retry_of: int | None = None
    started_at: int | None = None
    ended_at: int | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready copy."""
        return {
            "number": self.number,
            "state": self.state,
            "value": self.value,
            "params": dict(self.params),
            "run_id": self.run_id,
            "job": self.job,
            "requeued": self.requeued,
            "retry_of": self.retry_of,
            "started_at": self.started_at,
            "ended_at": self.ended_at,
        }


@dataclass(frozen=True, slots=True)
class SweepProgress:
    """A sweep's counters and best trial so far (what the CLI's live view shows)."""

    sweep_id: str
    max_trials: int
    completed: int = 0
    pruned: int = 0
    failed: int = 0
    running: int = 0
    best: TrialSummary | None = None

    @property
    def finished(self) -> int:
        """Trials that count against ``max_trials`` (completed, pruned or failed)."""
        return self.completed + self.pruned + self.failed


@dataclass(frozen=True, slots=True)
class SweepResult:
    """A sweep as its study records it (what ``run_sweep`` returns and ``sweep status`` shows)."""

    sweep_id: str
    project: str
    spec: SweepSpec
    trials: tuple[TrialSummary, ...] = field(default_factory=tuple)

    @property
    def counts(self) -> dict[str, int]:
        """How many trials are in each state (requeued ones left out)."""
        counts = dict.fromkeys(STATES, 0)
        for trial in self.trials:
            if not trial.requeued:
                counts[trial.state] = counts.get(trial.state, 0) + 1
        return counts

    @property
    def best(self) -> TrialSummary | None:
        """The best completed trial (``None`` before one completed)."""
        return best_trial(self.trials, self.spec.metric)

    def progress(self) -> SweepProgress:
        """The counters of this result."""
        counts = self.counts
        return SweepProgress(
            self.sweep_id,
            self.spec.max_trials,
            completed=counts["COMPLETE"],
            pruned=counts["PRUNED"],
            failed=counts["FAIL"],
            running=counts["RUNNING"],
            best=self.best,
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready copy: id, project, spec, counts, best trial and every trial."""
        best = self.best
        return {
            "sweep_id": self.sweep_id,
            "project": self.project,
            "spec": self.spec.to_dict(),
            "max_trials": self.spec.max_trials,
            "finished": self.progress().finished,
            "counts": self.counts,
            "best": None if best is None else best.to_dict(),
            "trials": [trial.to_dict() for trial in self.trials],
        }


def best_trial(trials: Iterable[TrialSummary], metric: Metric) -> TrialSummary | None:
    """The completed trial with the best value for ``metric``'s goal (the first one on ties)."""
    done = [t for t in trials if t.state == "COMPLETE" and t.value is not None]
    if not done:
        return None
    pick = max if metric.maximize else min
    return pick(done, key=lambda t: t.value or 0.0)


def summarize(frozen: FrozenTrial, spec: SweepSpec) -> TrialSummary:
    """A :class:`TrialSummary` of an Optuna trial (constant parameters added to its params)."""
    constants = {n: p.values[0] for n, p in spec.parameters.items() if p.is_constant}
    value = frozen.value if frozen.state is TrialState.COMPLETE else None
    retry_of = frozen.user_attrs.get(RETRY_OF_ATTR)
    return TrialSummary(
        number=frozen.number,
        state=frozen.state.name,
        value=None if value is None or math.isnan(value) else float(value),
        params={**frozen.params, **constants},
        run_id=frozen.user_attrs.get(RUN_ATTR),
        job=frozen.user_attrs.get(JOB_ATTR),
        requeued=bool(frozen.user_attrs.get(REQUEUED_ATTR, False)),
        retry_of=None if retry_of is None else int(retry_of),
        started_at=_ms(frozen.datetime_start),
        ended_at=_ms(frozen.datetime_complete),
    )


def _ms(moment: Any) -> int | None:
    return None if moment is None else int(moment.timestamp() * 1000)


@dataclass(frozen=True, slots=True)
class SweepListing:
    """One line of ``shipyard sweep list``."""

    sweep_id: str
    project: str
    name: str | None
    method: str
    metric: Metric
    max_trials: int
    trials: int
    best_value: float | None
    started_at: int | None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready copy."""
        return {
            "sweep_id": self.sweep_id,
            "project": self.project,
            "name": self.name,
            "method": self.method,
            "metric": {"name": self.metric.name, "goal": self.metric.goal},
            "max_trials": self.max_trials,
            "trials": self.trials,
            "best_value": self.best_value,
            "started_at": self.started_at,
        }
