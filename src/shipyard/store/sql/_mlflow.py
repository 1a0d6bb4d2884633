"""What the MLflow-compatible API needs beyond the native schema (see ``store/mlflow.py``)."""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shipyard.domain.validation import validate_key, validate_project_name, validate_tags
from shipyard.errors import AlreadyExists, InvalidArgument, NotFound
from shipyard.store.mlflow import ACTIVE, DEFAULT_EXPERIMENT, DELETED, LoggedModel, MlflowExperiment
from shipyard.store.sql._runs import affected_rows, dialect_insert, ensure_project, now_ms
from shipyard.store.sql.models import ProjectRow, RunRow
from shipyard.store.sql.models_mlflow import (
    MlflowExperimentRow,
    MlflowExperimentTagRow,
    MlflowLoggedModelRow,
)

_STAGES = (ACTIVE, DELETED)
_PENDING = "LOGGED_MODEL_PENDING"


class SqlMlflowStore:
    """Methods of :class:`~shipyard.store.sql.store.SqlRunStore` (a base class of it)."""

    def _read(self) -> AbstractContextManager[Session]:
        raise NotImplementedError  # provided by SqlRunStore

    def _write(self) -> AbstractContextManager[Session]:
        raise NotImplementedError  # provided by SqlRunStore

    # -- experiments ----------------------------------------------------------------------------
    def mlflow_experiments(self, *, include_deleted: bool = True) -> Sequence[MlflowExperiment]:
        """Every project as an experiment (ids assigned on demand), by experiment id."""
        with self._write() as session:
            missing = session.scalars(
                sa.select(ProjectRow.id).where(
                    ProjectRow.id.not_in(sa.select(MlflowExperimentRow.project_id))
                )
            ).all()
            for project_id in missing:
                _assign(session, project_id)
            found = [_experiment(session, row) for row in _experiment_rows(session)]
        return [e for e in found if include_deleted or e.lifecycle_stage == ACTIVE]

    def mlflow_experiment(self, experiment_id: int) -> MlflowExperiment:
        """One experiment by id (``0`` creates ``Default`` on demand). Raises ``NotFound``."""
        with self._write() as session:
            if experiment_id == 0:
                _assign(session, ensure_project(session, DEFAULT_EXPERIMENT), 0)
            row = session.get(MlflowExperimentRow, experiment_id)
            if row is None:
                raise _no_experiment(f"experiment id {experiment_id}")
            return _experiment(session, row)

    def mlflow_experiment_by_name(self, name: str) -> MlflowExperiment:
        """One experiment by project name (id assigned on demand). Raises ``NotFound``."""
        with self._write() as session:
            if name == DEFAULT_EXPERIMENT:
                _assign(session, ensure_project(session, DEFAULT_EXPERIMENT), 0)
            project_id = session.scalar(sa.select(ProjectRow.id).where(ProjectRow.name == name))
            if project_id is None:
                raise _no_experiment(f"experiment {name!r}")
            return _experiment(session, _assign(session, project_id))

    def mlflow_create_experiment(
        self, name: str, tags: Mapping[str, str] | None = None
    ) -> MlflowExperiment:
        """Create the project and its experiment. Raises ``AlreadyExists``."""
        validate_project_name(name)
        checked = validate_tags(tags or {})
        with self._write() as session:
            if session.scalar(sa.select(ProjectRow.id).where(ProjectRow.name == name)):
                raise AlreadyExists(
                    f"experiment {name!r} already exists",
                    hint="use mlflow.set_experiment() to log to it, or pick another name",
                )
            row = _assign(session, ensure_project(session, name), 0 if name == "Default" else None)
            _write_tags(session, row.project_id, checked)
            return _experiment(session, row)

    def mlflow_update_experiment(
        self,
        experiment_id: int,
        *,
        new_name: str | None = None,
        lifecycle_stage: str | None = None,
    ) -> MlflowExperiment:
        """Rename the project and/or set the lifecycle stage (``active``/``deleted``)."""
        if lifecycle_stage is not None and lifecycle_stage not in _STAGES:
            raise InvalidArgument(
                f"invalid lifecycle stage {lifecycle_stage!r}", hint="use 'active' or 'deleted'"
            )
        with self._write() as session:
            row = _locked_experiment(session, experiment_id)
            if new_name is not None:
                _rename(session, row.project_id, validate_project_name(new_name))
            if lifecycle_stage is not None:
                row.lifecycle_stage = lifecycle_stage
            row.last_update_time = now_ms()
            session.flush()
            return _experiment(session, row)

    def mlflow_set_experiment_tags(self, experiment_id: int, tags: Mapping[str, str]) -> None:
        """Set (or overwrite) experiment tags."""
        checked = validate_tags(tags)
        with self._write() as session:
            row = _locked_experiment(session, experiment_id)
            _write_tags(session, row.project_id, checked)

    def mlflow_delete_experiment_tag(self, experiment_id: int, key: str) -> None:
        """Remove an experiment tag. Raises ``NotFound`` when it is not set."""
        with self._write() as session:
            row = _locked_experiment(session, experiment_id)
            stmt = sa.delete(MlflowExperimentTagRow).where(
                MlflowExperimentTagRow.project_id == row.project_id,
                MlflowExperimentTagRow.key == key,
            )
            if affected_rows(session, stmt) == 0:
                raise NotFound(
                    f"tag {key!r} is not set on experiment {experiment_id}",
                    hint="check the key; get_experiment() shows the tags",
                )

    def mlflow_experiment_ids(self, projects: Sequence[str]) -> Mapping[str, int]:
        """Experiment ids of existing projects by name (assigned on demand)."""
        names = sorted(set(projects))
        query = (
            sa.select(ProjectRow.name, MlflowExperimentRow.experiment_id)
            .join(MlflowExperimentRow, MlflowExperimentRow.project_id == ProjectRow.id)
            .where(ProjectRow.name.in_(names))
        )
        with self._read() as session:
            found: dict[str, int] = dict(session.execute(query).tuples().all())
        if len(found) == len(names):
            return found
        with self._write() as session:
            rows = session.execute(sa.select(ProjectRow.id).where(ProjectRow.name.in_(names)))
            for (project_id,) in rows.tuples().all():
                _assign(session, project_id)
            return dict(session.execute(query).tuples().all())

    # -- logged models --------------------------------------------------------------------------
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
        now = now_ms()
        with self._write() as session:
            experiment = _locked_experiment(session, experiment_id)
            if session.get(RunRow, run_id) is None:
                raise NotFound(f"run {run_id!r} not found", hint="check the source run id")
            row = MlflowLoggedModelRow(
                id=f"m-{secrets.token_hex(16)}",
                project_id=experiment.project_id,
                run_id=run_id,
                source_run_id=source_run_id,
                name=name[:256],
                model_type=model_type[:256],
                status=_PENDING,
                status_message="",
                creator=creator[:256],
                created_at=now,
                updated_at=now,
                tags_json=json.dumps(dict(tags or {})),
                params_json=json.dumps(dict(params or {})),
                deleted=False,
            )
            session.add(row)
            session.flush()
            return _logged_model(session, row)

    def mlflow_get_logged_model(self, model_id: str) -> LoggedModel:
        """One logged model. Raises ``NotFound`` (also for a deleted one)."""
        with self._read() as session:
            return _logged_model(session, _model_row(session, model_id))

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
        restores a deleted one)."""
        with self._write() as session:
            row = _model_row(session, model_id, lock=True, include_deleted=deleted is False)
            if status is not None:
                row.status = status[:32]
            tags = {**json.loads(row.tags_json), **validate_tags(set_tags or {})}
            for key in delete_tags:
                tags.pop(key, None)
            row.tags_json = json.dumps(tags)
            row.params_json = json.dumps({**json.loads(row.params_json), **(params or {})})
            if deleted is not None:
                row.deleted = deleted
            row.updated_at = now_ms()
            session.flush()
            return _logged_model(session, row)

    def mlflow_list_logged_models(
        self, experiment_ids: Sequence[int], *, source_run_id: str | None = None
    ) -> Sequence[LoggedModel]:
        """Logged models of experiments, newest first (deleted ones left out)."""
        query = (
            sa.select(MlflowLoggedModelRow)
            .join(
                MlflowExperimentRow,
                MlflowExperimentRow.project_id == MlflowLoggedModelRow.project_id,
            )
            .where(
                MlflowExperimentRow.experiment_id.in_(list(experiment_ids)),
                MlflowLoggedModelRow.deleted.is_(False),
            )
            .order_by(MlflowLoggedModelRow.created_at.desc(), MlflowLoggedModelRow.id)
        )
        if source_run_id is not None:
            query = query.where(MlflowLoggedModelRow.source_run_id == source_run_id)
        with self._read() as session:
            return [_logged_model(session, row) for row in session.scalars(query).all()]


# -- helpers (inside the caller's transaction) ----------------------------------------------------


def _no_experiment(what: str) -> NotFound:
    return NotFound(
        f"{what} does not exist",
        hint="create it with mlflow.create_experiment() or mlflow.set_experiment()",
    )


def _assign(session: Session, project_id: str, wanted: int | None = None) -> MlflowExperimentRow:
    """The experiment row of a project, created (with id ``wanted`` or the next one) if missing."""
    row = session.scalar(
        sa.select(MlflowExperimentRow).where(MlflowExperimentRow.project_id == project_id)
    )
    if row is not None:
        return row
    values: dict[str, object] = {
        "project_id": project_id,
        "lifecycle_stage": ACTIVE,
        "last_update_time": now_ms(),
    }
    if wanted is not None:
        values["experiment_id"] = wanted
    stmt = dialect_insert(session, MlflowExperimentRow).values(**values)
    session.execute(stmt.on_conflict_do_nothing())
    created = session.scalar(
        sa.select(MlflowExperimentRow).where(MlflowExperimentRow.project_id == project_id)
    )
    if created is None:
        raise AlreadyExists(
            f"experiment id {wanted} is taken by another project",
            hint="rename that project, or ask a server admin",
        )
    return created


def _experiment_rows(session: Session) -> Sequence[MlflowExperimentRow]:
    query = sa.select(MlflowExperimentRow).order_by(MlflowExperimentRow.experiment_id)
    return session.scalars(query).all()


def _locked_experiment(session: Session, experiment_id: int) -> MlflowExperimentRow:
    if experiment_id == 0:
        _assign(session, ensure_project(session, DEFAULT_EXPERIMENT), 0)
    row = session.get(MlflowExperimentRow, experiment_id, with_for_update=True)
    if row is None:
        raise _no_experiment(f"experiment id {experiment_id}")
    return row


def _experiment(session: Session, row: MlflowExperimentRow) -> MlflowExperiment:
    project = session.get(ProjectRow, row.project_id)
    assert project is not None  # the foreign key cascades
    tags = session.execute(
        sa.select(MlflowExperimentTagRow.key, MlflowExperimentTagRow.value).where(
            MlflowExperimentTagRow.project_id == row.project_id
        )
    )
    return MlflowExperiment(
        experiment_id=row.experiment_id,
        name=project.name,
        project_id=project.id,
        created_at=project.created_at,
        last_update_time=row.last_update_time,
        lifecycle_stage=row.lifecycle_stage,
        tags=dict(tags.tuples().all()),
    )


def _rename(session: Session, project_id: str, new_name: str) -> None:
    taken = session.scalar(sa.select(ProjectRow.id).where(ProjectRow.name == new_name))
    if taken is not None and taken != project_id:
        raise AlreadyExists(
            f"experiment {new_name!r} already exists", hint="pick a name no project uses"
        )
    project = session.get(ProjectRow, project_id)
    assert project is not None
    project.name = new_name


def _write_tags(session: Session, project_id: str, tags: Mapping[str, str]) -> None:
    for key, value in tags.items():
        validate_key(key, "tag key")
        row = session.get(MlflowExperimentTagRow, (project_id, key))
        if row is None:
            session.add(MlflowExperimentTagRow(project_id=project_id, key=key, value=value))
        else:
            row.value = value
    session.flush()


def _model_row(
    session: Session, model_id: str, *, lock: bool = False, include_deleted: bool = False
) -> MlflowLoggedModelRow:
    row = session.get(MlflowLoggedModelRow, model_id, with_for_update=lock)
    if row is None or (row.deleted and not include_deleted):
        raise NotFound(
            f"logged model {model_id!r} not found",
            hint="check the model id (m-...); search_logged_models() lists them",
        )
    return row


def _logged_model(session: Session, row: MlflowLoggedModelRow) -> LoggedModel:
    experiment = session.scalar(
        sa.select(MlflowExperimentRow).where(MlflowExperimentRow.project_id == row.project_id)
    )
    project = session.get(ProjectRow, row.project_id)
    assert experiment is not None
    assert project is not None
    return LoggedModel(
        model_id=row.id,
        experiment_id=experiment.experiment_id,
        project=project.name,
        run_id=row.run_id,
        source_run_id=row.source_run_id,
        name=row.name,
        model_type=row.model_type,
        status=row.status,
        status_message=row.status_message,
        creator=row.creator,
        created_at=row.created_at,
        updated_at=row.updated_at,
        tags=json.loads(row.tags_json),
        params=json.loads(row.params_json),
    )
