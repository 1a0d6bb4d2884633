"""The launcher's pure parts: parsing KEY=VALUE, the child's environment, how a run ends."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from shipyard.domain.entities import Run, RunStatus
from shipyard.errors import InvalidArgument
from shipyard.sdk._process import checked_command, child_environment, exit_code, signal_name
from shipyard.sdk.launch import (
    default_name,
    exit_result,
    parse_assignments,
    parse_value,
    program_argv,
)
from shipyard.settings import Settings

RUN_ID = "0" * 32
CWD = Path("/work/launch")


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("0.1", 0.1),
        ("10", 10),
        ("-3", -3),
        ("1e-3", 0.001),
        ("true", True),
        ("false", False),
        ("null", None),
        ("rf", "rf"),
        ("[1, 2]", "[1, 2]"),
        ('"quoted"', '"quoted"'),
        ("", ""),
    ],
)
def test_param_values_keep_their_type(text: str, value: object) -> None:
    parsed = parse_value(text)
    assert parsed == value
    assert type(parsed) is type(value)


def test_assignments_split_on_the_first_equals_sign() -> None:
    assert parse_assignments(["lr=0.1", "expr=a=b"], option="--param", typed=True) == {
        "lr": 0.1,
        "expr": "a=b",
    }
    assert parse_assignments(["n=3"], option="--tag", typed=False) == {"n": "3"}


@pytest.mark.parametrize("item", ["lr", "=0.1", " =x"])
def test_an_assignment_needs_a_key_and_an_equals_sign(item: str) -> None:
    with pytest.raises(InvalidArgument, match="--param") as caught:
        parse_assignments([item], option="--param", typed=True)
    assert caught.value.hint == "write it like --param lr=0.1"


def test_commands_must_be_a_non_empty_list() -> None:
    with pytest.raises(InvalidArgument, match="list of arguments"):
        checked_command("python train.py")  # type: ignore[arg-type]  # the mistake under test
    with pytest.raises(InvalidArgument, match="no command"):
        checked_command([])
    assert checked_command([Path("bin/tool"), "x"]) == ["bin/tool", "x"]  # type: ignore[list-item]


def test_the_program_sees_its_own_argv() -> None:
    assert program_argv(["python", "train.py", "--lr", "1"]) == ["train.py", "--lr", "1"]
    assert program_argv(["/venv/bin/python3.11", "-m", "pkg"]) == ["-m", "pkg"]
    assert program_argv(["torchrun", "train.py"]) == ["torchrun", "train.py"]
    assert program_argv(["python"]) == ["python"]


def test_default_names_come_from_the_script() -> None:
    assert default_name(["python", "src/train.py"]).startswith("train-")
    assert default_name(["python", "-m", "pkg.main"]).startswith("pkg.main-")
    assert default_name(["./run.sh", "x"]).startswith("run.sh-")
    assert len(default_name(["python", "train.py"]).rsplit("-", 1)[1]) == 4


def test_the_child_gets_every_setting_with_absolute_paths() -> None:
    settings = Settings(
        tracking_uri="sqlite:///data/runs.db?timeout=5",
        artifacts="blobs",
        home=Path(".shipyard"),
        capture=False,
        flush_interval=0.25,
    )
    base = {"PATH": "/bin", "SHIPYARD_TOKEN": "stale", "PYTHONUNBUFFERED": "0"}
    env = child_environment(settings, RUN_ID, base, CWD)
    assert env["SHIPYARD_RUN_ID"] == RUN_ID
    assert env["SHIPYARD_TRACKING_URI"] == "sqlite:////work/launch/data/runs.db?timeout=5"
    assert env["SHIPYARD_ARTIFACTS"] == "/work/launch/blobs"
    assert env["SHIPYARD_HOME"] == "/work/launch/.shipyard"
    assert env["SHIPYARD_CAPTURE"] == "false"
    assert env["SHIPYARD_FLUSH_INTERVAL"] == "0.25"
    assert "SHIPYARD_TOKEN" not in env  # unset here: the parent's stale value does not leak
    assert env["PATH"] == "/bin"
    assert env["PYTHONUNBUFFERED"] == "0"  # the caller's choice is kept


def test_remote_locations_are_passed_unchanged() -> None:
    settings = Settings(tracking_uri="http://hub:8080", artifacts="s3://bucket/a", token="t")
    env = child_environment(settings, RUN_ID, {}, CWD)
    assert env["SHIPYARD_TRACKING_URI"] == "http://hub:8080"
    assert env["SHIPYARD_ARTIFACTS"] == "s3://bucket/a"
    assert env["SHIPYARD_TOKEN"] == "t"
    assert env["PYTHONUNBUFFERED"] == "1"


def _stored(status: RunStatus, error: str | None = None) -> Run:
    return Run(RUN_ID, "p", "n", status, "u", 0, error=error)


def test_exit_zero_finishes_the_run() -> None:
    result = exit_result(RUN_ID, 0, None, _stored(RunStatus.RUNNING), "")
    assert (result.status, result.exit_code, result.error) == (RunStatus.FINISHED, 0, None)


def test_exit_zero_keeps_a_status_the_command_set_itself() -> None:
    result = exit_result(RUN_ID, 0, None, _stored(RunStatus.FAILED, "ValueError: x"), "")
    assert (result.status, result.error) == (RunStatus.FAILED, "ValueError: x")


def test_a_non_zero_exit_fails_the_run_even_when_the_command_finished_it() -> None:
    result = exit_result(RUN_ID, 3, None, _stored(RunStatus.FINISHED), "loading\nout of memory")
    assert (result.status, result.exit_code, result.returncode) == (RunStatus.FAILED, 3, 3)
    assert result.error == "the command exited with code 3\nlast output:\nloading\nout of memory"


def test_the_commands_own_error_is_kept_over_its_output() -> None:
    stored = _stored(RunStatus.FAILED, "ZeroDivisionError: division by zero")
    result = exit_result(RUN_ID, 1, None, stored, "Traceback ...")
    assert result.error == "the command exited with code 1\nZeroDivisionError: division by zero"


def test_a_signal_kills_the_run() -> None:
    result = exit_result(RUN_ID, -signal.SIGINT, signal.SIGINT, None, "")
    assert (result.status, result.exit_code) == (RunStatus.KILLED, 130)
    assert result.error == "the command was killed by SIGINT"
    assert result.signal == signal.SIGINT


def test_an_exit_after_a_forwarded_signal_is_a_kill() -> None:
    result = exit_result(RUN_ID, 1, signal.SIGTERM, None, "")
    assert result.status is RunStatus.KILLED
    assert result.error == "the command exited with code 1 after SIGTERM"


def test_long_errors_are_bounded() -> None:
    result = exit_result(RUN_ID, 2, None, None, "x" * 10_000)
    assert result.error is not None
    assert len(result.error) <= 4_005
    assert result.error.startswith("the command exited with code 2")


def test_shell_style_exit_codes() -> None:
    assert [exit_code(0), exit_code(3), exit_code(-9)] == [0, 3, 137]
    assert signal_name(signal.SIGTERM) == "SIGTERM"
    assert signal_name(999) == "signal 999"
