"""Workflow runs record their engine's heartbeat, so a run whose runner died can be ended.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Add workflow_runs.heartbeat_at."""
    with op.batch_alter_table("workflow_runs") as batch:
        batch.add_column(sa.Column("heartbeat_at", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    """Drop workflow_runs.heartbeat_at."""
    with op.batch_alter_table("workflow_runs") as batch:
        batch.drop_column("heartbeat_at")
