"""What the MLflow-compatible API needs beyond the native schema: experiment ids and lifecycle,
experiment tags, and MLflow 3 logged models.

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | None = None
depends_on: str | None = None

ID = sa.String(32)


def upgrade() -> None:
    """Create the MLflow tables."""
    op.create_table(
        "mlflow_experiments",
        sa.Column("experiment_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("project_id", ID, nullable=False),
        sa.Column("lifecycle_stage", sa.String(16), nullable=False),
        sa.Column("last_update_time", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("experiment_id"),
        sa.UniqueConstraint("project_id"),
    )
    op.create_table(
        "mlflow_experiment_tags",
        sa.Column("project_id", ID, nullable=False),
        sa.Column("key", sa.String(250), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("project_id", "key"),
    )
    op.create_table(
        "mlflow_logged_models",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("project_id", ID, nullable=False),
        sa.Column("run_id", ID, nullable=False),
        sa.Column("source_run_id", ID, nullable=True),
        sa.Column("name", sa.String(256), nullable=False),
        sa.Column("model_type", sa.String(256), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("status_message", sa.Text(), nullable=False),
        sa.Column("creator", sa.String(256), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.Column("tags_json", sa.Text(), nullable=False),
        sa.Column("params_json", sa.Text(), nullable=False),
        sa.Column("deleted", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_mlflow_logged_models_project", "mlflow_logged_models", ["project_id", "created_at"]
    )


def downgrade() -> None:
    """Drop them again."""
    op.drop_index("ix_mlflow_logged_models_project", table_name="mlflow_logged_models")
    op.drop_table("mlflow_logged_models")
    op.drop_table("mlflow_experiment_tags")
    op.drop_table("mlflow_experiments")
