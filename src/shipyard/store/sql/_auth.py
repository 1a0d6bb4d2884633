"""Users, API tokens, teams, project members and the hash-chained audit log."""

from __future__ import annotations

from contextlib import AbstractContextManager
from typing import Any

from sqlalchemy.orm import Session


class SqlAuthStore:
    """Methods of :class:`~shipyard.store.sql.store.SqlRunStore` (a base class of it)."""

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
    ) -> None:
        """Append one record to the hash-chained audit log (implemented with issue #5)."""
