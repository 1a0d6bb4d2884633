"""SQL rows of workflows: workflow runs, their jobs, the step cache and triggers.

Owned by migration 0007; :mod:`shipyard.store.sql.models` imports it (``Base.metadata`` whole).
"""

from __future__ import annotations

from shipyard.store.sql.models import ID, Base  # noqa: F401
