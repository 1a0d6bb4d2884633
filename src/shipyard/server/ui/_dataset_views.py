"""What the dataset pages show, computed from domain entities (no I/O, no HTML).

A dataset's lineage is a list of :class:`~shipyard.domain.datasets.DatasetUsage` records (run id,
direction, version) in the order they were recorded; the pages show them newest first, next to
the runs they name.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from shipyard.domain.datasets import DatasetUsage, DatasetVersion
from shipyard.domain.entities import Run

SHORT_DIGEST = 12
"""Hex characters of a digest or sha256 that tables show (the full one is in a tooltip)."""
INPUT, OUTPUT = "input", "output"


def short_digest(digest: str) -> str:
    """The first characters of a hex digest, as tables show it.

    >>> short_digest("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08")
    '9f86d081884c'
    """
    return digest[:SHORT_DIGEST]


@dataclass(frozen=True, slots=True)
class LineageRow:
    """One lineage record: a run that consumed (``input``) or produced (``output``) a version.
    ``run`` is ``None`` when the run no longer exists."""

    version: int
    direction: str
    run_id: str
    run: Run | None


@dataclass(frozen=True, slots=True)
class UsageCount:
    """How many runs consumed and produced one version."""

    inputs: int = 0
    outputs: int = 0

    @property
    def total(self) -> int:
        """Runs that used the version either way."""
        return self.inputs + self.outputs


def newest_usages(usages: Sequence[DatasetUsage], limit: int) -> list[DatasetUsage]:
    """At most ``limit`` usages, the most recently recorded first (duplicates dropped)."""
    seen: set[DatasetUsage] = set()
    newest: list[DatasetUsage] = []
    for usage in reversed(usages):
        if usage not in seen:
            seen.add(usage)
            newest.append(usage)
        if len(newest) == limit:
            break
    return newest


def lineage_rows(usages: Iterable[DatasetUsage], runs: Mapping[str, Run]) -> list[LineageRow]:
    """Rows of a lineage table: newest version first, in the order of ``usages`` within one."""
    rows = [LineageRow(u.version, u.direction, u.run_id, runs.get(u.run_id)) for u in usages]
    return sorted(rows, key=lambda row: -row.version)  # stable: keeps recorded order


def usage_counts(usages: Iterable[DatasetUsage]) -> dict[int, UsageCount]:
    """Distinct runs consuming and producing each version, by version number."""
    runs: dict[tuple[int, str], set[str]] = {}
    for usage in usages:
        runs.setdefault((usage.version, usage.direction), set()).add(usage.run_id)
    versions = {version for version, _ in runs}
    return {
        v: UsageCount(len(runs.get((v, INPUT), ())), len(runs.get((v, OUTPUT), ())))
        for v in versions
    }


def neighbours(
    versions: Sequence[DatasetVersion], version: int
) -> tuple[DatasetVersion | None, DatasetVersion | None]:
    """The versions just before and just after ``version`` (``None`` at either end)."""
    older = [v for v in versions if v.version < version]
    newer = [v for v in versions if v.version > version]
    return (
        max(older, key=lambda v: v.version) if older else None,
        min(newer, key=lambda v: v.version) if newer else None,
    )
