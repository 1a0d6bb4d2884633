"""Executors run commands as jobs. Rule: every backend implements :class:`Executor` and passes
one contract suite (``shipyard.testing.executor_contract``); executors run commands, they never
track them (the jobs layer above combines both).

Backends: ``local`` (processes on this machine), ``ray`` (Ray Jobs), ``kubernetes`` (batch/v1
Jobs). Ray and Kubernetes are optional extras, imported on first use.
"""

from __future__ import annotations

from pathlib import Path

from shipyard.errors import InvalidArgument
from shipyard.executors.base import (
    Executor,
    JobHandle,
    JobSpec,
    JobState,
    JobStatus,
    parse_memory,
)
from shipyard.executors.local import LocalExecutor

EXECUTORS = ("local", "ray", "kubernetes")
DEFAULT_STATE_DIR = Path(".shipyard") / "jobs"

__all__ = [
    "EXECUTORS",
    "Executor",
    "JobHandle",
    "JobSpec",
    "JobState",
    "JobStatus",
    "LocalExecutor",
    "open_executor",
    "parse_memory",
]


def open_executor(
    name: str,
    *,
    ray_address: str | None = None,
    state_dir: Path = DEFAULT_STATE_DIR,
    namespace: str = "default",
    image: str | None = None,
) -> Executor:
    """The executor called ``name``: ``"local"``, ``"ray"`` or ``"kubernetes"``.

    Args:
        ray_address: the Ray dashboard (Jobs API) URL, required for ``"ray"``.
        state_dir: where local jobs are recorded (entry points pass ``settings.home / "jobs"``).
        namespace: the Kubernetes namespace for ``"kubernetes"``.
        image: the container image, required for ``"kubernetes"``.

    Example::

        executor = open_executor("ray", ray_address="http://127.0.0.1:8265")
    """
    if name == "local":
        return LocalExecutor(state_dir)
    if name == "ray":
        if not ray_address:
            raise InvalidArgument(
                "the ray executor needs the address of the cluster's dashboard",
                hint="pass --ray-address http://HEAD:8265 (the Jobs API of `ray start --head`)",
            )
        from shipyard.executors.ray import RayExecutor

        return RayExecutor(ray_address)
    if name == "kubernetes":
        if not image:
            raise InvalidArgument(
                "the kubernetes executor needs a container image",
                hint="pass --image REGISTRY/IMAGE:TAG (an image with your code and packages)",
            )
        from shipyard.executors.kubernetes import KubernetesExecutor

        return KubernetesExecutor(namespace, image)
    raise InvalidArgument(f"unknown executor {name!r}", hint=f"use one of {', '.join(EXECUTORS)}")
