"""The IO-free parts of jobs: durations and names, the run status a job gives its run, attempt
bookkeeping, stored submissions, where the code runs, and request checks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from shipyard.domain.entities import RunStatus
from shipyard.domain.jobs import (
    Job,
    JobAttempt,
    JobPhase,
    parse_duration,
    run_status_of,
    validate_agent_name,
    validate_lease,
    validate_queue_name,
)
from shipyard.errors import InvalidArgument
from shipyard.executors.base import JobSpec
from shipyard.jobs._code import CodeSnapshot
from shipyard.jobs._render import dry_run
from shipyard.jobs._submission import Submission
from shipyard.jobs._submit import code_mode
from shipyard.jobs._tether import shell_status
from shipyard.jobs.agent import AgentOptions
from shipyard.jobs.request import JobRequest
from shipyard.repro._codediff import CodeState
from shipyard.settings import Settings


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30.0), ("2m", 120.0), ("1.5h", 5400.0), ("1d", 86400.0), ("500ms", 0.5), ("7", 7.0)],
)
def test_durations(text: str, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "soon", "1 week", "-1s", "0", "1e400s"])
def test_bad_durations_say_how_to_write_one(text: str) -> None:
    with pytest.raises(InvalidArgument) as caught:
        parse_duration(text, what="--timeout")
    assert "--timeout" in caught.value.message
    assert caught.value.hint


def test_names_and_leases_are_checked() -> None:
    assert validate_queue_name("gpu-box.1_a") == "gpu-box.1_a"
    for bad in ("", "a b", "-x", "x" * 129, "a/b"):
        with pytest.raises(InvalidArgument, match="queue"):
            validate_queue_name(bad)
    assert validate_agent_name("box-1 (lab)") == "box-1 (lab)"
    with pytest.raises(InvalidArgument):
        validate_agent_name("a\nb")
    assert validate_lease(30) == 30.0
    for bad_lease in (0.0, -1.0, float("nan"), 10**6):
        with pytest.raises(InvalidArgument, match="lease"):
            validate_lease(bad_lease)


def test_the_run_follows_the_job() -> None:
    assert run_status_of(JobPhase.SUCCEEDED) is RunStatus.FINISHED
    assert run_status_of(JobPhase.CANCELLED) is RunStatus.KILLED
    for failed in (JobPhase.FAILED, JobPhase.TIMED_OUT, JobPhase.LOST):
        assert run_status_of(failed) is RunStatus.FAILED
    for active in (JobPhase.QUEUED, JobPhase.PENDING, JobPhase.RUNNING):
        assert run_status_of(active) is RunStatus.RUNNING
    assert {p for p in JobPhase if p.is_retryable} == {JobPhase.FAILED, JobPhase.LOST}


def test_attempt_bookkeeping() -> None:
    fresh = Job("r" * 32, "local", {}, JobPhase.PENDING)
    assert (fresh.attempt_open, fresh.between_attempts, fresh.retries_left) == (False, True, 1)
    running = Job("r" * 32, "local", {}, JobPhase.RUNNING, attempts=1, max_retries=2)
    assert (running.attempt_open, running.between_attempts, running.retries_left) == (
        True,
        False,
        2,
    )
    ended = JobAttempt(1, JobPhase.FAILED, exit_code=1)
    retry = Job("r" * 32, "local", {}, JobPhase.PENDING, attempts=1, history=(ended,))
    assert (retry.attempt_open, retry.between_attempts) == (False, True)
    assert JobAttempt.from_dict(json.loads(json.dumps(ended.to_dict()))) == ended


def test_a_submission_round_trips_and_foreign_specs_are_refused() -> None:
    submission = Submission(
        JobSpec(["python", "t.py"], env={"A": "1"}, workers=2),
        code="snapshot",
        origin="/src",
        cwd_relative="sub",
        workdir="/w",
        host="box",
        state_dir="/s",
        ray_address="http://h:8265",
    )
    assert Submission.from_dict(json.loads(json.dumps(submission.to_dict()))) == submission
    for foreign in ({}, {"spec": {"command": ["x"]}, "code": "teleport"}, {"spec": "x"}):
        with pytest.raises(InvalidArgument, match="not a Shipyard submission"):
            Submission.from_dict(foreign)


def snapshot(recorded: bool, dirty: bool) -> CodeSnapshot:
    return CodeSnapshot(CodeState("r", recorded=recorded, commit="c" * 40, dirty=dirty))


@pytest.mark.parametrize(
    ("executor", "recorded", "dirty", "in_place", "mode"),
    [
        ("local", True, True, False, "snapshot"),
        ("local", True, False, False, "in_place"),  # a clean tree is its commit
        ("local", True, True, True, "in_place"),
        ("local", False, False, False, "in_place"),  # outside git
        ("ray", True, False, False, "snapshot"),
        ("ray", False, False, False, "in_place"),
        ("queue", True, False, False, "snapshot"),
        ("kubernetes", True, True, False, "image"),
    ],
)
def test_where_the_code_runs(
    executor: str, recorded: bool, dirty: bool, in_place: bool, mode: str
) -> None:
    request = JobRequest(["python", "t.py"], in_place=in_place)
    assert code_mode(request, executor, snapshot(recorded, dirty)) == mode


def test_requests_are_checked() -> None:
    assert JobRequest(["x"]).executor_name() == "local"
    assert JobRequest(["x"], queue="q").executor_name() == "queue"
    for bad, match in (
        (JobRequest(["x"], executor="slurm"), "unknown executor"),
        (JobRequest(["x"], queue="q", executor="local"), "--queue"),
        (JobRequest(["x"], executor="ray", in_place=True), "--in-place"),
        (JobRequest(["x"], queue="a b"), "queue"),
    ):
        with pytest.raises(InvalidArgument, match=match):
            bad.executor_name()
    with pytest.raises(InvalidArgument, match="retries"):
        JobRequest(["x"], retries=-1).job_spec()
    with pytest.raises(InvalidArgument, match="workers"):
        JobRequest(["x"], workers=0).job_spec()


def test_a_dry_run_shows_the_tracking_variables_but_no_secret(tmp_path: Path) -> None:
    settings = Settings(tracking_uri="http://hub:8080", token="s3cret", home=tmp_path)
    document = json.loads(dry_run(settings, JobRequest(["python", "t.py"], cpus=2)))
    env = document["spec"]["env"]
    assert env["SHIPYARD_TRACKING_URI"] == "http://hub:8080"
    assert "SHIPYARD_TOKEN" not in env
    assert "SHIPYARD_RUN_ID" not in env
    assert "s3cret" not in json.dumps(document)


def test_shell_status_and_heartbeats() -> None:
    assert (shell_status(0), shell_status(3), shell_status(-9)) == (0, 3, 137)
    assert AgentOptions("q", lease_s=3).heartbeat_s == 1.0
    assert AgentOptions("q", lease_s=300).heartbeat_s == 10.0
