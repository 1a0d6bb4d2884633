"""Downsampling keeps the shape and the extremes of a series, within the point budget."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pytest

from shipyard.errors import InvalidArgument
from shipyard.store._downsample import downsample


def series(
    values: list[float] | npt.NDArray[np.float64],
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], npt.NDArray[np.float64]]:
    vals = np.asarray(values, dtype=np.float64)
    steps = np.arange(len(vals), dtype=np.int64) * 10
    return steps, steps + 1_000, vals


def test_short_series_is_returned_unchanged() -> None:
    steps, stamps, values = series([3.0, 1.0, 2.0])
    out = downsample(steps, stamps, values, 3)
    assert [a.tolist() for a in out] == [steps.tolist(), stamps.tolist(), values.tolist()]


@pytest.mark.parametrize("count", [5, 17, 100, 1001, 4099])
@pytest.mark.parametrize("max_points", [4, 5, 9, 64, 100])
def test_budget_order_and_extremes(count: int, max_points: int) -> None:
    rng = np.random.default_rng(count * 1000 + max_points)
    steps, stamps, values = series(rng.normal(size=count))
    out_steps, out_stamps, out_values = downsample(steps, stamps, values, max_points)
    assert len(out_steps) == len(out_stamps) == len(out_values) <= max_points
    if count > max_points:
        assert len(out_values) < count
    assert np.all(np.diff(out_steps) > 0)
    assert out_values.max() == values.max()
    assert out_values.min() == values.min()
    assert (out_steps[0], out_steps[-1]) == (steps[0], steps[-1])
    # every kept point is a real point of the series, with its own timestamp and value
    index = out_steps // 10
    assert np.array_equal(out_stamps, stamps[index])
    assert np.array_equal(out_values, values[index])


def test_spike_and_dip_survive_a_large_reduction() -> None:
    values = np.sin(np.arange(1_000_000) / 5_000)
    values[123_457], values[876_543] = 50.0, -50.0
    _, _, out = downsample(*series(values), 1_000)
    assert len(out) <= 1_000
    assert {50.0, -50.0} <= set(out.tolist())


def test_nan_is_never_an_extreme() -> None:
    values = np.linspace(0.0, 1.0, 1_000)
    values[::7] = np.nan
    values[500] = 9.0
    values[501] = -9.0
    _, _, out = downsample(*series(values), 40)
    finite = out[~np.isnan(out)]
    assert (finite.max(), finite.min()) == (9.0, -9.0)


def test_all_nan_series() -> None:
    _, _, out = downsample(*series([float("nan")] * 1_000), 10)
    assert 0 < len(out) <= 10
    assert np.isnan(out).all()


def test_infinities_are_extremes() -> None:
    values = np.zeros(1_000)
    values[10], values[900] = np.inf, -np.inf
    _, _, out = downsample(*series(values), 8)
    assert np.inf in out
    assert -np.inf in out


@pytest.mark.parametrize(
    ("max_points", "expected"), [(1, [-5.0]), (2, [9.0, -5.0]), (3, [9.0, -5.0, 2.0])]
)
def test_tiny_budgets_keep_the_extremes_first(max_points: int, expected: list[float]) -> None:
    values = [0.0, 1.0, 9.0, 1.0, 0.0, 0.0, -5.0, 0.0, 1.0, 2.0]
    _, _, out = downsample(*series(values), max_points)
    assert out.tolist() == expected


def test_budget_below_one_is_refused() -> None:
    with pytest.raises(InvalidArgument, match="max_points"):
        downsample(*series([1.0, 2.0]), 0)
