"""SQL rows of the model registry: logged models, registered models, versions, aliases and tags.

Owned by migration 0006; :mod:`shipyard.store.sql.models` imports it (``Base.metadata`` whole).
"""

from __future__ import annotations

from shipyard.store.sql.models import ID, Base  # noqa: F401
