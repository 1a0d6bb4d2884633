"""From a Ray job's log to the command's output lines.

A Ray job's log starts with Ray's own lines (runtime environment setup) and holds one line
``Running entrypoint for job ID: ENTRYPOINT`` written at an unpredictable place. The entrypoint
(``_ray_workers``) prints ``BEGIN`` before the command starts and marks its own lines with
``MARK``; this filter keeps only what the command wrote.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from shipyard.executors._ray_workers import BEGIN, MARK


def split_lines(text: str) -> list[str]:
    """``text`` cut at newlines (a final newline does not make an empty last line)."""
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


class LogFilter:
    """Drops Ray's lines and the entrypoint's marks from one job's log lines."""

    def __init__(self, job_id: str, entrypoint: str) -> None:
        self.ray_line = f"Running entrypoint for job {job_id}: {entrypoint}"

    def filter(self, lines: Iterator[str], *, failed: Callable[[], bool]) -> Iterator[str]:
        """The command's lines among ``lines``. If the entrypoint never began and the job
        ``failed()`` (it could not start), Ray's lines are shown: they say why."""
        before: list[str] = []
        begun = False
        for line in lines:
            if line == self.ray_line:
                continue
            if not begun:
                begun = line == BEGIN
                if not begun:
                    before.append(line)
            elif not line.startswith(MARK):
                yield line
        if not begun and before and failed():
            yield from before
