"""What the MLflow-compatible API stores beyond the native schema.

Contract (implemented by :class:`~shipyard.store.sql.store.SqlRunStore`):

* An MLflow experiment *is* a Shipyard project. Its MLflow id is a stable integer assigned the
  first time a client sees the project (``mlflow_experiments`` and friends assign ids on demand),
  and ``0`` is always the project ``Default`` (created on demand). Ids are never reused.
* An experiment is ``active`` or ``deleted`` (MLflow can delete and restore one); deleting only
  hides it from MLflow listings, its runs stay.
* Logged models (MLflow 3) get ids ``m-<32 hex>``; their files are artifacts of ``run_id`` (the
  source run, or a holder run when the client named none) under ``models/<model id>/``.
* Errors are :mod:`shipyard.errors` classes; times are integer milliseconds since the epoch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

DEFAULT_EXPERIMENT = "Default"
"""The project behind MLflow's default experiment ``0``."""

ACTIVE = "active"
DELETED = "deleted"


@dataclass(frozen=True, slots=True)
class MlflowExperiment:
    """A project as MLflow sees it."""

    experiment_id: int
    name: str
    project_id: str
    created_at: int
    last_update_time: int
    lifecycle_stage: str = ACTIVE
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class LoggedModel:
    """An MLflow 3 logged model."""

    model_id: str
    experiment_id: int
    project: str
    run_id: str
    source_run_id: str | None
    name: str
    model_type: str
    status: str
    status_message: str
    creator: str
    created_at: int
    updated_at: int
    tags: Mapping[str, str] = field(default_factory=dict)
    params: Mapping[str, str] = field(default_factory=dict)

    @property
    def artifact_path(self) -> str:
        """Where the model's files live inside ``run_id``'s artifacts."""
        return f"models/{self.model_id}"


@runtime_checkable
class MlflowStore(Protocol):
    """Experiment ids, experiment lifecycle and tags, and logged models."""

    def mlflow_experiments(self, *, include_deleted: bool = True) -> Sequence[MlflowExperiment]:
        """Every project as an experiment (ids assigned on demand), by experiment id."""
        ...

    def mlflow_experiment(self, experiment_id: int) -> MlflowExperiment:
        """One experiment by id (``0`` creates ``Default`` on demand). Raises ``NotFound``."""
        ...

    def mlflow_experiment_by_name(self, name: str) -> MlflowExperiment:
        """One experiment by project name (id assigned on demand). Raises ``NotFound``."""
        ...

    def mlflow_create_experiment(
        self, name: str, tags: Mapping[str, str] | None = None
    ) -> MlflowExperiment:
        """Create the project and its experiment. Raises ``AlreadyExists``."""
        ...

    def mlflow_update_experiment(
        self,
        experiment_id: int,
        *,
        new_name: str | None = None,
        lifecycle_stage: str | None = None,
    ) -> MlflowExperiment:
        """Rename the project and/or set the lifecycle stage (``active``/``deleted``)."""
        ...

    def mlflow_set_experiment_tags(self, experiment_id: int, tags: Mapping[str, str]) -> None:
        """Set (or overwrite) experiment tags."""
        ...

    def mlflow_delete_experiment_tag(self, experiment_id: int, key: str) -> None:
        """Remove an experiment tag. Raises ``NotFound`` when it is not set."""
        ...

    def mlflow_experiment_ids(self, projects: Sequence[str]) -> Mapping[str, int]:
        """Experiment ids of existing projects by name (assigned on demand)."""
        ...

    def mlflow_create_logged_model(
        self,
        experiment_id: int,
        *,
        name: str,
        run_id: str,
        source_run_id: str | None,
        model_type: str = "",
        creator: str = "",
        tags: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
    ) -> LoggedModel:
        """Record a new logged model (status ``LOGGED_MODEL_PENDING``)."""
        ...

    def mlflow_get_logged_model(self, model_id: str) -> LoggedModel:
        """One logged model. Raises ``NotFound`` (also for a deleted one)."""
        ...

    def mlflow_update_logged_model(
        self,
        model_id: str,
        *,
        status: str | None = None,
        set_tags: Mapping[str, str] | None = None,
        delete_tags: Sequence[str] = (),
        params: Mapping[str, str] | None = None,
        deleted: bool | None = None,
    ) -> LoggedModel:
        """Change a logged model's status, tags or params, or delete it (``deleted=False``
        restores a deleted one). Raises ``NotFound``."""
        ...

    def mlflow_list_logged_models(
        self, experiment_ids: Sequence[int], *, source_run_id: str | None = None
    ) -> Sequence[LoggedModel]:
        """Logged models of experiments, newest first (deleted ones left out)."""
        ...
