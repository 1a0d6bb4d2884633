"""KubernetesExecutor through the official client against a small fake API server (a real HTTP
server on loopback that stores what it is sent, like moto for S3): what is created, how job and
pod states read, logs, cancel, and errors. There is no real cluster on the test machine."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlparse

import pytest

from shipyard.errors import NotFound
from shipyard.executors.base import JobHandle, JobSpec, JobState
from shipyard.executors.kubernetes import KubernetesExecutor, render_job_manifest

pytest.importorskip("kubernetes")

NOW = "2026-11-27T10:00:00Z"
LATER = "2026-11-27T10:01:00Z"


@dataclass
class FakeCluster:
    """What the fake API server holds; tests set job status, pods and logs directly."""

    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    services: dict[str, dict[str, Any]] = field(default_factory=dict)
    pods: list[dict[str, Any]] = field(default_factory=list)
    logs: dict[str, str] = field(default_factory=dict)
    patches: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def add_pod(self, job: str, index: int, phase: str, exit_code: int | None = None) -> None:
        state = {} if exit_code is None else {"terminated": {"exitCode": exit_code}}
        self.pods.append(
            {
                "metadata": {
                    "name": f"{job}-{index}-x",
                    "namespace": "ml",
                    "labels": {"shipyard.dev/job": job},
                    "annotations": {"batch.kubernetes.io/job-completion-index": str(index)},
                },
                "status": {
                    "phase": phase,
                    "containerStatuses": [
                        {
                            "name": "main",
                            "image": "img",
                            "imageID": "sha",
                            "ready": False,
                            "restartCount": 0,
                            "state": state,
                        }
                    ],
                },
            }
        )


def _handler(cluster: FakeCluster) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def _send(self, code: int, body: Any, content_type: str = "application/json") -> None:
            data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> dict[str, Any]:
            return dict(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))

        def _missing(self) -> None:
            status = {"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 404}
            self._send(404, {**status, "reason": "NotFound", "message": "not found"})

        def do_POST(self) -> None:
            body, parts = self._body(), urlparse(self.path).path.split("/")
            body["metadata"].update(uid=f"uid-{body['metadata']['name']}", creationTimestamp=NOW)
            store = cluster.jobs if parts[-1] == "jobs" else cluster.services
            store[body["metadata"]["name"]] = body
            self._send(201, body)

        def do_GET(self) -> None:
            url = urlparse(self.path)
            parts = url.path.strip("/").split("/")
            if parts[-1] == "pods":
                selector = parse_qs(url.query)["labelSelector"][0]
                key, value = selector.split("=")
                items = [p for p in cluster.pods if p["metadata"]["labels"].get(key) == value]
                self._send(200, {"kind": "PodList", "apiVersion": "v1", "items": items})
            elif parts[-1] == "log":
                self._send(200, cluster.logs.get(parts[-2], ""), "text/plain")
            elif "jobs" in parts:
                name = parts[parts.index("jobs") + 1]
                job = cluster.jobs.get(name)
                self._send(200, job) if job else self._missing()
            else:
                self._missing()

        def do_PATCH(self) -> None:
            name = urlparse(self.path).path.strip("/").split("/")[-1]
            patch = self._body()
            cluster.patches.append((self.headers["Content-Type"], patch))
            job = cluster.jobs[name]
            job["metadata"].setdefault("annotations", {}).update(patch["metadata"]["annotations"])
            job["spec"].update(patch["spec"])
            cluster.pods = []  # suspending a Job deletes its pods
            self._send(200, job)

    return Handler


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[FakeCluster]:
    state = FakeCluster()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": "fake", "cluster": {"server": f"http://127.0.0.1:{server.server_port}"}}
        ],
        "users": [{"name": "me", "user": {"token": "t"}}],
        "contexts": [{"name": "fake", "context": {"cluster": "fake", "user": "me"}}],
        "current-context": "fake",
    }
    (tmp_path / "kubeconfig").write_text(json.dumps(config))  # JSON is YAML
    yield state
    server.shutdown()
    server.server_close()


@pytest.fixture
def executor(cluster: FakeCluster, tmp_path: Path) -> KubernetesExecutor:
    return KubernetesExecutor(
        "ml", "registry/train:1", retries=1, kubeconfig=tmp_path / "kubeconfig"
    )


def name_of(handle: JobHandle) -> str:
    namespace, name = handle.id.split("/")
    assert namespace == "ml"
    return name


def test_submit_creates_the_rendered_job(
    executor: KubernetesExecutor, cluster: FakeCluster
) -> None:
    spec = JobSpec(["python", "train.py"], cpus=2, timeout_s=60, name="train")
    handle = executor.submit(spec)
    name = name_of(handle)
    created = cluster.jobs[name]
    expected = render_job_manifest(
        spec, image="registry/train:1", namespace="ml", name=name, retries=1
    )
    created["metadata"].pop("uid")
    created["metadata"].pop("creationTimestamp")
    assert created == expected
    assert cluster.services == {}


def test_several_workers_also_get_a_service_owned_by_the_job(
    executor: KubernetesExecutor, cluster: FakeCluster
) -> None:
    name = name_of(executor.submit(JobSpec(["python", "ddp.py"], workers=2)))
    service = cluster.services[name]
    assert service["spec"]["clusterIP"] == "None"
    (owner,) = service["metadata"]["ownerReferences"]
    assert (owner["kind"], owner["name"], owner["uid"]) == ("Job", name, f"uid-{name}")


def test_states_read_from_the_job_and_its_pods(
    executor: KubernetesExecutor, cluster: FakeCluster
) -> None:
    handle = executor.submit(JobSpec(["python", "ddp.py"], workers=2))
    name = name_of(handle)
    job = cluster.jobs[name]
    job["status"] = {"startTime": NOW}
    assert executor.status(handle).state is JobState.PENDING
    cluster.add_pod(name, 0, "Running")
    cluster.add_pod(name, 1, "Failed", exit_code=3)
    running = executor.status(handle)
    assert running.state is JobState.RUNNING
    assert running.started_at is not None
    failed = {"type": "Failed", "status": "True", "lastTransitionTime": LATER}
    job["status"]["conditions"] = [{**failed, "reason": "BackoffLimitExceeded", "message": "m"}]
    assert executor.status(handle) == executor.status(handle)
    status = executor.status(handle)
    assert (status.state, status.exit_code, status.message) == (JobState.FAILED, 3, "m")
    assert status.ended_at is not None
    assert status.started_at is not None
    assert status.ended_at - status.started_at == 60_000
    job["status"]["conditions"] = [{**failed, "reason": "DeadlineExceeded"}]
    assert executor.status(handle).state is JobState.TIMED_OUT
    job["status"]["conditions"] = [{"type": "Complete", "status": "True"}]
    assert (executor.status(handle).state, executor.status(handle).exit_code) == (
        JobState.SUCCEEDED,
        0,
    )


def test_logs_of_every_rank_are_prefixed(
    executor: KubernetesExecutor, cluster: FakeCluster
) -> None:
    handle = executor.submit(JobSpec(["python", "ddp.py"], workers=2))
    name = name_of(handle)
    cluster.add_pod(name, 1, "Succeeded", exit_code=0)
    cluster.add_pod(name, 0, "Succeeded", exit_code=0)
    cluster.logs.update({f"{name}-0-x": "a\nb\n", f"{name}-1-x": "c"})
    assert list(executor.logs(handle)) == ["[rank 0] a", "[rank 0] b", "[rank 1] c"]
    cluster.jobs[name]["status"] = {"conditions": [{"type": "Complete", "status": "True"}]}
    assert sorted(executor.logs(handle, follow=True)) == [
        "[rank 0] a",
        "[rank 0] b",
        "[rank 1] c",
    ]


def test_cancel_suspends_and_marks_the_job(
    executor: KubernetesExecutor, cluster: FakeCluster
) -> None:
    handle = executor.submit(JobSpec(["sleep", "300"]))
    name = name_of(handle)
    cluster.add_pod(name, 0, "Running")
    executor.cancel(handle)
    ((content_type, patch),) = cluster.patches
    assert "merge-patch" in content_type
    assert patch == {
        "metadata": {"annotations": {"shipyard.dev/cancelled": "true"}},
        "spec": {"suspend": True},
    }
    assert executor.status(handle).state is JobState.CANCELLED
    executor.cancel(handle)  # idempotent: nothing more is sent
    assert len(cluster.patches) == 1


def test_an_unknown_job_is_not_found(executor: KubernetesExecutor) -> None:
    with pytest.raises(NotFound, match="ml/nope"):
        executor.status(JobHandle("kubernetes", "ml/nope"))
