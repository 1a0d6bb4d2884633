"""The store the engine needs: runs, datasets, the model registry and workflow state."""

from __future__ import annotations

from typing import Protocol

from shipyard.store.base import RunStore
from shipyard.store.datasets import DatasetStore
from shipyard.store.registry import RegistryStore
from shipyard.store.workflows import WorkflowStore


class EngineStore(RunStore, DatasetStore, RegistryStore, WorkflowStore, Protocol):
    """What ``SqlRunStore`` (and the hub's HTTP store) offer the workflow engine."""
