"""The collaboration store protocol: tags and notes on projects and datasets, comments on runs.

Contract (checked by ``shipyard.testing.collab_contract`` over every backend):

* Projects and datasets must exist (``NotFound`` naming them otherwise); datasets are global,
  keyed by name, and exist once their first version does.
* Tags follow the rules of run tags (:func:`shipyard.domain.validation.validate_tags`); setting a
  tag again overwrites it; deleting a tag that is not set raises ``NotFound``.
* Notes are Markdown of at most 64 KiB; comment bodies are non-blank Markdown of at most 16 KiB.
  Bad input raises ``InvalidArgument`` and changes nothing.
* Comments are listed oldest first. The author is recorded by the store as given (a server passes
  its signed-in caller and ignores what a client claims). Editing a comment keeps ``created_at``
  and moves ``updated_at``. Who may edit or delete a comment is decided above the store.
* Times are integer milliseconds since the epoch (UTC). Thread safe, like ``RunStore``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from shipyard.domain.collab import Annotations, Comment


@runtime_checkable
class CollabStore(Protocol):
    """Where tags and notes of projects and datasets, and comments on runs, live."""

    def get_project_annotations(self, name: str) -> Annotations:
        """A project's description, notes and tags. Raises ``NotFound``."""
        ...

    def update_project_annotations(
        self, name: str, *, description: str | None = None, notes: str | None = None
    ) -> Annotations:
        """Change a project's description and/or notes (``None`` leaves one alone).

        Example::

            store.update_project_annotations("iris", notes="# Iris\\nBaseline: run 0193...")
        """
        ...

    def set_project_tag(self, name: str, key: str, value: str) -> None:
        """Set (or overwrite) a tag of a project. Raises ``NotFound``, ``InvalidArgument``."""
        ...

    def delete_project_tag(self, name: str, key: str) -> None:
        """Remove a tag of a project. Raises ``NotFound`` when it is not set."""
        ...

    def get_dataset_annotations(self, name: str) -> Annotations:
        """A dataset's notes and tags. Raises ``NotFound``."""
        ...

    def update_dataset_annotations(self, name: str, *, notes: str) -> Annotations:
        """Replace a dataset's notes. Raises ``NotFound``, ``InvalidArgument``."""
        ...

    def set_dataset_tag(self, name: str, key: str, value: str) -> None:
        """Set (or overwrite) a tag of a dataset. Raises ``NotFound``, ``InvalidArgument``."""
        ...

    def delete_dataset_tag(self, name: str, key: str) -> None:
        """Remove a tag of a dataset. Raises ``NotFound`` when it is not set."""
        ...

    def add_run_comment(self, run_id: str, body: str, *, author: str = "") -> Comment:
        """Post a comment on a run. Raises ``NotFound`` (run), ``InvalidArgument`` (body).

        Example::

            comment = store.add_run_comment(run.id, "Overfits after epoch 30?", author="ada")
        """
        ...

    def list_run_comments(self, run_id: str) -> Sequence[Comment]:
        """The comments on a run, oldest first. Raises ``NotFound`` for an unknown run."""
        ...

    def get_run_comment(self, run_id: str, comment_id: str) -> Comment:
        """One comment of a run. Raises ``NotFound``."""
        ...

    def update_run_comment(self, run_id: str, comment_id: str, body: str) -> Comment:
        """Replace a comment's body. Raises ``NotFound``, ``InvalidArgument``."""
        ...

    def delete_run_comment(self, run_id: str, comment_id: str) -> None:
        """Remove a comment. Raises ``NotFound``."""
        ...
