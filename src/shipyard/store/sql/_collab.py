"""The :class:`~shipyard.store.collab.CollabStore` half of ``SqlRunStore``: tags and Markdown
notes on projects and datasets, and comments on runs.

Notes live in their own one-row-per-owner tables (written on first use), so the core ``projects``
and ``datasets`` tables stay as they are; tags mirror the run ``tags`` table.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shipyard.domain.collab import (
    Annotations,
    Comment,
    validate_comment_body,
    validate_description,
    validate_notes,
    validate_tag,
)
from shipyard.domain.ids import is_id, new_id
from shipyard.errors import InvalidArgument, NotFound
from shipyard.store.sql._runs import affected_rows, now_ms, require_run, upsert
from shipyard.store.sql.models import DatasetRow, ProjectRow
from shipyard.store.sql.models_collab import (
    DatasetNotesRow,
    DatasetTagRow,
    ProjectNotesRow,
    ProjectTagRow,
    RunCommentRow,
)

_MAX_AUTHOR = 256


class SqlCollabStore:
    """Collaboration methods of :class:`~shipyard.store.sql.store.SqlRunStore` (a base class of
    it), each one short transaction."""

    def _read(self) -> AbstractContextManager[Session]:
        raise NotImplementedError  # provided by SqlRunStore

    def _write(self) -> AbstractContextManager[Session]:
        raise NotImplementedError  # provided by SqlRunStore

    # -- projects ---------------------------------------------------------------------------
    def get_project_annotations(self, name: str) -> Annotations:
        """A project's description, notes and tags. Raises ``NotFound``."""
        with self._read() as session:
            return _project_annotations(session, _project(session, name))

    def update_project_annotations(
        self, name: str, *, description: str | None = None, notes: str | None = None
    ) -> Annotations:
        """Change a project's description and/or notes (``None`` leaves one alone)."""
        if description is not None:
            validate_description(description)
        if notes is not None:
            validate_notes(notes)
        with self._write() as session:
            row = _project(session, name, lock=True)
            if description is not None:
                row.description = description
            if notes is not None:
                values = {"project_id": row.id, "notes": notes, "updated_at": now_ms()}
                upsert(session, ProjectNotesRow.__table__, [values], ("project_id",))
            session.flush()
            return _project_annotations(session, row)

    def set_project_tag(self, name: str, key: str, value: str) -> None:
        """Set (or overwrite) a tag of a project."""
        key, value = validate_tag(key, value)
        with self._write() as session:
            rows = [{"project_id": _project(session, name).id, "key": key, "value": value}]
            upsert(session, ProjectTagRow.__table__, rows, ("project_id", "key"))

    def delete_project_tag(self, name: str, key: str) -> None:
        """Remove a tag of a project. Raises ``NotFound`` when it is not set."""
        with self._write() as session:
            project_id = _project(session, name).id
            stmt = sa.delete(ProjectTagRow).where(
                ProjectTagRow.project_id == project_id, ProjectTagRow.key == key
            )
            if affected_rows(session, stmt) == 0:
                raise _tag_not_set(key, f"project {name!r}")

    # -- datasets ---------------------------------------------------------------------------
    def get_dataset_annotations(self, name: str) -> Annotations:
        """A dataset's notes and tags. Raises ``NotFound``."""
        with self._read() as session:
            return _dataset_annotations(session, name, _dataset_id(session, name))

    def update_dataset_annotations(self, name: str, *, notes: str) -> Annotations:
        """Replace a dataset's notes."""
        validate_notes(notes)
        with self._write() as session:
            dataset_id = _dataset_id(session, name, lock=True)
            values = {"dataset_id": dataset_id, "notes": notes, "updated_at": now_ms()}
            upsert(session, DatasetNotesRow.__table__, [values], ("dataset_id",))
            return _dataset_annotations(session, name, dataset_id)

    def set_dataset_tag(self, name: str, key: str, value: str) -> None:
        """Set (or overwrite) a tag of a dataset."""
        key, value = validate_tag(key, value)
        with self._write() as session:
            rows = [{"dataset_id": _dataset_id(session, name), "key": key, "value": value}]
            upsert(session, DatasetTagRow.__table__, rows, ("dataset_id", "key"))

    def delete_dataset_tag(self, name: str, key: str) -> None:
        """Remove a tag of a dataset. Raises ``NotFound`` when it is not set."""
        with self._write() as session:
            dataset_id = _dataset_id(session, name)
            stmt = sa.delete(DatasetTagRow).where(
                DatasetTagRow.dataset_id == dataset_id, DatasetTagRow.key == key
            )
            if affected_rows(session, stmt) == 0:
                raise _tag_not_set(key, f"dataset {name!r}")

    # -- run comments -----------------------------------------------------------------------
    def add_run_comment(self, run_id: str, body: str, *, author: str = "") -> Comment:
        """Post a comment on a run."""
        now = now_ms()
        comment = Comment(
            id=new_id(now),
            run_id=run_id,
            author=_checked_author(author),
            body=validate_comment_body(body),
            created_at=now,
            updated_at=now,
        )
        with self._write() as session:
            require_run(session, run_id)
            session.execute(sa.insert(RunCommentRow).values(**_comment_values(comment)))
        return comment

    def list_run_comments(self, run_id: str) -> Sequence[Comment]:
        """The comments on a run, oldest first."""
        with self._read() as session:
            require_run(session, run_id)
            rows = session.scalars(
                sa.select(RunCommentRow)
                .where(RunCommentRow.run_id == run_id)
                .order_by(RunCommentRow.created_at, RunCommentRow.id)
            )
            return [_comment(row) for row in rows]

    def get_run_comment(self, run_id: str, comment_id: str) -> Comment:
        """One comment of a run. Raises ``NotFound``."""
        with self._read() as session:
            return _comment(_comment_row(session, run_id, comment_id))

    def update_run_comment(self, run_id: str, comment_id: str, body: str) -> Comment:
        """Replace a comment's body (``updated_at`` moves, ``created_at`` stays)."""
        validate_comment_body(body)
        with self._write() as session:
            row = _comment_row(session, run_id, comment_id, lock=True)
            row.body = body
            row.updated_at = max(now_ms(), row.created_at + 1)
            session.flush()
            return _comment(row)

    def delete_run_comment(self, run_id: str, comment_id: str) -> None:
        """Remove a comment. Raises ``NotFound``."""
        with self._write() as session:
            session.delete(_comment_row(session, run_id, comment_id, lock=True))


# -- helpers ------------------------------------------------------------------------------------


def _project(session: Session, name: str, *, lock: bool = False) -> ProjectRow:
    query = sa.select(ProjectRow).where(ProjectRow.name == name)
    row = session.scalar(query.with_for_update() if lock else query)
    if row is None:
        raise NotFound(
            f"project {name!r} not found",
            hint="check the name (names are case-sensitive); `shipyard projects list` shows them",
        )
    return row


def _dataset_id(session: Session, name: str, *, lock: bool = False) -> str:
    query = sa.select(DatasetRow.id).where(DatasetRow.name == name)
    found = session.scalar(query.with_for_update() if lock else query)
    if found is None:
        raise NotFound(
            f"dataset {name!r} not found",
            hint="check the name; `shipyard datasets list` shows them",
        )
    return found


def _project_annotations(session: Session, row: ProjectRow) -> Annotations:
    notes = session.get(ProjectNotesRow, row.id)
    tags = session.execute(
        sa.select(ProjectTagRow.key, ProjectTagRow.value).where(ProjectTagRow.project_id == row.id)
    )
    return Annotations(
        name=row.name,
        description=row.description,
        notes=notes.notes if notes else "",
        tags=dict(sorted(tags.tuples())),
        updated_at=notes.updated_at if notes else None,
    )


def _dataset_annotations(session: Session, name: str, dataset_id: str) -> Annotations:
    notes = session.get(DatasetNotesRow, dataset_id)
    tags = session.execute(
        sa.select(DatasetTagRow.key, DatasetTagRow.value).where(
            DatasetTagRow.dataset_id == dataset_id
        )
    )
    return Annotations(
        name=name,
        notes=notes.notes if notes else "",
        tags=dict(sorted(tags.tuples())),
        updated_at=notes.updated_at if notes else None,
    )


def _tag_not_set(key: str, owner: str) -> NotFound:
    return NotFound(f"tag {key!r} is not set on {owner}", hint="check the key; list the tags first")


def _comment_row(
    session: Session, run_id: str, comment_id: str, *, lock: bool = False
) -> RunCommentRow:
    row = None
    if isinstance(comment_id, str) and is_id(comment_id):
        row = session.get(RunCommentRow, comment_id, with_for_update=lock)
    if row is None or row.run_id != run_id:
        require_run(session, run_id)
        raise NotFound(
            f"comment {comment_id!r} not found on run {run_id}",
            hint="list the run's comments to see their ids",
        )
    return row


def _comment(row: RunCommentRow) -> Comment:
    return Comment(
        id=row.id,
        run_id=row.run_id,
        author=row.author,
        body=row.body,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _comment_values(comment: Comment) -> dict[str, Any]:
    return {
        "id": comment.id,
        "run_id": comment.run_id,
        "author": comment.author,
        "body": comment.body,
        "created_at": comment.created_at,
        "updated_at": comment.updated_at,
    }


def _checked_author(author: str) -> str:
    if not isinstance(author, str) or len(author) > _MAX_AUTHOR:
        raise InvalidArgument(
            "invalid comment author", hint=f"use a name of at most {_MAX_AUTHOR} characters"
        )
    return author
