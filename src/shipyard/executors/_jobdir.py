"""The on-disk record of one local job, shared by :class:`LocalExecutor` and its supervisor.

``<state_dir>/<job id>/`` holds:

* ``spec.json`` - the job spec and the executor's settings (written before the supervisor starts);
* ``supervisor.json`` - the supervisor's pid and start time (to tell it from a recycled pid);
* ``running.json`` - once the command started: start time, rank pids, CPU pins, notes;
* ``output.log`` - the command's output; ``supervisor.log`` - the supervisor's own errors;
* ``cancel`` - present once a cancel was asked for;
* ``status.json`` - the verdict, written once and atomically when the job ended.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
from collections import Counter
from pathlib import Path
from typing import Any

import psutil

SPEC = "spec.json"
SUPERVISOR = "supervisor.json"
RUNNING = "running.json"
STATUS = "status.json"
OUTPUT = "output.log"
SUPERVISOR_LOG = "supervisor.log"
CANCEL = "cancel"


class JobDir:
    """One job's folder (see the module docstring for its files)."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def file(self, name: str) -> Path:
        """The path of one of the job's files."""
        return self.path / name

    def read(self, name: str) -> dict[str, Any] | None:
        """A JSON file's content, or ``None`` while it does not exist (or is unreadable)."""
        try:
            data = json.loads(self.file(name).read_text(encoding="utf-8"))
        except (FileNotFoundError, json.JSONDecodeError, UnicodeDecodeError):
            return None
        return data if isinstance(data, dict) else None

    def write(self, name: str, data: dict[str, Any]) -> None:
        """Write a JSON file atomically (readers see the old or the new content, never half)."""
        tmp = self._temp(data)
        os.replace(tmp, self.file(name))

    def create(self, name: str, data: dict[str, Any]) -> bool:
        """Write a JSON file atomically unless it exists; False when another writer was first."""
        tmp = self._temp(data)
        try:
            os.link(tmp, self.file(name))
        except FileExistsError:
            return False
        finally:
            tmp.unlink()
        return True

    def _temp(self, data: dict[str, Any]) -> Path:
        tmp = self.path / f".tmp-{secrets.token_hex(6)}"
        with tmp.open("w", encoding="utf-8") as fh:
            json.dump(data, fh)
            fh.flush()
            os.fsync(fh.fileno())
        return tmp

    def supervisor_alive(self) -> bool:
        """Whether the recorded supervisor process still runs (a recycled pid does not count)."""
        record = self.read(SUPERVISOR)
        if record is None:
            return False
        return process_matches(int(record["pid"]), float(record["create_time"]))

    def is_live(self) -> bool:
        """Whether the job has no verdict yet and its supervisor runs."""
        return not self.file(STATUS).exists() and self.supervisor_alive()


def process_matches(pid: int, create_time: float) -> bool:
    """Whether ``pid`` is alive (not a zombie) and is the process created at ``create_time``."""
    try:
        proc = psutil.Process(pid)
        if proc.status() == psutil.STATUS_ZOMBIE:
            return False
        return abs(proc.create_time() - create_time) < 0.01
    except psutil.Error:
        return False


def pinned_cpus(state_dir: Path, exclude: Path) -> Counter[int]:
    """How many live local jobs under ``state_dir`` (other than ``exclude``) pin each CPU."""
    busy: Counter[int] = Counter()
    with contextlib.suppress(OSError):
        for path in state_dir.iterdir():
            job = JobDir(path)
            running = job.read(RUNNING)
            if path == exclude or running is None or not job.is_live():
                continue
            for cpus in running.get("cpu_sets") or []:
                busy.update(int(cpu) for cpu in cpus or [])
    return busy
