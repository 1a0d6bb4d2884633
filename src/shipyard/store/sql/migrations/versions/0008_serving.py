"""Deployments, their events, scraped metric samples, alert rules, alert firings, drift reports.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | None = None
depends_on: str | None = None

ID = sa.String(32)
_FK = ["deployments.name"]


def _deployment_column() -> sa.Column[str]:
    return sa.Column("deployment", sa.String(63), nullable=False)


def upgrade() -> None:
    """Create the tables and their indexes."""
    _create_deployments()
    _create_history()
    _create_alerts()


def _create_deployments() -> None:
    op.create_table(
        "deployments",
        sa.Column("name", sa.String(63), nullable=False),
        sa.Column("project_id", ID, nullable=False),
        sa.Column("model_uri", sa.String(1000), nullable=False),
        sa.Column("follow_alias", sa.Boolean(), nullable=False),
        sa.Column("stable_uri", sa.String(1000), nullable=False),
        sa.Column("stable_version", sa.Integer(), nullable=True),
        sa.Column("canary_uri", sa.String(1000), nullable=True),
        sa.Column("canary_version", sa.Integer(), nullable=True),
        sa.Column("canary_percent", sa.Integer(), nullable=False),
        sa.Column("config", sa.Text(), nullable=False),
        sa.Column("reference", sa.Text(), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("url", sa.String(2000), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=True),
        sa.Column("workdir", sa.Text(), nullable=True),
        sa.Column("applied", sa.Text(), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("observed_generation", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(256), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["project_id"], ["projects.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("name"),
    )
    op.create_index("ix_deployments_project", "deployments", ["project_id"])


def _create_history() -> None:
    op.create_table(
        "deployment_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        _deployment_column(),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(64), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["deployment"], _FK, ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_deployment_events_at", "deployment_events", ["deployment", "at"])
    op.create_table(
        "deployment_samples",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        _deployment_column(),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("counters", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["deployment"], _FK, ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_deployment_samples_at", "deployment_samples", ["deployment", "at"])
    op.create_table(
        "drift_reports",
        sa.Column("id", ID, nullable=False),
        _deployment_column(),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("row_count", sa.Integer(), nullable=False),
        sa.Column("dataset_drift", sa.Boolean(), nullable=False),
        sa.Column("share_drifted", sa.Float(), nullable=False),
        sa.Column("report", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["deployment"], _FK, ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_drift_reports_at", "drift_reports", ["deployment", "at"])


def _create_alerts() -> None:
    op.create_table(
        "alert_rules",
        sa.Column("id", ID, nullable=False),
        _deployment_column(),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("window_s", sa.Integer(), nullable=False),
        sa.Column("webhook_url", sa.String(2000), nullable=True),
        sa.Column("workflow", sa.String(256), nullable=True),
        sa.Column("firing", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.BigInteger(), nullable=False),
        sa.Column("last_fired_at", sa.BigInteger(), nullable=True),
        sa.ForeignKeyConstraint(["deployment"], _FK, ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_alert_rules_deployment", "alert_rules", ["deployment"])
    op.create_table(
        "alert_firings",
        sa.Column("id", ID, nullable=False),
        sa.Column("rule_id", ID, nullable=False),
        _deployment_column(),
        sa.Column("at", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("value", sa.Float(), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("delivered", sa.Boolean(), nullable=False),
        sa.Column("error", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["rule_id"], ["alert_rules.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["deployment"], _FK, ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_alert_firings_at", "alert_firings", ["deployment", "at"])


def downgrade() -> None:
    """Drop the tables."""
    for index, table in (
        ("ix_alert_firings_at", "alert_firings"),
        ("ix_alert_rules_deployment", "alert_rules"),
        ("ix_drift_reports_at", "drift_reports"),
        ("ix_deployment_samples_at", "deployment_samples"),
        ("ix_deployment_events_at", "deployment_events"),
        ("ix_deployments_project", "deployments"),
    ):
        op.drop_index(index, table_name=table)
        op.drop_table(table)
