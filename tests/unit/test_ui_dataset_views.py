"""What the dataset pages show: lineage newest first, usage counts per version, neighbours."""

from __future__ import annotations

from shipyard.domain.datasets import DatasetUsage, DatasetVersion
from shipyard.domain.entities import Run, RunStatus
from shipyard.server.ui._dataset_views import (
    UsageCount,
    lineage_rows,
    neighbours,
    newest_usages,
    short_digest,
    usage_counts,
)

USAGES = [
    DatasetUsage("a", "input", 1),
    DatasetUsage("b", "input", 2),
    DatasetUsage("a", "input", 1),  # recorded again: shown once
    DatasetUsage("c", "output", 1),
    DatasetUsage("d", "input", 1),
]


def _version(number: int) -> DatasetVersion:
    return DatasetVersion("pets", number, f"{number:064x}", 1, 1)


def test_newest_usages_are_most_recent_first_without_duplicates() -> None:
    assert newest_usages(USAGES, 10) == [USAGES[4], USAGES[3], USAGES[0], USAGES[1]]
    assert newest_usages(USAGES, 2) == [USAGES[4], USAGES[3]]
    assert newest_usages([], 5) == []


def test_lineage_rows_put_newer_versions_first_and_keep_missing_runs() -> None:
    run = Run("b", "vision", "train", RunStatus.FINISHED, "ada", 0)
    rows = lineage_rows(newest_usages(USAGES, 10), {"b": run})
    assert [(r.version, r.run_id) for r in rows] == [(2, "b"), (1, "d"), (1, "c"), (1, "a")]
    assert rows[0].run is run
    assert rows[1].run is None


def test_usage_counts_count_distinct_runs_per_direction() -> None:
    counts = usage_counts(USAGES)
    assert counts == {1: UsageCount(inputs=2, outputs=1), 2: UsageCount(inputs=1)}
    assert counts[1].total == 3
    assert usage_counts([]) == {}


def test_neighbours_and_short_digest() -> None:
    versions = [_version(n) for n in (1, 2, 3)]
    assert neighbours(versions, 2) == (versions[0], versions[2])
    assert neighbours(versions, 1) == (None, versions[1])
    assert neighbours(versions, 3) == (versions[1], None)
    assert short_digest("ab" * 32) == "abababababab"
