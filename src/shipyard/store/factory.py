"""Open a metadata store from a URI."""

from __future__ import annotations

from shipyard.errors import InvalidArgument
from shipyard.store.base import RunStore


def open_store(uri: str, *, auto_create: bool = False) -> RunStore:
    """Open the store at ``uri`` (``sqlite:///path.db`` or ``postgresql+psycopg://...``).

    With ``auto_create`` an empty database is migrated to the latest schema (embedded default);
    a database whose schema is behind the code raises ``SchemaOutdated`` naming the command.
    """
    if uri.startswith(("sqlite:", "postgresql")):
        from shipyard.store.sql.store import SqlRunStore

        return SqlRunStore.from_uri(uri, auto_create=auto_create)
    raise InvalidArgument(
        f"unsupported store URI {uri!r}",
        hint="use sqlite:///path/to/shipyard.db or postgresql+psycopg://user@host/db",
    )
