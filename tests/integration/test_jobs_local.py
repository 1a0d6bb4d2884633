"""Jobs on the local executor, end to end: a snapshot of the code runs as a tracked run with its
captured environment and stored output; failures, retries, cancellation and two workers."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from jobs_helpers import gone, job_settings, make_repo, wait_until

from shipyard.capture.layout import ENVIRONMENT_ARTIFACT, OUTPUT_ARTIFACT, PATCH_ARTIFACT
from shipyard.domain.entities import RunStatus
from shipyard.domain.jobs import JobPhase
from shipyard.errors import InvalidArgument
from shipyard.jobs import JobRequest, JobService

TIMEOUT = 120.0


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return make_repo(tmp_path)


@pytest.fixture
def notes() -> list[str]:
    return []


@pytest.fixture
def jobs(tmp_path: Path, notes: list[str]) -> Iterator[JobService]:
    service = JobService(job_settings(tmp_path / "home"), note=notes.append, watch=False)
    yield service
    service.close()


def request(repo: Path, script: str, **options: object) -> JobRequest:
    return JobRequest([sys.executable, script], project="jobs", cwd=repo, **options)  # type: ignore[arg-type]


def output_of(jobs: JobService, run_id: str) -> str:
    target = Path(jobs.settings.home) / "check" / "output.log"
    artifact = jobs.backend.store.get_artifact(run_id, OUTPUT_ARTIFACT)
    jobs.backend.download_artifact(run_id, artifact, target)
    return target.read_text()


def test_a_job_runs_a_snapshot_as_a_tracked_run(jobs: JobService, repo: Path) -> None:
    job = jobs.submit(request(repo, "train.py"))
    (repo / "VERSION").write_text("3\n")  # edits after submitting never reach the job
    assert job.attempts == 1
    assert job.handle is not None
    assert job.handle.startswith("local:")
    done = jobs.wait(job.run_id, timeout=TIMEOUT)
    assert (done.state, done.exit_code) == (JobPhase.SUCCEEDED, 0)

    run = jobs.backend.store.get_run(job.run_id)
    assert run.status is RunStatus.FINISHED
    assert run.metrics["loss"].last == 0.25  # the command's SDK logged into the job's run
    assert run.tags["shipyard.launcher"] == "job"
    assert run.tags["shipyard.job.executor"] == "local"
    assert run.tags["shipyard.job.attempt"] == "1"
    assert run.tags["shipyard.job.handle"] == job.handle
    stored = {a.path for a in jobs.backend.store.list_artifacts(job.run_id)}
    assert {ENVIRONMENT_ARTIFACT, PATCH_ARTIFACT, OUTPUT_ARTIFACT} <= stored

    output = output_of(jobs, job.run_id)
    assert "version 2" in output  # the commit plus the uncommitted patch, not the later edit
    workdir = Path(job.spec["workdir"])
    assert f"cwd {workdir}" in output
    assert not workdir.exists()  # the snapshot is removed once the job ended
    assert list(jobs.logs(job.run_id)) == output.splitlines()


def test_the_environment_is_captured_with_the_run(jobs: JobService, repo: Path) -> None:
    job = jobs.submit(request(repo, "train.py"))
    target = Path(jobs.settings.home) / "env.json"
    artifact = jobs.backend.store.get_artifact(job.run_id, ENVIRONMENT_ARTIFACT)
    jobs.backend.download_artifact(job.run_id, artifact, target)
    env = json.loads(target.read_text())
    assert env["launcher"] == "job"
    assert env["code"]["git"]["dirty"] is True
    assert env["command"] == [sys.executable, "train.py"]
    assert jobs.wait(job.run_id, timeout=TIMEOUT).state is JobPhase.SUCCEEDED


def test_an_exit_code_fails_the_job_and_its_run(jobs: JobService, repo: Path) -> None:
    job = jobs.submit(request(repo, "fail.py"))
    done = jobs.wait(job.run_id, timeout=TIMEOUT)
    assert (done.state, done.exit_code) == (JobPhase.FAILED, 7)
    run = jobs.backend.store.get_run(job.run_id)
    assert run.status is RunStatus.FAILED
    assert run.error is not None
    assert "exited with code 7" in run.error
    assert "about to fail" in run.error


def test_a_failed_attempt_is_retried_in_the_same_run(
    jobs: JobService, repo: Path, tmp_path: Path
) -> None:
    marker = tmp_path / "marker"
    job = jobs.submit(request(repo, "flaky.py", retries=1, env={"MARKER": str(marker)}))
    done = jobs.wait(job.run_id, timeout=TIMEOUT)
    assert marker.exists()
    assert (done.state, done.attempts) == (JobPhase.SUCCEEDED, 2)
    assert [(a.attempt, a.state, a.exit_code) for a in done.history] == [
        (1, JobPhase.FAILED, 3),
        (2, JobPhase.SUCCEEDED, 0),
    ]
    run = jobs.backend.store.get_run(job.run_id)
    assert (run.status, run.tags["shipyard.job.attempt"]) == (RunStatus.FINISHED, "2")
    assert "second attempt works" in output_of(jobs, job.run_id)
    first = jobs.backend.store.get_artifact(job.run_id, ".shipyard/attempts/1/output.log")
    assert first.size > 0


def test_a_watcher_ends_and_retries_a_job_nobody_reads(repo: Path, tmp_path: Path) -> None:
    settings = job_settings(tmp_path / "watched")
    marker = tmp_path / "marker"
    with JobService(settings) as watched:  # watch=True: a detached watcher follows the job
        job = watched.submit(request(repo, "flaky.py", retries=1, env={"MARKER": str(marker)}))
        store = watched.backend.store

        def finished() -> bool:  # only the run is read: reading the job would refresh it
            return store.get_run(job.run_id).status is RunStatus.FINISHED

        wait_until(finished, timeout=TIMEOUT, what="the watcher to end the run")
        assert store.get_run(job.run_id).tags["shipyard.job.attempt"] == "2"
        stored = watched.store.get_job(job.run_id)
        assert (stored.state, stored.attempts) == (JobPhase.SUCCEEDED, 2)


def test_cancel_kills_the_whole_process_tree(jobs: JobService, repo: Path, tmp_path: Path) -> None:
    pids = tmp_path / "pids"
    pids.mkdir()
    job = jobs.submit(request(repo, "tree.py", env={"PIDS": str(pids)}))
    wait_until(lambda: (pids / "child").exists() and (pids / "parent").exists(), what="pids")
    parent, child = (int((pids / name).read_text()) for name in ("parent", "child"))
    cancelled = jobs.cancel(job.run_id[:10])
    assert cancelled.state is JobPhase.CANCELLED
    assert jobs.backend.store.get_run(job.run_id).status is RunStatus.KILLED
    wait_until(lambda: gone(parent) and gone(child), timeout=30, what="the tree to stop")
    assert jobs.cancel(job.run_id).state is JobPhase.CANCELLED  # idempotent


def test_two_workers_log_into_the_same_run(jobs: JobService, repo: Path, tmp_path: Path) -> None:
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    job = jobs.submit(request(repo, "ranks.py", workers=2, env={"BARRIER": str(barrier)}))
    done = jobs.wait(job.run_id, timeout=TIMEOUT)
    assert done.state is JobPhase.SUCCEEDED
    run = jobs.backend.store.get_run(job.run_id)
    assert {"rank0/seen", "rank1/seen"} <= set(run.metrics)
    output = output_of(jobs, job.run_id)
    assert "[rank 0] rank 0 of 2" in output
    assert "[rank 1] rank 1 of 2" in output


def test_outside_git_the_job_runs_in_place(
    jobs: JobService, tmp_path: Path, notes: list[str]
) -> None:
    plain = tmp_path / "plain"
    plain.mkdir()
    (plain / "hello.py").write_text("import os; print('here', os.getcwd())\n")
    job = jobs.submit(request(plain, "hello.py"))
    assert job.spec["code"] == "in_place"
    assert any("not in a git repository" in note for note in notes)
    assert jobs.wait(job.run_id, timeout=TIMEOUT).state is JobPhase.SUCCEEDED
    assert f"here {plain}" in output_of(jobs, job.run_id)


def test_bad_requests_create_nothing(jobs: JobService, repo: Path) -> None:
    with pytest.raises(InvalidArgument, match="--queue"):
        jobs.submit(request(repo, "train.py", queue="q", executor="ray"))
    with pytest.raises(InvalidArgument, match="dashboard"):
        jobs.submit(request(repo, "train.py", executor="ray"))
    with pytest.raises(InvalidArgument, match="image"):
        jobs.submit(request(repo, "train.py", executor="kubernetes"))
    assert jobs.list() == []
    assert list(jobs.backend.store.list_projects()) == []
