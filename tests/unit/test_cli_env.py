"""``shipyard runs env`` rendering: every section of a record, and records with parts missing."""

from __future__ import annotations

from typing import Any

from rich.console import Console

from shipyard.cli.env import render_environment

RECORD: dict[str, Any] = {
    "schema": 1,
    "captured_at": "2026-01-02T03:04:05.000+00:00",
    "launcher": "cli",
    "command": ["python", "train.py", "--name", "a b"],
    "duration_ms": 42.5,
    "code": {
        "cwd": "/repo",
        "entry_point": {"argv": ["train.py"], "script": "/repo/train.py", "module": None},
        "git": {
            "commit": "c" * 40,
            "branch": "main",
            "dirty": True,
            "remote_url": "https://example.com/team/repo.git",
            "patch_files": ["train.py", "notes.md"],
            "patch_bytes": 2048,
            "patch_artifact": ".shipyard/code.patch",
            "skipped": [{"path": "weights.bin", "reason": "binary", "size": 9}],
        },
        "notebook": None,
    },
    "python": {"version": "3.11.7", "implementation": "CPython", "executable": "/venv/bin/python"},
    "packages": {"count": 2, "sha256": "f" * 64, "distributions": {"numpy": "2.0", "torch": "2.5"}},
    "system": {
        "os": {"system": "Linux", "distribution": "Debian 12", "kernel": "Linux 6.1"},
        "hostname": "gpu-box",
        "cpu": {"model": "Xeon", "logical_cores": 16},
        "memory_total_bytes": 64 << 30,
    },
    "container": {"in_container": True, "runtime": "docker", "image": "team/train:1.2"},
    "accelerators": {
        "gpus": [{"index": 0, "name": "NVIDIA H100", "memory_total_bytes": 80 << 30}],
        "driver_version": "550.54",
        "cuda": "12.4",
        "cudnn": "9.1",
    },
    "frameworks": {"versions": {"torch": "2.5"}, "determinism": {"env": {"PYTHONHASHSEED": "7"}}},
    "seeds": {"seed": 7, "deterministic": False, "seeded": ["random", "numpy"]},
    "errors": [{"probe": "container", "step": "cgroup", "error": "permission denied"}],
}


def _text(record: dict[str, Any], *, packages: bool = False) -> str:
    console = Console(width=160, record=True, color_system=None)
    console.print(render_environment(record, packages=packages))
    return console.export_text()


def test_every_section_is_shown() -> None:
    text = _text(RECORD)
    for expected in (
        "python train.py --name 'a b'",
        "c" * 40,
        "yes: 2 files in the patch (2.0 KiB)",
        "weights.bin (binary)",
        "CPython 3.11.7",
        "Xeon (16 cores)",
        "64.0 GiB",
        "team/train:1.2",
        "NVIDIA H100 (80.0 GiB)",
        "550.54",
        "PYTHONHASHSEED=7",
        "f" * 64,
        "random, numpy",
        "permission denied",
    ):
        assert expected in text, expected
    assert "installed packages" not in text


def test_packages_are_listed_on_request() -> None:
    rows = [line.split() for line in _text(RECORD, packages=True).splitlines()]
    assert ["numpy", "2.0"] in rows
    assert ["torch", "2.5"] in rows


def test_a_sparse_record_still_renders() -> None:
    text = _text({"code": {"cwd": "/tmp", "git": None}, "accelerators": {"gpus": []}})
    assert "not a git repository" in text
    assert "none" in text
    assert _text({}).strip() == ""
