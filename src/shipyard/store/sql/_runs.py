"""Writes shared by the store's methods and by ``ingest``: locking a run, params, tags, upserts.

Every function runs inside the caller's transaction and never commits.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from shipyard.domain.entities import ParamValue
from shipyard.domain.ids import new_id
from shipyard.errors import Conflict, NotFound
from shipyard.store.sql._load import encode_param
from shipyard.store.sql.models import ParamRow, ProjectRow, RunRow, TagRow

Insert = postgresql.Insert | sqlite.Insert


def now_ms() -> int:
    """Milliseconds since the epoch, now."""
    return int(time.time() * 1000)


def run_not_found(run_id: str) -> NotFound:
    """The error for a run id that is not in the store."""
    return NotFound(
        f"run {run_id!r} not found",
        hint="check the run id, and that you are using the tracking store the run was logged to",
    )


def lock_run(session: Session, run_id: str) -> RunRow:
    """The run's row, locked for the rest of the transaction (PostgreSQL ``FOR UPDATE``; SQLite
    write transactions already hold the database's write lock). Raises ``NotFound``."""
    row = session.get(RunRow, run_id, with_for_update=True)
    if row is None:
        raise run_not_found(run_id)
    return row


def require_run(session: Session, run_id: str) -> None:
    """Raise ``NotFound`` unless the run exists."""
    if session.scalar(sa.select(RunRow.id).where(RunRow.id == run_id)) is None:
        raise run_not_found(run_id)


def dialect_insert(session: Session, table: Any) -> Insert:
    """An ``INSERT`` for ``table`` that supports ``ON CONFLICT`` on the session's database."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def affected_rows(session: Session, stmt: sa.Executable) -> int:
    """Execute a DML statement and return how many rows it inserted, updated or deleted."""
    # psycopg drops the count of an INSERT unless asked to keep it.
    result = session.execute(stmt, execution_options={"preserve_rowcount": True})
    return cast("sa.CursorResult[Any]", result).rowcount


def upsert(
    session: Session, table: Any, rows: Sequence[Mapping[str, Any]], keys: Sequence[str]
) -> None:
    """Insert ``rows``; rows whose ``keys`` already exist get their other columns overwritten."""
    if not rows:
        return
    stmt = dialect_insert(session, table)
    updates = {name: stmt.excluded[name] for name in rows[0] if name not in keys}
    session.execute(stmt.on_conflict_do_update(index_elements=list(keys), set_=updates), rows)


def ensure_project(session: Session, name: str) -> str:
    """The id of the project called ``name``, created when it does not exist yet."""
    query = sa.select(ProjectRow.id).where(ProjectRow.name == name)
    found = session.scalar(query)
    if found is not None:
        return found
    stmt = dialect_insert(session, ProjectRow).values(
        id=new_id(), name=name, description="", created_at=now_ms()
    )
    # Another writer may create it at the same moment: then its row wins and we read that.
    session.execute(stmt.on_conflict_do_nothing(index_elements=["name"]))
    created = session.scalar(query)
    if created is None:
        raise Conflict(
            f"project {name!r} was removed while a run was being created in it",
            hint="retry the operation",
        )
    return created


def write_params(session: Session, run_id: str, params: Mapping[str, ParamValue]) -> None:
    """Add params to a run. The same value again is a no-op; another value is a ``Conflict``."""
    if not params:
        return
    encoded = {key: encode_param(value) for key, value in params.items()}
    query = sa.select(ParamRow.key, ParamRow.value_json).where(
        ParamRow.run_id == run_id, ParamRow.key.in_(list(encoded))
    )
    stored: dict[str, str] = dict(session.execute(query).tuples().all())
    for key, (as_json, _, _) in encoded.items():
        if key in stored and stored[key] != as_json:
            raise Conflict(
                f"param {key!r} of run {run_id} is already {stored[key]}, "
                f"cannot set it to {as_json}",
                hint="params are immutable; log the new value under another key or in a new run",
            )
    rows = [
        {"run_id": run_id, "key": key, "value_json": j, "value_text": t, "value_num": n}
        for key, (j, t, n) in encoded.items()
        if key not in stored
    ]
    if rows:
        session.execute(sa.insert(ParamRow), rows)


def write_tags(session: Session, run_id: str, tags: Mapping[str, str]) -> None:
    """Set or overwrite tags of a run."""
    rows = [{"run_id": run_id, "key": key, "value": value} for key, value in tags.items()]
    upsert(session, TagRow.__table__, rows, ("run_id", "key"))
