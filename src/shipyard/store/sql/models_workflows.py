"""SQL rows of workflows: workflow runs and their jobs (with the step cache's keys).

Owned by migration 0007; :mod:`shipyard.store.sql.models` imports it (``Base.metadata`` whole).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shipyard.store.sql.models import ID, Base


class WorkflowRunRow(Base):
    """One run of a workflow file; ``spec`` is the file's text as it was run."""

    __tablename__ = "workflow_runs"
    __table_args__ = (
        Index("ix_workflow_runs_project", "project", "created_at"),
        Index("ix_workflow_runs_name", "name", "created_at"),
    )

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(256))
    project: Mapped[str] = mapped_column(String(256))
    path: Mapped[str] = mapped_column(Text, default="")
    spec: Mapped[str] = mapped_column(Text, default="")
    commit: Mapped[str] = mapped_column(String(64), default="")
    params_json: Mapped[str] = mapped_column(Text, default="{}")
    trigger_json: Mapped[str | None] = mapped_column(Text, nullable=True)
    user: Mapped[str] = mapped_column(String(256), default="")
    status: Mapped[str] = mapped_column(String(16))
    message: Mapped[str] = mapped_column(Text, default="")
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    retry_of: Mapped[str | None] = mapped_column(ID, nullable=True)
    created_at: Mapped[int] = mapped_column(BigInteger)
    ended_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    heartbeat_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class WorkflowJobRow(Base):
    """One job of a workflow run; ``run_id`` is the tracked run that did (or did earlier) the
    work, ``cache_key`` what the step cache looks up."""

    __tablename__ = "workflow_jobs"
    __table_args__ = (Index("ix_workflow_jobs_cache", "cache_key", "status"),)

    workflow_run_id: Mapped[str] = mapped_column(
        ID, ForeignKey("workflow_runs.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16))
    run_id: Mapped[str | None] = mapped_column(ID, nullable=True)
    cache_key: Mapped[str] = mapped_column(String(64), default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    message: Mapped[str] = mapped_column(Text, default="")
    outputs_json: Mapped[str] = mapped_column(Text, default="{}")
    fingerprint_json: Mapped[str] = mapped_column(Text, default="{}")
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    started_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    ended_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
