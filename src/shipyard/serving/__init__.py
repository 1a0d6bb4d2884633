"""Serving and monitoring: the model server (Open Inference Protocol v2 and ``/invocations``),
batching, Prometheus metrics, prediction logs, drift, alerts and deployments."""
