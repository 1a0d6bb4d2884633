"""One rank of a multi-worker Ray job: a Ray actor that runs the command as a subprocess.

The class is plain Python; ``_ray_workers`` wraps it with ``ray.remote`` (threaded, so ``stop``
can run while ``run`` streams output). ``run`` is a generator: Ray streams its items back to the
driver as they are produced - lists of output lines, then the exit code as the last item.
"""

from __future__ import annotations

import os
import queue
import subprocess
import threading
from collections.abc import Iterator, Sequence
from typing import Any

from shipyard.executors._process import (
    StartFailed,
    descendants,
    free_port,
    shell_exit_code,
    spawn,
    terminate,
)

MAX_BATCH = 1000


class RankProcess:
    """Runs one rank's process on whichever node Ray placed this actor."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen[bytes] | None = None
        self.stopped = threading.Event()

    def where(self) -> tuple[str, str]:
        """This actor's node id and IP address."""
        import ray

        return ray.get_runtime_context().get_node_id(), _node_ip()

    def free_port(self) -> int:
        """A TCP port free on this node's IP right now (for ``MASTER_PORT``)."""
        return free_port(_node_ip())

    def run(
        self, command: Sequence[str], cwd: str | None, env: dict[str, str]
    ) -> Iterator[list[str] | int]:
        """Start the command and yield batches of its output lines, then its exit code."""
        if self.stopped.is_set():
            yield 143
            return
        lines: queue.Queue[bytes | None] = queue.Queue()
        try:
            self.proc = spawn(command, cwd=cwd, env={**os.environ, **env}, stdout=subprocess.PIPE)
        except StartFailed as exc:
            yield [f"shipyard: {exc}"]
            yield exc.exit_code
            return
        threading.Thread(target=_read_into, args=(self.proc, lines), daemon=True).start()
        yield from _batches(lines)
        yield shell_exit_code(self.proc.wait())

    def stop(self, grace_s: float) -> None:
        """Stop the rank's process tree: SIGTERM, then SIGKILL after ``grace_s`` seconds."""
        self.stopped.set()
        if self.proc is not None and self.proc.poll() is None:
            terminate([self.proc.pid], descendants(self.proc.pid), grace_s)


def _node_ip() -> str:
    import ray

    util: Any = ray.util  # untyped
    return str(util.get_node_ip_address())


def _read_into(proc: subprocess.Popen[bytes], lines: queue.Queue[bytes | None]) -> None:
    assert proc.stdout is not None
    with proc.stdout:
        for line in iter(proc.stdout.readline, b""):
            lines.put(line)
    lines.put(None)


def _batches(lines: queue.Queue[bytes | None]) -> Iterator[list[str]]:
    """Batches of decoded lines: block for one, then take whatever else is waiting."""
    while True:
        item = lines.get()
        batch: list[bytes] = []
        while item is not None:
            batch.append(item)
            if len(batch) >= MAX_BATCH or lines.empty():
                break
            item = lines.get_nowait()
        if batch:
            yield [line.decode("utf-8", "replace").rstrip("\r\n") for line in batch]
        if item is None:
            return
