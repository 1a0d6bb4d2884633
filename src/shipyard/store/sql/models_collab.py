"""SQL rows of tags and Markdown notes on projects and datasets; comments on runs.

Owned by migration 0005; :mod:`shipyard.store.sql.models` imports it (``Base.metadata`` whole).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shipyard.store.sql.models import ID, Base


class ProjectNotesRow(Base):
    """The Markdown notes of a project (a row only once notes were written)."""

    __tablename__ = "project_notes"

    project_id: Mapped[str] = mapped_column(
        ID, ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    notes: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[int] = mapped_column(BigInteger)


class ProjectTagRow(Base):
    """A tag of a project."""

    __tablename__ = "project_tags"

    project_id: Mapped[str] = mapped_column(
        ID, ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(250), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class DatasetNotesRow(Base):
    """The Markdown notes of a dataset (a row only once notes were written)."""

    __tablename__ = "dataset_notes"

    dataset_id: Mapped[str] = mapped_column(
        ID, ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True
    )
    notes: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[int] = mapped_column(BigInteger)


class DatasetTagRow(Base):
    """A tag of a dataset."""

    __tablename__ = "dataset_tags"

    dataset_id: Mapped[str] = mapped_column(
        ID, ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(250), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class RunCommentRow(Base):
    """A Markdown comment on a run."""

    __tablename__ = "run_comments"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    run_id: Mapped[str] = mapped_column(ID, ForeignKey("runs.id", ondelete="CASCADE"))
    author: Mapped[str] = mapped_column(String(256))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (Index("ix_run_comments_run", "run_id", "created_at", "id"),)
