"""Metadata stores.

Rule: every backend implements :class:`RunStore` and passes one contract suite.
"""

from shipyard.store.base import RunStore, SearchQuery

__all__ = ["RunStore", "SearchQuery"]
