"""Filters and paging of the registry search routes (``name = 'x'``, ``name LIKE 'x%'``,
``run_id = 'y'``; offset page tokens)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TypeVar

from shipyard.errors import InvalidArgument
from shipyard.server.mlflow._wire import Fields

T = TypeVar("T")
_CLAUSE = re.compile(
    r"^\s*(?P<field>name|run_id|source_path|tags?\.\S+)\s*(?P<op>=|!=|LIKE|ILIKE)\s*"
    r"(?P<q>['\"])(?P<value>.*)(?P=q)\s*$",
    re.IGNORECASE,
)


def clauses(text: str | None) -> list[tuple[str, str, str]]:
    """``(field, operator, value)`` of a filter of clauses joined by AND."""
    if not text or not text.strip():
        return []
    out = []
    for part in re.split(r"\s+and\s+", text.strip(), flags=re.IGNORECASE):
        match = _CLAUSE.match(part)
        if match is None:
            raise InvalidArgument(
                f"unsupported registry filter {part!r}",
                hint="use name = 'x', name LIKE 'x%' or run_id = 'y', joined by AND",
            )
        out.append((match["field"].lower(), match["op"].upper(), match["value"]))
    return out


def matches(values: Mapping[str, str | None], tags: Mapping[str, str], text: str | None) -> bool:
    """Whether an entity with these field ``values`` and ``tags`` passes a filter."""
    for field, op, expected in clauses(text):
        if field.startswith(("tag.", "tags.")):
            actual = tags.get(field.split(".", 1)[1].strip('`"'))
        elif field in values:
            actual = values[field]
        else:
            raise InvalidArgument(
                f"unsupported registry filter field {field!r}", hint="filter on name or tags"
            )
        if not _compare(actual, op, expected):
            return False
    return True


def _compare(actual: str | None, op: str, expected: str) -> bool:
    if op in ("LIKE", "ILIKE"):
        if actual is None:
            return False
        pattern = "^" + re.escape(expected).replace("%", ".*").replace("_", ".") + "$"
        return re.match(pattern, actual, re.IGNORECASE if op == "ILIKE" else 0) is not None
    return (actual == expected) == (op == "=")


def page(items: Sequence[T], fields: Fields) -> tuple[list[T], str | None]:
    """One page of ``items`` (``max_results``, offset ``page_token``)."""
    token = fields.text("page_token", "0") or "0"
    if not token.isdigit():
        raise InvalidArgument(f"invalid page token {token!r}", hint="pass next_page_token back")
    offset, limit = int(token), fields.integer("max_results", 100) or 100
    chunk = list(items[offset : offset + limit])
    return chunk, str(offset + limit) if offset + limit < len(items) else None
