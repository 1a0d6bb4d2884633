"""The hub's store summaries (run counts, last activity, keys present) on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from shipyard.domain.batch import IngestBatch, MetricColumns
from shipyard.errors import NotFound
from shipyard.server.ui._catalog import ColumnKeys, column_keys, project_summaries
from shipyard.store.base import RunStore
from shipyard.store.factory import open_store


@pytest.fixture(params=["sqlite", "postgres"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RunStore]:
    """A fresh store on each SQL backend."""
    if request.param == "sqlite":
        uri = f"sqlite:///{tmp_path / 's.db'}"
    else:
        uri = request.getfixturevalue("pg_url")
    opened = open_store(uri, auto_create=True)
    try:
        yield opened
    finally:
        opened.close()


def _fill(store: RunStore) -> None:
    store.create_project("empty")
    a = store.create_run(
        "iris", params={"lr": 0.1, "depth": 3}, tags={"team": "cv"}, start_time=1000
    )
    b = store.create_run("iris", params={"optimizer": "adam"}, start_time=2000)
    gone = store.create_run("iris", params={"secret": 1}, start_time=9000)
    store.delete_run(gone.id)
    columns = MetricColumns([0, 1], [5000, 7000], [0.5, 0.4])
    store.ingest(a.id, IngestBatch("b1", metrics={"loss": columns, "system/cpu": columns}))
    store.update_run(b.id, end_time=6000)
    store.create_run("mnist", start_time=3000)


def test_summaries_count_live_runs_and_find_the_latest_activity(store: RunStore) -> None:
    _fill(store)
    summaries = {s.name: s for s in project_summaries(store)}
    assert list(summaries) == ["empty", "iris", "mnist"]
    assert (summaries["iris"].run_count, summaries["iris"].last_activity) == (2, 7000)
    assert (summaries["mnist"].run_count, summaries["mnist"].last_activity) == (1, 3000)
    assert (summaries["empty"].run_count, summaries["empty"].last_activity) == (0, None)


def test_column_keys_list_what_live_runs_have(store: RunStore) -> None:
    _fill(store)
    assert column_keys(store, "iris") == ColumnKeys(
        params=("depth", "lr", "optimizer"), metrics=("loss", "system/cpu"), tags=("team",)
    )
    assert column_keys(store, "empty") == ColumnKeys((), (), ())
    with pytest.raises(NotFound, match="nope"):
        column_keys(store, "nope")
