"""SQL rows. They never leave ``shipyard.store.sql``: the store converts them to domain entities.

The schema is owned by Alembic migrations (``migrations/``); this module must match the latest
revision (a test compares them).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

ID = String(32)


class Base(DeclarativeBase):
    """Declarative base of every Shipyard table."""


class ProjectRow(Base):
    __tablename__ = "projects"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(256), unique=True)
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[int] = mapped_column(BigInteger)


class RunRow(Base):
    __tablename__ = "runs"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    project_id: Mapped[str] = mapped_column(ID, ForeignKey("projects.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(256), default="")
    status: Mapped[str] = mapped_column(String(16))
    user: Mapped[str] = mapped_column(String(256), default="")
    start_time: Mapped[int] = mapped_column(BigInteger)
    end_time: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    parent_id: Mapped[str | None] = mapped_column(ID, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    notes: Mapped[str] = mapped_column(Text, default="")
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (
        Index("ix_runs_project_start", "project_id", "deleted", "start_time", "id"),
        Index("ix_runs_parent", "parent_id"),
    )


class ParamRow(Base):
    """A param keeps its exact JSON form (``value_json``) plus columns to compare by number/text."""

    __tablename__ = "params"

    run_id: Mapped[str] = mapped_column(
        ID, ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(250), primary_key=True)
    value_json: Mapped[str] = mapped_column(Text)
    value_text: Mapped[str] = mapped_column(Text)
    value_num: Mapped[float | None] = mapped_column(Float, nullable=True)

    __table_args__ = (Index("ix_params_key_num", "key", "value_num"),)


class TagRow(Base):
    __tablename__ = "tags"

    run_id: Mapped[str] = mapped_column(
        ID, ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(250), primary_key=True)
    value: Mapped[str] = mapped_column(Text)

    __table_args__ = (Index("ix_tags_key", "key"),)


class MetricSummaryRow(Base):
    """Per (run, key): last value and extremes, for search and ordering.

    NULL ``last_value`` means NaN.
    """

    __tablename__ = "metric_summaries"

    run_id: Mapped[str] = mapped_column(
        ID, ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(250), primary_key=True)
    last_value: Mapped[float | None] = mapped_column(Float, nullable=True)
    last_step: Mapped[int] = mapped_column(BigInteger)
    last_timestamp: Mapped[int] = mapped_column(BigInteger)
    min_value: Mapped[float | None] = mapped_column(Float, nullable=True)
    max_value: Mapped[float | None] = mapped_column(Float, nullable=True)
    count: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (Index("ix_metric_summaries_key_last", "key", "last_value"),)


class MetricChunkRow(Base):
    """A run of points of one metric, packed as little-endian arrays (int64 steps and timestamps,
    float64 values): one row per key per ingested batch, never one row per point."""

    __tablename__ = "metric_chunks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ID, ForeignKey("runs.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(250))
    first_step: Mapped[int] = mapped_column(BigInteger)
    last_step: Mapped[int] = mapped_column(BigInteger)
    count: Mapped[int] = mapped_column(Integer)
    steps: Mapped[bytes] = mapped_column(LargeBinary)
    timestamps: Mapped[bytes] = mapped_column(LargeBinary)
    values: Mapped[bytes] = mapped_column(LargeBinary)

    __table_args__ = (Index("ix_metric_chunks_run_key", "run_id", "key", "first_step"),)


class IngestBatchRow(Base):
    """Which batch ids were applied to a run: makes ``ingest`` idempotent."""

    __tablename__ = "ingest_batches"

    run_id: Mapped[str] = mapped_column(
        ID, ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True
    )
    batch_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    applied_at: Mapped[int] = mapped_column(BigInteger)


class ArtifactRow(Base):
    __tablename__ = "artifacts"

    run_id: Mapped[str] = mapped_column(
        ID, ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True
    )
    path: Mapped[str] = mapped_column(String(1024), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    media_type: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[int] = mapped_column(BigInteger)

    __table_args__ = (Index("ix_artifacts_sha256", "sha256"),)


class RunInputRow(Base):
    __tablename__ = "run_inputs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[str] = mapped_column(ID, ForeignKey("runs.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(256))
    version: Mapped[str] = mapped_column(String(128))
    direction: Mapped[str] = mapped_column(String(16))
    digest: Mapped[str] = mapped_column(String(128), default="")
    extra_json: Mapped[str] = mapped_column(Text, default="{}")

    __table_args__ = (
        UniqueConstraint("run_id", "kind", "name", "version", "direction", name="uq_run_inputs"),
        Index("ix_run_inputs_kind_name", "kind", "name", "version"),
    )


class DatasetRow(Base):
    """A named dataset; its content lives in its versions."""

    __tablename__ = "datasets"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    created_at: Mapped[int] = mapped_column(BigInteger)


class DatasetVersionRow(Base):
    """An immutable dataset version. ``manifest`` is the zlib-compressed canonical manifest (one
    row per version however many files: a 10,000-file version is one small blob, not 10,000 rows);
    ``digest`` is the sha256 of the uncompressed text."""

    __tablename__ = "dataset_versions"

    dataset_id: Mapped[str] = mapped_column(
        ID, ForeignKey("datasets.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    digest: Mapped[str] = mapped_column(String(64))
    file_count: Mapped[int] = mapped_column(BigInteger)
    total_size: Mapped[int] = mapped_column(BigInteger)
    message: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[int] = mapped_column(BigInteger)
    created_by: Mapped[str] = mapped_column(String(256), default="")
    manifest: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)

    __table_args__ = (Index("ix_dataset_versions_digest", "digest"),)


class JobRow(Base):
    """The job of a run: where it runs, what was asked (``spec``, JSON), its state, attempts and,
    for queued jobs, the agent that holds it and its lease. ``history`` is the JSON list of the
    attempts that ended."""

    __tablename__ = "jobs"

    run_id: Mapped[str] = mapped_column(
        ID, ForeignKey("runs.id", ondelete="CASCADE"), primary_key=True
    )
    executor: Mapped[str] = mapped_column(String(32))
    handle: Mapped[str | None] = mapped_column(String(512), nullable=True)
    spec: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_retries: Mapped[int] = mapped_column(Integer, default=0)
    queue: Mapped[str | None] = mapped_column(String(128), nullable=True)
    agent: Mapped[str | None] = mapped_column(String(256), nullable=True)
    lease_ms: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    heartbeat_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    cancel_requested: Mapped[bool] = mapped_column(Boolean, default=False)
    exit_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    message: Mapped[str] = mapped_column(Text, default="")
    history: Mapped[str] = mapped_column(Text, default="[]")
    created_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)
    started_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    attempt_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    ended_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)

    __table_args__ = (
        Index("ix_jobs_queue_state", "queue", "state", "created_at"),
        Index("ix_jobs_state", "state"),
        Index("ix_jobs_created", "created_at", "run_id"),
    )


# The rows of later features live in their own modules; importing them here completes Base.metadata.
from shipyard.store.sql import (  # noqa: E402
    models_auth,
    models_collab,
    models_mlflow,
    models_registry,
    models_serving,
    models_triggers,
    models_workflows,
)

__all_feature_models__ = (
    models_auth,
    models_collab,
    models_registry,
    models_workflows,
    models_serving,
    models_mlflow,
    models_triggers,
)
