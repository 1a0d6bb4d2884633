"""YAML read with the line of every key kept, so that a spec error can point at it.

``yaml.compose`` gives the node tree with marks; we build plain Python values from it and a map
from each key path (``("parameters", "lr", "min")``) to its 1-based line. A spec given as a dict
has no lines; its errors name the key only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from shipyard.errors import InvalidArgument

KeyPath = tuple[str | int, ...]


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
class Located:
    """Plain data (dicts, lists, scalars) plus the line each key path was written on."""

    data: Any
    source: str = "<spec>"
    lines: Mapping[KeyPath, int] = field(default_factory=dict)

    def line(self, path: KeyPath) -> int | None:
        """The line of ``path``, or of its nearest ancestor that has one."""
        while True:
            found = self.lines.get(path)
            if found is not None or not path:
                return found
            path = path[:-1]

    def error(self, path: KeyPath, problem: str, hint: str | None = None) -> SweepSpecError:
        """A :class:`SweepSpecError` that names the source, the line and the key of ``path``."""
        key = dotted(path) or "(top level)"
        line = self.line(path)
        where = self.source if line is None else f"{self.source}, line {line}"
        return SweepSpecError(
            f"{where}: {key}: {problem}", key=key, line=line, source=self.source, hint=hint
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
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = None if mark is None else mark.line + 1
        where = source if line is None else f"{source}, line {line}"
        raise SweepSpecError(
            f"{where}: not valid YAML: {exc.problem or exc.context}",
            key="",
            line=line,
            source=source,
            hint="check the indentation and quoting around that line",
        ) from None
    except yaml.YAMLError as exc:
        raise SweepSpecError(
            f"{source}: not valid YAML: {exc}", key="", line=None, source=source
        ) from None
    if node is None:
        raise SweepSpecError(
            f"{source}: the sweep spec is empty",
            key="",
            line=None,
            source=source,
            hint="write at least metric, parameters and max_trials (see `shipyard sweep run -h`)",
        )
    lines: dict[KeyPath, int] = {}
    data = _Builder(source, lines).build(node, ())
    return Located(data, source, lines)


class _Builder:
    """Turns composed nodes into plain values, recording lines as it goes."""

    def __init__(self, source: str, lines: dict[KeyPath, int]) -> None:
        self.source = source
        self.lines = lines
        self.constructor = SafeConstructor()

    def build(self, node: Node, path: KeyPath) -> Any:
        self.lines.setdefault(path, node.start_mark.line + 1)
        if isinstance(node, MappingNode):
            return self._mapping(node, path)
        if isinstance(node, SequenceNode):
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        return self.constructor.construct_object(node, deep=True)

    def _mapping(self, node: MappingNode, path: KeyPath) -> dict[str, Any]:
        self.constructor.flatten_mapping(node)  # resolve "<<" merge keys like yaml.safe_load
        out: dict[str, Any] = {}
        for key_node, value_node in node.value:
            line = key_node.start_mark.line + 1
            if not isinstance(key_node, ScalarNode):
                raise self._error(line, path, "a key must be plain text, not a list or mapping")
            key = str(self.constructor.construct_object(key_node))
            if key in out:
                raise self._error(line, (*path, key), "is given twice")
            self.lines[(*path, key)] = line
            out[key] = self.build(value_node, (*path, key))
        return out

    def _error(self, line: int, path: KeyPath, problem: str) -> SweepSpecError:
        key = dotted(path) or "(top level)"
        return SweepSpecError(
            f"{self.source}, line {line}: {key}: {problem}",
            key=key,
            line=line,
            source=self.source,
            hint="keep one entry per key",
        )
