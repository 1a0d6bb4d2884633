"""``python -m shipyard.jobs._tether --pid P --started T -- COMMAND...``.

Runs COMMAND and stops it (its whole process tree) when the process ``P`` that started at ``T``
(an agent) is gone: a job whose agent died is retried elsewhere, so it must not keep running
here. Signals reach COMMAND (SIGTERM, SIGINT are forwarded) and the tether exits with COMMAND's
status (``128 + N`` when signal ``N`` ended it; 127/126 when it could not be started).
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import subprocess
import sys
from collections.abc import Sequence
from types import FrameType

import psutil

CHECK_S = 1.0
GRACE_S = 5.0
EXIT_NOT_FOUND = 127
EXIT_NOT_EXECUTABLE = 126


def alive(pid: int, started: float) -> bool:
    """Whether process ``pid`` still runs and is the one that started at ``started``."""
    try:
        process = psutil.Process(pid)
        same = abs(process.create_time() - started) < 0.5
        return same and process.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def stop_tree(child: subprocess.Popen[bytes], grace_s: float = GRACE_S) -> None:
    """SIGTERM ``child`` and its descendants, SIGKILL what is left after ``grace_s``."""
    try:
        tree = [psutil.Process(child.pid), *psutil.Process(child.pid).children(recursive=True)]
    except psutil.Error:
        return
    for process in tree:
        with contextlib.suppress(psutil.Error):
            process.terminate()
    _, left = psutil.wait_procs(tree, timeout=grace_s)
    for process in left:
        with contextlib.suppress(psutil.Error):
            process.kill()


def shell_status(returncode: int) -> int:
    """A return code as shells report it (``128 + N`` for signal ``N``)."""
    return 128 - returncode if returncode < 0 else returncode


def run(command: Sequence[str], pid: int, started: float) -> int:
    """Run ``command`` tethered to process ``pid``; return its shell exit status."""
    try:
        child = subprocess.Popen(list(command))
    except FileNotFoundError:
        print(f"shipyard: command not found: {command[0]}", file=sys.stderr)
        return EXIT_NOT_FOUND
    except PermissionError:
        print(f"shipyard: command not executable: {command[0]}", file=sys.stderr)
        return EXIT_NOT_EXECUTABLE

    def forward(signum: int, frame: FrameType | None) -> None:
        with contextlib.suppress(ProcessLookupError):
            child.send_signal(signum)

    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, forward)
    while True:
        try:
            return shell_status(child.wait(timeout=CHECK_S))
        except subprocess.TimeoutExpired:
            if not alive(pid, started):
                print(f"shipyard: the agent (pid {pid}) is gone; stopping the job", file=sys.stderr)
                stop_tree(child)


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and run the tethered command."""
    parser = argparse.ArgumentParser(prog="python -m shipyard.jobs._tether")
    parser.add_argument("--pid", type=int, required=True, help="the process to follow")
    parser.add_argument("--started", type=float, required=True, help="its start time (epoch s)")
    parser.add_argument("command", nargs=argparse.REMAINDER)
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("no command given after --")
    return run(command, args.pid, args.started)


if __name__ == "__main__":
    sys.exit(main())
