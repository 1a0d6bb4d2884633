"""SQL rows of users, API tokens, teams, project members and the hash-chained audit log.

Owned by migration 0004; :mod:`shipyard.store.sql.models` imports it (``Base.metadata`` whole).
"""

from __future__ import annotations

from shipyard.store.sql.models import ID, Base  # noqa: F401
