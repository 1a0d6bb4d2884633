"""The append-only, hash-chained audit log of ``SqlRunStore``.

Each record stores the sha256 of its canonical JSON, which includes the previous record's hash;
a one-row head table names the newest record. Appends lock the head (``FOR UPDATE`` on
PostgreSQL, the write lock on SQLite), so records form one chain whatever the concurrency.
:meth:`SqlAuditLog.verify_audit` recomputes the chain and names every record that was edited,
deleted or inserted afterwards.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from contextlib import AbstractContextManager
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from shipyard.domain.auth import GENESIS_HASH, AuditProblem, AuditRecord, record_hash, redact
from shipyard.errors import Conflict, InvalidArgument
from shipyard.store.sql._runs import now_ms
from shipyard.store.sql.models_auth import AuditHeadRow, AuditRow

_HEAD_ID = 1
_APPEND_TRIES = 5
MAX_AUDIT_LIST = 10_000
_LIMITS = {"actor": 256, "action": 128, "address": 64}


def _json(value: Any) -> str:
    return json.dumps(redact(value), sort_keys=True, default=str, ensure_ascii=False)


def _clip(field: str, text: str) -> str:
    return str(text or "")[: _LIMITS[field]]


def audit_record(row: AuditRow) -> AuditRecord:
    """The domain record of a row."""
    return AuditRecord(
        seq=row.seq,
        timestamp=row.timestamp,
        actor=row.actor,
        action=row.action,
        target=row.target,
        address=row.address,
        before=json.loads(row.before_json),
        after=json.loads(row.after_json),
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


class SqlAuditLog:
    """Audit methods of :class:`~shipyard.store.sql.store.SqlRunStore` (a base class of it)."""

    def _read(self) -> AbstractContextManager[Session]:
        raise NotImplementedError  # provided by SqlRunStore

    def _write(self) -> AbstractContextManager[Session]:
        raise NotImplementedError  # provided by SqlRunStore

    def record_audit(
        self,
        *,
        actor: str,
        action: str,
        target: str,
        address: str = "",
        before: Any = None,
        after: Any = None,
    ) -> AuditRecord:
        """Append one record (secret-looking keys of ``before``/``after`` are redacted)."""
        values = {
            "actor": _clip("actor", actor),
            "action": _clip("action", action),
            "target": str(target or ""),
            "address": _clip("address", address),
            "before": json.loads(_json(before)),
            "after": json.loads(_json(after)),
        }
        for attempt in range(_APPEND_TRIES):
            try:
                with self._write() as session:
                    return _append(session, values)
            except Conflict:  # two first records raced for the head row; the chain is intact
                if attempt == _APPEND_TRIES - 1:
                    raise
        raise AssertionError("unreachable")

    def list_audit(
        self, *, actor: str | None = None, since: int | None = None, limit: int = 100
    ) -> Sequence[AuditRecord]:
        """Records newest first, optionally by one actor and from a time (epoch ms) on."""
        if isinstance(limit, bool) or not 1 <= limit <= MAX_AUDIT_LIST:
            raise InvalidArgument(
                f"limit must be from 1 to {MAX_AUDIT_LIST}, got {limit!r}", hint="e.g. 100"
            )
        query = sa.select(AuditRow).order_by(AuditRow.seq.desc()).limit(limit)
        if actor is not None:
            query = query.where(AuditRow.actor == actor)
        if since is not None:
            query = query.where(AuditRow.timestamp >= since)
        with self._read() as session:
            return [audit_record(row) for row in session.scalars(query)]

    def verify_audit(self) -> tuple[int, list[AuditProblem]]:
        """Check the whole chain: how many records there are, and what does not match."""
        problems: list[AuditProblem] = []
        previous_hash, expected, count = GENESIS_HASH, 1, 0
        with self._read() as session:
            rows = session.scalars(sa.select(AuditRow).order_by(AuditRow.seq)).yield_per(1000)
            for row in rows:
                count += 1
                problems.extend(_check(audit_record(row), expected, previous_hash))
                previous_hash, expected = row.hash, row.seq + 1
            head = session.get(AuditHeadRow, _HEAD_ID)
        last = expected - 1
        if head is not None and (head.seq, head.hash) != (last, previous_hash):
            problems.append(
                AuditProblem(head.seq, f"record {head.seq}, the newest, is missing or changed")
            )
        if head is None and count:
            problems.append(AuditProblem(last, "the head of the chain is missing"))
        return count, problems


def _check(record: AuditRecord, expected: int, previous_hash: str) -> list[AuditProblem]:
    problems = []
    if record.seq != expected:
        missing = f"{expected}" if record.seq == expected + 1 else f"{expected}-{record.seq - 1}"
        problems.append(AuditProblem(record.seq, f"record(s) {missing} before it were deleted"))
    if record_hash(record.content()) != record.hash:
        problems.append(AuditProblem(record.seq, f"record {record.seq} was edited"))
    elif record.prev_hash != previous_hash and record.seq == expected:
        problems.append(
            AuditProblem(record.seq, f"record {record.seq} does not follow the one before it")
        )
    return problems


def _append(session: Session, values: dict[str, Any]) -> AuditRecord:
    head = session.get(AuditHeadRow, _HEAD_ID, with_for_update=True)
    seq = 1 if head is None else head.seq + 1
    prev = GENESIS_HASH if head is None else head.hash
    content = {"seq": seq, "timestamp": now_ms(), "prev_hash": prev, **values}
    digest = record_hash(content)
    session.add(
        AuditRow(
            seq=seq,
            timestamp=content["timestamp"],
            actor=values["actor"],
            action=values["action"],
            target=values["target"],
            address=values["address"],
            before_json=_json(values["before"]),
            after_json=_json(values["after"]),
            prev_hash=prev,
            hash=digest,
        )
    )
    if head is None:
        session.add(AuditHeadRow(id=_HEAD_ID, seq=seq, hash=digest))
    else:
        head.seq, head.hash = seq, digest
    session.flush()
    return AuditRecord(hash=digest, **content)
