"""Collaboration: tags and Markdown notes on projects and datasets, and comments on runs.

Notes and comment bodies are Markdown text, rendered (with raw HTML escaped) by the UI. Sizes are
counted in UTF-8 bytes, the unit storage and request limits are measured in.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from shipyard.domain.validation import MAX_TAG_VALUE, validate_key
from shipyard.errors import InvalidArgument

MAX_NOTES_BYTES = 64 * 1024
"""Largest notes text of a run, project or dataset (UTF-8 bytes)."""
MAX_COMMENT_BYTES = 16 * 1024
"""Largest comment body (UTF-8 bytes)."""
MAX_DESCRIPTION = 1000
"""Longest project description (characters)."""


@dataclass(frozen=True, slots=True)
class Annotations:
    """The tags and Markdown notes of a project or dataset.

    ``description`` is the project's one-line description (always empty for datasets);
    ``updated_at`` is when the notes last changed (milliseconds, ``None``: never written).
    """

    name: str
    description: str = ""
    notes: str = ""
    tags: Mapping[str, str] = field(default_factory=dict)
    updated_at: int | None = None


@dataclass(frozen=True, slots=True)
class Comment:
    """A Markdown comment on a run. Times are milliseconds since the epoch (UTC)."""

    id: str
    run_id: str
    author: str
    body: str
    created_at: int
    updated_at: int

    @property
    def edited(self) -> bool:
        """Whether the body changed after the comment was posted."""
        return self.updated_at != self.created_at


def validate_notes(notes: str, what: str = "notes") -> str:
    """Markdown notes: text of at most 64 KiB (UTF-8)."""
    if not isinstance(notes, str):
        raise InvalidArgument(f"{what} must be text, got {type(notes).__name__}")
    size = len(notes.encode("utf-8", "surrogatepass"))
    if size > MAX_NOTES_BYTES:
        raise InvalidArgument(
            f"{what} are {size} bytes long, more than the {MAX_NOTES_BYTES} allowed (64 KiB)",
            hint="shorten the notes, or attach long documents as artifacts and link to them",
        )
    return notes


def validate_comment_body(body: str) -> str:
    """A comment body: non-blank text of at most 16 KiB (UTF-8)."""
    if not isinstance(body, str) or not body.strip():
        raise InvalidArgument("comment is empty", hint="write some text, e.g. 'looks good'")
    size = len(body.encode("utf-8", "surrogatepass"))
    if size > MAX_COMMENT_BYTES:
        raise InvalidArgument(
            f"comment is {size} bytes long, more than the {MAX_COMMENT_BYTES} allowed (16 KiB)",
            hint="split it into several comments, or put the long text in the run's notes",
        )
    return body


def validate_description(description: str) -> str:
    """A project description: one line of printable text, at most 1000 characters."""
    if not isinstance(description, str) or len(description) > MAX_DESCRIPTION:
        raise InvalidArgument(
            "invalid project description",
            hint=f"use text of at most {MAX_DESCRIPTION} characters",
        )
    if not description.isprintable():
        raise InvalidArgument(
            f"project description {description[:40]!r} holds control characters or line breaks",
            hint="keep the description to one line; put longer text in the project's notes",
        )
    return description


def validate_tag(key: str, value: str) -> tuple[str, str]:
    """A project or dataset tag: a key like a run tag's, a text value of at most 8000 chars."""
    if not isinstance(value, str) or len(value) > MAX_TAG_VALUE:
        raise InvalidArgument(
            f"tag {key!r} is not text of at most {MAX_TAG_VALUE} characters",
            hint="shorten the value; keep long text in the notes",
        )
    return validate_key(key, "tag key"), value
