"""SQL rows of what the MLflow-compatible API needs beyond the native schema.

Owned by migration 0009; :mod:`shipyard.store.sql.models` imports it (``Base.metadata`` whole).

* ``mlflow_experiments``: the stable integer id MLflow clients see for a project (``0`` is the
  ``Default`` project), and the experiment's lifecycle stage (MLflow can delete and restore one).
* ``mlflow_experiment_tags``: experiment tags (native projects have none).
* ``mlflow_logged_models``: MLflow 3 logged models; their files are artifacts of ``run_id``
  under ``models/<id>/``.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shipyard.store.sql.models import ID, Base


class MlflowExperimentRow(Base):
    """The MLflow face of a project."""

    __tablename__ = "mlflow_experiments"

    experiment_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    project_id: Mapped[str] = mapped_column(
        ID, ForeignKey("projects.id", ondelete="CASCADE"), unique=True
    )
    lifecycle_stage: Mapped[str] = mapped_column(String(16), default="active")
    last_update_time: Mapped[int] = mapped_column(BigInteger)


class MlflowExperimentTagRow(Base):
    """One tag of an experiment."""

    __tablename__ = "mlflow_experiment_tags"

    project_id: Mapped[str] = mapped_column(
        ID, ForeignKey("projects.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(250), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class MlflowLoggedModelRow(Base):
    """An MLflow 3 logged model (``m-<hex>``); its files live in the artifacts of ``run_id``."""

    __tablename__ = "mlflow_logged_models"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    project_id: Mapped[str] = mapped_column(ID, ForeignKey("projects.id", ondelete="CASCADE"))
    run_id: Mapped[str] = mapped_column(ID, ForeignKey("runs.id", ondelete="CASCADE"))
    source_run_id: Mapped[str | None] = mapped_column(ID, nullable=True)
    name: Mapped[str] = mapped_column(String(256))
    model_type: Mapped[str] = mapped_column(String(256), default="")
    status: Mapped[str] = mapped_column(String(32))
    status_message: Mapped[str] = mapped_column(Text, default="")
    creator: Mapped[str] = mapped_column(String(256), default="")
    created_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)
    tags_json: Mapped[str] = mapped_column(Text, default="{}")
    params_json: Mapped[str] = mapped_column(Text, default="{}")
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (Index("ix_mlflow_logged_models_project", "project_id", "created_at"),)
