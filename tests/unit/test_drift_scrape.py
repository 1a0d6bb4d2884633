"""Scraped serving metrics: parsing the model server's exposition, window figures, quantiles."""

from __future__ import annotations

import pytest

from shipyard.domain.serving import MetricSample
from shipyard.serving.metrics import ServingMetrics
from shipyard.serving.scrape import parse, quantile, series, window


def exposition(fast: int, slow: int, failed: int) -> dict[str, object]:
    metrics = ServingMetrics()
    for _ in range(fast):
        metrics.observe("iris", "1", "v2", 200, 0.002)
    for _ in range(slow):
        metrics.observe("iris", "2", "v2", 200, 0.7)
    for _ in range(failed):
        metrics.observe("iris", "1", "v2", 400, 0.001)
    metrics.batch_size.labels("iris", "1").observe(4)
    metrics.batch_size.labels("iris", "1").observe(8)
    return parse(metrics.exposition().decode())


def test_parse_sums_over_labels_and_keeps_versions() -> None:
    counters = exposition(fast=90, slow=10, failed=5)
    assert counters["requests"] == 105.0
    assert counters["errors"] == 5.0
    assert counters["versions"] == {"1": 95.0, "2": 10.0}
    assert counters["batch_sum"] == 12.0


def test_window_takes_differences_and_survives_restarts() -> None:
    before = MetricSample("iris", 0, exposition(fast=10, slow=0, failed=0))
    after = MetricSample("iris", 60_000, exposition(fast=90, slow=10, failed=5))
    figures = window([before, after], window_s=60, now_ms=60_000)
    assert figures["requests"] == 95.0
    assert figures["error_rate"] == pytest.approx(5 / 95)
    assert 0.5 < figures["p99"] <= 1.0  # the slow tenth lands in the (0.5, 1] bucket
    restarted = window([after, before], window_s=60, now_ms=60_000)
    assert restarted["requests"] == 10.0  # counters went down: counted from zero
    assert window([], 60, 0)["p99"] is None


def test_quantile_interpolates_like_histogram_quantile() -> None:
    buckets = {"0.1": 50.0, "0.2": 100.0, "+Inf": 100.0}
    assert quantile(0.5, buckets) == pytest.approx(0.1)
    assert quantile(0.75, buckets) == pytest.approx(0.15)
    assert quantile(0.99, {"0.1": 0.0, "+Inf": 10.0}) == 0.1
    assert quantile(0.5, {}) is None


def test_series_has_one_point_per_interval() -> None:
    samples = [
        MetricSample("iris", 0, {}),
        MetricSample("iris", 2000, exposition(fast=10, slow=0, failed=2)),
    ]
    points = series(samples)
    assert points["at"] == [2000]
    assert points["requests"] == [6.0]
    assert points["errors"] == [1.0]
    assert points["batch"] == [6.0]  # two batches, of 4 and 8 rows
