"""The Ray Jobs entrypoint of every Shipyard job on Ray:
``python -m shipyard.executors._ray_workers [options] --command JSON``.

The command travels as a JSON list so that the entrypoint is one line whatever the arguments
hold (Ray writes it into the job's log, where ``_ray_logs`` recognises and drops it).

One worker: the command runs here, as a child of the Ray job's driver process. N workers: a
placement group of N bundles, one :class:`~shipyard.executors._ray_rank.RankProcess` actor per
bundle, each running the command with the rendezvous environment (``MASTER_ADDR`` is rank 0's
node IP, ``MASTER_PORT`` free there); output comes back to this driver prefixed ``[rank i] ``.
Either way this process enforces the timeout and stops the ranks when Ray stops the job
(SIGTERM), so ``RayExecutor`` cancels, follows and inspects everything through Ray Jobs.

It talks to :class:`~shipyard.executors.ray.RayExecutor` through its output: it prints
:data:`BEGIN` before the command starts (earlier lines are Ray's own) and, when it ends the job
itself, :data:`MARK` and the reason as its last line; a timeout exits with :data:`EXIT_TIMED_OUT`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass

from shipyard.executors._process import (
    StartFailed,
    describe_exit,
    free_port,
    install_stop_handler,
    shell_exit_code,
    spawn,
    terminate,
)
from shipyard.executors.base import rendezvous_env

MARK = "::shipyard:: "
BEGIN = MARK + "begin"
TIMED_OUT = MARK + "timed out after "
EXIT_TIMED_OUT = 124
EXIT_STOPPED = 143
POLL_S = 0.05


@dataclass
class Options:
    """The entrypoint's arguments (see :func:`entrypoint_args`)."""

    command: list[str]
    cwd: str | None = None
    timeout_s: float | None = None
    workers: int = 1
    cpus: float | None = None
    gpus: float | None = None
    memory_bytes: int | None = None
    strategy: str = "PACK"
    grace_s: float = 2.0


def entrypoint_args(options: Options) -> list[str]:
    """The arguments after ``-m shipyard.executors._ray_workers`` that reproduce ``options``."""
    args: list[str] = ["--workers", str(options.workers), "--strategy", options.strategy]
    args += ["--grace-s", f"{options.grace_s:g}"]
    for flag, value in (
        ("--cwd", options.cwd),
        ("--timeout-s", options.timeout_s),
        ("--cpus", options.cpus),
        ("--gpus", options.gpus),
        ("--memory-bytes", options.memory_bytes),
    ):
        if value is not None:
            args += [flag, f"{value:g}" if isinstance(value, float) else str(value)]
    return [*args, "--command", json.dumps(options.command)]


def parse_args(argv: Sequence[str]) -> Options:
    """Read the arguments written by :func:`entrypoint_args`."""
    parser = argparse.ArgumentParser(prog="python -m shipyard.executors._ray_workers")
    parser.add_argument("--cwd")
    parser.add_argument("--timeout-s", type=float)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--cpus", type=float)
    parser.add_argument("--gpus", type=float)
    parser.add_argument("--memory-bytes", type=int)
    parser.add_argument("--strategy", default="PACK")
    parser.add_argument("--grace-s", type=float, default=2.0)
    parser.add_argument("--command", required=True, help="the command as a JSON list")
    ns = parser.parse_args(list(argv))
    command = json.loads(ns.command)
    if not isinstance(command, list) or not command or not all(isinstance(a, str) for a in command):
        parser.error("--command must be a non-empty JSON list of strings")
    fields = {k: v for k, v in vars(ns).items() if k != "command"}
    return Options(command=command, **fields)


class Stop:
    """Set by SIGTERM/SIGINT/SIGHUP (how Ray stops a job)."""

    def __init__(self) -> None:
        self.signum: int | None = None
        install_stop_handler(self.set)

    def set(self, signum: int) -> None:
        """Record the signal."""
        self.signum = signum


def say(line: str) -> None:
    """Print one line of the driver's own to the job's log, unbuffered."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def deadline_of(options: Options) -> float | None:
    """The monotonic time at which the job times out."""
    return None if options.timeout_s is None else time.monotonic() + options.timeout_s


def run_single(options: Options, stop: Stop) -> int:
    """Run the command as this process's child; return the driver's exit code."""
    env = {**os.environ, **rendezvous_env(addr="127.0.0.1", port=free_port(), world_size=1, rank=0)}
    deadline = deadline_of(options)
    try:
        proc = spawn(options.command, cwd=options.cwd, env=env, stdout=sys.stdout.fileno())
    except StartFailed as exc:
        say(f"shipyard: {exc}")
        say(f"{MARK}{exc}")
        return exc.exit_code
    code = None
    while code is None and stop.signum is None and not _past(deadline):
        time.sleep(POLL_S)
        code = proc.poll()
    terminate([proc.pid], [], options.grace_s)
    proc.wait()
    if code is None:
        return _finish(options, stop, None, "")
    exit_code = shell_exit_code(code)
    return _finish(options, stop, exit_code, f"the command {describe_exit(exit_code)}")


def _past(deadline: float | None) -> bool:
    return deadline is not None and time.monotonic() >= deadline


def _finish(options: Options, stop: Stop, code: int | None, why: str) -> int:
    """Report why the job ended (for RayExecutor) and return the exit code to use."""
    if code is not None:
        if code != 0:
            say(MARK + why)
        return code
    if stop.signum is not None:
        return EXIT_STOPPED
    say(f"{TIMED_OUT}{options.timeout_s:g}s")
    return EXIT_TIMED_OUT


def main(argv: Sequence[str]) -> int:
    """Entry point; returns the process exit code."""
    options = parse_args(argv)
    stop = Stop()
    say(BEGIN)
    if options.workers == 1:
        return run_single(options, stop)
    from shipyard.executors._ray_group import run_group

    code, why = run_group(options, stop, deadline_of(options))
    return _finish(options, stop, code, why)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
