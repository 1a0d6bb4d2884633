"""``examples/ddp_gloo.py`` as a 2-worker job: torch DistributedDataParallel on CPU (gloo), both
ranks logging into the job's run. Skipped when torch is not installed."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from jobs_helpers import job_settings

from shipyard.domain.entities import RunStatus
from shipyard.domain.jobs import JobPhase
from shipyard.jobs import JobRequest, JobService

pytest.importorskip("torch", reason="the DDP example needs torch (pip install torch)")

pytestmark = pytest.mark.slow
EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "ddp_gloo.py"


@pytest.fixture
def jobs(tmp_path: Path) -> Iterator[JobService]:
    service = JobService(job_settings(tmp_path / "home"), watch=False)
    yield service
    service.close()


def test_ddp_with_two_workers_trains_and_logs_into_one_run(
    jobs: JobService, tmp_path: Path
) -> None:
    request = JobRequest([sys.executable, str(EXAMPLE)], cwd=tmp_path, workers=2, project="ddp")
    job = jobs.submit(request)
    done = jobs.wait(job.run_id, timeout=300)
    assert done.state is JobPhase.SUCCEEDED, done.message
    run = jobs.backend.store.get_run(job.run_id)
    assert run.status is RunStatus.FINISHED
    assert run.params["world_size"] == 2
    assert run.metrics["rank0/samples"].last == run.metrics["rank1/samples"].last == 256
    loss = jobs.backend.store.metric_history(job.run_id, "loss")
    assert loss.values[-1] < loss.values[0] / 10  # it learned
    assert run.metrics["weight"].last == pytest.approx(3.0, abs=0.1)
    assert run.metrics["bias"].last == pytest.approx(1.0, abs=0.1)
    assert any("[rank 0] learned y = " in line for line in jobs.logs(job.run_id))
