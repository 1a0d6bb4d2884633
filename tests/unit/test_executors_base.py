"""JobSpec validation, memory sizes, handles and states: the executor protocol's value types."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipyard.errors import InvalidArgument
from shipyard.executors import EXECUTORS, LocalExecutor, open_executor
from shipyard.executors.base import (
    RENDEZVOUS_VARS,
    JobHandle,
    JobSpec,
    JobState,
    parse_memory,
    rendezvous_env,
)


def test_a_full_spec_round_trips_through_a_dict() -> None:
    spec = JobSpec(
        ["python", "train.py"],
        cwd="/work",
        env={"LR": "0.1"},
        cpus=1.5,
        gpus=1,
        memory_bytes=parse_memory("4Gi"),
        timeout_s=60,
        workers=2,
        name="train resnet",
        labels={"team": "vision"},
    )
    assert spec.command == ("python", "train.py")
    assert JobSpec.from_dict(spec.to_dict()) == spec


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"command": []}, "invalid job command"),
        ({"command": "python train.py"}, "list of arguments"),
        ({"command": ["", "x"]}, "invalid job command"),
        ({"command": ["python", 3]}, "invalid job command"),
        ({"command": ["a\0b"]}, "NUL"),
        ({"cwd": "relative/dir"}, "not an absolute path"),
        ({"env": {"1BAD": "x"}}, "invalid environment variable name"),
        ({"env": {"GOOD": 1}}, "must be a string"),
        ({"env": {"RANK": "3"}}, "set by the executor"),
        ({"cpus": 0}, "positive"),
        ({"cpus": float("nan")}, "positive"),
        ({"gpus": -1}, "positive"),
        ({"gpus": True}, "must be a number"),
        ({"timeout_s": 0}, "positive"),
        ({"memory_bytes": 0}, "positive number of bytes"),
        ({"memory_bytes": 1.5}, "positive number of bytes"),
        ({"workers": 0}, "whole number"),
        ({"workers": 2.0}, "whole number"),
        ({"name": "bad\nname"}, "invalid job name"),
        ({"labels": {"": "x"}}, "invalid job label"),
    ],
)
def test_invalid_specs_are_refused_with_a_hint(kwargs: dict[str, object], fragment: str) -> None:
    args = {"command": ["true"], **kwargs}
    with pytest.raises(InvalidArgument, match=fragment) as info:
        JobSpec(**args)  # type: ignore[arg-type]
    assert info.value.hint


def test_from_dict_names_unknown_fields() -> None:
    with pytest.raises(InvalidArgument, match="unknown job spec fields: retries"):
        JobSpec.from_dict({"command": ["true"], "retries": 2})


def test_every_rendezvous_variable_is_reserved() -> None:
    env = rendezvous_env(
        addr="10.0.0.1",
        port=29500,
        world_size=4,
        rank=3,
        local_rank=1,
        local_world_size=2,
        node_rank=1,
    )
    assert set(env) == set(RENDEZVOUS_VARS)
    assert env == {
        "MASTER_ADDR": "10.0.0.1",
        "MASTER_PORT": "29500",
        "WORLD_SIZE": "4",
        "RANK": "3",
        "LOCAL_RANK": "1",
        "LOCAL_WORLD_SIZE": "2",
        "NODE_RANK": "1",
    }


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("1024", 1024),
        (2048, 2048),
        ("512M", 512_000_000),
        ("4G", 4_000_000_000),
        ("4gb", 4_000_000_000),
        ("4Gi", 4 * 1024**3),
        ("4GiB", 4 * 1024**3),
        ("1.5Ki", 1536),
        (" 2 T ", 2_000_000_000_000),
    ],
)
def test_parse_memory(text: str | int, size: int) -> None:
    assert parse_memory(text) == size


@pytest.mark.parametrize("text", ["", "G", "4X", "-1G", "4 G B", "4i", "0", "1.5.2G", True])
def test_parse_memory_refuses_nonsense(text: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        parse_memory(text)
    assert info.value.hint


def test_handles_print_and_parse() -> None:
    handle = JobHandle("kubernetes", "team-a/train-1a2b")
    assert str(handle) == "kubernetes:team-a/train-1a2b"
    assert JobHandle.parse(" kubernetes:team-a/train-1a2b\n") == handle


@pytest.mark.parametrize("text", ["no-colon", ":id", "local:", "local:../etc", "lo cal:x", "a:b:c"])
def test_malformed_handles_are_refused(text: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        JobHandle.parse(text)
    assert info.value.hint


def test_terminal_states() -> None:
    assert [s for s in JobState if not s.is_terminal] == [JobState.PENDING, JobState.RUNNING]


def test_open_executor_by_name(tmp_path: Path) -> None:
    local = open_executor("local", state_dir=tmp_path)
    assert isinstance(local, LocalExecutor)
    assert local.state_dir == tmp_path
    assert EXECUTORS == ("local", "ray", "kubernetes")


@pytest.mark.parametrize(
    ("name", "kwargs", "fragment"),
    [
        ("slurm", {}, "unknown executor 'slurm'"),
        ("ray", {}, "address"),
        ("kubernetes", {}, "container image"),
    ],
)
def test_open_executor_says_what_is_missing(
    name: str, kwargs: dict[str, str], fragment: str
) -> None:
    with pytest.raises(InvalidArgument, match=fragment) as info:
        open_executor(name, **kwargs)  # type: ignore[arg-type]
    assert info.value.hint
