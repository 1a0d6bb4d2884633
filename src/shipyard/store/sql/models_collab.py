"""SQL rows of tags and Markdown notes on projects and datasets; comments on runs.

Owned by migration 0005; :mod:`shipyard.store.sql.models` imports it (``Base.metadata`` whole).
"""

from __future__ import annotations

from shipyard.store.sql.models import ID, Base  # noqa: F401
