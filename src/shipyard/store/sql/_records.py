"""Artifact records and run inputs (lineage): validation, rows, reads."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shipyard.domain.entities import Artifact, RunInput
from shipyard.domain.validation import validate_artifact_path
from shipyard.errors import InvalidArgument, NotFound
from shipyard.store.sql._runs import require_run, upsert
from shipyard.store.sql.models import ArtifactRow, RunInputRow

_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_DIRECTIONS = ("input", "output")
_INPUT_KEYS = ("run_id", "kind", "name", "version", "direction")


def artifact_rows(run_id: str, artifacts: Sequence[Artifact], now: int) -> list[dict[str, Any]]:
    """Validated rows for artifact records (a path given twice keeps the last record)."""
    rows: dict[str, dict[str, Any]] = {}
    for artifact in artifacts:
        path = _artifact_path(artifact.path)
        _check_text("artifact sha256", artifact.sha256, 64)
        if not _SHA256.match(artifact.sha256):
            raise InvalidArgument(
                f"artifact {path!r} has an invalid sha256 {artifact.sha256!r}",
                hint="give the content's sha256 as 64 lowercase hex characters",
            )
        if (
            isinstance(artifact.size, bool)
            or not isinstance(artifact.size, int)
            or artifact.size < 0
        ):
            raise InvalidArgument(f"artifact {path!r} has an invalid size {artifact.size!r}")
        rows[path] = {
            "run_id": run_id,
            "path": path,
            "size": artifact.size,
            "sha256": artifact.sha256,
            "media_type": _check_text("artifact media type", artifact.media_type, 255),
            "created_at": artifact.created_at or now,
        }
    return list(rows.values())


def write_artifacts(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Insert or replace artifact records."""
    upsert(session, ArtifactRow.__table__, rows, ("run_id", "path"))


def list_artifacts(session: Session, run_id: str, path: str | None) -> list[Artifact]:
    """Records of a run under ``path`` (a folder or one file; all when ``None``), by path."""
    require_run(session, run_id)
    query = sa.select(ArtifactRow).where(ArtifactRow.run_id == run_id)
    if path is not None:
        prefix = _artifact_path(path)
        query = query.where(
            sa.or_(
                ArtifactRow.path == prefix,
                ArtifactRow.path.startswith(prefix + "/", autoescape=True),
            )
        )
    return [_artifact(row) for row in session.scalars(query.order_by(ArtifactRow.path))]


def get_artifact(session: Session, run_id: str, path: str) -> Artifact:
    """One record. Raises ``NotFound`` naming the run or the path."""
    row = session.get(ArtifactRow, (run_id, _artifact_path(path)))
    if row is None:
        require_run(session, run_id)
        raise NotFound(
            f"artifact {path!r} not found in run {run_id}",
            hint="check the path; list_artifacts() shows the run's files",
        )
    return _artifact(row)


def input_rows(run_id: str, inputs: Sequence[RunInput]) -> list[dict[str, Any]]:
    """Validated rows for lineage records (one per kind, name, version and direction)."""
    rows: dict[tuple[str, ...], dict[str, Any]] = {}
    for item in inputs:
        if item.direction not in _DIRECTIONS:
            raise InvalidArgument(
                f"run input {item.name!r} has direction {item.direction!r}",
                hint="use 'input' or 'output'",
            )
        row = {
            "run_id": run_id,
            "kind": _check_text("run input kind", item.kind, 64, required=True),
            "name": _check_text("run input name", item.name, 256, required=True),
            "version": _check_text("run input version", item.version, 128),
            "direction": item.direction,
            "digest": _check_text("run input digest", item.digest, 128),
            "extra_json": json.dumps(dict(sorted(item.extra.items()))),
        }
        rows[tuple(row[key] for key in _INPUT_KEYS)] = row
    return list(rows.values())


def write_inputs(session: Session, rows: Sequence[dict[str, Any]]) -> None:
    """Insert lineage records; one that exists gets its digest and extra replaced."""
    upsert(session, RunInputRow.__table__, rows, _INPUT_KEYS)


def list_inputs(session: Session, run_id: str) -> list[RunInput]:
    """Lineage records of a run, in the order they were first recorded."""
    require_run(session, run_id)
    rows = session.scalars(
        sa.select(RunInputRow).where(RunInputRow.run_id == run_id).order_by(RunInputRow.id)
    )
    return [
        RunInput(
            kind=row.kind,
            name=row.name,
            version=row.version,
            direction=row.direction,
            digest=row.digest,
            extra=json.loads(row.extra_json),
        )
        for row in rows
    ]


def _artifact(row: ArtifactRow) -> Artifact:
    return Artifact(
        path=row.path,
        size=row.size,
        sha256=row.sha256,
        media_type=row.media_type,
        created_at=row.created_at,
    )


def _artifact_path(path: str) -> str:
    norm = validate_artifact_path(path)
    return _check_text("artifact path", norm, 1024)


def _check_text(what: str, value: object, limit: int, *, required: bool = False) -> str:
    if not isinstance(value, str) or len(value) > limit or (required and not value):
        need = "a non-empty string" if required else "a string"
        raise InvalidArgument(
            f"invalid {what} {value!r}", hint=f"use {need} of at most {limit} characters"
        )
    return value
