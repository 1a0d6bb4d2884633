"""Kubernetes manifests for a :class:`JobSpec` (plain dicts; no cluster, no client needed).

One worker: a ``batch/v1`` Job with one pod. N workers: an Indexed Job (``completions`` =
``parallelism`` = N; pod ``i`` is rank ``i``, its hostname ``<job>-<i>``) and a headless Service
named like the Job, set as the pods' ``subdomain``, so ``MASTER_ADDR=<job>-0.<job>`` resolves to
rank 0's pod. ``cpus``, ``memory_bytes`` and ``gpus`` (``nvidia.com/gpu``) become requests and
limits of every pod; ``timeout_s`` becomes ``activeDeadlineSeconds``; ``retries`` becomes
``backoffLimit``.
"""

from __future__ import annotations

import math
import re
import secrets
from typing import Any

from shipyard.errors import InvalidArgument
from shipyard.executors.base import JobSpec, rendezvous_env

MASTER_PORT = 29500
MAX_JOB_NAME = 52  # pods of an Indexed Job are named <job>-<index>-<random>: leave room
MANAGED_BY = {"app.kubernetes.io/managed-by": "shipyard"}
JOB_LABEL = "shipyard.dev/job"
NAME_ANNOTATION = "shipyard.dev/name"
INDEX_FIELD = "metadata.annotations['batch.kubernetes.io/job-completion-index']"

_DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_LABEL_NAME = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")
_DNS_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")


def job_name(spec: JobSpec, name: str | None) -> str:
    """``name`` checked as a Job name, or one made from ``spec.name`` and a random suffix."""
    if name is None:
        slug = re.sub(r"[^a-z0-9]+", "-", (spec.name or "shipyard").lower()).strip("-")
        return f"{slug[: MAX_JOB_NAME - 9].rstrip('-') or 'shipyard'}-{secrets.token_hex(4)}"
    if len(name) > MAX_JOB_NAME or not _DNS_LABEL.match(name):
        raise InvalidArgument(
            f"invalid Kubernetes job name {name!r}",
            hint=f"use at most {MAX_JOB_NAME} lowercase letters, digits and '-', "
            "starting and ending with a letter or digit",
        )
    return name


def render_job_manifest(
    spec: JobSpec,
    *,
    image: str,
    namespace: str = "default",
    name: str | None = None,
    retries: int = 0,
) -> dict[str, Any]:
    """The ``batch/v1`` Job that runs ``spec`` in ``image`` (see the module docstring).

    Example::

        manifest = render_job_manifest(JobSpec(["python", "train.py"], gpus=1), image="repo/img")
    """
    if not image:
        raise InvalidArgument("no container image for the Kubernetes job", hint="pass image=...")
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise InvalidArgument(f"retries must be >= 0, got {retries!r}", hint="e.g. retries=2")
    name = job_name(spec, name)
    labels = {**_labels(spec.labels), **MANAGED_BY, JOB_LABEL: name}
    job_spec: dict[str, Any] = {
        "backoffLimit": retries,
        "completions": spec.workers,
        "parallelism": spec.workers,
        "template": {"metadata": {"labels": labels}, "spec": _pod_spec(spec, image, name)},
    }
    if spec.workers > 1:
        job_spec["completionMode"] = "Indexed"
    if spec.timeout_s is not None:
        job_spec["activeDeadlineSeconds"] = math.ceil(spec.timeout_s)
    metadata: dict[str, Any] = {"name": name, "namespace": namespace, "labels": labels}
    if spec.name:
        metadata["annotations"] = {NAME_ANNOTATION: spec.name}
    return {"apiVersion": "batch/v1", "kind": "Job", "metadata": metadata, "spec": job_spec}


def render_service_manifest(job: dict[str, Any]) -> dict[str, Any]:
    """The headless Service that gives the pods of the Indexed Job ``job`` their DNS names."""
    metadata = job["metadata"]
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": metadata["name"],
            "namespace": metadata["namespace"],
            "labels": metadata["labels"],
        },
        "spec": {
            "clusterIP": "None",
            "selector": {JOB_LABEL: metadata["name"]},
            "publishNotReadyAddresses": True,  # ranks meet before any pod is "ready"
            "ports": [{"name": "rendezvous", "port": MASTER_PORT, "targetPort": MASTER_PORT}],
        },
    }


def render_manifests(
    spec: JobSpec,
    *,
    image: str,
    namespace: str = "default",
    name: str | None = None,
    retries: int = 0,
) -> list[dict[str, Any]]:
    """Everything to apply for ``spec``: the Job, preceded by its Service for N workers."""
    job = render_job_manifest(spec, image=image, namespace=namespace, name=name, retries=retries)
    return [job] if spec.workers == 1 else [render_service_manifest(job), job]


def _pod_spec(spec: JobSpec, image: str, name: str) -> dict[str, Any]:
    container: dict[str, Any] = {
        "name": "main",
        "image": image,
        "command": list(spec.command),
        "env": [{"name": k, "value": v} for k, v in spec.env.items()] + _rendezvous(spec, name),
    }
    if spec.cwd:
        container["workingDir"] = spec.cwd
    resources = _resources(spec)
    if resources:
        container["resources"] = {"requests": resources, "limits": resources}
    pod: dict[str, Any] = {"restartPolicy": "Never", "containers": [container]}
    if spec.workers > 1:
        container["ports"] = [{"name": "rendezvous", "containerPort": MASTER_PORT}]
        pod["subdomain"] = name
    return pod


def _rendezvous(spec: JobSpec, name: str) -> list[dict[str, Any]]:
    """One pod per rank (and per "node"): RANK and NODE_RANK are the pod's completion index."""
    if spec.workers == 1:
        fixed = rendezvous_env(addr="127.0.0.1", port=MASTER_PORT, world_size=1, rank=0)
        return [{"name": k, "value": v} for k, v in fixed.items()]
    env = rendezvous_env(addr=f"{name}-0.{name}", port=MASTER_PORT, world_size=spec.workers, rank=0)
    index = {"valueFrom": {"fieldRef": {"fieldPath": INDEX_FIELD}}}
    return [
        {"name": k, **index} if k in ("RANK", "NODE_RANK") else {"name": k, "value": v}
        for k, v in env.items()
    ]


def _resources(spec: JobSpec) -> dict[str, str]:
    resources: dict[str, str] = {}
    if spec.cpus is not None:
        millis = math.ceil(spec.cpus * 1000)
        resources["cpu"] = str(millis // 1000) if millis % 1000 == 0 else f"{millis}m"
    if spec.memory_bytes is not None:
        resources["memory"] = str(spec.memory_bytes)
    if spec.gpus is not None:
        if spec.gpus != int(spec.gpus):
            raise InvalidArgument(
                f"gpus={spec.gpus:g}: Kubernetes schedules whole GPUs (nvidia.com/gpu)",
                hint="ask for a whole number of GPUs",
            )
        resources["nvidia.com/gpu"] = str(int(spec.gpus))
    return resources


def _labels(labels: dict[str, str] | Any) -> dict[str, str]:
    for key, value in labels.items():
        prefix, _, label = key.rpartition("/")
        valid_key = bool(label) and len(label) <= 63 and _LABEL_NAME.match(label)
        valid_prefix = not prefix or (len(prefix) <= 253 and _DNS_SUBDOMAIN.match(prefix))
        if not (valid_key and valid_prefix and len(value) <= 63 and _LABEL_NAME.match(value)):
            raise InvalidArgument(
                f"job label {key}={value!r} is not a valid Kubernetes label",
                hint="keys and values: at most 63 letters, digits, '-', '_' or '.', starting and "
                "ending with a letter or digit (keys may have a DNS prefix: example.com/key)",
            )
    return dict(labels)
