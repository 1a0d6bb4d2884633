"""The sections of a run diff, and what a reproduction takes from a record (no git, no I/O)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from shipyard.domain.entities import MetricSummary, Run, RunInput, RunStatus
from shipyard.errors import InvalidArgument, NotFound
from shipyard.repro._checks import (
    child_env,
    dataset_pins,
    determinism_env,
    gpu_check,
    recorded_command,
    with_python,
)
from shipyard.repro._pyenv import is_python, requirement_lines
from shipyard.repro._sections import (
    diff_datasets,
    diff_mapping,
    diff_metrics,
    diff_packages,
    environment_facts,
    hardware_facts,
)
from shipyard.repro.diff import SECTIONS, diff_runs

NAN = float("nan")


def env_record(**overrides: Any) -> dict[str, Any]:
    """An environment record shaped like the capture layer's, with a few fields set."""
    record: dict[str, Any] = {
        "code": {
            "cwd": "/src/proj/train",
            "git": {
                "root": "/src/proj",
                "commit": "a" * 40,
                "branch": "main",
                "dirty": False,
                "remote_url": None,
                "cwd_relative": "train",
                "patch_complete": True,
                "skipped": [],
            },
        },
        "python": {"version": "3.11.7", "implementation": "CPython"},
        "packages": {"distributions": {"numpy": "2.1.0", "scikit-learn": "1.5.2"}},
        "system": {
            "os": {"system": "Linux", "kernel": "Linux 6.1", "machine": "x86_64"},
            "hostname": "box",
            "cpu": {"model": "Xeon", "logical_cores": 8},
            "memory_total_bytes": 32 << 30,
        },
        "container": {"image": None, "image_digest": None},
        "accelerators": {"gpus": [], "driver_version": None, "cuda": None, "cudnn": None},
        "frameworks": {"versions": {"numpy": "2.1.0"}, "determinism": {"env": {}}},
        "launcher": "sdk",
        "command": ["python", "fit.py", "--lr", "0.1"],
    }
    for path, value in overrides.items():
        target = record
        *parents, last = path.split("__")
        for key in parents:
            target = target[key]
        target[last] = value
    return record


def make_run(run_id: str, **fields: Any) -> Run:
    return Run(run_id, "iris", f"run-{run_id}", RunStatus.FINISHED, "ann", 1_000, 2_000, **fields)


def summary(key: str, last: float, lo: float, hi: float) -> MetricSummary:
    return MetricSummary(key, last, 5, 1_000, lo, hi, 6)


class MemorySource:
    """A RunSource over dicts: what a store would return."""

    def __init__(self) -> None:
        self.runs: dict[str, Run] = {}
        self.envs: dict[str, dict[str, Any]] = {}
        self.patches: dict[str, str] = {}
        self.inputs: dict[str, list[RunInput]] = {}

    def get_run(self, run_id: str) -> Run:
        if run_id not in self.runs:
            raise NotFound(f"run {run_id} does not exist")
        return self.runs[run_id]

    def environment(self, run_id: str) -> dict[str, Any] | None:
        return self.envs.get(run_id)

    def code_patch(self, run_id: str) -> str | None:
        return self.patches.get(run_id)

    def run_inputs(self, run_id: str) -> Sequence[RunInput]:
        return self.inputs.get(run_id, [])


# -- sections ------------------------------------------------------------------------------------
def test_params_added_removed_changed() -> None:
    a = {"lr": 0.1, "depth": 4, "opt": "adam", "bn": True, "drop": NAN, "same": "x"}
    b = {"lr": 0.05, "depth": 4, "bn": 1, "drop": NAN, "same": "x", "new": None}
    diff = diff_mapping(a, b)
    assert diff.changed == {"lr": (0.1, 0.05), "bn": (True, 1)}  # 1 is not True: types kept
    assert diff.removed == {"opt": "adam"}
    assert diff.added == {"new": None}
    assert diff.unchanged == 3  # depth, drop (NaN equals NaN), same
    assert not diff.empty
    assert diff_mapping(a, dict(a)).empty
    assert diff_mapping({"x": NAN}, {"x": 1.0}).to_dict()["changed"] == {
        "x": {"a": "NaN", "b": 1.0}
    }


def test_packages_versions_compared() -> None:
    a = env_record()
    b = env_record(packages__distributions={"numpy": "2.2.0", "torch": "2.5.0"})
    diff = diff_packages(a, b)
    data = diff.to_dict()
    assert data["changed"] == {"numpy": {"a": "2.1.0", "b": "2.2.0"}}
    assert data["added"] == {"torch": "2.5.0"}
    assert data["removed"] == {"scikit-learn": "1.5.2"}
    assert data["count"] == {"a": 2, "b": 2}
    assert data["same"] is False
    assert diff_packages(a, None).recorded is False


def test_environment_facts_include_frameworks_and_determinism_variables() -> None:
    a = env_record()
    b = env_record(
        python__version="3.12.1",
        frameworks__versions={"numpy": "2.1.0", "torch": "2.5.0"},
        frameworks__determinism={"env": {"PYTHONHASHSEED": "0"}},
    )
    facts = {f.key: f for f in environment_facts(a, b)}
    assert (facts["python.version"].a, facts["python.version"].b) == ("3.11.7", "3.12.1")
    assert facts["framework.numpy"].same
    assert (facts["framework.torch"].a, facts["framework.torch"].b) == (None, "2.5.0")
    assert (facts["env.PYTHONHASHSEED"].a, facts["env.PYTHONHASHSEED"].b) == (None, "0")
    assert facts["os.kernel"].same
    assert {k for k, f in facts.items() if not f.same} == {
        "python.version",
        "framework.torch",
        "env.PYTHONHASHSEED",
    }


def test_hardware_facts_compare_gpus_driver_and_cuda() -> None:
    gpus = [{"name": "NVIDIA H100"}, {"name": "NVIDIA H100"}]
    a = env_record()
    b = env_record(accelerators={"gpus": gpus, "driver_version": "550.1", "cuda": "12.4"})
    differing = {f.key: (f.a, f.b) for f in hardware_facts(a, b) if not f.same}
    assert differing == {
        "gpu.count": (0, 2),
        "gpu.models": (None, "NVIDIA H100, NVIDIA H100"),
        "gpu.driver": (None, "550.1"),
        "cuda.version": (None, "12.4"),
    }
    assert all(f.same for f in hardware_facts(b, b))


def test_datasets_by_name_with_version_and_digest() -> None:
    a = [
        RunInput("dataset", "iris", "3", digest="d3"),
        RunInput("dataset", "wine", "1", digest="w1"),
        RunInput("model", "base", "7"),
        RunInput("dataset", "preds", "1", direction="output"),
    ]
    b = [
        RunInput("dataset", "iris", "4", digest="d4"),
        RunInput("dataset", "wine", "1", digest="w1"),
    ]
    b.append(RunInput("dataset", "extra", "2", digest="e2"))
    changes = {c.name: c.to_dict() for c in diff_datasets(a, b)}
    assert list(changes) == ["extra", "iris", "wine"]
    assert changes["iris"] == {
        "name": "iris",
        "a": {"version": "3", "digest": "d3"},
        "b": {"version": "4", "digest": "d4"},
        "same": False,
    }
    assert changes["wine"]["same"] is True
    assert changes["extra"]["a"] is None


def test_metrics_side_by_side_with_deltas_without_system_metrics() -> None:
    a = {"acc": summary("acc", 0.9, 0.5, 0.95), "system/cpu": summary("system/cpu", 1, 1, 1)}
    b = {"acc": summary("acc", 0.8, 0.5, 0.85), "loss": summary("loss", 0.3, 0.3, 0.7)}
    rows = [m.to_dict() for m in diff_metrics(a, b, include_system=False)]
    assert [r["key"] for r in rows] == ["acc", "loss"]
    assert rows[0]["a"] == {"last": 0.9, "min": 0.5, "max": 0.95, "count": 6}
    assert rows[0]["delta"]["last"] == pytest.approx(-0.1)
    assert rows[0]["delta"]["min"] == 0.0
    assert rows[1]["a"] is None
    assert rows[1]["delta"] == {"last": None, "min": None, "max": None}
    keys = [m.key for m in diff_metrics(a, b, include_system=True)]
    assert keys == ["acc", "loss", "system/cpu"]


# -- diff_runs -----------------------------------------------------------------------------------
@pytest.fixture
def source() -> MemorySource:
    src = MemorySource()
    src.runs["a"] = make_run(
        "a", params={"lr": 0.1}, metrics={"acc": summary("acc", 0.9, 0.5, 0.9)}
    )
    src.runs["b"] = make_run(
        "b", params={"lr": 0.2}, metrics={"acc": summary("acc", 0.8, 0.4, 0.8)}
    )
    src.envs["a"] = env_record()
    src.envs["b"] = env_record(code__git__dirty=True)
    src.patches["b"] = (
        "diff --git a/fit.py b/fit.py\n--- a/fit.py\n+++ b/fit.py\n@@ -1 +1 @@\n-x\n+y\n"
    )
    src.inputs["a"] = [RunInput("dataset", "iris", "1", digest="d1")]
    src.inputs["b"] = [RunInput("dataset", "iris", "2", digest="d2")]
    return src


def test_diff_runs_fills_every_section(source: MemorySource) -> None:
    diff = diff_runs(source, "a", "b", search_repos=False)
    data = diff.to_dict()
    assert set(data) == {"a", "b", "notes", *SECTIONS}
    assert data["a"]["id"] == "a"
    assert data["params"]["changed"] == {"lr": {"a": 0.1, "b": 0.2}}
    assert data["datasets"][0]["b"] == {"version": "2", "digest": "d2"}
    assert data["metrics"][0]["delta"]["min"] == pytest.approx(-0.1)
    code = data["code"]
    assert code["method"] == "patches"  # same commit, no repository looked up
    assert "++y" in code["patch"]
    assert code["b"]["dirty"] is True
    assert any("repository lookup is off" in note for note in code["notes"])


def test_identical_code_needs_no_repository(source: MemorySource) -> None:
    source.envs["b"] = env_record()
    source.patches.pop("b")
    code = diff_runs(source, "a", "b", sections=["code"]).to_dict()["code"]
    assert code["method"] == "identical"
    assert code["identical"] is True
    assert code["patch"] == ""


def test_sections_can_be_chosen(source: MemorySource) -> None:
    data = diff_runs(source, "a", "b", sections=["metrics", "params"]).to_dict()
    assert set(data) == {"a", "b", "notes", "params", "metrics"}
    with pytest.raises(InvalidArgument, match="unknown diff section 'gpus'") as info:
        diff_runs(source, "a", "b", sections=["gpus"])
    assert "code, params" in (info.value.hint or "")


def test_runs_without_an_environment_record_are_noted(source: MemorySource) -> None:
    source.envs.pop("a")
    data = diff_runs(source, "a", "b", search_repos=False).to_dict()
    assert data["code"]["method"] == "none"
    assert data["packages"]["recorded"] is False
    assert any("run a has no environment record" in n for n in data["notes"])


def test_unknown_run_is_not_found(source: MemorySource) -> None:
    with pytest.raises(NotFound, match="run nope"):
        diff_runs(source, "a", "nope")


# -- what a reproduction reads from the record ---------------------------------------------------
def test_gpu_check() -> None:
    h100 = {"gpus": [{"name": "NVIDIA H100"}]}
    a100 = {"gpus": [{"name": "NVIDIA A100"}]}
    on_gpu = env_record(accelerators=h100)
    same = {"recorded": ["NVIDIA H100"], "current": ["NVIDIA H100"], "same": True}
    assert gpu_check(on_gpu, h100) == (same, None)
    record, problem = gpu_check(on_gpu, a100)
    assert record["same"] is False
    assert problem == "the run used NVIDIA H100; this machine has NVIDIA A100"
    assert gpu_check(on_gpu, {"gpus": []})[1] == "the run used NVIDIA H100; this machine has no GPU"
    assert gpu_check(env_record(), a100)[1] is None  # a CPU run does not need a GPU


def test_dataset_pins_from_dataset_inputs() -> None:
    inputs = [
        RunInput("dataset", "iris", "3"),
        RunInput("dataset", "wine", "v12"),
        RunInput("dataset", "odd", "latest"),
        RunInput("model", "base", "5"),
        RunInput("dataset", "preds", "1", direction="output"),
    ]
    pins, notes = dataset_pins(inputs)
    assert pins == {"iris": 3, "wine": 12}
    assert notes == ["dataset odd version 'latest' cannot be pinned"]


def test_determinism_variables() -> None:
    env = env_record(
        frameworks__determinism={"env": {"PYTHONHASHSEED": "0", "OMP_NUM_THREADS": "1"}}
    )
    assert determinism_env(env) == {"PYTHONHASHSEED": "0", "OMP_NUM_THREADS": "1"}
    seeded = env_record()
    seeded["seeds"] = {"seed": 7, "env": {"PYTHONHASHSEED": "7"}}
    assert determinism_env(seeded) == {"PYTHONHASHSEED": "7"}
    assert determinism_env(env_record()) == {}


def test_command_and_interpreter() -> None:
    assert recorded_command(env_record(), "r1") == ["python", "fit.py", "--lr", "0.1"]
    with pytest.raises(InvalidArgument, match="run r1 recorded no command"):
        recorded_command(env_record(command=None), "r1")
    python = Path("/venv/bin/python")
    assert with_python(["python3.11", "-m", "pkg"], python) == ["/venv/bin/python", "-m", "pkg"]
    assert with_python(["/usr/bin/python3", "x.py"], python)[0] == "/venv/bin/python"
    assert with_python(["torchrun", "x.py"], python) == ["torchrun", "x.py"]
    assert [is_python(p) for p in ("python", "python3.12", "pythonista")] == [True, True, False]


def test_child_environment() -> None:
    env = child_env(
        {"PATH": "/usr/bin", "PYTHONHOME": "/x", "HOME": "/root"},
        Path("/venv/bin"),
        {"PYTHONHASHSEED": "7"},
    )
    assert env["PATH"].split(":") == ["/venv/bin", "/usr/bin"]
    assert "PYTHONHOME" not in env
    assert env["PYTHONHASHSEED"] == "7"
    assert env["HOME"] == "/root"


def test_requirement_lines(tmp_path: Path) -> None:
    local = tmp_path / "libs" / "helper"
    local.mkdir(parents=True)
    env = env_record()
    env["packages"] = {
        "distributions": {
            "numpy": "2.1.0",
            "shipyard": "0.1.0",
            "mypkg": "0.3.0",
            "helper": "1.0",
            "gitdep": "0.9",
            "lost": "2.0",
        },
        "direct_urls": {
            "shipyard": {"url": "file:///src/shipyard", "editable": True},
            "mypkg": {"url": "file:///src/proj/pkg", "editable": True},
            "helper": {"url": local.as_uri()},
            "gitdep": {"url": "https://example.com/g.git", "vcs": "git", "commit": "abc123"},
            "lost": {"url": "file:///nowhere/lost"},
        },
    }
    lines, missing = requirement_lines(env, Path("/work/code"))
    assert lines == [
        "gitdep @ git+https://example.com/g.git@abc123",
        str(local),
        "-e /work/code/pkg",  # inside the recorded repository: from the rebuilt checkout
        "numpy==2.1.0",
    ]
    assert missing == ["lost==2.0 (installed from file:///nowhere/lost)"]
