"""Deployments started on an executor: the job handle that runs the model server.

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Add deployments.job."""
    with op.batch_alter_table("deployments") as batch:
        batch.add_column(sa.Column("job", sa.String(300), nullable=True))


def downgrade() -> None:
    """Drop deployments.job."""
    with op.batch_alter_table("deployments") as batch:
        batch.drop_column("job")
