"""Workflows: workflow runs and their jobs (with the step cache's keys).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None

ID = sa.String(32)


def upgrade() -> None:
    """Create the workflow_runs and workflow_jobs tables."""
    op.create_table(
        "workflow_runs",
        sa.Column("id", ID, nullable=False),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("project", sa.String(256), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("spec", sa.Text(), nullable=False),
        sa.Column("commit", sa.String(64), nullable=False),
        sa.Column("params_json", sa.Text(), nullable=False),
        sa.Column("trigger_json", sa.Text(), nullable=True),
        sa.Column("user", sa.String(256), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("cancel_requested", sa.Boolean(), nullable=False),
        sa.Column("retry_of", ID, nullable=True),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("ended_at", sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_workflow_runs_project", "workflow_runs", ["project", "created_at"])
    op.create_index("ix_workflow_runs_name", "workflow_runs", ["name", "created_at"])
    op.create_table(
        "workflow_jobs",
        sa.Column("workflow_run_id", ID, nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("run_id", ID, nullable=True),
        sa.Column("cache_key", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("outputs_json", sa.Text(), nullable=False),
        sa.Column("fingerprint_json", sa.Text(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("started_at", sa.BigInteger(), nullable=True),
        sa.Column("ended_at", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["workflow_run_id"], ["workflow_runs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("workflow_run_id", "name"),
    )
    op.create_index("ix_workflow_jobs_cache", "workflow_jobs", ["cache_key", "status"])


def downgrade() -> None:
    """Drop the workflow tables."""
    op.drop_index("ix_workflow_jobs_cache", table_name="workflow_jobs")
    op.drop_table("workflow_jobs")
    op.drop_index("ix_workflow_runs_name", table_name="workflow_runs")
    op.drop_index("ix_workflow_runs_project", table_name="workflow_runs")
    op.drop_table("workflow_runs")
