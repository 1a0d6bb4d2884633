"""Tags and Markdown notes on projects and datasets; comments on runs.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None

ID = sa.String(32)


def _notes_table(name: str, owner: str, owner_table: str) -> None:
    op.create_table(
        name,
        sa.Column(owner, ID, nullable=False),
        sa.Column("notes", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint([owner], [f"{owner_table}.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint(owner),
    )


def _tags_table(name: str, owner: str, owner_table: str) -> None:
    op.create_table(
        name,
        sa.Column(owner, ID, nullable=False),
        sa.Column("key", sa.String(250), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint([owner], [f"{owner_table}.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint(owner, "key"),
    )


def upgrade() -> None:
    """Create the notes and tags tables of projects and datasets, and run comments."""
    _notes_table("project_notes", "project_id", "projects")
    _tags_table("project_tags", "project_id", "projects")
    _notes_table("dataset_notes", "dataset_id", "datasets")
    _tags_table("dataset_tags", "dataset_id", "datasets")
    op.create_table(
        "run_comments",
        sa.Column("id", ID, nullable=False),
        sa.Column("run_id", ID, nullable=False),
        sa.Column("author", sa.String(256), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_run_comments_run", "run_comments", ["run_id", "created_at", "id"])


def downgrade() -> None:
    """Drop the tables."""
    op.drop_index("ix_run_comments_run", table_name="run_comments")
    op.drop_table("run_comments")
    for name in ("dataset_tags", "dataset_notes", "project_tags", "project_notes"):
        op.drop_table(name)
