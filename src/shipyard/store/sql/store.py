"""``SqlRunStore``: the :class:`~shipyard.store.base.RunStore` over SQLite or PostgreSQL.

One store holds one engine and two session factories: readers (a consistent snapshot) and writers
(on SQLite the write lock is taken when the transaction begins; on PostgreSQL the run's row is
locked ``FOR UPDATE``). Every method is one short transaction, so an instance can be shared by
threads. Rows never leave this package: methods return frozen domain entities.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from shipyard.domain.batch import IngestBatch
from shipyard.domain.collab import validate_notes
from shipyard.domain.entities import (
    Artifact,
    MetricSeries,
    Page,
    ParamValue,
    Project,
    Run,
    RunInput,
    RunStatus,
)
from shipyard.domain.ids import is_id, new_id
from shipyard.domain.validation import (
    validate_params,
    validate_project_name,
    validate_run_name,
    validate_tags,
)
from shipyard.errors import AlreadyExists, InvalidArgument, NotFound
from shipyard.store.base import SearchQuery
from shipyard.store.sql import _records
from shipyard.store.sql._auth import SqlAuthStore
from shipyard.store.sql._collab import SqlCollabStore
from shipyard.store.sql._datasets import SqlDatasetStore
from shipyard.store.sql._jobs import SqlJobStore
from shipyard.store.sql._load import load_runs
from shipyard.store.sql._metrics import apply_batch, read_history, validate_batch
from shipyard.store.sql._mlflow import SqlMlflowStore
from shipyard.store.sql._registry import SqlRegistryStore
from shipyard.store.sql._runs import (
    affected_rows,
    dialect_insert,
    ensure_project,
    lock_run,
    now_ms,
    run_not_found,
    write_params,
    write_tags,
)
from shipyard.store.sql._serving import SqlServingStore
from shipyard.store.sql._triggers import SqlTriggerStore
from shipyard.store.sql._workflows import SqlWorkflowStore
from shipyard.store.sql.engine import create_engine, translate_errors, writer
from shipyard.store.sql.migrate import check_schema
from shipyard.store.sql.models import ProjectRow, RunRow, TagRow

_MAX_USER = 256


class SqlRunStore(
    SqlDatasetStore,
    SqlJobStore,
    SqlAuthStore,
    SqlCollabStore,
    SqlRegistryStore,
    SqlWorkflowStore,
    SqlServingStore,
    SqlMlflowStore,
    SqlTriggerStore,
):
    """Projects, runs, params, tags, metrics and artifact records in a SQL database; also the
    :class:`~shipyard.store.datasets.DatasetStore` (dataset versions, see ``_datasets.py``) and the
    :class:`~shipyard.store.jobs.JobStore` (jobs, queues and leases, see ``_jobs.py``).

    >>> store = SqlRunStore.from_uri("sqlite:///.shipyard/shipyard.db", auto_create=True)
    >>> run = store.create_run("iris", params={"depth": 4})
    """

    def __init__(self, engine: Engine) -> None:
        """Wrap an engine made by :func:`shipyard.store.sql.engine.create_engine` whose schema is
        current (use :meth:`from_uri`, which checks it)."""
        self._engine = engine
        self._reads = sessionmaker(engine, expire_on_commit=False)
        self._writes = sessionmaker(writer(engine), expire_on_commit=False)

    @classmethod
    def from_uri(cls, uri: str, *, auto_create: bool = False) -> SqlRunStore:
        """Open the store at ``sqlite:///path.db`` or ``postgresql+psycopg://user@host/db``.

        With ``auto_create`` an empty database gets the schema. Raises ``SchemaOutdated`` (naming
        ``shipyard db upgrade``) when the schema is missing or behind, ``Unavailable`` when the
        database cannot be reached.
        """
        engine = create_engine(uri)
        try:
            check_schema(engine, auto_create=auto_create)
        except BaseException:
            engine.dispose()
            raise
        return cls(engine)

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine (for migrations and diagnostics)."""
        return self._engine

    @contextmanager
    def _read(self) -> Iterator[Session]:
        with translate_errors(self._engine.url), self._reads.begin() as session:
            yield session

    @contextmanager
    def _write(self) -> Iterator[Session]:
        with translate_errors(self._engine.url), self._writes.begin() as session:
            yield session

    # -- projects ---------------------------------------------------------------------------
    def create_project(self, name: str, description: str = "") -> Project:
        """Create a project. Raises ``AlreadyExists`` if the name is taken."""
        project = Project(
            id=new_id(),
            name=validate_project_name(name),
            created_at=now_ms(),
            description=description,
        )
        with self._write() as session:
            stmt = dialect_insert(session, ProjectRow).values(
                id=project.id, name=name, description=description, created_at=project.created_at
            )
            if affected_rows(session, stmt.on_conflict_do_nothing(index_elements=["name"])) == 0:
                raise AlreadyExists(
                    f"project {name!r} already exists",
                    hint="pick another name, or log runs to the existing project",
                )
        return project

    def get_project(self, name: str) -> Project:
        """Return a project by name. Raises ``NotFound``."""
        with self._read() as session:
            row = session.scalar(sa.select(ProjectRow).where(ProjectRow.name == name))
            if row is None:
                raise NotFound(
                    f"project {name!r} not found",
                    hint="check the name (names are case-sensitive); list_projects() shows them",
                )
            return _project(row)

    def list_projects(self) -> Sequence[Project]:
        """Every project, by name."""
        with self._read() as session:
            rows = session.scalars(sa.select(ProjectRow).order_by(ProjectRow.name)).all()
            return [_project(row) for row in rows]

    # -- runs -------------------------------------------------------------------------------
    def create_run(
        self,
        project: str,
        *,
        name: str = "",
        user: str = "",
        params: Mapping[str, ParamValue] | None = None,
        tags: Mapping[str, str] | None = None,
        parent_id: str | None = None,
        start_time: int | None = None,
        run_id: str | None = None,
    ) -> Run:
        """Create a RUNNING run, creating the project when needed (see ``RunStore``).

        A chosen ``run_id`` that exists in the same project returns the existing run; in another
        project it raises ``AlreadyExists``. A missing parent raises ``NotFound``.
        """
        validate_project_name(project)
        new_run_id = new_id() if run_id is None else _checked_id(run_id)
        values = {
            "id": new_run_id,
            "name": validate_run_name(name),
            "status": RunStatus.RUNNING.value,
            "user": _checked_user(user),
            "start_time": now_ms() if start_time is None else int(start_time),
            "parent_id": parent_id,
            "notes": "",
            "deleted": False,
        }
        checked_params, checked_tags = validate_params(params or {}), validate_tags(tags or {})
        with self._write() as session:
            project_id = ensure_project(session, project)
            if parent_id is not None:
                _check_parent(session, parent_id, project_id, project)
            stmt = dialect_insert(session, RunRow).values(project_id=project_id, **values)
            if affected_rows(session, stmt.on_conflict_do_nothing()) == 0:
                return _existing_run(session, new_run_id, project_id, project)
            write_params(session, new_run_id, checked_params)
            write_tags(session, new_run_id, checked_tags)
            return _loaded(session, new_run_id)

    def get_run(self, run_id: str) -> Run:
        """Return a run with its params, tags and metric summaries. Raises ``NotFound``."""
        with self._read() as session:
            return _loaded(session, run_id)

    def update_run(
        self,
        run_id: str,
        *,
        name: str | None = None,
        notes: str | None = None,
        status: RunStatus | None = None,
        end_time: int | None = None,
        error: str | None = None,
    ) -> Run:
        """Change the given fields only (``None`` leaves a field alone) and return the run."""
        changes: dict[str, Any] = {"end_time": end_time, "error": error}
        changes["notes"] = None if notes is None else validate_notes(notes, "run notes")
        changes["name"] = None if name is None else validate_run_name(name)
        changes["status"] = None if status is None else _checked_status(status).value
        with self._write() as session:
            row = lock_run(session, run_id)
            for field, value in changes.items():
                if value is not None:
                    setattr(row, field, value)
            session.flush()
            return _loaded(session, run_id)

    def delete_run(self, run_id: str) -> None:
        """Soft-delete: the run disappears from searches until restored."""
        with self._write() as session:
            lock_run(session, run_id).deleted = True

    def restore_run(self, run_id: str) -> None:
        """Undo ``delete_run``."""
        with self._write() as session:
            lock_run(session, run_id).deleted = False

    def log_params(self, run_id: str, params: Mapping[str, ParamValue]) -> None:
        """Add params; the same value again is a no-op, another value a ``Conflict``."""
        checked = validate_params(params)
        with self._write() as session:
            lock_run(session, run_id)
            write_params(session, run_id, checked)

    def set_tags(self, run_id: str, tags: Mapping[str, str]) -> None:
        """Set (or overwrite) tags."""
        checked = validate_tags(tags)
        with self._write() as session:
            lock_run(session, run_id)
            write_tags(session, run_id, checked)

    def delete_tag(self, run_id: str, key: str) -> None:
        """Remove a tag. Raises ``NotFound`` when it is not set."""
        with self._write() as session:
            lock_run(session, run_id)
            stmt = sa.delete(TagRow).where(TagRow.run_id == run_id, TagRow.key == key)
            if affected_rows(session, stmt) == 0:
                raise NotFound(
                    f"tag {key!r} is not set on run {run_id}",
                    hint="check the key; get_run() shows the run's tags",
                )

    def search_runs(self, query: SearchQuery) -> Page[Run]:
        """Filter, order and page runs (keyset paging). Raises ``FilterSyntaxError``."""
        from shipyard.store.sql import _search

        with self._read() as session:
            return _search.search_runs(session, query)

    # -- metrics ----------------------------------------------------------------------------
    def ingest(self, run_id: str, batch: IngestBatch) -> bool:
        """Apply a batch atomically; ``False`` when this batch id was already applied."""
        checked = validate_batch(batch)
        with self._write() as session:
            return apply_batch(session, lock_run(session, run_id), checked)

    def metric_history(self, run_id: str, key: str, max_points: int | None = None) -> MetricSeries:
        """All points of a metric by step, or at most ``max_points`` keeping shape and extremes."""
        if max_points is not None and (isinstance(max_points, bool) or max_points < 1):
            raise InvalidArgument(
                f"max_points must be at least 1, got {max_points!r}",
                hint="ask for 1 or more points, or leave max_points out for every point",
            )
        with self._read() as session:
            return read_history(session, run_id, key, max_points)

    # -- artifacts and inputs ---------------------------------------------------------------
    def add_artifacts(self, run_id: str, artifacts: Sequence[Artifact]) -> None:
        """Record artifact files (path -> content address). Re-adding a path replaces it."""
        rows = _records.artifact_rows(run_id, artifacts, now_ms())
        with self._write() as session:
            lock_run(session, run_id)
            _records.write_artifacts(session, rows)

    def list_artifacts(self, run_id: str, path: str | None = None) -> Sequence[Artifact]:
        """Artifacts under ``path`` (a folder prefix or one file), ordered by path."""
        with self._read() as session:
            return _records.list_artifacts(session, run_id, path)

    def get_artifact(self, run_id: str, path: str) -> Artifact:
        """One artifact record. Raises ``NotFound``."""
        with self._read() as session:
            return _records.get_artifact(session, run_id, path)

    def add_run_inputs(self, run_id: str, inputs: Sequence[RunInput]) -> None:
        """Record lineage inputs/outputs (idempotent per kind, name, version, direction)."""
        rows = _records.input_rows(run_id, inputs)
        with self._write() as session:
            lock_run(session, run_id)
            _records.write_inputs(session, rows)

    def list_run_inputs(self, run_id: str) -> Sequence[RunInput]:
        """Lineage records of a run, in the order they were first recorded."""
        with self._read() as session:
            return _records.list_inputs(session, run_id)

    def close(self) -> None:
        """Release connections."""
        self._engine.dispose()


def _project(row: ProjectRow) -> Project:
    return Project(id=row.id, name=row.name, created_at=row.created_at, description=row.description)


def _loaded(session: Session, run_id: str) -> Run:
    runs = load_runs(session, [run_id])
    if not runs:
        raise run_not_found(run_id)
    return runs[0]


def _existing_run(session: Session, run_id: str, project_id: str, project: str) -> Run:
    """The run a repeated ``create_run`` with a chosen id refers to."""
    owner = session.scalar(sa.select(RunRow.project_id).where(RunRow.id == run_id))
    if owner != project_id:
        raise AlreadyExists(
            f"run {run_id} already exists in another project than {project!r}",
            hint="choose another run id, or leave run_id out to get a new one",
        )
    return _loaded(session, run_id)


def _check_parent(session: Session, parent_id: str, project_id: str, project: str) -> None:
    owner = session.scalar(sa.select(RunRow.project_id).where(RunRow.id == parent_id))
    if owner is None:
        raise NotFound(
            f"parent run {parent_id!r} not found",
            hint="create the parent run first, in the same project",
        )
    if owner != project_id:
        raise InvalidArgument(
            f"parent run {parent_id} is not in project {project!r}",
            hint="a child run must be in its parent's project",
        )


def _checked_id(run_id: str) -> str:
    if not isinstance(run_id, str) or not is_id(run_id):
        raise InvalidArgument(
            f"invalid run id {run_id!r}",
            hint="a run id is 32 lowercase hex characters; leave run_id out to get a new one",
        )
    return run_id


def _checked_user(user: str) -> str:
    if not isinstance(user, str) or len(user) > _MAX_USER:
        raise InvalidArgument(
            f"invalid user {user!r}", hint=f"use a name of at most {_MAX_USER} characters"
        )
    return user


def _checked_status(status: RunStatus | str) -> RunStatus:
    try:
        return RunStatus(status)
    except ValueError:
        choices = ", ".join(s.value for s in RunStatus)
        raise InvalidArgument(
            f"invalid run status {status!r}", hint=f"use one of {choices}"
        ) from None
