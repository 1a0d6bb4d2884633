"""The :class:`~shipyard.store.datasets.DatasetStore` half of ``SqlRunStore``.

A version is one ``dataset_versions`` row whatever its size: the canonical manifest is stored
zlib-compressed in a deferred column (listings never read it) and checked against the version's
digest whenever it is read back. Creating a version locks the dataset's row (PostgreSQL
``FOR UPDATE``; SQLite writers hold the database lock), so concurrent writers number versions
without gaps or duplicates.
"""

from __future__ import annotations

import hashlib
import zlib
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shipyard.domain.datasets import (
    DATASET_KIND,
    Dataset,
    DatasetUsage,
    DatasetVersion,
    ManifestEntry,
    canonical_manifest,
    normalize_manifest,
    parse_canonical_manifest,
    validate_dataset_name,
    validate_dataset_version,
    validate_message,
)
from shipyard.domain.ids import new_id
from shipyard.errors import IntegrityError, InvalidArgument, NotFound
from shipyard.store.sql._runs import dialect_insert, now_ms
from shipyard.store.sql.models import DatasetRow, DatasetVersionRow, RunInputRow

_MAX_USER = 256
_COMPRESSION = 1  # hex digests barely compress: level 1 is 4x faster than 6 for 4% more


class SqlDatasetStore:
    """Dataset methods of :class:`~shipyard.store.sql.store.SqlRunStore` (a base class of it).

    They run in the store's own short read and write transactions.
    """

    def _read(self) -> AbstractContextManager[Session]:
        raise NotImplementedError  # provided by SqlRunStore

    def _write(self) -> AbstractContextManager[Session]:
        raise NotImplementedError  # provided by SqlRunStore

    def create_dataset_version(
        self,
        name: str,
        entries: Sequence[ManifestEntry],
        message: str = "",
        user: str = "",
    ) -> DatasetVersion:
        """Record a version with these files; returns the latest one if its digest is the same.

        The dataset is created on first use. Raises ``InvalidArgument`` for a bad name, message,
        user or manifest (absolute paths, ``..``, duplicates, an empty list).
        """
        values = _version_values(validate_dataset_name(name), entries, message, user)
        with self._write() as session:
            dataset_id = _lock_dataset(session, name)
            latest = _latest(session, dataset_id)
            if latest is not None and latest.digest == values["digest"]:
                return _version(name, latest)
            number = 1 if latest is None else latest.version + 1
            stmt = sa.insert(DatasetVersionRow).values(
                dataset_id=dataset_id, version=number, **values
            )
            session.execute(stmt)
        fields = {k: v for k, v in values.items() if k != "manifest"}
        return DatasetVersion(name=name, version=number, **fields)

    def list_datasets(self) -> Sequence[Dataset]:
        """Every dataset with its latest version, by name."""
        newest = (
            sa.select(
                DatasetVersionRow.dataset_id, sa.func.max(DatasetVersionRow.version).label("top")
            )
            .group_by(DatasetVersionRow.dataset_id)
            .subquery()
        )
        query = (
            sa.select(DatasetRow, DatasetVersionRow)
            .join(newest, newest.c.dataset_id == DatasetRow.id)
            .join(
                DatasetVersionRow,
                sa.and_(
                    DatasetVersionRow.dataset_id == DatasetRow.id,
                    DatasetVersionRow.version == newest.c.top,
                ),
            )
            .order_by(DatasetRow.name)
        )
        with self._read() as session:
            return [
                Dataset(row.name, row.created_at, _version(row.name, version))
                for row, version in session.execute(query).tuples()
            ]

    def list_dataset_versions(self, name: str) -> Sequence[DatasetVersion]:
        """The versions of a dataset, oldest first. Raises ``NotFound``."""
        with self._read() as session:
            dataset_id = _dataset_id(session, name)
            rows = session.scalars(
                sa.select(DatasetVersionRow)
                .where(DatasetVersionRow.dataset_id == dataset_id)
                .order_by(DatasetVersionRow.version)
            )
            return [_version(name, row) for row in rows]

    def get_dataset_version(self, name: str, version: int | None = None) -> DatasetVersion:
        """One version (``None``: the latest). Raises ``NotFound``."""
        with self._read() as session:
            return _version(name, _version_row(session, name, version))

    def get_manifest(self, name: str, version: int | None = None) -> Sequence[ManifestEntry]:
        """The files of a version, sorted by path. Raises ``NotFound``, or ``IntegrityError`` when
        the stored manifest no longer matches the version's digest."""
        with self._read() as session:
            row = _version_row(session, name, version)
            data = row.manifest
        text = zlib.decompress(data)
        if hashlib.sha256(text).hexdigest() != row.digest:
            raise IntegrityError(
                f"the stored manifest of dataset {name}@{row.version} does not match its digest "
                f"{row.digest}",
                hint="the metadata database was changed outside Shipyard; restore it from a backup",
            )
        return parse_canonical_manifest(text)

    def runs_using_dataset(self, name: str, version: int | None = None) -> Sequence[DatasetUsage]:
        """Runs that recorded the dataset (or one version) as input or output. Raises
        ``NotFound`` for an unknown dataset or version."""
        query = sa.select(RunInputRow.run_id, RunInputRow.direction, RunInputRow.version).where(
            RunInputRow.kind == DATASET_KIND, RunInputRow.name == name
        )
        with self._read() as session:
            if version is None:
                _dataset_id(session, name)
            else:
                _version_row(session, name, version)
                query = query.where(RunInputRow.version == str(version))
            rows = session.execute(query.order_by(RunInputRow.id)).tuples().all()
        return [
            DatasetUsage(run_id, direction, int(v)) for run_id, direction, v in rows if v.isdigit()
        ]


def _version_values(
    name: str, entries: Sequence[ManifestEntry], message: str, user: str
) -> dict[str, Any]:
    """The columns of a new version (everything but its number and dataset)."""
    manifest = normalize_manifest(entries)
    if not isinstance(user, str) or len(user) > _MAX_USER:
        raise InvalidArgument(
            f"invalid user {user!r}", hint=f"use a name of at most {_MAX_USER} characters"
        )
    text = canonical_manifest(manifest)
    return {
        "digest": hashlib.sha256(text).hexdigest(),
        "file_count": len(manifest),
        "total_size": sum(entry.size for entry in manifest),
        "message": validate_message(message),
        "created_at": now_ms(),
        "created_by": user,
        "manifest": zlib.compress(text, _COMPRESSION),
    }


def _lock_dataset(session: Session, name: str) -> str:
    """The id of the dataset (created if new), its row locked for the transaction."""
    stmt = dialect_insert(session, DatasetRow).values(id=new_id(), name=name, created_at=now_ms())
    session.execute(stmt.on_conflict_do_nothing(index_elements=["name"]))
    query = sa.select(DatasetRow.id).where(DatasetRow.name == name).with_for_update()
    dataset_id = session.scalar(query)
    if dataset_id is None:  # pragma: no cover - datasets are never deleted
        raise NotFound(f"dataset {name!r} vanished while a version was added", hint="retry")
    return dataset_id


def _latest(session: Session, dataset_id: str) -> DatasetVersionRow | None:
    return session.scalar(
        sa.select(DatasetVersionRow)
        .where(DatasetVersionRow.dataset_id == dataset_id)
        .order_by(DatasetVersionRow.version.desc())
        .limit(1)
    )


def _dataset_id(session: Session, name: str) -> str:
    dataset_id = session.scalar(sa.select(DatasetRow.id).where(DatasetRow.name == name))
    if dataset_id is None:
        raise dataset_not_found(name)
    return dataset_id


def _version_row(session: Session, name: str, version: int | None) -> DatasetVersionRow:
    dataset_id = _dataset_id(session, name)
    if version is None:
        row = _latest(session, dataset_id)
    else:
        row = session.get(DatasetVersionRow, (dataset_id, validate_dataset_version(version)))
    if row is None:
        raise NotFound(
            f"dataset {name!r} has no version {version}",
            hint=f"list its versions with `shipyard datasets versions {name}`",
        )
    return row


def dataset_not_found(name: str) -> NotFound:
    """The error for a dataset name that is not in the store."""
    return NotFound(
        f"dataset {name!r} not found",
        hint="check the name (names are case-sensitive); `shipyard datasets list` shows them",
    )


def _version(name: str, row: DatasetVersionRow) -> DatasetVersion:
    return DatasetVersion(
        name=name,
        version=row.version,
        digest=row.digest,
        file_count=row.file_count,
        total_size=row.total_size,
        message=row.message,
        created_at=row.created_at,
        created_by=row.created_by,
    )
