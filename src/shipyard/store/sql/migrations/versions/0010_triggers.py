"""Workflow triggers: pending workflow-run requests (from webhooks, schedules, events, the UI) and
the workflow files the daemon watches (schedules, events).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | None = None
depends_on: str | None = None

ID = sa.String(32)


def upgrade() -> None:
    """Create the workflow_requests and workflow_watches tables."""
    op.create_table(
        "workflow_requests",
        sa.Column("id", ID, nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("repo_url", sa.String(2048), nullable=False),
        sa.Column("ref", sa.String(512), nullable=False),
        sa.Column("commit", sa.String(64), nullable=False),
        sa.Column("event", sa.Text(), nullable=False),
        sa.Column("workflow", sa.String(1024), nullable=True),
        sa.Column("params", sa.Text(), nullable=False),
        sa.Column("requested_by", sa.String(256), nullable=False),
        sa.Column("claimed_by", sa.String(256), nullable=True),
        sa.Column("lease_until", sa.BigInteger(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("workflow_run_ids", sa.Text(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_workflow_requests_status", "workflow_requests", ["status", "created_at"])
    op.create_index("ix_workflow_requests_created", "workflow_requests", ["created_at", "id"])
    op.create_table(
        "workflow_watches",
        sa.Column("id", ID, nullable=False),
        sa.Column("repo_url", sa.String(2048), nullable=False),
        sa.Column("path", sa.String(1024), nullable=False),
        sa.Column("branch", sa.String(512), nullable=False),
        sa.Column("commit", sa.String(64), nullable=False),
        sa.Column("schedules", sa.Text(), nullable=False),
        sa.Column("events", sa.Text(), nullable=False),
        sa.Column("last_tick_at", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("repo_url", "path", name="uq_workflow_watches_repo_path"),
    )


def downgrade() -> None:
    """Drop the workflow_requests and workflow_watches tables."""
    op.drop_table("workflow_watches")
    op.drop_index("ix_workflow_requests_created", table_name="workflow_requests")
    op.drop_index("ix_workflow_requests_status", table_name="workflow_requests")
    op.drop_table("workflow_requests")
