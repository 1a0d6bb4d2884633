"""Jobs as Kubernetes Jobs, through the official ``kubernetes`` client (imported on first use).

Manifests come from ``_k8s_manifest`` (:func:`render_job_manifest`, usable without a cluster for
``--dry-run``). Cancelling suspends the Job (Kubernetes deletes its pods: SIGTERM, then SIGKILL
after the pod's grace period) and marks it with the ``shipyard.dev/cancelled`` annotation.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from shipyard.errors import (
    AlreadyExists,
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ShipyardError,
    Unavailable,
)
from shipyard.executors._k8s_manifest import (
    JOB_LABEL,
    render_job_manifest,
    render_manifests,
    render_service_manifest,
)
from shipyard.executors.base import JobHandle, JobSpec, JobState, JobStatus, poll_until_terminal

__all__ = [
    "KubernetesExecutor",
    "render_job_manifest",
    "render_manifests",
    "render_service_manifest",
]

INSTALL_HINT = "pip install 'shipyard[kubernetes]'"
CANCELLED = "shipyard.dev/cancelled"
INDEX = "batch.kubernetes.io/job-completion-index"
CANCEL_WAIT_S = 120.0
STARTED_POLL_S = 1.0


class KubernetesExecutor:
    """Run jobs on the Kubernetes cluster of the kube config (or of the pod it runs in).

    Args:
        namespace: where jobs are created.
        image: the container image every job runs in (it holds the code and its packages).
        retries: how many times a failed pod is retried (``backoffLimit``).
        kubeconfig: the kube config file (default: the client's, ``$KUBECONFIG`` or
            ``~/.kube/config``); unused inside a cluster, where the pod's service account is.
        context: the kube config context to use (default: the current one).
    """

    name = "kubernetes"

    def __init__(
        self,
        namespace: str,
        image: str,
        *,
        retries: int = 0,
        kubeconfig: Path | None = None,
        context: str | None = None,
    ) -> None:
        self.namespace = namespace
        self.image = image
        self.retries = retries
        self.kubeconfig = kubeconfig
        self.context = context
        self._api_client: Any = None

    def submit(self, spec: JobSpec) -> JobHandle:
        """Create the Job (and, for several workers, its headless Service owned by the Job)."""
        batch, core = self._apis()
        manifests = render_manifests(
            spec, image=self.image, namespace=self.namespace, retries=self.retries
        )
        job = manifests[-1]
        created = self._call(lambda: batch.create_namespaced_job(self.namespace, _model(job)))
        if spec.workers > 1:
            service = render_service_manifest(job)
            service["metadata"]["ownerReferences"] = [_owner(created)]
            self._call(lambda: core.create_namespaced_service(self.namespace, _model(service)))
        return JobHandle(self.name, f"{self.namespace}/{job['metadata']['name']}")

    def status(self, handle: JobHandle) -> JobStatus:
        """The Job's state from its conditions and pods."""
        namespace, name = self._where(handle)
        batch, _ = self._apis()
        job = self._call(lambda: batch.read_namespaced_job_status(name, namespace), handle)
        return _status_of(job, self._pods(namespace, name))

    def logs(self, handle: JobHandle, *, follow: bool = False) -> Iterator[str]:
        """The pods' output (``[rank i] `` before each line of an Indexed Job's pod i); with
        ``follow``, wait for the pods to start and stream until they end."""
        namespace, name = self._where(handle)
        batch, core = self._apis()
        job = self._call(lambda: batch.read_namespaced_job(name, namespace), handle)
        indexed = job.spec.completion_mode == "Indexed"
        if follow:
            self._wait_started(handle, namespace, name)
        pods = [p for p in self._pods(namespace, name) if p.status.phase != "Pending"]
        streams = [self._pod_lines(core, pod, follow, indexed) for pod in sorted(pods, key=_index)]
        return _merge(streams) if follow else (line for s in streams for line in s)

    def cancel(self, handle: JobHandle) -> None:
        """Suspend the Job (its pods are deleted) and mark it cancelled; wait until no pod runs."""
        namespace, name = self._where(handle)
        if self.status(handle).state.is_terminal:
            return
        batch, _ = self._apis()
        patch = {"metadata": {"annotations": {CANCELLED: "true"}}, "spec": {"suspend": True}}
        self._call(lambda: batch.patch_namespaced_job(name, namespace, patch), handle)
        poll_until_terminal(lambda: self.status(handle), CANCEL_WAIT_S, interval=0.5)

    def wait(self, handle: JobHandle, timeout: float | None = None) -> JobStatus:
        """Block until the job is terminal or ``timeout`` seconds passed; return its status."""
        return poll_until_terminal(lambda: self.status(handle), timeout, interval=0.5)

    # --- helpers ---------------------------------------------------------------------------------

    def _apis(self) -> tuple[Any, Any]:
        if self._api_client is None:
            self._api_client = _connect(self.kubeconfig, self.context)
        from kubernetes import client

        return client.BatchV1Api(self._api_client), client.CoreV1Api(self._api_client)

    def _where(self, handle: JobHandle) -> tuple[str, str]:
        if handle.executor != self.name:
            raise InvalidArgument(
                f"job {handle} belongs to the {handle.executor!r} executor, not {self.name!r}",
                hint=f"open the {handle.executor!r} executor to manage it",
            )
        namespace, _, name = handle.id.rpartition("/")
        return namespace or self.namespace, name

    def _wait_started(self, handle: JobHandle, namespace: str, name: str) -> None:
        """Wait until the job's pods exist and none is Pending (or the job ended)."""
        while not self.status(handle).state.is_terminal:
            pods = self._pods(namespace, name)
            if pods and all(p.status.phase != "Pending" for p in pods):
                return
            time.sleep(STARTED_POLL_S)

    def _pods(self, namespace: str, name: str) -> list[Any]:
        _, core = self._apis()
        selector = f"{JOB_LABEL}={name}"
        pods = self._call(lambda: core.list_namespaced_pod(namespace, label_selector=selector))
        return list(pods.items or [])

    def _pod_lines(self, core: Any, pod: Any, follow: bool, prefix: bool) -> Iterator[str]:
        head = f"[rank {_index(pod)}] " if prefix else ""
        response = self._call(
            lambda: core.read_namespaced_pod_log(
                pod.metadata.name, pod.metadata.namespace, follow=follow, _preload_content=False
            )
        )
        pending = b""
        for chunk in response.stream(1 << 16):
            *lines, pending = (pending + chunk).split(b"\n")
            yield from (head + line.decode("utf-8", "replace") for line in lines)
        if pending:
            yield head + pending.decode("utf-8", "replace")

    def _call(self, call: Any, handle: JobHandle | None = None) -> Any:
        from kubernetes.client.exceptions import ApiException
        from urllib3.exceptions import HTTPError

        try:
            return call()
        except ApiException as exc:
            raise _translate(exc, handle) from exc
        except (HTTPError, OSError) as exc:
            raise Unavailable(
                f"cannot reach the Kubernetes API server: {exc}",
                hint="check the cluster address in your kube config and the network",
            ) from exc


def _connect(kubeconfig: Path | None, context: str | None) -> Any:
    """An ``ApiClient`` for the in-cluster service account, else the kube config."""
    try:
        from kubernetes import client, config
    except ImportError as exc:
        raise InvalidArgument(
            "the Kubernetes executor needs the 'kubernetes' package", hint=INSTALL_HINT
        ) from exc
    configuration = client.Configuration()
    loaders: Any = config  # its loaders are untyped
    try:
        loaders.load_incluster_config(client_configuration=configuration)
    except config.ConfigException:
        try:
            loaders.load_kube_config(
                config_file=None if kubeconfig is None else str(kubeconfig),
                context=context,
                client_configuration=configuration,
                persist_config=False,
            )
        except (config.ConfigException, OSError) as exc:
            raise Unavailable(
                f"no Kubernetes cluster is configured ({exc})",
                hint="point KUBECONFIG at a kube config (or run inside a cluster); "
                "`--dry-run` prints the manifest without a cluster",
            ) from exc
    return client.ApiClient(configuration)


def _model(manifest: dict[str, Any]) -> Any:
    from kubernetes import client

    if manifest["kind"] == "Service":
        return client.V1Service.from_dict(manifest)
    return client.V1Job.from_dict(manifest)


def _owner(job: Any) -> dict[str, Any]:
    return {
        "apiVersion": "batch/v1",
        "kind": "Job",
        "name": job.metadata.name,
        "uid": job.metadata.uid,
        "blockOwnerDeletion": False,
    }


def _index(pod: Any) -> int:
    annotations = pod.metadata.annotations or {}
    return int(annotations.get(INDEX, "0"))


def _status_of(job: Any, pods: list[Any]) -> JobStatus:
    """A :class:`JobStatus` from a ``V1Job`` and its pods."""
    status = job.status  # None until the job controller has looked at the Job
    started = _ms(status.start_time) if status else None
    ended = _ms(status.completion_time) if status else None
    true = [c for c in (status.conditions if status else None) or [] if c.status == "True"]
    conditions = {c.type: c for c in true}
    annotations = job.metadata.annotations or {}
    if annotations.get(CANCELLED) == "true":
        running = any(p.status.phase in ("Pending", "Running") for p in pods)
        state = JobState.RUNNING if running else JobState.CANCELLED
        return JobStatus(state, started_at=started, message="cancelled")
    if "Complete" in conditions:
        return JobStatus(JobState.SUCCEEDED, 0, started, ended)
    if "Failed" in conditions:
        failed = conditions["Failed"]
        ended = _ms(failed.last_transition_time)
        if failed.reason == "DeadlineExceeded":
            return JobStatus(JobState.TIMED_OUT, None, started, ended, failed.message or "")
        return JobStatus(JobState.FAILED, _exit_code(pods), started, ended, failed.message or "")
    running = any(p.status.phase == "Running" for p in pods)
    return JobStatus(JobState.RUNNING if running else JobState.PENDING, started_at=started)


def _exit_code(pods: list[Any]) -> int | None:
    """The exit code of the first failed container among ``pods``."""
    for pod in sorted(pods, key=_index):
        for container in pod.status.container_statuses or []:
            terminated = container.state.terminated if container.state else None
            if terminated is not None and terminated.exit_code != 0:
                return int(terminated.exit_code)
    return None


def _ms(moment: Any) -> int | None:
    return None if moment is None else int(moment.timestamp() * 1000)


def _merge(streams: list[Iterator[str]]) -> Iterator[str]:
    """Lines of several streams as they come (one reader thread per stream)."""
    lines: queue.Queue[str | BaseException | None] = queue.Queue()

    def read(stream: Iterator[str]) -> None:
        try:
            for line in stream:
                lines.put(line)
        except BaseException as exc:  # handed to the consumer, raised there
            lines.put(exc)
        finally:
            lines.put(None)

    for stream in streams:
        threading.Thread(target=read, args=(stream,), daemon=True).start()
    open_streams = len(streams)
    while open_streams:
        item = lines.get()
        if item is None:
            open_streams -= 1
        elif isinstance(item, BaseException):
            raise item
        else:
            yield item


def _translate(exc: Any, handle: JobHandle | None) -> ShipyardError:
    what = f"Kubernetes job {handle}" if handle else "the Kubernetes request"
    reason = f"{exc.status} {exc.reason}"
    if exc.status == 404:
        return NotFound(f"{what} not found ({reason})", hint="check the job id and namespace")
    if exc.status == 409:
        return AlreadyExists(f"{what}: already exists ({reason})", hint="submit again")
    if exc.status in (401, 403):
        return PermissionDenied(
            f"{what}: not allowed ({reason})",
            hint="the service account or kube config user needs rights on jobs, pods, services",
        )
    if exc.status == 422 or exc.status == 400:
        return InvalidArgument(f"{what} was refused: {exc.body}", hint="check the job spec")
    return Unavailable(f"{what} failed: {reason}", hint="retry; check the cluster's health")
