"""SQL rows of workflow triggers: pending workflow-run requests and schedules.

Owned by migration 0010; :mod:`shipyard.store.sql.models` imports it (``Base.metadata`` whole).
"""

from __future__ import annotations

from shipyard.store.sql.models import ID, Base  # noqa: F401
