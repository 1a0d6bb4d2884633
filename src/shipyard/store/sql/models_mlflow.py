"""SQL rows of what the MLflow-compatible API needs beyond the native schema.

Owned by migration 0009; :mod:`shipyard.store.sql.models` imports it (``Base.metadata`` whole).
"""

from __future__ import annotations

from shipyard.store.sql.models import ID, Base  # noqa: F401
