"""Verifying a reproduction: metrics match exactly, or within numpy.isclose tolerances."""

from __future__ import annotations

import math

import numpy as np
import pytest

from shipyard.domain.entities import MetricSummary
from shipyard.errors import InvalidArgument
from shipyard.repro.compare import (
    MetricCheck,
    compare_metrics,
    json_number,
    values_match,
)

NAN = float("nan")
INF = float("inf")


def summary(
    key: str, last: float, lo: float | None = None, hi: float | None = None
) -> MetricSummary:
    lo = last if lo is None else lo
    hi = last if hi is None else hi
    return MetricSummary(key, last, 10, 1_000, lo, hi, 11)


@pytest.mark.parametrize(
    ("original", "reproduced", "rtol", "atol"),
    [
        (1.0, 1.0, 0.0, 0.0),
        (0.1 + 0.2, 0.1 + 0.2, 0.0, 0.0),
        (1.0, 1.0 + 1e-9, 1e-6, 0.0),
        (0.0, 1e-9, 0.0, 1e-8),
        (100.0, 100.5, 0.01, 0.0),
        (NAN, NAN, 0.0, 0.0),
        (INF, INF, 0.0, 0.0),
        (-INF, -INF, 0.1, 0.1),
    ],
)
def test_matching_values(original: float, reproduced: float, rtol: float, atol: float) -> None:
    assert values_match(original, reproduced, rtol=rtol, atol=atol)
    assert np.isclose(reproduced, original, rtol=rtol, atol=atol, equal_nan=True)


@pytest.mark.parametrize(
    ("original", "reproduced", "rtol", "atol"),
    [
        (1.0, 1.0 + 1e-12, 0.0, 0.0),
        (1.0, 1.1, 0.01, 0.0),
        (0.0, 1e-6, 0.0, 1e-8),
        (NAN, 1.0, 1.0, 1.0),
        (1.0, NAN, 1.0, 1.0),
        (INF, -INF, 1.0, 1.0),
        (INF, 1e308, 1.0, 1.0),
    ],
)
def test_differing_values(original: float, reproduced: float, rtol: float, atol: float) -> None:
    assert not values_match(original, reproduced, rtol=rtol, atol=atol)
    assert not np.isclose(reproduced, original, rtol=rtol, atol=atol, equal_nan=True)


def test_rtol_is_relative_to_the_original_like_numpy() -> None:
    # |b - a| <= atol + rtol * |a|: asymmetric, with the original as the reference.
    assert values_match(11.0, 10.0, rtol=0.095)  # 1 <= 0.095 * 11
    assert not values_match(10.0, 11.0, rtol=0.095)  # 1 > 0.095 * 10


def test_missing_values_match_only_missing_values() -> None:
    assert values_match(None, None)
    assert not values_match(None, 1.0)
    assert not values_match(1.0, None, atol=10.0)


def test_identical_summaries_pass_every_check() -> None:
    metrics = {"acc": summary("acc", 0.9, 0.5, 0.95), "loss": summary("loss", 0.2)}
    checks = compare_metrics(metrics, dict(metrics))
    assert [(c.key, c.stat) for c in checks] == [
        ("acc", "last"),
        ("acc", "min"),
        ("acc", "max"),
        ("loss", "last"),
        ("loss", "min"),
        ("loss", "max"),
    ]
    assert all(c.ok for c in checks)
    assert all(c.delta == 0.0 for c in checks)


def test_a_changed_statistic_fails_only_that_check() -> None:
    original = {"acc": summary("acc", 0.9, 0.5, 0.95)}
    reproduced = {"acc": summary("acc", 0.9, 0.4, 0.95)}
    failed = [
        (c.stat, c.original, c.reproduced)
        for c in compare_metrics(original, reproduced)
        if not c.ok
    ]
    assert failed == [("min", 0.5, 0.4)]


def test_tolerances_accept_small_differences() -> None:
    original = {"loss": summary("loss", 0.25)}
    reproduced = {"loss": summary("loss", 0.25 + 1e-10)}
    assert not all(c.ok for c in compare_metrics(original, reproduced))
    assert all(c.ok for c in compare_metrics(original, reproduced, rtol=1e-6))
    assert all(c.ok for c in compare_metrics(original, reproduced, atol=1e-9))


def test_a_metric_missing_on_either_side_fails() -> None:
    original = {"acc": summary("acc", 0.9), "gone": summary("gone", 1.0)}
    reproduced = {"acc": summary("acc", 0.9), "new": summary("new", 2.0)}
    checks = compare_metrics(original, reproduced)
    bad = {(c.key, c.original, c.reproduced) for c in checks if not c.ok}
    assert bad == {("gone", 1.0, None), ("new", None, 2.0)}
    assert next(c for c in checks if c.key == "gone").delta is None


def test_nan_summaries_match_nan_summaries() -> None:
    all_nan = MetricSummary("x", NAN, 3, 1, None, None, 4)
    checks = compare_metrics({"x": all_nan}, {"x": all_nan})
    assert all(c.ok for c in checks)


def test_system_metrics_are_left_out_unless_asked() -> None:
    original = {"acc": summary("acc", 1.0), "system/cpu": summary("system/cpu", 20.0)}
    reproduced = {"acc": summary("acc", 1.0), "system/cpu": summary("system/cpu", 70.0)}
    assert {c.key for c in compare_metrics(original, reproduced)} == {"acc"}
    checks = compare_metrics(original, reproduced, include_system=True)
    assert {c.key for c in checks if not c.ok} == {"system/cpu"}


@pytest.mark.parametrize(("rtol", "atol"), [(-1e-3, 0.0), (0.0, -1.0), (NAN, 0.0), (0.0, INF)])
def test_bad_tolerances_are_refused(rtol: float, atol: float) -> None:
    with pytest.raises(InvalidArgument, match="must be a finite number >= 0") as info:
        compare_metrics({}, {}, rtol=rtol, atol=atol)
    assert info.value.hint is not None


def test_json_form_spells_out_non_finite_numbers() -> None:
    check = MetricCheck("loss", "last", NAN, INF, False)
    assert check.to_dict() == {
        "key": "loss",
        "stat": "last",
        "original": "NaN",
        "reproduced": "Infinity",
        "delta": "NaN",
        "ok": False,
    }
    assert json_number(-INF) == "-Infinity"
    assert json_number(0.5) == 0.5
    assert json_number(None) is None
    assert MetricCheck("a", "max", INF, INF, True).delta == 0.0
    assert math.isclose(MetricCheck("a", "max", 1.0, 1.5, False).delta or 0.0, 0.5)
