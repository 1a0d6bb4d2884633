"""What the local executor promises beyond the contract: jobs outlive their submitter, a dead
supervisor means LOST, limits are enforced where the OS allows, and stubborn or escaped
processes still die."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from shipyard.errors import InvalidArgument
from shipyard.executors import JobHandle, JobSpec, JobState, LocalExecutor
from shipyard.testing.executor_contract import alive

WAIT_S = 60


@pytest.fixture
def executor(tmp_path: Path) -> Iterator[LocalExecutor]:
    executor = LocalExecutor(tmp_path / "jobs", grace_s=1)
    yield executor
    for handle in executor.handles():  # a failed test leaves no job running
        executor.cancel(handle)


def py(code: str) -> list[str]:
    return [sys.executable, "-c", textwrap.dedent(code)]


def test_a_job_outlives_the_process_that_submitted_it(tmp_path: Path) -> None:
    state, done = tmp_path / "jobs", tmp_path / "done"
    submitter = f"""
        from pathlib import Path
        from shipyard.executors import JobSpec, LocalExecutor
        spec = JobSpec(["bash", "-c", "sleep 1; touch {done}"])
        print(LocalExecutor(Path({str(state)!r})).submit(spec))
    """
    out = subprocess.run(py(submitter), capture_output=True, text=True, check=True, timeout=60)
    handle = JobHandle.parse(out.stdout)  # the submitter has exited; its job has not
    status = LocalExecutor(state).wait(handle, timeout=WAIT_S)
    assert status.state is JobState.SUCCEEDED
    assert done.exists()


def test_a_job_whose_supervisor_died_is_lost_and_cancel_kills_its_processes(
    executor: LocalExecutor,
) -> None:
    handle = executor.submit(JobSpec(["bash", "-c", "echo $$; sleep 300"]))
    lines = executor.logs(handle, follow=True)
    child = int(next(lines))
    lines.close()  # type: ignore[attr-defined]
    job = executor.job_dir(handle)
    supervisor = json.loads((job / "supervisor.json").read_text())["pid"]
    os.kill(supervisor, signal.SIGKILL)
    psutil.wait_procs([psutil.Process(child)], timeout=0.5)  # the orphan keeps running
    status = executor.wait(handle, timeout=WAIT_S)
    assert status.state is JobState.LOST
    assert "supervisor" in status.message
    assert status.started_at is not None
    assert alive(child)
    executor.cancel(handle)
    assert not alive(child)
    assert executor.status(handle).state is JobState.LOST


def test_another_executor_on_the_same_folder_manages_the_same_jobs(
    executor: LocalExecutor,
) -> None:
    handle = executor.submit(JobSpec(["sleep", "300"]))
    second = LocalExecutor(executor.state_dir)
    assert second.handles() == [handle]
    assert second.status(handle).state in (JobState.PENDING, JobState.RUNNING)
    second.cancel(handle)
    assert executor.status(handle).state is JobState.CANCELLED


def test_cancel_escalates_to_sigkill_for_a_command_that_ignores_sigterm(
    executor: LocalExecutor,
) -> None:
    code = """
        import signal, time
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        print("ready", flush=True)
        time.sleep(300)
    """
    handle = executor.submit(JobSpec(py(code)))
    assert next(executor.logs(handle, follow=True)) == "ready"
    executor.cancel(handle)
    assert executor.status(handle).state is JobState.CANCELLED


def test_a_grandchild_in_its_own_session_is_still_stopped(executor: LocalExecutor) -> None:
    # `setsid -f` leaves the job's process group and its parent exits at once: only the
    # supervisor, the job's subreaper, still knows the orphan when the command ends
    script = (
        "setsid -f bash -c 'echo $$ > escaped.pid; exec sleep 300'; "
        "until [ -s escaped.pid ]; do sleep 0.05; done; cat escaped.pid"
    )
    handle = executor.submit(JobSpec(["bash", "-c", script]))
    status = executor.wait(handle, timeout=WAIT_S)
    assert status.state is JobState.SUCCEEDED
    (escaped,) = (int(line) for line in executor.logs(handle))
    assert not alive(escaped)


def test_memory_limit_stops_a_job_that_allocates_more(executor: LocalExecutor) -> None:
    code = "x = bytearray(1024 * 1024 * 1024); print('allocated')"
    handle = executor.submit(JobSpec(py(code), memory_bytes=512 * 1024 * 1024))
    status = executor.wait(handle, timeout=WAIT_S)
    assert status.state is JobState.FAILED
    assert "MemoryError" in "\n".join(executor.logs(handle))
    assert any("RLIMIT_AS" in note for note in status.notes)


def test_cpus_pin_each_worker_to_its_own_cpus(executor: LocalExecutor) -> None:
    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("needs 2 CPUs")
    code = "import os; print(sorted(os.sched_getaffinity(0)))"
    handle = executor.submit(JobSpec(py(code), cpus=1, workers=2))
    assert executor.wait(handle, timeout=WAIT_S).state is JobState.SUCCEEDED
    pins = [json.loads(line.split("] ", 1)[1]) for line in executor.logs(handle)]
    assert sorted(len(pin) for pin in pins) == [1, 1]
    assert pins[0] != pins[1]


def test_what_cannot_be_enforced_is_noted(executor: LocalExecutor) -> None:
    handle = executor.submit(JobSpec(["true"], gpus=1, memory_bytes=10**9, cpus=10_000))
    status = executor.wait(handle, timeout=WAIT_S)
    assert status.state is JobState.SUCCEEDED
    notes = " | ".join(status.notes)
    assert "gpus=1 is not enforced locally" in notes
    assert "memory is not limited for GPU jobs" in notes
    assert "not pinned" in notes


def test_output_of_several_ranks_is_prefixed_line_by_line(executor: LocalExecutor) -> None:
    code = "import os; r = os.environ['RANK']; print(f'a{r}'); print(f'b{r}', end='')"
    handle = executor.submit(JobSpec(py(code), workers=3))
    assert executor.wait(handle, timeout=WAIT_S).state is JobState.SUCCEEDED
    lines = list(executor.logs(handle))
    for rank in range(3):
        assert [line for line in lines if line.startswith(f"[rank {rank}] ")] == [
            f"[rank {rank}] a{rank}",
            f"[rank {rank}] b{rank}",
        ]


def test_a_missing_working_directory_is_refused(executor: LocalExecutor, tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match="not a folder") as info:
        executor.submit(JobSpec(["true"], cwd=str(tmp_path / "missing")))
    assert info.value.hint


def test_a_job_without_cwd_runs_where_it_was_submitted(
    executor: LocalExecutor, tmp_path: Path
) -> None:
    handle = executor.submit(JobSpec(["pwd"]))  # the autouse fixture chdirs into tmp_path
    assert executor.wait(handle, timeout=WAIT_S).state is JobState.SUCCEEDED
    assert list(executor.logs(handle)) == [str(tmp_path)]


def test_logs_of_a_job_are_empty_until_it_writes(executor: LocalExecutor) -> None:
    handle = executor.submit(JobSpec(["true"]))
    executor.wait(handle, timeout=WAIT_S)
    assert list(executor.logs(handle)) == []
    assert list(executor.logs(handle, follow=True)) == []
