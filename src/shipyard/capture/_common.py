"""Helpers shared by the probes: error collection, quiet file reads and bounded subprocesses."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Collection, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from shipyard.errors import ShipyardError, Unavailable

#: A JSON-able mapping, as every probe returns.
Record = dict[str, Any]

_MAX_STDERR = 2000


class ProbeErrors:
    """What went wrong inside one probe, collected so that the probe can carry on.

    Each item is ``{"probe", "step", "error"}``; ``guard`` swallows any :class:`Exception` raised
    inside its block and records it (``KeyboardInterrupt`` and friends still propagate).

    Example::

        errors = ProbeErrors("system")
        with errors.guard("cpu model"):
            model = read_cpu_model()
    """

    def __init__(self, probe: str) -> None:
        self.probe = probe
        self.items: list[dict[str, str]] = []

    def add(self, step: str, error: BaseException | str) -> None:
        """Record one failure of ``step``."""
        text = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
        self.items.append({"probe": self.probe, "step": step, "error": text})

    def guard(self, step: str) -> _Guard:
        """A context manager that records (and swallows) an exception raised by ``step``."""
        return _Guard(self, step)


class _Guard:
    def __init__(self, errors: ProbeErrors, step: str) -> None:
        self._errors = errors
        self._step = step

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> bool:
        if exc is None or not isinstance(exc, Exception):
            return False
        self._errors.add(self._step, exc)
        return True


def read_text(path: Path, limit: int = 1 << 20) -> str | None:
    """The text of a small file, or ``None`` when it is absent or unreadable (a normal answer)."""
    try:
        with path.open("rb") as handle:
            return handle.read(limit).decode("utf-8", errors="replace")
    except OSError:
        return None


def environ_or_default(environ: Mapping[str, str] | None) -> Mapping[str, str]:
    """The mapping a probe reads: the given one, or this process's environment."""
    return os.environ if environ is None else environ


def run_command(
    args: Sequence[str],
    *,
    cwd: Path | None = None,
    timeout: float = 10.0,
    env: Mapping[str, str] | None = None,
    stdin: bytes | None = None,
    allowed: Collection[int] = (0,),
) -> bytes:
    """Run a command and return its stdout (exit statuses in ``allowed`` count as success).

    Raises:
        Unavailable: the program is not installed, or it ran past ``timeout`` seconds.
        ShipyardError: it exited with a non-zero status (the message quotes its stderr).
    """
    try:
        done = subprocess.run(
            list(args),
            cwd=cwd,
            input=stdin,
            capture_output=True,
            timeout=timeout,
            env=None if env is None else dict(env),
            check=False,
        )
    except FileNotFoundError as exc:
        raise Unavailable(
            f"{args[0]} is not installed or not on PATH",
            hint=f"install {args[0]} or add it to PATH to capture this information",
        ) from exc
    except subprocess.TimeoutExpired as exc:
        raise Unavailable(f"`{command_text(args)}` ran past {timeout:g}s and was stopped") from exc
    if done.returncode not in allowed:
        raise ShipyardError(
            f"`{command_text(args)}` exited with status {done.returncode}: "
            f"{stderr_text(done.stderr)}"
        )
    return done.stdout


def command_text(args: Sequence[str]) -> str:
    """A short, human rendering of a command line for error messages."""
    shown = [a if len(a) < 60 else a[:57] + "..." for a in args[:6]]
    return " ".join(shown) + (" ..." if len(args) > 6 else "")


def stderr_text(data: bytes) -> str:
    """The (tail of the) stderr of a failed command, as one readable line."""
    text = data.decode("utf-8", errors="replace").strip()
    return " | ".join(text.splitlines())[-_MAX_STDERR:] or "(no error output)"


def strip_credentials(url: str) -> str:
    """A URL without secrets: no user-info for http(s)/ftp(s), no password for other schemes.

    Query strings and fragments of http(s) URLs are dropped too (tokens hide there). SCP-style
    remotes such as ``git@host:org/repo.git`` carry no secret and are returned unchanged.

    Example::

        >>> strip_credentials("https://user:tok@github.com/org/repo.git")
        'https://github.com/org/repo.git'
    """
    if "://" not in url:
        return url
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
        port = parts.port
    except ValueError:
        return "<unparseable url removed>"
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port is None else f"{host}:{port}"
    if parts.scheme.lower() in {"http", "https", "ftp", "ftps"}:
        return urlunsplit((parts.scheme, netloc, parts.path, "", ""))
    if parts.username:
        netloc = f"{parts.username}@{netloc}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
