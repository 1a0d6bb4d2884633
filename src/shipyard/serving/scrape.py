"""Reading a deployment's ``/metrics`` into cumulative counters, and turning two of them into
window figures (request rate, error rate, p99 latency, batch sizes).

A scrape is a JSON-able dict (stored as a :class:`~shipyard.domain.serving.MetricSample`)::

    {"requests": 120.0, "errors": 2.0,
     "latency": {"0.005": 80.0, ..., "+Inf": 120.0}, "latency_sum": 0.9,
     "batch": {"1": 100.0, ..., "+Inf": 110.0}, "batch_sum": 130.0,
     "versions": {"3": 100.0, "4": 20.0}}

Counters and histograms are summed over labels (model, protocol, code); ``versions`` keeps the
request count per model version, to show a canary's share.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from shipyard.domain.serving import MetricSample

PREFIX = "shipyard_serving_"


def scrape(url: str, *, timeout: float = 5.0) -> dict[str, Any]:
    """Fetch ``{url}/metrics`` and summarise it (raises ``httpx.HTTPError`` when unreachable)."""
    response = httpx.get(f"{url.rstrip('/')}/metrics", timeout=timeout)
    response.raise_for_status()
    return parse(response.text)


def parse(text: str) -> dict[str, Any]:
    """Summarise Prometheus exposition text of a Shipyard model server."""
    out: dict[str, Any] = {"requests": 0.0, "errors": 0.0, "latency": {}, "latency_sum": 0.0,
                           "batch": {}, "batch_sum": 0.0, "versions": {}}  # fmt: skip
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            _add(out, sample.name, sample.labels, float(sample.value))
    return out


def _add(out: dict[str, Any], name: str, labels: Mapping[str, str], value: float) -> None:
    if not name.startswith(PREFIX):
        return
    key = name[len(PREFIX) :]
    if key == "requests_total":
        out["requests"] += value
        version = labels.get("version", "")
        out["versions"][version] = out["versions"].get(version, 0.0) + value
    elif key == "errors_total":
        out["errors"] += value
    elif key in ("request_duration_seconds_bucket", "batch_size_bucket"):
        bucket = out["latency" if key.startswith("request") else "batch"]
        bucket[labels["le"]] = bucket.get(labels["le"], 0.0) + value
    elif key == "request_duration_seconds_sum":
        out["latency_sum"] += value
    elif key == "batch_size_sum":
        out["batch_sum"] += value


def window(samples: Sequence[MetricSample], window_s: float, now_ms: int) -> dict[str, Any]:
    """Figures over the last ``window_s`` seconds: the newest sample minus the newest one at or
    before the window's start (or the oldest). Counters that went down (a restart) count from 0.

    Returns ``{"requests", "errors", "error_rate", "p99", "mean_batch", "seconds"}``;
    ``error_rate``, ``p99`` and ``mean_batch`` are ``None`` without requests.
    """
    if not samples:
        return _empty()
    last = samples[-1]
    start = now_ms - int(window_s * 1000)
    older = [s for s in samples if s.at <= start]
    first = older[-1] if older else samples[0]
    if first is last:
        first = MetricSample(last.deployment, last.at, {})
    return _difference(first.values, last.values, (last.at - first.at) / 1000)


def _difference(a: Mapping[str, Any], b: Mapping[str, Any], seconds: float) -> dict[str, Any]:
    restarted = float(b.get("requests", 0.0)) < float(a.get("requests", 0.0))
    base: Mapping[str, Any] = {} if restarted else a
    requests = float(b.get("requests", 0.0)) - float(base.get("requests", 0.0))
    errors = float(b.get("errors", 0.0)) - float(base.get("errors", 0.0))
    latency = _delta(base.get("latency", {}), b.get("latency", {}))
    batch = _delta(base.get("batch", {}), b.get("batch", {}))
    batches = batch.get("+Inf", 0.0)
    batch_rows = float(b.get("batch_sum", 0.0)) - float(base.get("batch_sum", 0.0))
    return {
        "requests": requests,
        "errors": errors,
        "error_rate": errors / requests if requests > 0 else None,
        "p99": quantile(0.99, latency) if requests > 0 else None,
        "mean_batch": batch_rows / batches if batches > 0 else None,
        "seconds": seconds,
    }


def _empty() -> dict[str, Any]:
    return {"requests": 0.0, "errors": 0.0, "error_rate": None, "p99": None,
            "mean_batch": None, "seconds": 0.0}  # fmt: skip


def _delta(a: Mapping[str, float], b: Mapping[str, float]) -> dict[str, float]:
    return {le: float(count) - float(a.get(le, 0.0)) for le, count in b.items()}


def quantile(q: float, buckets: Mapping[str, float]) -> float | None:
    """``histogram_quantile``: linear interpolation inside the bucket holding the quantile;
    the highest finite bound when it falls in ``+Inf``."""
    bounds = sorted((float(le), count) for le, count in buckets.items())
    if not bounds or bounds[-1][1] <= 0:
        return None
    rank = q * bounds[-1][1]
    previous_bound, previous_count = 0.0, 0.0
    for bound, count in bounds:
        if count >= rank:
            if math.isinf(bound):
                return previous_bound
            inside = count - previous_count
            share = (rank - previous_count) / inside if inside > 0 else 1.0
            return previous_bound + (bound - previous_bound) * share
        previous_bound, previous_count = bound, count
    return previous_bound


def series(samples: Sequence[MetricSample]) -> dict[str, list[Any]]:
    """Per-interval figures between consecutive samples, for charts: ``at`` (ms), ``requests``
    (per second), ``errors`` (per second), ``p99`` (seconds) and ``batch`` (mean rows)."""
    out: dict[str, list[Any]] = {"at": [], "requests": [], "errors": [], "p99": [], "batch": []}
    for a, b in itertools.pairwise(samples):
        seconds = max((b.at - a.at) / 1000, 1e-3)
        figures = _difference(a.values, b.values, seconds)
        out["at"].append(b.at)
        out["requests"].append(figures["requests"] / seconds)
        out["errors"].append(figures["errors"] / seconds)
        out["p99"].append(figures["p99"])
        out["batch"].append(figures["mean_batch"])
    return out
