"""A sweep spec read from YAML with the line of every key kept (see :mod:`shipyard._yaml_lines`),
so that a spec error can point at it. A spec given as a dict has no lines; its errors name the key
only.
"""

from __future__ import annotations

from dataclasses import dataclass

from shipyard._yaml_lines import KeyPath, LocatedData, YamlProblem, read_lines
from shipyard.errors import InvalidArgument

__all__ = ["KeyPath", "Located", "SweepSpecError", "dotted", "load_located"]


class SweepSpecError(InvalidArgument):
    """A sweep spec is malformed; ``key`` is the dotted path of the culprit and ``line`` the
    1-based line where it is written (``None`` for a spec given as a dict)."""

    def __init__(
        self, message: str, *, key: str, line: int | None, source: str, hint: str | None = None
    ) -> None:
        super().__init__(message, hint)
        self.key = key
        self.line = line
        self.source = source


@dataclass(frozen=True)
class Located(LocatedData):
    """Plain data (dicts, lists, scalars) plus the line each key path was written on."""

    source: str = "<spec>"

    def error(self, path: KeyPath, problem: str, hint: str | None = None) -> SweepSpecError:
        """A :class:`SweepSpecError` that names the source, the line and the key of ``path``."""
        return _error(self.source, self.line(path), path, problem, hint)


def _error(
    source: str, line: int | None, path: KeyPath | None, problem: str, hint: str | None
) -> SweepSpecError:
    where = source if line is None else f"{source}, line {line}"
    if path is None:  # the text is not YAML: no key to name
        return SweepSpecError(f"{where}: {problem}", key="", line=line, source=source, hint=hint)
    key = dotted(path) or "(top level)"
    return SweepSpecError(
        f"{where}: {key}: {problem}", key=key, line=line, source=source, hint=hint
    )


def dotted(path: KeyPath) -> str:
    """``("parameters", "lr", "min")`` as ``parameters.lr.min`` (list items as ``[0]``)."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def load_located(text: str, source: str) -> Located:
    """Parse YAML ``text`` (read from ``source``, named in errors) keeping key lines."""
    try:
        loaded = read_lines(text, keys_as_written=False)
    except YamlProblem as exc:
        raise _error(source, exc.line, exc.path, exc.problem, exc.hint) from None
    if loaded is None:
        raise SweepSpecError(
            f"{source}: the sweep spec is empty",
            key="",
            line=None,
            source=source,
            hint="write at least metric, parameters and max_trials (see `shipyard sweep run -h`)",
        )
    data, lines = loaded
    return Located(data, source, lines)
