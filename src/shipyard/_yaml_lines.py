"""YAML read with the line of every key kept, so that a spec error can point at it.

Shared by sweep specs and workflow files, which word their errors differently: this module raises
:class:`YamlProblem` and each format turns it into its own error. ``yaml.compose`` gives the node
tree with marks; we build plain Python values from it and a map from each key path
(``("parameters", "lr", "min")``) to its 1-based line.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

KeyPath = tuple[str | int, ...]
ONE_ENTRY_PER_KEY = "keep one entry per key"


class YamlProblem(Exception):
    """The text is not YAML (``path`` is ``None``) or a key in it is wrong (``path`` is where)."""

    def __init__(
        self, problem: str, *, line: int | None, path: KeyPath | None, hint: str | None
    ) -> None:
        super().__init__(problem)
        self.problem = problem
        self.line = line
        self.path = path
        self.hint = hint


class DuplicateKey(YamlProblem):
    """A mapping gives the key at the end of ``path`` twice."""


@dataclass(frozen=True)
class LocatedData:
    """Plain data (dicts, lists, scalars) plus the line each key path was written on."""

    data: Any
    source: str
    lines: Mapping[KeyPath, int] = field(default_factory=dict)

    def line(self, path: KeyPath) -> int | None:
        """The line of ``path``, or of its nearest ancestor that has one."""
        while True:
            found = self.lines.get(path)
            if found is not None or not path:
                return found
            path = path[:-1]


def read_lines(text: str, *, keys_as_written: bool) -> tuple[Any, dict[KeyPath, int]] | None:
    """Parse YAML ``text`` into plain data and the line of each key path (``None`` if empty).

    With ``keys_as_written`` a key stays the text it was written as (``on`` stays ``"on"``);
    without, it is read as YAML 1.1 reads it and then made text (``on`` becomes ``"True"``).

    Raises:
        YamlProblem: the text is not YAML, or a key is not plain text or is given twice.
    """
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise YamlProblem(
            f"not valid YAML: {exc.problem or exc.context}",
            line=None if mark is None else mark.line + 1,
            path=None,
            hint="check the indentation and quoting around that line",
        ) from None
    except yaml.YAMLError as exc:
        raise YamlProblem(f"not valid YAML: {exc}", line=None, path=None, hint=None) from None
    if node is None:
        return None
    lines: dict[KeyPath, int] = {}
    return _Builder(lines, keys_as_written).build(node, ()), lines


class _Builder:
    """Turns composed nodes into plain values, recording lines as it goes."""

    def __init__(self, lines: dict[KeyPath, int], keys_as_written: bool) -> None:
        self.lines = lines
        self.keys_as_written = keys_as_written
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
                raise YamlProblem(
                    "a key must be plain text, not a list or mapping",
                    line=line, path=path, hint=ONE_ENTRY_PER_KEY,
                )  # fmt: skip
            key = self._key(key_node)
            if key in out:
                raise DuplicateKey(
                    "is given twice", line=line, path=(*path, key), hint=ONE_ENTRY_PER_KEY
                )
            self.lines[(*path, key)] = line
            out[key] = self.build(value_node, (*path, key))
        return out

    def _key(self, node: ScalarNode) -> str:
        if self.keys_as_written:
            return str(node.value)
        return str(self.constructor.construct_object(node))
