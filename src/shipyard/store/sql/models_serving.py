"""SQL rows of deployments, their events, scraped metric samples, alert rules, alert firings and
drift reports.

Owned by migration 0008; :mod:`shipyard.store.sql.models` imports it (``Base.metadata`` whole).
Everything hangs off the deployment's row (``ON DELETE CASCADE``), so deleting a deployment
deletes its history. JSON columns are ``Text``.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shipyard.store.sql.models import ID, Base

_DEPLOYMENT_FK = "deployments.name"


class DeploymentRow(Base):
    """Desired state (model URIs, canary share, config) and observed state (status, url, pid)."""

    __tablename__ = "deployments"

    name: Mapped[str] = mapped_column(String(63), primary_key=True)
    project_id: Mapped[str] = mapped_column(ID, ForeignKey("projects.id", ondelete="CASCADE"))
    model_uri: Mapped[str] = mapped_column(String(1000))
    follow_alias: Mapped[bool] = mapped_column(Boolean, default=False)
    stable_uri: Mapped[str] = mapped_column(String(1000))
    stable_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    canary_uri: Mapped[str | None] = mapped_column(String(1000), nullable=True)
    canary_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    canary_percent: Mapped[int] = mapped_column(Integer, default=0)
    config: Mapped[str] = mapped_column(Text, default="{}")
    reference: Mapped[str | None] = mapped_column(Text, nullable=True)
    status: Mapped[str] = mapped_column(String(16))
    url: Mapped[str | None] = mapped_column(String(2000), nullable=True)
    message: Mapped[str] = mapped_column(Text, default="")
    pid: Mapped[int | None] = mapped_column(Integer, nullable=True)
    job: Mapped[str | None] = mapped_column(String(300), nullable=True)
    workdir: Mapped[str | None] = mapped_column(Text, nullable=True)
    applied: Mapped[str] = mapped_column(Text, default="[]")
    generation: Mapped[int] = mapped_column(Integer, default=1)
    observed_generation: Mapped[int] = mapped_column(Integer, default=0)
    created_by: Mapped[str] = mapped_column(String(256), default="")
    created_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (Index("ix_deployments_project", "project_id"),)


class DeploymentEventRow(Base):
    """One entry of a deployment's history."""

    __tablename__ = "deployment_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    deployment: Mapped[str] = mapped_column(
        String(63), ForeignKey(_DEPLOYMENT_FK, ondelete="CASCADE")
    )
    at: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(Text)
    data: Mapped[str] = mapped_column(Text, default="{}")

    __table_args__ = (Index("ix_deployment_events_at", "deployment", "at"),)


class DeploymentSampleRow(Base):
    """Cumulative counters scraped from a deployment's ``/metrics`` at one time (JSON)."""

    __tablename__ = "deployment_samples"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    deployment: Mapped[str] = mapped_column(
        String(63), ForeignKey(_DEPLOYMENT_FK, ondelete="CASCADE")
    )
    at: Mapped[int] = mapped_column(BigInteger)
    counters: Mapped[str] = mapped_column(Text)

    __table_args__ = (Index("ix_deployment_samples_at", "deployment", "at"),)


class AlertRuleRow(Base):
    """A condition on a deployment and where to send it when it holds."""

    __tablename__ = "alert_rules"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    deployment: Mapped[str] = mapped_column(
        String(63), ForeignKey(_DEPLOYMENT_FK, ondelete="CASCADE")
    )
    kind: Mapped[str] = mapped_column(String(32))
    threshold: Mapped[float] = mapped_column(Float)
    window_s: Mapped[int] = mapped_column(Integer)
    webhook_url: Mapped[str | None] = mapped_column(String(2000), nullable=True)
    workflow: Mapped[str | None] = mapped_column(String(256), nullable=True)
    firing: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[int] = mapped_column(BigInteger)
    last_fired_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)

    __table_args__ = (Index("ix_alert_rules_deployment", "deployment"),)


class AlertFiringRow(Base):
    """One time a rule fired."""

    __tablename__ = "alert_firings"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    rule_id: Mapped[str] = mapped_column(ID, ForeignKey("alert_rules.id", ondelete="CASCADE"))
    deployment: Mapped[str] = mapped_column(
        String(63), ForeignKey(_DEPLOYMENT_FK, ondelete="CASCADE")
    )
    at: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(32))
    value: Mapped[float] = mapped_column(Float)
    threshold: Mapped[float] = mapped_column(Float)
    delivered: Mapped[bool] = mapped_column(Boolean, default=False)
    error: Mapped[str] = mapped_column(Text, default="")

    __table_args__ = (Index("ix_alert_firings_at", "deployment", "at"),)


class DriftReportRow(Base):
    """A drift check's result (the per-feature table as JSON)."""

    __tablename__ = "drift_reports"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    deployment: Mapped[str] = mapped_column(
        String(63), ForeignKey(_DEPLOYMENT_FK, ondelete="CASCADE")
    )
    at: Mapped[int] = mapped_column(BigInteger)
    row_count: Mapped[int] = mapped_column(Integer)
    dataset_drift: Mapped[bool] = mapped_column(Boolean)
    share_drifted: Mapped[float] = mapped_column(Float)
    report: Mapped[str] = mapped_column(Text)

    __table_args__ = (Index("ix_drift_reports_at", "deployment", "at"),)
