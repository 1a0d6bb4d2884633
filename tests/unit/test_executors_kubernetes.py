"""Kubernetes manifests, validated against the official client's models (strict pydantic models:
a missing required field or a wrongly typed one fails; an unknown field is dropped, so the round
trip below also catches misspelt keys)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from shipyard.errors import InvalidArgument, Unavailable
from shipyard.executors.base import JobSpec, parse_memory
from shipyard.executors.kubernetes import (
    KubernetesExecutor,
    render_job_manifest,
    render_manifests,
)

kubernetes = pytest.importorskip("kubernetes")

INDEX_FIELD = "metadata.annotations['batch.kubernetes.io/job-completion-index']"


def validated(manifest: dict[str, Any], model: str) -> Any:
    """``manifest`` deserialized into the client's model, after checking it round-trips."""
    api = kubernetes.client.ApiClient()
    obj = api.deserialize(json.dumps(manifest), model, "application/json")
    assert api.sanitize_for_serialization(obj) == manifest
    return obj


def env_of(container: Any) -> dict[str, str]:
    return {var.name: var.value for var in container.env if var.value is not None}


def test_a_single_worker_job() -> None:
    spec = JobSpec(
        ["python", "train.py", "--lr", "0.1"],
        cwd="/app",
        env={"DATA": "/data"},
        cpus=1.5,
        memory_bytes=parse_memory("4Gi"),
        gpus=1,
        timeout_s=90.5,
        name="Train ResNet!",
        labels={"team": "vision", "example.com/owner": "ana"},
    )
    manifest = render_job_manifest(spec, image="registry/train:1", namespace="ml", retries=2)
    job = validated(manifest, "V1Job")
    assert job.metadata.name.startswith("train-resnet-")
    assert job.metadata.namespace == "ml"
    assert job.metadata.labels["team"] == "vision"
    assert job.metadata.labels["app.kubernetes.io/managed-by"] == "shipyard"
    assert job.metadata.annotations == {"shipyard.dev/name": "Train ResNet!"}
    assert (job.spec.backoff_limit, job.spec.active_deadline_seconds) == (2, 91)
    assert (job.spec.completions, job.spec.parallelism, job.spec.completion_mode) == (1, 1, None)
    pod = job.spec.template.spec
    assert pod.restart_policy == "Never"
    assert pod.subdomain is None
    (container,) = pod.containers
    assert container.image == "registry/train:1"
    assert container.command == ["python", "train.py", "--lr", "0.1"]
    assert container.working_dir == "/app"
    limits = {"cpu": "1500m", "memory": str(4 * 1024**3), "nvidia.com/gpu": "1"}
    assert container.resources.limits == limits
    assert container.resources.requests == limits
    env = env_of(container)
    assert env["DATA"] == "/data"
    assert (env["WORLD_SIZE"], env["RANK"], env["LOCAL_RANK"]) == ("1", "0", "0")


def test_several_workers_make_an_indexed_job_and_a_headless_service() -> None:
    spec = JobSpec(["torchrun-free", "train.py"], workers=4, cpus=2)
    service_manifest, job_manifest = render_manifests(spec, image="img", name="ddp-run")
    job = validated(job_manifest, "V1Job")
    service = validated(service_manifest, "V1Service")
    assert job.spec.completion_mode == "Indexed"
    assert (job.spec.completions, job.spec.parallelism) == (4, 4)
    pod = job.spec.template.spec
    assert pod.subdomain == "ddp-run"
    (container,) = pod.containers
    assert container.resources.limits == {"cpu": "2"}
    env = env_of(container)
    assert env["MASTER_ADDR"] == "ddp-run-0.ddp-run"  # index 0's pod hostname, in the Service
    assert env["MASTER_PORT"] == "29500"
    assert env["WORLD_SIZE"] == "4"
    from_index = {var.name for var in container.env if var.value_from is not None}
    assert from_index == {"RANK", "NODE_RANK"}
    assert all(
        var.value_from.field_ref.field_path == INDEX_FIELD
        for var in container.env
        if var.value_from is not None
    )
    assert container.ports[0].container_port == 29500
    assert service.metadata.name == "ddp-run"
    assert service.spec.cluster_ip == "None"
    assert service.spec.publish_not_ready_addresses is True
    assert service.spec.selector == {"shipyard.dev/job": "ddp-run"}
    assert job.spec.template.metadata.labels["shipyard.dev/job"] == "ddp-run"


def test_generated_names_are_valid_and_distinct() -> None:
    spec = JobSpec(["true"])
    names = {render_job_manifest(spec, image="img")["metadata"]["name"] for _ in range(5)}
    assert len(names) == 5
    assert all(name.startswith("shipyard-") for name in names)


@pytest.mark.parametrize(
    ("spec", "kwargs", "fragment"),
    [
        (JobSpec(["true"], gpus=0.5), {}, "whole GPUs"),
        (JobSpec(["true"]), {"name": "Bad_Name"}, "invalid Kubernetes job name"),
        (JobSpec(["true"]), {"name": "x" * 53}, "invalid Kubernetes job name"),
        (JobSpec(["true"], labels={"team": "a b"}), {}, "not a valid Kubernetes label"),
        (JobSpec(["true"], labels={"-x": "a"}), {}, "not a valid Kubernetes label"),
        (JobSpec(["true"]), {"retries": -1}, "retries"),
        (JobSpec(["true"]), {"image": ""}, "no container image"),
    ],
)
def test_what_kubernetes_cannot_take_is_refused(
    spec: JobSpec, kwargs: dict[str, Any], fragment: str
) -> None:
    args: dict[str, Any] = {"image": "img", **kwargs}
    with pytest.raises(InvalidArgument, match=fragment) as info:
        render_job_manifest(spec, **args)
    assert info.value.hint


def test_submitting_without_a_cluster_is_unavailable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)  # not inside a cluster
    executor = KubernetesExecutor("default", "img", kubeconfig=tmp_path / "no-such-config")
    with pytest.raises(Unavailable, match="no Kubernetes cluster is configured") as info:
        executor.submit(JobSpec(["true"]))
    assert info.value.hint is not None
    assert "--dry-run" in info.value.hint
