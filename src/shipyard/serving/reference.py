"""The drift reference from a model's lineage: the first ``.npy``/``.csv`` file of the dataset
version its source run consumed, summarised once.

The file's columns are matched with the model's input signature: by name when both have names,
else the first N columns for a signature of N inputs (a label column after the features, the usual
layout, is dropped). A model without a source run or dataset input has no lineage reference; then
``--reference FILE`` gives one.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from shipyard.domain.serving import Deployment
from shipyard.errors import NotFound
from shipyard.registry import BlobSource, resolve_model_uri
from shipyard.serving.drift import ReferenceSummary, summarize
from shipyard.serving.drift_data import read_table
from shipyard.store.base import RunStore
from shipyard.store.datasets import DatasetStore
from shipyard.store.registry import RegistryStore

SUFFIXES = (".npy", ".csv")


class LineageStore(RunStore, RegistryStore, DatasetStore, Protocol):
    """Runs, the registry and datasets."""


def lineage_reference(
    store: LineageStore, artifacts: BlobSource, deployment: Deployment
) -> ReferenceSummary | None:
    """The summarised training data of the deployment's stable model (``None`` when its lineage
    names no dataset with a table file)."""
    resolved = resolve_model_uri(store, deployment.stable_uri)
    inputs = [
        i
        for i in store.list_run_inputs(resolved.run_id)
        if i.kind == "dataset" and i.direction == "input"
    ]
    signature = resolved.version.signature if resolved.version is not None else None
    for item in inputs:
        try:
            manifest = store.get_manifest(item.name, int(item.version))
        except (NotFound, ValueError):
            continue
        for entry in manifest:
            if entry.path.endswith(SUFFIXES):
                source = f"dataset:{item.name}@{item.version}/{entry.path}"
                return _summary(artifacts, entry.sha256, entry.path, signature, source)
    return None


def _summary(
    artifacts: BlobSource,
    sha256: str,
    path: str,
    signature: Mapping[str, Any] | None,
    source: str,
) -> ReferenceSummary:
    with tempfile.TemporaryDirectory(prefix="shipyard-ref-") as tmp:
        local = Path(tmp) / Path(path).name
        artifacts.download(sha256, local)
        table, columns = read_table(local)
    table, columns = fit_to_signature(table, columns, signature)
    return summarize(table, columns, source=source)


def fit_to_signature(
    table: np.ndarray, columns: Sequence[str] | None, signature: Mapping[str, Any] | None
) -> tuple[np.ndarray, list[str] | None]:
    """Keep the table's columns the model takes (see the module docstring)."""
    names = _input_names(signature)
    width = _width(signature)
    if names and columns and set(names) <= set(columns):
        index = {c: i for i, c in enumerate(columns)}
        return table[:, [index[n] for n in names]], list(names)
    if width and table.ndim == 2 and table.shape[1] > width:
        kept = list(columns[:width]) if columns else None
        return table[:, :width], names or kept
    return table, names if names and len(names) == table.shape[1] else _list(columns)


def _width(signature: Mapping[str, Any] | None) -> int:
    """Input columns of a signature: one per named column, a 2-D tensor counts its width."""
    width = 0
    for column in (signature or {}).get("inputs") or []:
        shape = column.get("shape") if isinstance(column, Mapping) else None
        wide = isinstance(shape, list) and len(shape) == 2 and int(shape[1]) > 0
        width += int(shape[1]) if wide else 1  # type: ignore[index]
    return width


def _input_names(signature: Mapping[str, Any] | None) -> list[str] | None:
    if not signature:
        return None
    names = [c.get("name") for c in signature.get("inputs", []) if isinstance(c, Mapping)]
    return [str(n) for n in names] if names and all(names) else None


def _list(columns: Sequence[str] | None) -> list[str] | None:
    return None if columns is None else list(columns)
