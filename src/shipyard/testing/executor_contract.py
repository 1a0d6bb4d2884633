"""The contract suite every :class:`~shipyard.executors.Executor` backend must pass.

Subclass :class:`ExecutorContract` in a test module (name it ``Test...``) and supply the
executor under test as the ``executor`` fixture::

    class TestLocalExecutor(ExecutorContract):
        @pytest.fixture
        def executor(self, tmp_path: Path) -> Executor:
            return LocalExecutor(tmp_path / "jobs", grace_s=2)

The commands run with :attr:`ExecutorContract.python` and must run on this machine (a local Ray
head node counts): some tests hand a job a file path, or check that its processes are gone.
"""

from __future__ import annotations

import itertools
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import psutil
import pytest

from shipyard.errors import InvalidArgument, NotFound
from shipyard.executors.base import Executor, JobHandle, JobSpec, JobState, JobStatus

WAIT_S = 120.0

RENDEZVOUS = textwrap.dedent(
    """
    import os, socket, time
    env = os.environ
    rank, addr, port = int(env["RANK"]), env["MASTER_ADDR"], int(env["MASTER_PORT"])
    print(f"RANK={rank} WORLD_SIZE={env['WORLD_SIZE']} LOCAL_RANK={env['LOCAL_RANK']} "
          f"MASTER_PORT={port}", flush=True)
    if rank == 0:
        server = socket.create_server((addr, port))
        server.settimeout(90)
        conn, _ = server.accept()
        print("rank 0 got:", conn.recv(100).decode(), flush=True)
    else:
        for _ in range(900):
            try:
                socket.create_connection((addr, port), timeout=5).sendall(b"hello from 1")
                break
            except OSError:
                time.sleep(0.1)
        else:
            raise SystemExit("could not reach rank 0")
    """
)


def alive(pid: int) -> bool:
    """Whether ``pid`` still runs (a zombie waiting to be reaped does not count)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


class ExecutorContract:
    """Behaviour shared by every executor (see ``shipyard.executors.base``)."""

    python: ClassVar[str] = sys.executable

    @pytest.fixture
    def executor(self) -> Executor:
        """The executor under test; subclasses override this fixture."""
        raise NotImplementedError("subclasses supply the `executor` fixture")

    @pytest.fixture(autouse=True)
    def _cancel_leftovers(self, executor: Executor) -> Iterator[None]:
        """Cancel what a test submitted, so that a failing test leaves nothing running."""
        self.handles: list[JobHandle] = []
        yield
        for handle in self.handles:
            executor.cancel(handle)

    def submit(self, executor: Executor, spec: JobSpec) -> JobHandle:
        """Submit ``spec`` (cancelled after the test if still running)."""
        handle = executor.submit(spec)
        self.handles.append(handle)
        return handle

    def py(self, code: str) -> list[str]:
        """A command that runs Python ``code``."""
        return [self.python, "-c", code]

    def finish(self, executor: Executor, spec: JobSpec) -> tuple[JobHandle, JobStatus]:
        """Submit ``spec`` and wait for its end."""
        handle = self.submit(executor, spec)
        status = executor.wait(handle, timeout=WAIT_S)
        assert status.state.is_terminal, f"{handle} still {status.state} after {WAIT_S}s"
        return handle, status

    # --- success, failure, environment -----------------------------------------------------------

    def test_success_output_env_and_cwd(self, executor: Executor, tmp_path: Path) -> None:
        code = (
            "import os, sys; print('hello'); print('oops', file=sys.stderr, flush=True); "
            "print('cwd', os.getcwd()); print('value', os.environ['JOB_VALUE'])"
        )
        spec = JobSpec(self.py(code), cwd=str(tmp_path), env={"JOB_VALUE": "a b"})
        handle, status = self.finish(executor, spec)
        assert (status.state, status.exit_code) == (JobState.SUCCEEDED, 0)
        assert status.started_at is not None
        assert status.ended_at is not None
        assert status.started_at <= status.ended_at
        lines = list(executor.logs(handle))
        assert lines[:2] == ["hello", "oops"]
        assert f"cwd {tmp_path}" in lines
        assert "value a b" in lines

    def test_exit_code_is_reported(self, executor: Executor) -> None:
        _, status = self.finish(executor, JobSpec(self.py("raise SystemExit(3)")))
        assert (status.state, status.exit_code) == (JobState.FAILED, 3)

    def test_missing_program_fails_with_127(self, executor: Executor) -> None:
        handle, status = self.finish(executor, JobSpec(["shipyard-no-such-program", "x"]))
        assert (status.state, status.exit_code) == (JobState.FAILED, 127)
        assert "shipyard-no-such-program" in status.message
        assert any("shipyard-no-such-program" in line for line in executor.logs(handle))

    # --- cancel, timeout, follow ---------------------------------------------------------------

    def test_cancel_kills_the_whole_process_tree(self, executor: Executor) -> None:
        script = "sleep 300 & echo child $!; sleep 300 & echo child $!; wait"
        handle = self.submit(executor, JobSpec(["bash", "-c", script]))
        lines = executor.logs(handle, follow=True)
        children = [int(line.split()[1]) for line in itertools.islice(lines, 2)]
        _close(lines)
        assert executor.status(handle).state is JobState.RUNNING
        executor.cancel(handle)
        status = executor.status(handle)
        assert (status.state, status.exit_code) == (JobState.CANCELLED, None)
        assert [pid for pid in children if alive(pid)] == []
        executor.cancel(handle)  # idempotent
        assert executor.status(handle).state is JobState.CANCELLED

    def test_timeout_stops_the_job(self, executor: Executor) -> None:
        spec = JobSpec(["bash", "-c", "echo started; sleep 300"], timeout_s=1)
        handle, status = self.finish(executor, spec)
        assert (status.state, status.exit_code) == (JobState.TIMED_OUT, None)
        assert list(executor.logs(handle)) == ["started"]

    def test_follow_streams_lines_as_they_are_written(
        self, executor: Executor, tmp_path: Path
    ) -> None:
        go = tmp_path / "go"
        code = textwrap.dedent(
            f"""
            import os, time
            print('first', flush=True)
            for _ in range(1200):
                time.sleep(0.1)
                if os.path.exists({str(go)!r}):
                    break
            else:
                raise SystemExit('no go')
            print('second')
            """
        )
        handle = self.submit(executor, JobSpec(self.py(code)))
        lines = executor.logs(handle, follow=True)
        assert next(lines) == "first"  # the job is still waiting for `go`: it was streamed
        go.touch()
        assert list(lines) == ["second"]
        assert executor.wait(handle, timeout=WAIT_S).state is JobState.SUCCEEDED

    def test_wait_with_a_timeout_returns_the_current_status(self, executor: Executor) -> None:
        handle = self.submit(executor, JobSpec(["sleep", "300"]))
        try:
            assert not executor.wait(handle, timeout=0.2).state.is_terminal
        finally:
            executor.cancel(handle)
        assert executor.wait(handle, timeout=WAIT_S).state is JobState.CANCELLED

    # --- several workers -----------------------------------------------------------------------

    def test_workers_get_the_rendezvous_environment_and_meet(self, executor: Executor) -> None:
        handle, status = self.finish(executor, JobSpec(self.py(RENDEZVOUS), workers=2))
        lines = list(executor.logs(handle))
        assert (status.state, status.exit_code) == (JobState.SUCCEEDED, 0), lines
        env_lines = sorted(line for line in lines if "RANK=" in line)
        assert len(env_lines) == 2
        ports = {line.rsplit("MASTER_PORT=", 1)[1] for line in env_lines}
        assert len(ports) == 1
        assert env_lines[0].startswith("[rank 0] RANK=0 WORLD_SIZE=2 LOCAL_RANK=0")
        assert env_lines[1].startswith("[rank 1] RANK=1 WORLD_SIZE=2 LOCAL_RANK=1")
        assert "[rank 0] rank 0 got: hello from 1" in lines

    def test_a_failing_rank_stops_the_others(self, executor: Executor) -> None:
        code = "import os, time\nif os.environ['RANK'] == '1': raise SystemExit(4)\ntime.sleep(300)"
        _, status = self.finish(executor, JobSpec(self.py(code), workers=2))
        assert (status.state, status.exit_code) == (JobState.FAILED, 4)
        assert "rank 1" in status.message

    # --- handles -------------------------------------------------------------------------------

    def test_handles_round_trip_and_unknown_jobs_are_not_found(self, executor: Executor) -> None:
        handle = self.submit(executor, JobSpec(["true"]))
        again = JobHandle.parse(str(handle))
        assert again == handle
        assert executor.wait(again, timeout=WAIT_S).state is JobState.SUCCEEDED
        unknown = JobHandle(handle.executor, "0" * 32)
        with pytest.raises(NotFound):
            executor.status(unknown)
        with pytest.raises(InvalidArgument):
            executor.status(JobHandle("elsewhere", handle.id))


def _close(lines: Iterator[str]) -> None:
    close = getattr(lines, "close", None)
    if close is not None:
        close()
