"""The :class:`~shipyard.store.registry.RegistryStore` half of ``SqlRunStore``.

Creating a version locks the registered model's row (PostgreSQL ``FOR UPDATE``; SQLite writers
hold the database lock) and takes its ``next_version`` counter, so concurrent writers number
versions without gaps or duplicates and a deleted version's number is never given again.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shipyard.domain.ids import new_id
from shipyard.domain.models import (
    ModelVersion,
    RegisteredModel,
    alias_not_found,
    model_not_found,
    validate_alias,
    validate_description,
    validate_model_name,
    validate_model_version,
    validate_source,
    version_not_found,
)
from shipyard.domain.validation import validate_key, validate_project_name, validate_tags
from shipyard.errors import AlreadyExists, InvalidArgument, NotFound
from shipyard.store.sql._runs import (
    affected_rows,
    dialect_insert,
    ensure_project,
    now_ms,
    require_run,
    upsert,
)
from shipyard.store.sql.models import ProjectRow
from shipyard.store.sql.models_registry import (
    ModelAliasRow,
    ModelVersionRow,
    ModelVersionTagRow,
    RegisteredModelRow,
    RegisteredModelTagRow,
)

_MAX_USER = 256
_MAX_FLAVOR = 64


class SqlRegistryStore:
    """Registry methods of :class:`~shipyard.store.sql.store.SqlRunStore` (a base class of it)."""

    def _read(self) -> AbstractContextManager[Session]:
        raise NotImplementedError  # provided by SqlRunStore

    def _write(self) -> AbstractContextManager[Session]:
        raise NotImplementedError  # provided by SqlRunStore

    # -- registered models ------------------------------------------------------------------
    def create_registered_model(
        self,
        name: str,
        *,
        project: str,
        description: str = "",
        tags: Mapping[str, str] | None = None,
    ) -> RegisteredModel:
        """Create a registered model in a project (created when needed). Raises
        ``AlreadyExists`` when the name is taken."""
        validate_model_name(name)
        validate_project_name(project)
        validate_description(description)
        checked_tags = validate_tags(tags or {})
        now = now_ms()
        with self._write() as session:
            project_id = ensure_project(session, project)
            model_id = new_id()
            stmt = dialect_insert(session, RegisteredModelRow).values(
                id=model_id,
                name=name,
                project_id=project_id,
                description=description,
                created_at=now,
                updated_at=now,
                next_version=1,
            )
            if affected_rows(session, stmt.on_conflict_do_nothing(index_elements=["name"])) == 0:
                raise AlreadyExists(
                    f"registered model {name!r} already exists",
                    hint="pick another name, or add a version to the existing model",
                )
            _write_model_tags(session, model_id, checked_tags)
            return _registered(session, _model_row(session, name))

    def get_registered_model(self, name: str) -> RegisteredModel:
        """One registered model with its tags and aliases. Raises ``NotFound``."""
        with self._read() as session:
            return _registered(session, _model_row(session, name))

    def list_registered_models(self, *, project: str | None = None) -> Sequence[RegisteredModel]:
        """Registered models (of one project, or all), by name."""
        query = sa.select(RegisteredModelRow).order_by(RegisteredModelRow.name)
        if project is not None:
            query = query.join(ProjectRow, ProjectRow.id == RegisteredModelRow.project_id).where(
                ProjectRow.name == project
            )
        with self._read() as session:
            return [_registered(session, row) for row in session.scalars(query).all()]

    def update_registered_model(self, name: str, *, description: str) -> RegisteredModel:
        """Change the description. Raises ``NotFound``."""
        validate_description(description)
        with self._write() as session:
            row = _model_row(session, name, lock=True)
            row.description = description
            row.updated_at = now_ms()
            session.flush()
            return _registered(session, row)

    def delete_registered_model(self, name: str) -> None:
        """Delete a registered model with its versions, tags and aliases. Raises ``NotFound``."""
        with self._write() as session:
            row = _model_row(session, name, lock=True)
            for table in (ModelAliasRow, ModelVersionTagRow, ModelVersionRow):
                session.execute(sa.delete(table).where(table.model_id == row.id))
            session.execute(
                sa.delete(RegisteredModelTagRow).where(RegisteredModelTagRow.model_id == row.id)
            )
            session.execute(sa.delete(RegisteredModelRow).where(RegisteredModelRow.id == row.id))

    def set_registered_model_tag(self, name: str, key: str, value: str) -> None:
        """Set (or overwrite) a tag of a registered model. Raises ``NotFound``."""
        checked = validate_tags({key: value})
        with self._write() as session:
            row = _model_row(session, name, lock=True)
            _write_model_tags(session, row.id, checked)
            row.updated_at = now_ms()

    def delete_registered_model_tag(self, name: str, key: str) -> None:
        """Remove a tag. Raises ``NotFound`` when the model or the tag is missing."""
        validate_key(key, "tag key")
        with self._write() as session:
            row = _model_row(session, name, lock=True)
            stmt = sa.delete(RegisteredModelTagRow).where(
                RegisteredModelTagRow.model_id == row.id, RegisteredModelTagRow.key == key
            )
            if affected_rows(session, stmt) == 0:
                raise NotFound(
                    f"tag {key!r} is not set on registered model {name!r}",
                    hint=f"`shipyard models show {name}` shows its tags",
                )
            row.updated_at = now_ms()

    # -- versions ---------------------------------------------------------------------------
    def create_model_version(
        self,
        name: str,
        *,
        run_id: str | None,
        source: str,
        flavor: str,
        signature: Mapping[str, Any] | None = None,
        description: str = "",
        tags: Mapping[str, str] | None = None,
        created_by: str = "",
    ) -> ModelVersion:
        """Record the next version of an existing registered model (see ``RegistryStore``)."""
        values = _version_values(source, flavor, signature, description, created_by)
        checked_tags = validate_tags(tags or {})
        with self._write() as session:
            row = _model_row(session, name, lock=True)
            if run_id is not None:
                require_run(session, run_id)
            number = row.next_version
            row.next_version = number + 1
            row.updated_at = values["created_at"]
            session.execute(
                sa.insert(ModelVersionRow).values(
                    model_id=row.id, version=number, run_id=run_id, **values
                )
            )
            _write_version_tags(session, row.id, number, checked_tags)
            return _version(session, name, _version_row(session, row, number))

    def get_model_version(self, name: str, version: int) -> ModelVersion:
        """One version with its tags and aliases. Raises ``NotFound``."""
        validate_model_version(version)
        with self._read() as session:
            row = _model_row(session, name)
            return _version(session, name, _version_row(session, row, version))

    def list_model_versions(self, name: str) -> Sequence[ModelVersion]:
        """The versions of a registered model, newest first. Raises ``NotFound``."""
        with self._read() as session:
            model = _model_row(session, name)
            rows = session.scalars(
                sa.select(ModelVersionRow)
                .where(ModelVersionRow.model_id == model.id)
                .order_by(ModelVersionRow.version.desc())
            ).all()
            return [_version(session, name, row) for row in rows]

    def update_model_version(self, name: str, version: int, *, description: str) -> ModelVersion:
        """Change a version's description. Raises ``NotFound``."""
        validate_model_version(version)
        validate_description(description)
        with self._write() as session:
            model = _model_row(session, name, lock=True)
            row = _version_row(session, model, version)
            row.description = description
            session.flush()
            return _version(session, name, row)

    def delete_model_version(self, name: str, version: int) -> None:
        """Delete a version and the aliases that point at it. Raises ``NotFound``."""
        validate_model_version(version)
        with self._write() as session:
            model = _model_row(session, name, lock=True)
            _version_row(session, model, version)
            for table in (ModelAliasRow, ModelVersionTagRow, ModelVersionRow):
                session.execute(
                    sa.delete(table).where(table.model_id == model.id, table.version == version)
                )
            model.updated_at = now_ms()

    def set_model_version_tag(self, name: str, version: int, key: str, value: str) -> None:
        """Set (or overwrite) a tag of a version. Raises ``NotFound``."""
        validate_model_version(version)
        checked = validate_tags({key: value})
        with self._write() as session:
            model = _model_row(session, name, lock=True)
            _version_row(session, model, version)
            _write_version_tags(session, model.id, version, checked)

    def delete_model_version_tag(self, name: str, version: int, key: str) -> None:
        """Remove a tag of a version. Raises ``NotFound`` when it is not set."""
        validate_model_version(version)
        validate_key(key, "tag key")
        with self._write() as session:
            model = _model_row(session, name, lock=True)
            _version_row(session, model, version)
            stmt = sa.delete(ModelVersionTagRow).where(
                ModelVersionTagRow.model_id == model.id,
                ModelVersionTagRow.version == version,
                ModelVersionTagRow.key == key,
            )
            if affected_rows(session, stmt) == 0:
                raise NotFound(
                    f"tag {key!r} is not set on version {version} of registered model {name!r}",
                    hint=f"`shipyard models show {name}` shows its versions' tags",
                )

    # -- aliases ----------------------------------------------------------------------------
    def set_model_alias(self, name: str, alias: str, version: int) -> int | None:
        """Point ``alias`` at a version; returns the version it pointed at before."""
        validate_alias(alias)
        validate_model_version(version)
        with self._write() as session:
            model = _model_row(session, name, lock=True)
            _version_row(session, model, version)
            before = session.scalar(
                sa.select(ModelAliasRow.version).where(
                    ModelAliasRow.model_id == model.id, ModelAliasRow.alias == alias
                )
            )
            row = {"model_id": model.id, "alias": alias, "version": version}
            upsert(session, ModelAliasRow.__table__, [row], ("model_id", "alias"))
            model.updated_at = now_ms()
            return before

    def delete_model_alias(self, name: str, alias: str) -> None:
        """Remove an alias. Raises ``NotFound`` when it is not set."""
        validate_alias(alias)
        with self._write() as session:
            model = _model_row(session, name, lock=True)
            stmt = sa.delete(ModelAliasRow).where(
                ModelAliasRow.model_id == model.id, ModelAliasRow.alias == alias
            )
            if affected_rows(session, stmt) == 0:
                raise alias_not_found(name, alias)
            model.updated_at = now_ms()

    def get_model_version_by_alias(self, name: str, alias: str) -> ModelVersion:
        """The version an alias points at. Raises ``NotFound``."""
        validate_alias(alias)
        with self._read() as session:
            model = _model_row(session, name)
            number = session.scalar(
                sa.select(ModelAliasRow.version).where(
                    ModelAliasRow.model_id == model.id, ModelAliasRow.alias == alias
                )
            )
            if number is None:
                raise alias_not_found(name, alias)
            return _version(session, name, _version_row(session, model, number))


# -- helpers --------------------------------------------------------------------------------
def _version_values(
    source: str,
    flavor: str,
    signature: Mapping[str, Any] | None,
    description: str,
    created_by: str,
) -> dict[str, Any]:
    """The checked columns of a new version (all but its model, number and run)."""
    if not isinstance(flavor, str) or not flavor or len(flavor) > _MAX_FLAVOR:
        raise InvalidArgument(
            f"invalid model flavor {flavor!r}",
            hint="name the flavor the model was saved with, such as 'sklearn'",
        )
    if not isinstance(created_by, str) or len(created_by) > _MAX_USER:
        raise InvalidArgument(
            f"invalid user {created_by!r}", hint=f"use a name of at most {_MAX_USER} characters"
        )
    return {
        "source": validate_source(source),
        "flavor": flavor,
        "signature": _signature_json(signature),
        "description": validate_description(description),
        "created_at": now_ms(),
        "created_by": created_by,
    }


def _signature_json(signature: Mapping[str, Any] | None) -> str | None:
    if signature is None:
        return None
    try:
        return json.dumps(dict(signature), sort_keys=True, allow_nan=False)
    except (TypeError, ValueError):
        raise InvalidArgument(
            "the model signature is not a JSON object",
            hint="pass Signature.to_dict() of the saved model",
        ) from None


def _model_row(session: Session, name: str, *, lock: bool = False) -> RegisteredModelRow:
    validate_model_name(name)
    query = sa.select(RegisteredModelRow).where(RegisteredModelRow.name == name)
    row = session.scalar(query.with_for_update() if lock else query)
    if row is None:
        raise model_not_found(name)
    return row


def _version_row(session: Session, model: RegisteredModelRow, version: int) -> ModelVersionRow:
    row = session.get(ModelVersionRow, (model.id, version))
    if row is None:
        raise version_not_found(model.name, version)
    return row


def _write_model_tags(session: Session, model_id: str, tags: Mapping[str, str]) -> None:
    rows = [{"model_id": model_id, "key": k, "value": v} for k, v in tags.items()]
    upsert(session, RegisteredModelTagRow.__table__, rows, ("model_id", "key"))


def _write_version_tags(
    session: Session, model_id: str, version: int, tags: Mapping[str, str]
) -> None:
    rows = [
        {"model_id": model_id, "version": version, "key": k, "value": v} for k, v in tags.items()
    ]
    upsert(session, ModelVersionTagRow.__table__, rows, ("model_id", "version", "key"))


def _registered(session: Session, row: RegisteredModelRow) -> RegisteredModel:
    project = session.scalar(sa.select(ProjectRow.name).where(ProjectRow.id == row.project_id))
    tags = session.execute(
        sa.select(RegisteredModelTagRow.key, RegisteredModelTagRow.value)
        .where(RegisteredModelTagRow.model_id == row.id)
        .order_by(RegisteredModelTagRow.key)
    ).tuples()
    aliases = session.execute(
        sa.select(ModelAliasRow.alias, ModelAliasRow.version)
        .where(ModelAliasRow.model_id == row.id)
        .order_by(ModelAliasRow.alias)
    ).tuples()
    latest = session.scalar(
        sa.select(sa.func.max(ModelVersionRow.version)).where(ModelVersionRow.model_id == row.id)
    )
    return RegisteredModel(
        name=row.name,
        project=project or "",
        description=row.description,
        tags=dict(tags.all()),
        aliases=dict(aliases.all()),
        created_at=row.created_at,
        updated_at=row.updated_at,
        latest_version=latest,
    )


def _version(session: Session, name: str, row: ModelVersionRow) -> ModelVersion:
    tags = session.execute(
        sa.select(ModelVersionTagRow.key, ModelVersionTagRow.value)
        .where(
            ModelVersionTagRow.model_id == row.model_id,
            ModelVersionTagRow.version == row.version,
        )
        .order_by(ModelVersionTagRow.key)
    ).tuples()
    aliases = session.scalars(
        sa.select(ModelAliasRow.alias)
        .where(ModelAliasRow.model_id == row.model_id, ModelAliasRow.version == row.version)
        .order_by(ModelAliasRow.alias)
    )
    return ModelVersion(
        name=name,
        version=row.version,
        run_id=row.run_id,
        source=row.source,
        flavor=row.flavor,
        signature=None if row.signature is None else json.loads(row.signature),
        description=row.description,
        tags=dict(tags.all()),
        aliases=tuple(aliases.all()),
        created_at=row.created_at,
        created_by=row.created_by,
    )
