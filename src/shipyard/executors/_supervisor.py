"""The supervisor of one local job: ``python -m shipyard.executors._supervisor JOB_DIR``.

It detaches (forks; the parent records the child's pid and exits, so the submitter has nothing
to reap and the job survives it), starts one process per rank in its own session, writes their
output to ``output.log``, enforces the timeout and limits, and writes the verdict to
``status.json`` when the job ends. SIGTERM (how ``cancel`` asks) stops the whole tree.
"""

from __future__ import annotations

import math
import os
import subprocess
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import psutil

from shipyard.executors import _jobdir as files
from shipyard.executors._jobdir import JobDir
from shipyard.executors._process import (
    StartFailed,
    become_subreaper,
    descendants,
    describe_exit,
    free_port,
    install_stop_handler,
    pump_lines,
    reap_adopted,
    shell_exit_code,
    spawn,
    terminate,
)
from shipyard.executors.base import JobSpec, JobState, rendezvous_env

POLL_S = 0.05


@dataclass
class Plan:
    """How the ranks start: CPU pins, memory limit and what could not be enforced."""

    cpu_sets: list[list[int]] | None = None
    memory_bytes: int | None = None
    notes: list[str] = field(default_factory=list)


@dataclass
class Verdict:
    """How the job ended."""

    state: JobState
    exit_code: int | None
    message: str


def now_ms() -> int:
    """Milliseconds since the epoch."""
    return int(time.time() * 1000)


def plan_limits(spec: JobSpec, job: JobDir) -> Plan:
    """Decide CPU pins and the memory limit for ``spec``, noting what cannot be enforced."""
    plan = Plan()
    if spec.gpus is not None:
        plan.notes.append(
            f"gpus={spec.gpus:g} is not enforced locally: GPUs are neither reserved nor hidden"
        )
    if spec.memory_bytes is not None and spec.gpus is not None:
        plan.notes.append("memory is not limited for GPU jobs (RLIMIT_AS breaks CUDA)")
    elif spec.memory_bytes is not None:
        plan.memory_bytes = spec.memory_bytes
        plan.notes.append("memory is limited per process (RLIMIT_AS, address space)")
    if spec.cpus is not None:
        plan.cpu_sets = _pick_cpus(spec, job, plan.notes)
    return plan


def _pick_cpus(spec: JobSpec, job: JobDir, notes: list[str]) -> list[list[int]] | None:
    assert spec.cpus is not None
    per_rank = math.ceil(spec.cpus)
    allowed = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    if per_rank * spec.workers > len(allowed):
        notes.append(
            f"cpus={spec.cpus:g} x {spec.workers} worker(s) not pinned: "
            f"only {len(allowed)} CPUs are available"
        )
        return None
    if per_rank != spec.cpus:
        notes.append(f"cpus={spec.cpus:g} rounded up to {per_rank} pinned CPUs per worker")
    busy = files.pinned_cpus(job.path.parent, exclude=job.path)
    chosen = sorted(allowed, key=lambda cpu: (busy[cpu], cpu))[: per_rank * spec.workers]
    return [sorted(chosen[i * per_rank : (i + 1) * per_rank]) for i in range(spec.workers)]


class Supervisor:
    """Runs one job to its end (see the module docstring)."""

    def __init__(self, job: JobDir) -> None:
        self.job = job
        config = job.read(files.SPEC)
        if config is None:
            raise SystemExit(f"no readable {files.SPEC} in {job.path}")
        self.spec = JobSpec.from_dict(config["spec"])
        self.grace_s = float(config["grace_s"])
        self.base_env = dict(os.environ)  # the submitter's environment, inherited
        self.stop_signal: int | None = None
        self.procs: list[subprocess.Popen[bytes]] = []
        self.pumps: list[threading.Thread] = []
        self.write_lock = threading.Lock()

    def run(self) -> None:
        """Start the ranks, watch them, stop what is left and record the verdict."""
        install_stop_handler(self._on_stop)
        become_subreaper()
        started_at = now_ms()
        plan = Plan()
        try:
            with self.job.file(files.OUTPUT).open("ab", buffering=0) as output:
                plan = plan_limits(self.spec, self.job)
                verdict = self._start(output, plan, started_at) or self._watch()
        except Exception as exc:  # a broken supervisor must not leave the job's tree running
            traceback.print_exc()  # into supervisor.log
            verdict = Verdict(JobState.LOST, None, f"the job's supervisor failed: {exc!r}")
        finally:
            self._stop_all()
        self._record(verdict, started_at, plan.notes)

    def _on_stop(self, signum: int) -> None:
        self.stop_signal = signum

    def _start(self, output: IO[bytes], plan: Plan, started_at: int) -> Verdict | None:
        if self.stop_signal is not None or self.job.file(files.CANCEL).exists():
            return Verdict(JobState.CANCELLED, None, "cancelled before it started")
        port = free_port()
        try:
            for rank in range(self.spec.workers):
                self.procs.append(self._spawn(rank, port, output, plan))
        except StartFailed as exc:
            output.write(f"shipyard: {exc}\n".encode())
            return Verdict(JobState.FAILED, exc.exit_code, str(exc))
        for rank, proc in enumerate(self.procs):  # threads only now: spawn() forks
            if proc.stdout is not None:
                prefix = f"[rank {rank}] ".encode()
                self.pumps.append(pump_lines(proc.stdout, self._writer(output), prefix))
        self.job.write(
            files.RUNNING,
            {
                "started_at": started_at,
                "pids": [proc.pid for proc in self.procs],
                "master_port": port,
                "cpu_sets": plan.cpu_sets,
                "notes": plan.notes,
            },
        )
        return None

    def _spawn(
        self, rank: int, port: int, output: IO[bytes], plan: Plan
    ) -> subprocess.Popen[bytes]:
        workers = self.spec.workers
        env = {**self.base_env, **self.spec.env}
        env.update(
            rendezvous_env(
                addr="127.0.0.1",
                port=port,
                world_size=workers,
                rank=rank,
                local_rank=rank,
                local_world_size=workers,
            )
        )
        return spawn(
            self.spec.command,
            cwd=self.spec.cwd,
            env=env,
            stdout=output if workers == 1 else subprocess.PIPE,
            memory_bytes=plan.memory_bytes,
            cpu_set=None if plan.cpu_sets is None else plan.cpu_sets[rank],
        )

    def _writer(self, output: IO[bytes]) -> Callable[[bytes], None]:
        def write(data: bytes) -> None:
            with self.write_lock:
                output.write(data)

        return write

    def _watch(self) -> Verdict:
        timeout = self.spec.timeout_s
        deadline = None if timeout is None else time.monotonic() + timeout
        keep = {proc.pid for proc in self.procs}
        while True:
            if self.stop_signal is not None or self.job.file(files.CANCEL).exists():
                return Verdict(JobState.CANCELLED, None, "cancelled")
            if deadline is not None and time.monotonic() >= deadline:
                return Verdict(JobState.TIMED_OUT, None, f"timed out after {timeout:g}s")
            verdict = self._verdict([proc.poll() for proc in self.procs])
            if verdict is not None:
                return verdict
            reap_adopted(keep)
            time.sleep(POLL_S)

    def _verdict(self, codes: list[int | None]) -> Verdict | None:
        for rank, code in enumerate(codes):
            if code is not None and code != 0:
                exit_code = shell_exit_code(code)
                who = "the command" if len(codes) == 1 else f"rank {rank}"
                others = "; stopped the other ranks" if len(codes) > 1 else ""
                return Verdict(
                    JobState.FAILED, exit_code, f"{who} {describe_exit(exit_code)}{others}"
                )
        if all(code == 0 for code in codes):
            return Verdict(JobState.SUCCEEDED, 0, "")
        return None

    def _stop_all(self) -> None:
        """Stop every rank and every leftover descendant (adopted orphans included)."""
        leftovers: list[psutil.Process] = descendants(os.getpid())
        terminate([proc.pid for proc in self.procs], leftovers, self.grace_s)
        for proc in self.procs:
            proc.wait()
        reap_adopted(set())
        for pump in self.pumps:
            pump.join(timeout=self.grace_s)

    def _record(self, verdict: Verdict, started_at: int, notes: list[str]) -> None:
        self.job.create(
            files.STATUS,
            {
                "state": verdict.state.value,
                "exit_code": verdict.exit_code,
                "started_at": started_at,
                "ended_at": now_ms(),
                "message": verdict.message,
                "notes": notes,
            },
        )


def detach(job: JobDir) -> None:
    """Fork; the parent records the child's pid in ``supervisor.json`` and exits."""
    pid = os.fork()
    if pid == 0:
        return
    create_time = psutil.Process(pid).create_time()
    job.write(files.SUPERVISOR, {"pid": pid, "create_time": create_time})
    os._exit(0)


def main(argv: list[str]) -> int:
    """Entry point: ``python -m shipyard.executors._supervisor JOB_DIR``."""
    if len(argv) != 1:
        print("usage: python -m shipyard.executors._supervisor JOB_DIR", file=sys.stderr)
        return 2
    job = JobDir(Path(argv[0]))
    detach(job)
    Supervisor(job).run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
