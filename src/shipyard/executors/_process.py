"""Process control shared by the local supervisor and the Ray entrypoint (POSIX).

Every command runs in its own session (so its process group holds its whole tree, unless a
descendant starts yet another session), and is stopped with ``SIGTERM`` to the group and to every
descendant, then ``SIGKILL`` after a grace period.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import resource
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable, Sequence
from typing import IO

import psutil

from shipyard.executors.base import EXIT_NOT_EXECUTABLE, EXIT_NOT_FOUND

_PR_SET_CHILD_SUBREAPER = 36


class StartFailed(Exception):
    """The command could not be started; ``exit_code`` follows the shell (127, 126)."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def shell_exit_code(returncode: int) -> int:
    """A Popen return code as a shell reports it: ``128 + N`` for a process killed by signal N."""
    return 128 - returncode if returncode < 0 else returncode


def describe_exit(code: int) -> str:
    """Human words for an exit code, naming the signal for ``128 + N``."""
    if code > 128:
        with contextlib.suppress(ValueError):
            return f"was killed by {signal.Signals(code - 128).name} (exit code {code})"
    return f"exited with code {code}"


def spawn(
    command: Sequence[str],
    *,
    cwd: str | None,
    env: dict[str, str],
    stdout: int | IO[bytes],
    memory_bytes: int | None = None,
    cpu_set: Iterable[int] | None = None,
) -> subprocess.Popen[bytes]:
    """Start ``command`` in a new session with stderr merged into ``stdout``.

    ``memory_bytes`` becomes ``RLIMIT_AS`` and ``cpu_set`` the CPU affinity, both applied in the
    child before ``exec`` so every thread and descendant inherits them. Raises
    :class:`StartFailed` when the program cannot be found or executed.
    """
    setup = _child_setup(memory_bytes, None if cpu_set is None else set(cpu_set))
    try:
        return subprocess.Popen(
            list(command),
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=stdout,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            close_fds=True,
            preexec_fn=setup,  # callers spawn before they start threads
        )
    except FileNotFoundError as exc:
        raise StartFailed(f"cannot start {command[0]!r}: {exc.strerror}", EXIT_NOT_FOUND) from exc
    except PermissionError as exc:
        code = EXIT_NOT_EXECUTABLE
        raise StartFailed(f"cannot start {command[0]!r}: {exc.strerror}", code) from exc
    except NotADirectoryError as exc:
        raise StartFailed(f"cannot start {command[0]!r}: {exc}", EXIT_NOT_FOUND) from exc


def _child_setup(memory_bytes: int | None, cpu_set: set[int] | None) -> Callable[[], None] | None:
    if memory_bytes is None and cpu_set is None:
        return None

    def setup() -> None:
        if memory_bytes is not None:
            resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
        if cpu_set is not None:
            os.sched_setaffinity(0, cpu_set)

    return setup


def descendants(pid: int) -> list[psutil.Process]:
    """The live descendants of ``pid`` (empty when it is gone)."""
    try:
        return list(psutil.Process(pid).children(recursive=True))
    except psutil.Error:
        return []


def terminate(groups: Iterable[int], extra: Iterable[psutil.Process], grace_s: float) -> None:
    """Stop process groups ``groups`` and processes ``extra``: SIGTERM, then SIGKILL after
    ``grace_s`` seconds for whatever is still alive. Group leaders' descendants are included."""
    group_ids = list(groups)
    procs = {p.pid: p for p in extra}
    for pgid in group_ids:
        for proc in [_process(pgid), *descendants(pgid)]:
            if proc is not None:
                procs.setdefault(proc.pid, proc)
    _signal_all(group_ids, procs.values(), signal.SIGTERM)
    _, alive = psutil.wait_procs(list(procs.values()), timeout=grace_s)
    _signal_all(group_ids, alive, signal.SIGKILL)
    psutil.wait_procs(alive, timeout=grace_s)


def _process(pid: int) -> psutil.Process | None:
    try:
        return psutil.Process(pid)
    except psutil.Error:
        return None


def _signal_all(groups: Iterable[int], procs: Iterable[psutil.Process], sig: int) -> None:
    for pgid in groups:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, sig)
    for proc in procs:
        with contextlib.suppress(psutil.Error):
            proc.send_signal(sig)


def become_subreaper() -> bool:
    """Adopt orphaned descendants (Linux ``PR_SET_CHILD_SUBREAPER``), so a grandchild whose
    parent died is still found, stopped and reaped by this process. False where unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def reap_adopted(keep: set[int]) -> None:
    """Reap exited children other than ``keep`` (orphans adopted as a subreaper)."""
    try:
        children = psutil.Process().children()
    except psutil.Error:
        return
    for child in children:
        if child.pid not in keep:
            with contextlib.suppress(ChildProcessError, OSError):
                os.waitpid(child.pid, os.WNOHANG)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that is free on ``host`` right now."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def pump_lines(
    source: IO[bytes], write: Callable[[bytes], None], prefix: bytes
) -> threading.Thread:
    """Copy ``source`` line by line to ``write`` with ``prefix`` in a daemon thread (started)."""

    def run() -> None:
        with source:
            for line in iter(source.readline, b""):
                write(prefix + (line if line.endswith(b"\n") else line + b"\n"))

    thread = threading.Thread(target=run, name="shipyard-output", daemon=True)
    thread.start()
    return thread


def install_stop_handler(on_stop: Callable[[int], None]) -> None:
    """Call ``on_stop(signum)`` on SIGTERM, SIGINT and SIGHUP (the ways a job is told to stop)."""
    for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, lambda signum, _frame: on_stop(signum))
