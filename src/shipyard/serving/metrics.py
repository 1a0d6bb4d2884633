"""Prometheus metrics of one serving app, in its own ``CollectorRegistry``.

Names follow the Prometheus naming guide (base units, ``_total`` counters)::

    shipyard_serving_requests_total{model,version,protocol,code}
    shipyard_serving_errors_total{model,version,protocol,code}
    shipyard_serving_request_duration_seconds{model,version,protocol}   (histogram)
    shipyard_serving_batch_size{model,version}                     (histogram: rows per predict)
    shipyard_serving_model_ready{model,version}                         (gauge, 1 or 0)
    shipyard_serving_predictions_logged_total / _predictions_dropped_total

With several worker processes (``shipyard serve --workers N``) ``PROMETHEUS_MULTIPROC_DIR`` is
set for the workers: each writes its values there and ``/metrics`` of any worker reports the
sums over all of them (prometheus_client's multiprocess mode; ``model_ready`` is the minimum).
"""

from __future__ import annotations

import os
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.multiprocess import MultiProcessCollector

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

LATENCY_BUCKETS = (
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024)
CONTENT_TYPE = CONTENT_TYPE_LATEST


class ServingMetrics:
    """The serving metrics, registered in a registry of their own (one per app)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        labels = ("model", "version", "protocol", "code")
        self.requests = Counter(
            "shipyard_serving_requests",
            "Inference requests answered, by model, version, protocol and HTTP status.",
            labels,
            registry=self.registry,
        )
        self.errors = Counter(
            "shipyard_serving_errors",
            "Inference requests that failed (HTTP status 400 and above).",
            labels,
            registry=self.registry,
        )
        self.latency = Histogram(
            "shipyard_serving_request_duration_seconds",
            "Time from reading the request to writing the answer, in seconds.",
            ("model", "version", "protocol"),
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.batch_size = Histogram(
            "shipyard_serving_batch_size",
            "Rows passed to one call of the model's predict (a batch, with batching on).",
            ("model", "version"),
            buckets=BATCH_BUCKETS,
            registry=self.registry,
        )
        self.ready = Gauge(
            "shipyard_serving_model_ready",
            "1 when the model version loaded and takes traffic, 0 when it failed to load.",
            ("model", "version"),
            registry=self.registry,
            multiprocess_mode="min",
        )
        self.logged = Counter(
            "shipyard_serving_predictions_logged",
            "Predictions written to the prediction log.",
            registry=self.registry,
        )
        self.dropped = Counter(
            "shipyard_serving_predictions_dropped",
            "Sampled predictions dropped because the prediction log's queue was full.",
            registry=self.registry,
        )
        self._children: dict[tuple[str, str, str, int], tuple[Any, Any, Any]] = {}

    def observe(self, model: str, version: str, protocol: str, code: int, seconds: float) -> None:
        """Count one answered request and its latency."""
        key = (model, version, protocol, code)
        children = self._children.get(key)
        if children is None:
            children = self._labelled(key)
        requests, errors, latency = children
        requests.inc()
        if errors is not None:
            errors.inc()
        latency.observe(seconds)

    def _labelled(self, key: tuple[str, str, str, int]) -> tuple[Any, Any, Any]:
        """The labelled series of one (model, version, protocol, code), looked up once."""
        model, version, protocol, code = key
        status = str(code)
        children = (
            self.requests.labels(model, version, protocol, status),
            self.errors.labels(model, version, protocol, status) if code >= 400 else None,
            self.latency.labels(model, version, protocol),
        )
        if len(self._children) < 10_000:  # unknown model names must not grow it forever
            self._children[key] = children
        return children

    def publish_ready(self, slots: list[tuple[str, str, bool]]) -> None:
        """Set ``model_ready`` to the ``(model, version, ready)`` slots served now (versions no
        longer served are dropped; in multiprocess mode, where prometheus_client cannot drop
        series, they stay, which only ``--workers`` servers, whose slots never change, use)."""
        if not os.environ.get(MULTIPROC_ENV):
            self.ready.clear()
        for model, version, ready in slots:
            self.ready.labels(model, version).set(1 if ready else 0)

    def exposition(self) -> bytes:
        """The metrics in the Prometheus text format (of every worker process in
        multiprocess mode)."""
        shared = os.environ.get(MULTIPROC_ENV)
        if not shared:
            return generate_latest(self.registry)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=shared)  # type: ignore[no-untyped-call]
        return generate_latest(registry)
