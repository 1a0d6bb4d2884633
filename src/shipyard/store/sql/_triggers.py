"""Workflow triggers: pending workflow-run requests and schedules."""

from __future__ import annotations

from contextlib import AbstractContextManager

from sqlalchemy.orm import Session


class SqlTriggerStore:
    """Methods of :class:`~shipyard.store.sql.store.SqlRunStore` (a base class of it)."""

    def _read(self) -> AbstractContextManager[Session]:
        raise NotImplementedError  # provided by SqlRunStore

    def _write(self) -> AbstractContextManager[Session]:
        raise NotImplementedError  # provided by SqlRunStore
