"""SQL rows of workflow triggers: pending workflow-run requests and watched workflow files.

Owned by migration 0010; :mod:`shipyard.store.sql.models` imports it (``Base.metadata`` whole).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shipyard.store.sql.models import ID, Base


class WorkflowRequestRow(Base):
    __tablename__ = "workflow_requests"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    source: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16))
    repo_url: Mapped[str] = mapped_column(String(2048), default="")
    ref: Mapped[str] = mapped_column(String(512), default="")
    commit: Mapped[str] = mapped_column(String(64), default="")
    event: Mapped[str] = mapped_column(Text)
    workflow: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    params: Mapped[str] = mapped_column(Text)
    requested_by: Mapped[str] = mapped_column(String(256), default="")
    claimed_by: Mapped[str | None] = mapped_column(String(256), nullable=True)
    lease_until: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    workflow_run_ids: Mapped[str] = mapped_column(Text)
    error: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (
        Index("ix_workflow_requests_status", "status", "created_at"),
        Index("ix_workflow_requests_created", "created_at", "id"),
    )


class WorkflowWatchRow(Base):
    __tablename__ = "workflow_watches"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    repo_url: Mapped[str] = mapped_column(String(2048))
    path: Mapped[str] = mapped_column(String(1024))
    branch: Mapped[str] = mapped_column(String(512), default="")
    commit: Mapped[str] = mapped_column(String(64), default="")
    schedules: Mapped[str] = mapped_column(Text)
    events: Mapped[str] = mapped_column(Text)
    last_tick_at: Mapped[int] = mapped_column(BigInteger, default=0)
    created_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (UniqueConstraint("repo_url", "path", name="uq_workflow_watches_repo_path"),)
