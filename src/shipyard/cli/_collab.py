"""What the collaboration commands share: reading text or stdin, ``KEY=VALUE`` pairs, and
rendering comments and notes."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Sequence
from typing import Any

from rich.console import Group, RenderableType
from rich.markdown import Markdown
from rich.text import Text

from shipyard.cli._render import local_time
from shipyard.domain.collab import Annotations, Comment
from shipyard.errors import InvalidArgument

STDIN = "-"


def text_or_stdin(text: str) -> str:
    """``text`` itself, or everything on standard input when it is ``-``."""
    return sys.stdin.read() if text == STDIN else text


def parse_pairs(pairs: Sequence[str]) -> dict[str, str]:
    """``KEY=VALUE`` arguments as a mapping (the value may contain ``=``)."""
    parsed: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise InvalidArgument(
                f"{pair!r} is not KEY=VALUE", hint="write tags like team=vision owner=ada"
            )
        parsed[key] = value
    return parsed


def comment_json(comment: Comment) -> dict[str, Any]:
    """A comment as JSON."""
    return {
        "id": comment.id,
        "run_id": comment.run_id,
        "author": comment.author,
        "body": comment.body,
        "created_at": comment.created_at,
        "updated_at": comment.updated_at,
    }


def annotations_json(annotations: Annotations) -> dict[str, Any]:
    """Notes and tags as JSON."""
    return {
        "name": annotations.name,
        "description": annotations.description,
        "notes": annotations.notes,
        "tags": dict(annotations.tags),
        "updated_at": annotations.updated_at,
    }


def comments_view(comments: Iterable[Comment]) -> RenderableType:
    """Comments, oldest first: a header line (author, time, id) and the Markdown body."""
    parts: list[RenderableType] = []
    for comment in comments:
        edited = " (edited)" if comment.edited else ""
        header = Text.assemble(
            (comment.author or "-", "bold"),
            f"  {local_time(comment.created_at)}{edited}  ",
            (comment.id, "dim"),
        )
        parts.extend([header, Markdown(comment.body), Text("")])
    return Group(*parts)


def annotations_view(annotations: Annotations) -> RenderableType:
    """A project's or dataset's description, tags and Markdown notes."""
    parts: list[RenderableType] = [Text(annotations.name, style="bold")]
    if annotations.description:
        parts.append(Text(annotations.description))
    if annotations.tags:
        tags = "  ".join(f"{k}={v}" for k, v in annotations.tags.items())
        parts.append(Text(f"tags: {tags}", style="dim"))
    parts.append(Text(""))
    parts.append(Markdown(annotations.notes) if annotations.notes else Text("(no notes)"))
    return Group(*parts)
