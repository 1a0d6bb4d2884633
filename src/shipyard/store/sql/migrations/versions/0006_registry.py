"""The model registry: registered models, their versions, tags and aliases.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None

ID = sa.String(32)
_VERSION_FK = (["model_id", "version"], ["model_versions.model_id", "model_versions.version"])


def upgrade() -> None:
    """Create the registry tables."""
    op.create_table(
        "registered_models",
        sa.Column("id", ID, nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("project_id", ID, nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.Column("next_version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("name"),
    )
    op.create_index("ix_registered_models_project", "registered_models", ["project_id"])
    op.create_table(
        "registered_model_tags",
        sa.Column("model_id", ID, nullable=False),
        sa.Column("key", sa.String(250), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["model_id"], ["registered_models.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("model_id", "key"),
    )
    op.create_table(
        "model_versions",
        sa.Column("model_id", ID, nullable=False),
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("run_id", ID, nullable=True),
        sa.Column("source", sa.String(1024), nullable=False),
        sa.Column("flavor", sa.String(64), nullable=False),
        sa.Column("signature", sa.Text(), nullable=True),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("created_by", sa.String(256), nullable=False),
        sa.ForeignKeyConstraint(["model_id"], ["registered_models.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["run_id"], ["runs.id"], ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("model_id", "version"),
    )
    op.create_index("ix_model_versions_run", "model_versions", ["run_id"])
    op.create_table(
        "model_version_tags",
        sa.Column("model_id", ID, nullable=False),
        sa.Column("version", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("key", sa.String(250), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(*_VERSION_FK, ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("model_id", "version", "key"),
    )
    op.create_table(
        "model_aliases",
        sa.Column("model_id", ID, nullable=False),
        sa.Column("alias", sa.String(64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(*_VERSION_FK, ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("model_id", "alias"),
    )


def downgrade() -> None:
    """Drop them again."""
    op.drop_table("model_aliases")
    op.drop_table("model_version_tags")
    op.drop_index("ix_model_versions_run", table_name="model_versions")
    op.drop_table("model_versions")
    op.drop_table("registered_model_tags")
    op.drop_index("ix_registered_models_project", table_name="registered_models")
    op.drop_table("registered_models")
