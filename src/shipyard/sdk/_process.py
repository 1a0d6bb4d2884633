"""The child process of a launched run: its environment, its output pumps, signal forwarding.

The command runs in its own process group, so that a signal the launcher forwards reaches every
process the command started (data loader workers, ``torchrun`` ranks); its output goes through
pipes that two threads copy to the launcher's streams and to a log file.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import FrameType
from typing import IO, BinaryIO

from shipyard.errors import InvalidArgument
from shipyard.settings import Settings

FORWARDED_SIGNALS = (signal.SIGINT, signal.SIGTERM)
_CHUNK = 64 * 1024
_SQLITE = "sqlite:///"


def child_environment(
    settings: Settings, run_id: str, base: Mapping[str, str], cwd: Path
) -> dict[str, str]:
    """``base`` plus every setting as a ``SHIPYARD_*`` variable and ``SHIPYARD_RUN_ID=run_id``.

    Relative paths (``home``, a folder ``artifacts``, a ``sqlite:///`` file) are made absolute
    against ``cwd`` (the launcher's working directory), since the child may run elsewhere.
    ``PYTHONUNBUFFERED=1`` is set unless given, so that Python output streams as it is printed.
    """
    env = dict(base)
    values = settings.model_dump()
    values.update(run_id=run_id, home=_absolute(Path(settings.home), cwd))
    if settings.tracking_uri and settings.tracking_uri.startswith(_SQLITE):
        values["tracking_uri"] = _absolute_sqlite(settings.tracking_uri, cwd)
    if settings.artifacts and "://" not in settings.artifacts:
        values["artifacts"] = str(_absolute(Path(settings.artifacts), cwd))
    for name, value in values.items():
        variable = f"SHIPYARD_{name.upper()}"
        if value is None:
            env.pop(variable, None)
        else:
            env[variable] = _env_text(value)
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def _absolute(path: Path, cwd: Path) -> Path:
    return path if path.is_absolute() else cwd / path


def _absolute_sqlite(uri: str, cwd: Path) -> str:
    path, sep, query = uri.removeprefix(_SQLITE).partition("?")
    if not path or path.startswith("/") or path == ":memory:":
        return uri
    return f"{_SQLITE}{(cwd / path).as_posix()}{sep}{query}"


def _env_text(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float | Path):
        return str(value)
    return json.dumps(value)


def checked_command(command: Sequence[str]) -> list[str]:
    """The command as a list of strings; raises ``InvalidArgument`` when it is empty."""
    if isinstance(command, str | bytes):
        raise InvalidArgument(
            f"the command must be a list of arguments, got the string {command!r}",
            hint="split it: ['python', 'train.py'] (shlex.split does it for a shell line)",
        )
    args = [os.fspath(arg) for arg in command]
    if not args or not args[0]:
        raise InvalidArgument(
            "no command to run", hint="put the command after `--`: shipyard run -- python train.py"
        )
    return args


def start_child(
    command: Sequence[str], cwd: Path, env: Mapping[str, str]
) -> subprocess.Popen[bytes]:
    """Start ``command`` in a new process group with piped stdout and stderr.

    The child reads the launcher's stdin unless that is a terminal: a process outside the
    terminal's foreground group that reads it would be stopped (``SIGTTIN``).
    """
    return subprocess.Popen(
        list(command),
        cwd=cwd,
        env=dict(env),
        stdin=subprocess.DEVNULL if _stdin_is_terminal() else None,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        process_group=0,
    )


def _stdin_is_terminal() -> bool:
    try:
        return sys.stdin is not None and sys.stdin.isatty()
    except (ValueError, OSError):  # closed or detached
        return False


def signal_group(pid: int, signum: int) -> None:
    """Send ``signum`` to the process group led by ``pid`` (gone already: nothing to do)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signum)


class SignalForwarder:
    """While installed, SIGINT and SIGTERM received here go to the child's process group.

    Installs only in the main thread (Python delivers signals there); elsewhere it does nothing,
    and whoever runs the launcher forwards signals itself.
    """

    def __init__(self, pid: int) -> None:
        self._pid = pid
        self.received: int | None = None
        self._previous: dict[int, object] = {}

    def __enter__(self) -> SignalForwarder:
        if threading.current_thread() is threading.main_thread():
            for signum in FORWARDED_SIGNALS:
                self._previous[signum] = signal.signal(signum, self._forward)
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)  # type: ignore[arg-type]  # what signal() returned
        self._previous.clear()

    def _forward(self, signum: int, frame: FrameType | None) -> None:
        self.received = signum
        signal_group(self._pid, signum)


class OutputPump:
    """Copies one pipe, chunk by chunk as it arrives, to a stream and to a shared log file."""

    def __init__(
        self, pipe: IO[bytes], echo: BinaryIO | None, log: BinaryIO, lock: threading.Lock
    ) -> None:
        self._pipe, self._echo, self._log, self._lock = pipe, echo, log, lock
        self._thread = threading.Thread(target=self._copy, name="shipyard-output", daemon=True)
        self._thread.start()

    def join(self, timeout: float) -> bool:
        """Wait until the pipe closed (processes the command left behind may keep it open)."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _copy(self) -> None:
        fd = self._pipe.fileno()
        try:
            while chunk := os.read(fd, _CHUNK):
                with self._lock:
                    self._log.write(chunk)
                self._send(chunk)
        finally:
            self._pipe.close()

    def _send(self, chunk: bytes) -> None:
        if self._echo is None:
            return
        try:
            self._echo.write(chunk)
            self._echo.flush()
        except (OSError, ValueError):  # our own stdout went away: keep logging, stop echoing
            self._echo = None


def binary_stream(stream: object) -> BinaryIO | None:
    """The byte stream behind ``sys.stdout`` / ``sys.stderr`` (``None`` when there is none)."""
    buffer = getattr(stream, "buffer", None)
    return buffer if buffer is not None and hasattr(buffer, "write") else None


def exit_code(returncode: int) -> int:
    """The status a shell reports: the exit code, or 128 + N for a process killed by signal N."""
    return 128 - returncode if returncode < 0 else returncode


def signal_name(signum: int) -> str:
    """``SIGINT`` for 2, and so on (the number when the platform does not name it)."""
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def output_tail(path: Path, max_bytes: int = 1500) -> str:
    """The last lines of a log file (at most ``max_bytes``), decoded leniently."""
    try:
        with path.open("rb") as handle:
            size = handle.seek(0, os.SEEK_END)
            handle.seek(max(0, size - max_bytes))
            data = handle.read()
    except OSError:
        return ""
    text = data.decode("utf-8", errors="replace")
    if size > max_bytes and "\n" in text:
        text = text.split("\n", 1)[1]  # drop the partial first line
    return text.rstrip()
