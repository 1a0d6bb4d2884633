"""Routes and wire models of collaboration: tags and Markdown notes on projects and datasets,
and comments on runs. (Run tags and notes use the run routes: ``POST /runs/{id}/tags``,
``PATCH /runs/{id}``.)

A comment's author is whoever the server signed in: a request body never names it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Self

from pydantic import Field

from shipyard.api.routes import API_PREFIX, PROJECT, RUN
from shipyard.api.schemas import RequestModel, WireModel
from shipyard.domain.collab import Annotations, Comment

PROJECT_ANNOTATIONS = f"{PROJECT}/annotations"
PROJECT_TAG = f"{PROJECT}/tags/{{key}}"
DATASET = f"{API_PREFIX}/datasets/{{name}}"
DATASET_ANNOTATIONS = f"{DATASET}/annotations"
DATASET_TAG = f"{DATASET}/tags/{{key}}"
RUN_COMMENTS = f"{RUN}/comments"
RUN_COMMENT = f"{RUN_COMMENTS}/{{comment_id}}"

ROUTES: tuple[tuple[str, str], ...] = (
    ("PATCH", PROJECT),
    ("GET", PROJECT_ANNOTATIONS),
    ("PUT", PROJECT_TAG),
    ("DELETE", PROJECT_TAG),
    ("PATCH", DATASET),
    ("GET", DATASET_ANNOTATIONS),
    ("PUT", DATASET_TAG),
    ("DELETE", DATASET_TAG),
    ("GET", RUN_COMMENTS),
    ("POST", RUN_COMMENTS),
    ("PATCH", RUN_COMMENT),
    ("DELETE", RUN_COMMENT),
)
"""Every collaboration route as ``(method, path template)``."""


class ProjectPatch(RequestModel):
    """Change a project's description and/or notes; absent fields are left as they are."""

    description: str | None = Field(default=None, description="One line, at most 1000 chars.")
    notes: str | None = Field(default=None, description="Markdown, at most 64 KiB (UTF-8).")


class DatasetPatch(RequestModel):
    """Replace a dataset's notes."""

    notes: str = Field(description="Markdown, at most 64 KiB (UTF-8).")


class TagValue(RequestModel):
    """The value of one tag."""

    value: str = Field(description="Text, at most 8000 characters.")


class AnnotationsOut(WireModel):
    """The description (projects only), Markdown notes and tags of a project or dataset."""

    name: str
    description: str = ""
    notes: str = ""
    tags: dict[str, str] = Field(default_factory=dict)
    updated_at: int | None = Field(
        default=None, description="When the notes last changed (ms); null: never written."
    )

    def to_domain(self) -> Annotations:
        """Domain form."""
        return Annotations(**self.model_dump())


class CommentIn(RequestModel):
    """A comment to post, or a comment's new body. The author is the signed-in caller."""

    body: str = Field(description="Markdown, at most 16 KiB (UTF-8).")


class CommentOut(WireModel):
    """A comment on a run."""

    id: str
    run_id: str
    author: str
    body: str
    created_at: int = Field(description="Milliseconds since the epoch (UTC).")
    updated_at: int = Field(description="Equals created_at until the body is edited.")

    def to_domain(self) -> Comment:
        """Domain form."""
        return Comment(**self.model_dump())


class CommentList(WireModel):
    """The comments on a run, oldest first."""

    comments: list[CommentOut]

    @classmethod
    def listing(cls, comments: Iterable[Comment]) -> Self:
        """Wire form of domain comments."""
        return cls(comments=[CommentOut.of(c) for c in comments])
