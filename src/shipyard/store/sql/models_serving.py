"""SQL rows of deployments, their revisions, prediction logs and alert rules.

Owned by migration 0008; :mod:`shipyard.store.sql.models` imports it (``Base.metadata`` whole).
"""

from __future__ import annotations

from shipyard.store.sql.models import ID, Base  # noqa: F401
