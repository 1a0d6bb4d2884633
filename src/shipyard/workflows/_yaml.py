"""A workflow file read from YAML with the line of every key kept (see
:mod:`shipyard._yaml_lines`), so that a workflow error can point at it. Keys are taken as written
(``on`` stays ``"on"``; YAML 1.1 would read it as ``True``).
"""

from __future__ import annotations

from dataclasses import dataclass

from shipyard._yaml_lines import DuplicateKey, KeyPath, LocatedData, YamlProblem, read_lines
from shipyard.errors import InvalidArgument

__all__ = ["KeyPath", "Located", "WorkflowSpecError", "load_located"]


class WorkflowSpecError(InvalidArgument):
    """A workflow file is malformed; ``line`` is the 1-based line of the culprit (if known)."""

    def __init__(self, message: str, *, source: str, line: int | None, hint: str | None) -> None:
        super().__init__(message, hint)
        self.source = source
        self.line = line


@dataclass(frozen=True)
class Located(LocatedData):
    """Plain data (dicts, lists, scalars) plus the line each key path was written on."""

    def error(self, path: KeyPath, problem: str, hint: str | None = None) -> WorkflowSpecError:
        """An error reading ``SOURCE:LINE: problem``."""
        return _error(self.source, self.line(path), problem, hint)


def _error(source: str, line: int | None, problem: str, hint: str | None) -> WorkflowSpecError:
    where = source if line is None else f"{source}:{line}"
    return WorkflowSpecError(f"{where}: {problem}", source=source, line=line, hint=hint)


def load_located(text: str, source: str) -> Located:
    """Parse YAML ``text`` (read from ``source``, named in errors) keeping key lines."""
    try:
        loaded = read_lines(text, keys_as_written=True)
    except YamlProblem as exc:
        problem = exc.problem
        if isinstance(exc, DuplicateKey) and exc.path:
            problem = f"key {exc.path[-1]!r} {problem}"
        raise _error(source, exc.line, problem, exc.hint) from None
    if loaded is None:
        raise WorkflowSpecError(
            f"{source}: the workflow file is empty",
            source=source,
            line=None,
            hint="write at least 'name:' and 'jobs:' (see docs/workflows.md)",
        )
    data, lines = loaded
    return Located(data, source, lines)
