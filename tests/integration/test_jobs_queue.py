"""Queues and agents against a real server process: an agent subprocess runs a queued job; an
agent killed with SIGKILL mid-job loses its lease, the hub marks the attempt LOST and a second
agent runs the retry; cancelling reaches queued and running jobs."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest
from jobs_helpers import gone, job_settings, make_repo, wait_until

from conftest import free_port, wait_for_port
from shipyard.domain.entities import RunStatus
from shipyard.domain.jobs import JobPhase
from shipyard.jobs import JobRequest, JobService

pytestmark = pytest.mark.slow
LEASE = "2s"
TIMEOUT = 120.0

SLOW_FIRST = """
import os, pathlib, time, shipyard
marker = pathlib.Path(os.environ["MARKER"])
first = not marker.exists()
marker.touch()
with shipyard.start_run() as run:
    if first:
        pathlib.Path(os.environ["PIDFILE"]).write_text(str(os.getpid()))
        time.sleep(600)
    run.log_metrics({"done": 1.0}, step=0)
    print("finished on attempt", os.environ.get("SHIPYARD_RUN_ID", "")[:6])
"""


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """One server process for the module."""
    root = tmp_path_factory.mktemp("hub")
    port = free_port()
    command = [sys.executable, "-m", "shipyard.server", "--store", f"sqlite:///{root}/hub.db"]
    command += ["--artifacts", str(root / "artifacts"), "--port", str(port)]
    command += ["--log-level", "warning"]
    with (root / "server.log").open("wb") as log:
        proc = subprocess.Popen(command, stdout=log, stderr=log)
    try:
        wait_for_port(port, timeout=60)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture
def jobs(hub: str, tmp_path: Path) -> Iterator[JobService]:
    service = JobService(job_settings(tmp_path / "submitter", tracking_uri=hub), watch=False)
    yield service
    service.close()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    repo = make_repo(tmp_path)
    (repo / "slow_first.py").write_text(textwrap.dedent(SLOW_FIRST).lstrip())
    return repo


class Agents:
    """Starts ``shipyard agent`` subprocesses and stops the ones still running at the end."""

    def __init__(self, hub: str, root: Path) -> None:
        self.hub = hub
        self.root = root
        self.procs: list[subprocess.Popen[bytes]] = []

    def start(self, name: str, queue: str, *options: str) -> subprocess.Popen[bytes]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
        env.update(
            SHIPYARD_TRACKING_URI=self.hub,
            SHIPYARD_HOME=str(self.root / name),
            SHIPYARD_SYSTEM_METRICS_INTERVAL="0",
            PATH=os.pathsep.join([str(Path(sys.executable).parent), os.environ["PATH"]]),
        )
        command = [sys.executable, "-m", "shipyard.cli", "agent", "--queue", queue]
        command += ["--name", name, "--lease", LEASE, "--poll", "0.2s", *options]
        with (self.root / f"{name}.log").open("wb") as log:
            proc = subprocess.Popen(command, env=env, stdout=log, stderr=log)
        self.procs.append(proc)
        return proc

    def log(self, name: str) -> str:
        return (self.root / f"{name}.log").read_text()

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture
def agents(hub: str, tmp_path: Path) -> Iterator[Agents]:
    started = Agents(hub, tmp_path / "agents")
    started.root.mkdir()
    yield started
    started.stop_all()


def submit(jobs: JobService, repo: Path, script: str, queue: str, **options: object) -> str:
    request = JobRequest([sys.executable, script], cwd=repo, queue=queue, **options)  # type: ignore[arg-type]
    job = jobs.submit(request)
    assert (job.state, job.queue, job.executor) == (JobPhase.QUEUED, queue, "queue")
    return job.run_id


def test_an_agent_runs_a_queued_job(jobs: JobService, repo: Path, agents: Agents) -> None:
    run_id = submit(jobs, repo, "train.py", "q-run")
    agent = agents.start("agent-a", "q-run", "--max-jobs", "1")
    assert agent.wait(timeout=TIMEOUT) == 0, agents.log("agent-a")
    job = jobs.get(run_id)
    assert (job.state, job.attempts, job.exit_code) == (JobPhase.SUCCEEDED, 1, 0)
    assert job.history[0].agent == "agent-a"
    run = jobs.backend.store.get_run(run_id)
    assert run.status is RunStatus.FINISHED
    assert run.metrics["loss"].last == 0.25
    assert run.tags["shipyard.job.agent"] == "agent-a"
    assert "version 2" in list(jobs.logs(run_id))  # the snapshot was rebuilt on the agent


def test_a_killed_agent_loses_its_job_to_another(
    jobs: JobService, repo: Path, agents: Agents, tmp_path: Path
) -> None:
    pidfile = tmp_path / "first.pid"
    env = {"MARKER": str(tmp_path / "marker"), "PIDFILE": str(pidfile)}
    run_id = submit(jobs, repo, "slow_first.py", "q-lost", retries=1, env=env)
    first = agents.start("agent-a", "q-lost")
    wait_until(pidfile.exists, timeout=TIMEOUT, what="the first attempt to start")
    assert jobs.get(run_id).agent == "agent-a"
    first.kill()  # SIGKILL: no goodbye, no more heartbeats
    first.wait()

    def requeued() -> bool:
        job = jobs.get(run_id)
        return job.state is JobPhase.QUEUED and bool(job.history)

    wait_until(requeued, timeout=30, what="the hub to mark the attempt lost")
    lost = jobs.get(run_id).history[0]
    assert (lost.state, lost.agent) == (JobPhase.LOST, "agent-a")
    assert "agent-a sent no heartbeat" in lost.message
    orphan = int(pidfile.read_text())
    wait_until(lambda: gone(orphan), timeout=30, what="the tether to stop the orphaned attempt")

    second = agents.start("agent-b", "q-lost", "--max-jobs", "1")
    assert second.wait(timeout=TIMEOUT) == 0, agents.log("agent-b")
    job = jobs.get(run_id)
    assert job.state is JobPhase.SUCCEEDED
    assert [(a.state, a.agent) for a in job.history] == [
        (JobPhase.LOST, "agent-a"),
        (JobPhase.SUCCEEDED, "agent-b"),
    ]
    run = jobs.backend.store.get_run(run_id)
    assert (run.status, run.tags["shipyard.job.attempt"]) == (RunStatus.FINISHED, "2")
    assert "done" in run.metrics


def test_cancelling_queued_and_running_jobs(
    jobs: JobService, repo: Path, agents: Agents, tmp_path: Path
) -> None:
    waiting = submit(jobs, repo, "train.py", "q-nobody")
    assert jobs.cancel(waiting).state is JobPhase.CANCELLED
    assert jobs.backend.store.get_run(waiting).status is RunStatus.KILLED

    pidfile = tmp_path / "first.pid"
    env = {"MARKER": str(tmp_path / "marker"), "PIDFILE": str(pidfile)}
    running = submit(jobs, repo, "slow_first.py", "q-cancel", retries=2, env=env)
    agents.start("agent-c", "q-cancel", "--max-jobs", "1")
    wait_until(pidfile.exists, timeout=TIMEOUT, what="the job to start")
    asked = jobs.cancel(running)
    assert asked.cancel_requested
    wait_until(lambda: jobs.get(running).state.is_terminal, timeout=60, what="the agent to stop")
    assert jobs.get(running).state is JobPhase.CANCELLED  # never retried once cancelled
    assert jobs.backend.store.get_run(running).status is RunStatus.KILLED
    wait_until(lambda: gone(int(pidfile.read_text())), timeout=30, what="the process to stop")


def test_a_direct_job_tracked_on_the_hub(jobs: JobService, repo: Path) -> None:
    job = jobs.submit(JobRequest([sys.executable, "train.py"], cwd=repo))
    assert job.queue is None
    done = jobs.wait(job.run_id, timeout=TIMEOUT)
    assert done.state is JobPhase.SUCCEEDED, done.message
    run = jobs.backend.store.get_run(job.run_id)
    assert (run.status, run.metrics["loss"].last) == (RunStatus.FINISHED, 0.25)
    assert "version 2" in list(jobs.logs(job.run_id))
