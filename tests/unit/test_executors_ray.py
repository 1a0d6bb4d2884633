"""The Ray executor's pure parts: its entrypoint, its log filter and how Ray's job details
become a JobStatus (Ray's own JobDetails model, no cluster)."""

from __future__ import annotations

import shlex
import sys
from typing import Any

import pytest

from shipyard.errors import InvalidArgument, Unavailable
from shipyard.executors._ray_group import local_ranks
from shipyard.executors._ray_logs import LogFilter, split_lines
from shipyard.executors._ray_workers import BEGIN, Options, parse_args
from shipyard.executors.base import JobHandle, JobSpec, JobState
from shipyard.executors.ray import RayExecutor, _status_of

job_submission = pytest.importorskip("ray.job_submission")


def details(status: str, **fields: Any) -> Any:
    return job_submission.JobDetails(
        type=job_submission.JobType.SUBMISSION,
        status=job_submission.JobStatus(status),
        entrypoint="python -m shipyard.executors._ray_workers",
        start_time=1000,
        end_time=2000,
        **fields,
    )


def test_the_entrypoint_carries_the_spec_on_one_line() -> None:
    spec = JobSpec(
        ["python", "-c", "print('a b')\nprint(\"c\")", "it's"],
        cwd="/data/my project",
        timeout_s=1.5,
        workers=3,
        cpus=2,
        gpus=0.5,
        memory_bytes=10**9,
    )
    entrypoint = RayExecutor("http://127.0.0.1:1", placement_strategy="SPREAD").entrypoint(spec)
    assert "\n" not in entrypoint
    python, dash_m, module, *args = shlex.split(entrypoint)
    assert (python, dash_m, module) == ("python", "-m", "shipyard.executors._ray_workers")
    assert parse_args(args) == Options(
        command=list(spec.command),
        cwd="/data/my project",
        timeout_s=1.5,
        workers=3,
        cpus=2.0,
        gpus=0.5,
        memory_bytes=10**9,
        strategy="SPREAD",
        grace_s=2.0,
    )


def test_the_log_filter_keeps_only_what_the_command_wrote() -> None:
    ray_line = "Running entrypoint for job j1: python -m x"
    log = ["2026 INFO -- Runtime env is setting up.", BEGIN, "hello", ray_line, "::shipyard:: x"]
    lines = LogFilter("j1", "python -m x").filter(iter([*log, "bye"]), failed=lambda: True)
    assert list(lines) == ["hello", "bye"]


def test_rays_lines_explain_a_job_that_never_began_only_if_it_failed() -> None:
    log = ["Runtime env setup failed: no such package"]
    shown = LogFilter("j1", "e").filter(iter(log), failed=lambda: True)
    assert list(shown) == log
    hidden = LogFilter("j1", "e").filter(iter(log), failed=lambda: False)
    assert list(hidden) == []


def test_split_lines_keeps_empty_lines_but_not_a_final_newline() -> None:
    assert split_lines("a\n\nb\n") == ["a", "", "b"]
    assert split_lines("") == []


@pytest.mark.parametrize(
    ("status", "fields", "state", "exit_code", "message"),
    [
        ("PENDING", {}, JobState.PENDING, None, ""),
        ("RUNNING", {}, JobState.RUNNING, None, ""),
        ("SUCCEEDED", {"driver_exit_code": 0}, JobState.SUCCEEDED, 0, ""),
        ("STOPPED", {"message": "Job was intentionally stopped."}, JobState.CANCELLED, None, ""),
        (
            "FAILED",
            {
                "driver_exit_code": 3,
                "message": "Job entrypoint command failed with exit code 3, last available logs "
                "(truncated to 20,000 chars):\nboom\n::shipyard:: the command exited with code 3\n",
            },
            JobState.FAILED,
            3,
            "the command exited with code 3",
        ),
        (
            "FAILED",
            {
                "driver_exit_code": 124,
                "message": "Job entrypoint command failed with exit code 124, last available "
                "logs:\nstarted\n::shipyard:: timed out after 1s\n",
            },
            JobState.TIMED_OUT,
            None,
            "timed out after 1s",
        ),
        (
            "FAILED",
            {"driver_exit_code": 124, "message": "Job entrypoint command failed, logs:\n124!\n"},
            JobState.FAILED,
            124,
            "Job entrypoint command failed, logs:",
        ),
        (
            "FAILED",
            {"error_type": "JOB_SUPERVISOR_ACTOR_DIED", "message": "Job supervisor actor died"},
            JobState.LOST,
            None,
            "Job supervisor actor died",
        ),
        (
            "FAILED",
            {"error_type": "RUNTIME_ENV_SETUP_FAILURE", "message": "no such pip package"},
            JobState.FAILED,
            None,
            "no such pip package",
        ),
    ],
)
def test_ray_job_details_become_a_status(
    status: str, fields: dict[str, Any], state: JobState, exit_code: int | None, message: str
) -> None:
    result = _status_of(details(status, **fields))
    assert (result.state, result.exit_code) == (state, exit_code)
    if message:
        assert result.message == message
    assert result.started_at == (None if state is JobState.PENDING else 1000)
    assert result.ended_at == (2000 if state.is_terminal else None)


def test_local_ranks_count_within_each_node() -> None:
    assert local_ranks(["a", "b", "a", "b", "a"]) == [
        (0, 3, 0),
        (0, 2, 1),
        (1, 3, 0),
        (1, 2, 1),
        (2, 3, 0),
    ]


def test_an_unknown_placement_strategy_is_refused() -> None:
    with pytest.raises(InvalidArgument, match="placement strategy") as info:
        RayExecutor("http://127.0.0.1:1", placement_strategy="RANDOM")
    assert info.value.hint


def test_an_unreachable_cluster_is_unavailable_with_a_hint(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("RAY_AUTH_MODE", "disabled")
    executor = RayExecutor(f"http://127.0.0.1:{_closed_port()}")
    with pytest.raises(Unavailable, match=r"127\.0\.0\.1") as info:
        executor.status(JobHandle("ray", "shipyard-x"))
    assert info.value.hint is not None
    assert "ray start --head" in info.value.hint


def test_without_ray_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ray.job_submission", None)  # what a missing ray looks like
    with pytest.raises(InvalidArgument, match="ray") as info:
        RayExecutor("http://127.0.0.1:1").submit(JobSpec(["true"]))
    assert info.value.hint == "pip install 'shipyard[ray]'"


def _closed_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
