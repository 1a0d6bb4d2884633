"""What the model pages show, computed from domain entities (no I/O, no HTML)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from shipyard.domain.datasets import DATASET_KIND
from shipyard.domain.entities import Run, RunInput

COMMIT_TAG = "shipyard.git.commit"
"""The run tag that holds the commit of the code that ran."""


@dataclass(frozen=True, slots=True)
class SignatureRow:
    """One input or output of a signature, as a table row."""

    side: str
    name: str
    dtype: str
    shape: str


def signature_rows(signature: Mapping[str, Any] | None) -> list[SignatureRow]:
    """The inputs, then the outputs, of a signature in its ``to_dict`` form.

    >>> signature_rows({"inputs": [{"name": "x", "dtype": "float64", "shape": None}]})[0].name
    'x'
    """
    if not signature:
        return []
    rows = []
    for side in ("inputs", "outputs"):
        for spec in signature.get(side) or []:
            rows.append(
                SignatureRow(
                    side=side[:-1],
                    name=str(spec.get("name") or "—"),
                    dtype=str(spec.get("dtype", "")),
                    shape=_shape(spec.get("shape")),
                )
            )
    return rows


def _shape(shape: Sequence[int] | None) -> str:
    if shape is None:
        return "column"
    return "(" + ", ".join("N" if d == -1 else str(d) for d in shape) + ")"


def dataset_inputs(inputs: Sequence[RunInput]) -> list[RunInput]:
    """The datasets a run consumed (its lineage), in the order it recorded them."""
    return [i for i in inputs if i.kind == DATASET_KIND and i.direction == "input"]


def commit_of(run: Run | None) -> str | None:
    """The code commit a run recorded, if any."""
    return None if run is None else run.tags.get(COMMIT_TAG)


def metric_rows(run: Run | None) -> list[tuple[str, float]]:
    """A run's metrics (last values) by key, system metrics left out."""
    if run is None:
        return []
    return sorted((key, m.last) for key, m in run.metrics.items() if not key.startswith("system/"))
