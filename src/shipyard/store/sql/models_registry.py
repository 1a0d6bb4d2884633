"""SQL rows of the model registry: registered models, their versions, tags and aliases.

Owned by migration 0006; :mod:`shipyard.store.sql.models` imports it (``Base.metadata`` whole).
A model version's row never leaves its model: versions, tags and aliases are keyed by the model's
id, and deleting the model deletes them (``ON DELETE CASCADE``).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from shipyard.store.sql.models import ID, Base


class RegisteredModelRow(Base):
    """A named model in a project. ``next_version`` is the number the next version gets, so
    numbers are never reused after a delete."""

    __tablename__ = "registered_models"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    project_id: Mapped[str] = mapped_column(ID, ForeignKey("projects.id", ondelete="CASCADE"))
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[int] = mapped_column(BigInteger)
    next_version: Mapped[int] = mapped_column(Integer, default=1)

    __table_args__ = (Index("ix_registered_models_project", "project_id"),)


class RegisteredModelTagRow(Base):
    """A tag of a registered model."""

    __tablename__ = "registered_model_tags"

    model_id: Mapped[str] = mapped_column(
        ID, ForeignKey("registered_models.id", ondelete="CASCADE"), primary_key=True
    )
    key: Mapped[str] = mapped_column(String(250), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class ModelVersionRow(Base):
    """A numbered version: the model folder ``source`` logged by run ``run_id``.
    ``signature`` is JSON (``null`` when unknown)."""

    __tablename__ = "model_versions"

    model_id: Mapped[str] = mapped_column(
        ID, ForeignKey("registered_models.id", ondelete="CASCADE"), primary_key=True
    )
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    run_id: Mapped[str | None] = mapped_column(
        ID, ForeignKey("runs.id", ondelete="SET NULL"), nullable=True
    )
    source: Mapped[str] = mapped_column(String(1024))
    flavor: Mapped[str] = mapped_column(String(64))
    signature: Mapped[str | None] = mapped_column(Text, nullable=True)
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[int] = mapped_column(BigInteger)
    created_by: Mapped[str] = mapped_column(String(256), default="")

    __table_args__ = (Index("ix_model_versions_run", "run_id"),)


class ModelVersionTagRow(Base):
    """A tag of a model version."""

    __tablename__ = "model_version_tags"

    model_id: Mapped[str] = mapped_column(ID, primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    key: Mapped[str] = mapped_column(String(250), primary_key=True)
    value: Mapped[str] = mapped_column(Text)

    __table_args__ = (
        ForeignKeyConstraint(
            ["model_id", "version"],
            ["model_versions.model_id", "model_versions.version"],
            ondelete="CASCADE",
        ),
    )


class ModelAliasRow(Base):
    """An alias of a registered model, pointing at one of its versions."""

    __tablename__ = "model_aliases"

    model_id: Mapped[str] = mapped_column(ID, primary_key=True)
    alias: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer)

    __table_args__ = (
        ForeignKeyConstraint(
            ["model_id", "version"],
            ["model_versions.model_id", "model_versions.version"],
            ondelete="CASCADE",
        ),
    )
