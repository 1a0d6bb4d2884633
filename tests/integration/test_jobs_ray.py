"""Jobs on a local Ray head node (the session's ``ray_head``): a snapshot of the code runs as a
Ray job whose SDK calls log into the job's run, with one worker and with two."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from jobs_helpers import job_settings, make_repo

from shipyard.capture.layout import OUTPUT_ARTIFACT
from shipyard.domain.entities import RunStatus
from shipyard.domain.jobs import JobPhase
from shipyard.jobs import JobRequest, JobService

pytestmark = pytest.mark.slow
TIMEOUT = 240.0


@pytest.fixture
def jobs(tmp_path: Path) -> Iterator[JobService]:
    service = JobService(job_settings(tmp_path / "home"), watch=False)
    yield service
    service.close()


def test_a_job_on_ray_is_a_tracked_run(jobs: JobService, ray_address: str, tmp_path: Path) -> None:
    repo = make_repo(tmp_path)
    job = jobs.submit(
        JobRequest([sys.executable, "train.py"], cwd=repo, executor="ray", ray_address=ray_address)
    )
    assert job.handle is not None
    assert job.handle.startswith("ray:")
    done = jobs.wait(job.run_id, timeout=TIMEOUT)
    assert (done.state, done.exit_code) == (JobPhase.SUCCEEDED, 0), done.message
    run = jobs.backend.store.get_run(job.run_id)
    assert run.status is RunStatus.FINISHED
    assert run.metrics["loss"].last == 0.25
    assert run.tags["shipyard.job.executor"] == "ray"
    lines = list(jobs.logs(job.run_id))
    assert "version 2" in lines
    assert jobs.backend.store.get_artifact(job.run_id, OUTPUT_ARTIFACT).size > 0


def test_two_workers_on_ray_log_into_one_run(
    jobs: JobService, ray_address: str, tmp_path: Path
) -> None:
    repo = make_repo(tmp_path)
    barrier = tmp_path / "barrier"
    barrier.mkdir()
    request = JobRequest(
        [sys.executable, "ranks.py"],
        cwd=repo,
        executor="ray",
        ray_address=ray_address,
        workers=2,
        cpus=1,
        env={"BARRIER": str(barrier)},
    )
    job = jobs.submit(request)
    done = jobs.wait(job.run_id, timeout=TIMEOUT)
    assert done.state is JobPhase.SUCCEEDED, done.message
    run = jobs.backend.store.get_run(job.run_id)
    assert {"rank0/seen", "rank1/seen"} <= set(run.metrics)
    lines = list(jobs.logs(job.run_id))
    assert any(line.startswith("[rank 1] rank 1 of 2") for line in lines)
