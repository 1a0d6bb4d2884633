"""What the reproducibility tools read of a run: the :class:`RunSource` protocol.

A run's environment record and its uncommitted patch are stored as two artifacts when the run
starts (see :mod:`shipyard.capture.layout`): ``ENVIRONMENT_ARTIFACT`` holds the capture record
without ``code.git.patch``, plus ``"launcher"`` and ``"command"``; ``PATCH_ARTIFACT`` holds the
patch itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from shipyard.capture.layout import ENVIRONMENT_ARTIFACT, PATCH_ARTIFACT
from shipyard.domain.entities import Run, RunInput

__all__ = [
    "DATASET_KIND",
    "ENVIRONMENT_ARTIFACT",
    "PATCH_ARTIFACT",
    "Record",
    "RunSource",
    "lookup",
]

DATASET_KIND = "dataset"
"""The ``RunInput.kind`` of dataset versions a run used."""

Record = dict[str, Any]
"""A JSON-able mapping, as the capture layer writes."""


class RunSource(Protocol):
    """Read access to runs, their environment records, patches and inputs.

    Contract: ``get_run`` raises ``NotFound`` naming a missing run; ``environment`` and
    ``code_patch`` return ``None`` when the run recorded none (not an error: older runs and runs
    outside a git repository lack them); other failures raise :mod:`shipyard.errors` classes.
    """

    def get_run(self, run_id: str) -> Run:
        """The run with its params, tags and metric summaries. Raises ``NotFound``."""
        ...

    def environment(self, run_id: str) -> Record | None:
        """The run's environment record, or ``None`` when it has none."""
        ...

    def code_patch(self, run_id: str) -> str | None:
        """The run's uncommitted patch (text), or ``None`` when none was stored."""
        ...

    def run_inputs(self, run_id: str) -> Sequence[RunInput]:
        """The run's lineage records (datasets and other inputs)."""
        ...


def lookup(data: object, *keys: str) -> Any:
    """``data[k1][k2]...``, or ``None`` as soon as a level is missing or not a mapping.

    >>> lookup({"code": {"git": {"commit": "abc"}}}, "code", "git", "commit")
    'abc'
    """
    for key in keys:
        if not isinstance(data, Mapping):
            return None
        data = data.get(key)
    return data
