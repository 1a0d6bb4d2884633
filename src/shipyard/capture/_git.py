"""Git plumbing for the code probe: a quiet git runner, status parsing, a bounded streaming read.

Every command runs with ``GIT_OPTIONAL_LOCKS=0`` (``git status`` never rewrites the user's index
while a run starts) and ``GIT_TERMINAL_PROMPT=0`` (never waits for a password).
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import threading
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from shipyard.capture._common import command_text, run_command, stderr_text
from shipyard.errors import ShipyardError, Unavailable

_ENV = {
    "GIT_OPTIONAL_LOCKS": "0",
    "GIT_TERMINAL_PROMPT": "0",
    "GIT_PAGER": "cat",
    "LC_ALL": "C",
}


@dataclass(frozen=True)
class Change:
    """One path that differs between HEAD and the working tree."""

    path: str
    untracked: bool = False
    head_oid: str | None = None  # the blob in HEAD; None when the path is new
    nested_repo: bool = False


@dataclass
class Status:
    """What ``git status --porcelain=v2 --branch`` says."""

    commit: str | None = None  # None before the first commit
    branch: str | None = None  # None when HEAD is detached
    upstream: str | None = None
    changes: list[Change] = field(default_factory=list)


class Git:
    """Runs ``git`` in one folder with a timeout, never prompting and never taking locks."""

    def __init__(self, cwd: Path, timeout: float) -> None:
        self.cwd = cwd
        self.timeout = timeout

    def env(self, index_file: Path | None = None, **extra: str) -> dict[str, str]:
        """This process's environment plus the quiet-git settings (and a private index)."""
        env = {**os.environ, **_ENV, **extra}
        if index_file is not None:
            env["GIT_INDEX_FILE"] = str(index_file)
        return env

    def run(
        self,
        *args: str,
        stdin: bytes | None = None,
        env: Mapping[str, str] | None = None,
        allowed: Collection[int] = (0,),
    ) -> bytes:
        """Run ``git ARGS`` and return stdout; raises like :func:`run_command`."""
        return run_command(
            ["git", *args],
            cwd=self.cwd,
            timeout=self.timeout,
            env=self.env() if env is None else env,
            stdin=stdin,
            allowed=allowed,
        )

    def stream(self, args: list[str], *, limit: int, env: Mapping[str, str]) -> tuple[bytes, bool]:
        """Run ``git ARGS`` and read at most about ``limit`` bytes of its output.

        Returns ``(output, truncated)``; a truncated command is killed, so that a huge diff
        never lands in memory.
        """
        with tempfile.TemporaryFile() as err:
            try:
                proc = subprocess.Popen(
                    ["git", *args], cwd=self.cwd, env=dict(env), stdout=subprocess.PIPE, stderr=err
                )
            except FileNotFoundError as exc:
                raise Unavailable("git is not installed or not on PATH") from exc
            output, truncated, timed_out = self._read_bounded(proc, limit)
            if timed_out:
                raise Unavailable(f"`{command_text(['git', *args])}` ran past {self.timeout:g}s")
            if proc.returncode != 0 and not truncated:
                err.seek(0)
                raise ShipyardError(
                    f"`{command_text(['git', *args])}` exited with status {proc.returncode}: "
                    f"{stderr_text(err.read())}"
                )
        return output, truncated

    def _read_bounded(self, proc: subprocess.Popen[bytes], limit: int) -> tuple[bytes, bool, bool]:
        fired = threading.Event()
        timer = threading.Timer(self.timeout, _kill, (proc, fired))
        timer.start()
        blocks: list[bytes] = []
        total, truncated = 0, False
        stdout: IO[bytes] | None = proc.stdout
        try:
            while stdout is not None and (block := stdout.read(1 << 16)):
                blocks.append(block)
                total += len(block)
                if total > limit:
                    truncated = True
                    proc.kill()
                    break
        finally:
            timer.cancel()
            if stdout is not None:
                stdout.close()
            proc.wait()
        return b"".join(blocks), truncated, fired.is_set()


def _kill(proc: subprocess.Popen[bytes], fired: threading.Event) -> None:
    fired.set()
    proc.kill()


def is_zero_oid(oid: str) -> bool:
    """True for git's all-zero object name (no object)."""
    return not oid.strip("0")


def parse_status(data: bytes) -> Status:
    """Parse ``git status --porcelain=v2 --branch -z --untracked-files=all`` output."""
    status = Status()
    fields = data.split(b"\0")
    i = 0
    while i < len(fields):
        text = os.fsdecode(fields[i])
        i += 1
        if text.startswith("# "):
            _branch_line(status, text[2:])
        elif text.startswith("1 "):
            parts = text.split(" ", 8)
            status.changes.append(Change(parts[8], head_oid=_oid(parts[6])))
        elif text.startswith("2 "):
            parts = text.split(" ", 9)
            original = os.fsdecode(fields[i])
            i += 1
            status.changes.append(Change(original, head_oid=_oid(parts[6])))
            status.changes.append(Change(parts[9]))
        elif text.startswith("u "):
            status.changes.append(Change(text.split(" ", 10)[10]))
        elif text.startswith("? "):
            path = text[2:]
            status.changes.append(Change(path, untracked=True, nested_repo=path.endswith("/")))
    return status


def _oid(oid: str) -> str | None:
    return None if is_zero_oid(oid) else oid


def _branch_line(status: Status, line: str) -> None:
    key, _, value = line.partition(" ")
    if key == "branch.oid":
        status.commit = None if value == "(initial)" else value
    elif key == "branch.head":
        status.branch = None if value == "(detached)" else value
    elif key == "branch.upstream":
        status.upstream = value


def parse_remotes(data: bytes) -> dict[str, str]:
    """Parse ``git config --get-regexp '^remote\\..*\\.url$'`` into ``{name: url}``."""
    remotes: dict[str, str] = {}
    for line in data.decode("utf-8", errors="replace").splitlines():
        key, _, url = line.partition(" ")
        if key.startswith("remote.") and key.endswith(".url"):
            remotes.setdefault(key[len("remote.") : -len(".url")], url.strip())
    return remotes


def pick_remote(remotes: Mapping[str, str], upstream: str | None) -> str | None:
    """The remote a branch tracks, else ``origin``, else the first by name."""
    if upstream:
        tracked = [name for name in remotes if upstream.startswith(name + "/")]
        if tracked:
            return max(tracked, key=len)
    if "origin" in remotes:
        return "origin"
    return min(remotes) if remotes else None


_ESCAPES = {
    ord("a"): 7,
    ord("b"): 8,
    ord("t"): 9,
    ord("n"): 10,
    ord("v"): 11,
    ord("f"): 12,
    ord("r"): 13,
}


def c_unquote(quoted: bytes) -> bytes:
    """Undo git's C-style quoting of a path (``"t\\303\\244.txt"`` -> ``tä.txt`` bytes)."""
    body = quoted[1:-1]
    out = bytearray()
    i = 0
    while i < len(body):
        char = body[i]
        if char != ord("\\") or i + 1 >= len(body):
            out.append(char)
            i += 1
        elif body[i + 1] in b"01234567":
            out.append(int(body[i + 1 : i + 4], 8) & 0xFF)
            i += 4
        else:
            out.append(_ESCAPES.get(body[i + 1], body[i + 1]))
            i += 2
    return bytes(out)


def header_path(header: bytes) -> str:
    """The path named by a ``diff --git a/P b/P`` header (renames are off, so a == b)."""
    rest = header[len(b"diff --git ") :]
    if rest.startswith(b'"'):
        return os.fsdecode(c_unquote(rest[: (len(rest) - 1) // 2])[2:])
    return os.fsdecode(rest[: (len(rest) - 5) // 2 + 2][2:])
