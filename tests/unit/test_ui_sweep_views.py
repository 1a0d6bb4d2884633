"""What the sweep page computes from a sweep's runs: which runs belong to a sweep, each trial's
state and value, the counts, the best trial, the best-so-far curve and the parallel axes."""

from __future__ import annotations

import json
import math
from collections.abc import Mapping

import pytest

from shipyard.domain.entities import MetricSummary, ParamValue, Run, RunStatus
from shipyard.errors import NotFound
from shipyard.server.ui import _sweep_views as views
from shipyard.sweeps import _tracking

SWEEP = "5" * 32


def metric(value: float, step: int = 5) -> MetricSummary:
    return MetricSummary("acc", value, step, 0, value, value, step + 1)


def parent(goal: str = "maximize", **tags: str) -> Run:
    base = {
        views.ROLE_TAG: "sweep",
        views.SWEEP_TAG: SWEEP,
        views.METHOD_TAG: "tpe",
        views.METRIC_TAG: "acc",
        views.GOAL_TAG: goal,
        views.MAX_TRIALS_TAG: "10",
    }
    return Run(SWEEP, "p", "search", RunStatus.RUNNING, "ada", 0, tags={**base, **tags})


def trial(
    number: int,
    value: float | None = None,
    state: str | None = "COMPLETE",
    status: RunStatus = RunStatus.FINISHED,
    params: Mapping[str, ParamValue] | None = None,
    error: str | None = None,
) -> Run:
    tags = {views.SWEEP_TAG: SWEEP, views.TRIAL_TAG: str(number), views.ROLE_TAG: "trial"}
    if state is not None:
        tags[views.STATE_TAG] = state
    return Run(
        f"{number:032d}", "p", f"search-{number}", status, "ada", 1000,
        end_time=None if status is RunStatus.RUNNING else 2500, parent_id=SWEEP, error=error,
        params=params or {}, tags=tags, metrics={} if value is None else {"acc": metric(value)},
    )  # fmt: skip


def test_tag_names_are_those_the_sweeps_write() -> None:
    assert views.SWEEP_TAG == _tracking.SWEEP_TAG
    assert views.TRIAL_TAG == _tracking.TRIAL_TAG
    assert views.METHOD_TAG == _tracking.METHOD_TAG
    assert views.ROLE_TAG == _tracking.ROLE_TAG
    assert views.STATE_TAG == _tracking.STATE_TAG
    # the parent's metric, goal and budget tags: see the integration test of a real sweep


def test_sweep_links_of_a_parent_a_trial_and_other_runs() -> None:
    assert views.sweep_link(parent()) == views.SweepLink(SWEEP, None)
    assert views.sweep_link(trial(3)) == views.SweepLink(SWEEP, 3)
    assert views.sweep_link(trial(3)).href == f"/sweeps/{SWEEP}"  # type: ignore[union-attr]
    plain = Run("r" * 32, "p", "plain", RunStatus.FINISHED, "ada", 0, parent_id=SWEEP)
    assert views.sweep_link(plain) is None
    moved = Run("m" * 32, "p", "m", RunStatus.FINISHED, "ada", 0, tags={views.SWEEP_TAG: SWEEP})
    assert views.sweep_link(moved) is None  # tagged, but not a child of the sweep's run
    odd = Run("a/b", "p", "x", RunStatus.FINISHED, "ada", 0, tags={views.SWEEP_TAG: "a/b"})
    assert views.sweep_link(odd) == views.SweepLink("a/b")
    assert views.sweep_href("a/b") == "/sweeps/a%2Fb"


@pytest.mark.parametrize(
    ("run", "state"),
    [
        (trial(0, 0.5), "COMPLETE"),
        (trial(1, 0.2, "PRUNED", RunStatus.KILLED), "PRUNED"),
        (trial(2, None, "FAIL", RunStatus.FAILED, error="boom"), "FAIL"),
        (trial(3, None, "FAIL", RunStatus.KILLED, error="interrupted: Ctrl-C"), "REQUEUED"),
        (trial(4, 0.1, None, RunStatus.RUNNING), "RUNNING"),
        (trial(5, 0.1, None, RunStatus.FINISHED), "COMPLETE"),  # ended, not tagged yet
        (trial(6, None, None, RunStatus.KILLED), "FAIL"),
    ],
)
def test_trial_states(run: Run, state: str) -> None:
    assert views.trial_state(run) == state


def test_a_run_that_is_no_sweep_is_not_found() -> None:
    with pytest.raises(NotFound, match="is not a sweep") as caught:
        views.sweep_of(trial(1), [])
    assert caught.value.hint is not None
    assert "/runs/" in caught.value.hint


def test_counts_progress_and_the_best_trial() -> None:
    children = [
        trial(2, 0.9),
        trial(0, 0.7),
        trial(1, 0.9),
        trial(3, 0.95, "PRUNED", RunStatus.KILLED),  # higher, but pruned: never the best
        trial(4, None, "FAIL", RunStatus.FAILED),
        trial(5, None, "FAIL", RunStatus.KILLED, error="interrupted: gone"),
        trial(6, 0.1, None, RunStatus.RUNNING),
        trial(7, math.nan),
        Run("x" * 32, "p", "nested", RunStatus.FINISHED, "ada", 0, parent_id=SWEEP),
    ]
    sweep = views.sweep_of(parent(), children)
    assert [t.number for t in sweep.trials] == list(range(8))
    assert sweep.counts == {"COMPLETE": 4, "PRUNED": 1, "FAIL": 1, "RUNNING": 1}
    assert sweep.finished == 6
    assert sweep.progress_percent == 60
    assert sweep.best is not None
    assert sweep.best.number == 1  # ties go to the earlier trial
    assert [t.number for t in sweep.ranked()] == [1, 2, 0]  # trial 7's NaN has no value
    assert sweep.trials[7].value is None
    assert sweep.compare_href == f"/compare?runs={'1':0>32},{'2':0>32},{'0':0>32}"


def test_minimize_and_an_unknown_budget() -> None:
    sweep = views.sweep_of(
        parent("minimize", **{views.MAX_TRIALS_TAG: "many"}), [trial(0, 0.4), trial(1, 0.3)]
    )
    assert sweep.best is not None
    assert sweep.best.number == 1
    assert sweep.max_trials is None
    assert sweep.progress_percent == 0
    assert views.sweep_of(parent(), [trial(0, 0.4)]).compare_href is None


def test_columns_of_the_trials_table() -> None:
    sweep = views.sweep_of(parent(), [trial(0, 0.4, params={"lr": 0.1, "depth": 2})])
    assert [(c.sort, c.label) for c in sweep.columns] == [
        ("number", "Trial"),
        ("state", "State"),
        ("params.depth", "depth"),
        ("params.lr", "lr"),
        ("value", "acc"),
        ("duration", "Duration"),
        (None, "Run"),
    ]


def test_history_keeps_the_best_so_far_in_trial_order() -> None:
    children = [
        trial(0, 0.5),
        trial(1, 0.2, "PRUNED", RunStatus.KILLED),
        trial(2, 0.4),
        trial(3, 0.8),
        trial(4, None, "FAIL", RunStatus.FAILED),
    ]
    maximize = views.history(views.sweep_of(parent(), children))
    assert [(p["number"], p["value"]) for p in maximize["complete"]] == [
        (0, 0.5),
        (2, 0.4),
        (3, 0.8),
    ]
    assert [p["value"] for p in maximize["best"]] == [0.5, 0.5, 0.8]
    assert maximize["pruned"] == [{"number": 1, "value": 0.2, "run": f"{1:032d}", "step": 5}]
    minimize = views.history(views.sweep_of(parent("minimize"), children))
    assert [p["value"] for p in minimize["best"]] == [0.5, 0.4, 0.4]


def test_param_axes() -> None:
    assert views.param_axis("k", [1, 1, 1]) is None
    assert views.param_axis("depth", [2, 8, 4]) == {"label": "depth", "values": [2.0, 8.0, 4.0]}
    log = views.param_axis("lr", [0.0002, 0.05, 0.001])
    assert log is not None
    assert log["label"] == "lr (log)"
    assert log["values"] == pytest.approx([math.log10(0.0002), math.log10(0.05), -3.0])
    assert log["tickvals"] == [-4, -3, -2, -1]
    assert log["ticktext"] == ["0.0001", "0.001", "0.01", "0.1"]
    assert log["range"] == [-4, -1]
    words = views.param_axis("opt", ["sgd", "adam", "sgd", True, None])
    assert words == {
        "label": "opt",
        "values": [2, 0, 2, 3, 1],
        "tickvals": [0, 1, 2, 3],
        "ticktext": ["adam", "null", "sgd", "true"],
        "range": [0, 3],
    }
    flags = views.param_axis("bn", [True, False])
    assert flags is not None
    assert flags["ticktext"] == ["false", "true"]  # booleans are categories, not 0/1


def test_parallel_axes_over_completed_trials() -> None:
    def params(i: int) -> dict[str, ParamValue]:
        return {"lr": 0.01 * (i + 1), "epochs": 5, "opt": "adam" if i % 2 else "sgd"}

    one = views.sweep_of(parent(), [trial(0, 0.5, params=params(0))])
    assert views.parcoords_dimensions(one) == []
    children = [trial(i, 0.1 * i, params=params(i)) for i in range(3)]
    children.append(trial(3, 0.9, "PRUNED", RunStatus.KILLED, params={"lr": 9.0}))
    children.append(trial(4, 0.2, params={**params(4), "extra": 1}))  # not in every trial
    dims = views.parcoords_dimensions(views.sweep_of(parent(), children))
    assert [d["label"] for d in dims] == ["lr", "opt", "acc"]  # epochs is constant
    assert dims[-1]["values"] == pytest.approx([0.0, 0.1, 0.2, 0.2])
    many = {f"p{i:02d}": i for i in range(20)}
    wide = [trial(i, i, params={k: v + i for k, v in many.items()}) for i in range(2)]
    dims = views.parcoords_dimensions(views.sweep_of(parent(), wide))
    assert len(dims) == views.MAX_PARAM_AXES + 1


def test_page_json_has_no_nan() -> None:
    children = [trial(0, 0.5, params={"w": math.nan, "opt": "a"}), trial(1, 0.6)]
    data = views.sweep_json(views.sweep_of(parent(), children))
    text = json.dumps(data, allow_nan=False)
    assert '"w": "NaN"' in text
    assert data["trials"][0] == {
        "number": 0,
        "run": f"{0:032d}",
        "state": "COMPLETE",
        "value": 0.5,
        "duration": 1500,
        "params": {"w": "NaN", "opt": "a"},
    }
