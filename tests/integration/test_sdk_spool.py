"""The spool and ``sync`` over a real SQLite store: torn records, replays, live writers, rejects."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from shipyard import Settings
from shipyard.domain.batch import IngestBatch, MetricColumns, RunEnd
from shipyard.domain.entities import RunStatus
from shipyard.domain.ids import new_id
from shipyard.sdk._embedded import EmbeddedBackend
from shipyard.sdk._spool import SpoolWriter, list_segments, read_ids, read_records
from shipyard.sdk._writer import BatchWriter
from shipyard.sdk.sync import sync


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(home=tmp_path / "home", system_metrics_interval=0, flush_interval=0.05)


@pytest.fixture
def backend(settings: Settings) -> Iterator[EmbeddedBackend]:
    backend = EmbeddedBackend(settings)
    yield backend
    backend.close()


def _batch(first_step: int, n: int = 5, end: RunEnd | None = None) -> IngestBatch:
    steps = list(range(first_step, first_step + n))
    columns = MetricColumns(steps, [1000 + s for s in steps], [float(s) for s in steps])
    return IngestBatch(new_id(), {"loss": columns}, tags={"last": str(first_step)}, end=end)


def _spool(settings: Settings, run_id: str, batches: list[IngestBatch], acked: int = 0) -> Path:
    """Write batches as an ended process would have left them; returns the run's spool folder."""
    writer = SpoolWriter(settings.spool_dir, run_id)
    for batch in batches:
        writer.append(batch)
    writer.sync()
    for batch in batches[:acked]:
        writer.ack(batch.batch_id)
    writer.finish(delete=False)
    return settings.spool_dir / run_id


def test_torn_and_corrupt_tails_are_ignored(settings: Settings) -> None:
    batches = [_batch(0), _batch(5)]
    folder = _spool(settings, "r" * 32, batches)
    data = next(folder.glob("*.spool"))
    intact = data.read_bytes()
    data.write_bytes(intact + intact[:20])  # a crash in the middle of a third append
    assert [r.batch.batch_id for r in read_records(data)] == [b.batch_id for b in batches]
    corrupt = bytearray(intact)
    corrupt[-3] ^= 0xFF  # the last record's payload no longer matches its checksum
    data.write_bytes(bytes(corrupt))
    assert [r.batch.batch_id for r in read_records(data)] == [batches[0].batch_id]
    acks = folder / "x.acks"
    acks.write_text("a" * 32 + "\n" + "b" * 10)
    assert read_ids(acks) == {"a" * 32}


def test_sync_uploads_in_order_and_replay_is_idempotent(
    settings: Settings, backend: EmbeddedBackend, tmp_path: Path
) -> None:
    run = backend.store.create_run("sync", name="offline")
    end = RunEnd(RunStatus.FINISHED, 2000)
    batches = [_batch(0), _batch(5), _batch(10, end=end)]
    folder = _spool(settings, run.id, batches, acked=1)
    backend.store.ingest(run.id, batches[0])  # the acked one really arrived
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    progress: list[tuple[int, int]] = []
    report = sync(settings, progress=lambda done, total: progress.append((done, total)))
    assert (report.batches_sent, report.points_sent, report.runs) == (2, 10, 1)
    assert progress == [(1, 2), (2, 2)]
    assert report.complete
    assert not folder.exists()
    stored = backend.store.get_run(run.id)
    assert stored.status is RunStatus.FINISHED
    assert stored.tags["last"] == "10"
    assert list(backend.store.metric_history(run.id, "loss").steps) == list(range(15))
    # The same spool again (acks lost, say): nothing is duplicated.
    shutil.copytree(copy, folder)
    (next(folder.glob("*.acks"))).write_text("")
    report = sync(settings)
    assert report.batches_sent == 3
    assert backend.store.metric_history(run.id, "loss").total == 15
    assert backend.store.get_run(run.id).metrics["loss"].count == 15
    assert sync(settings).batches_sent == 0


def test_sync_skips_segments_of_live_processes(
    settings: Settings, backend: EmbeddedBackend
) -> None:
    run = backend.store.create_run("sync")
    live = SpoolWriter(settings.spool_dir, run.id)
    live.append(_batch(0))
    live.sync()
    report = sync(settings)
    assert (report.segments_live, report.batches_sent) == (1, 0)
    pid_file = live.segment.file(".pid")
    pid_file.write_text(json.dumps({"pid": 2**22 + 12345, "started": 0.0}))  # a dead process
    assert sync(settings).batches_sent == 1
    assert backend.store.get_run(run.id).metrics["loss"].count == 5
    live.finish(delete=True)


def test_writer_rejects_batches_the_store_refuses(
    settings: Settings, backend: EmbeddedBackend, caplog: pytest.LogCaptureFixture
) -> None:
    missing = new_id()
    writer = BatchWriter(backend.store, missing, spool_dir=settings.spool_dir, flush_interval=0.05)
    writer.put_metrics(0, {"loss": 1.0})
    assert writer.flush(30)
    writer.put_metrics(1, {"loss": 2.0})
    assert writer.close(None, 30)
    assert writer.stats.batches_rejected == 2
    assert "NotFound" in (writer.stats.last_error or "")
    assert sum("refused a batch" in r.getMessage() for r in caplog.records) == 1  # warned once
    [segment] = list((settings.spool_dir / missing).iterdir())
    assert segment.suffix == ".rejected"
    rejected = list(read_records(segment))
    assert [r.batch.point_count for r in rejected] == [1, 1]
    assert rejected[0].error is not None
    assert rejected[0].error.startswith("NotFound")
    assert list_segments(settings.spool_dir) == []
    assert sync(settings).batches_sent == 0


def test_writer_splits_large_backlogs(settings: Settings, backend: EmbeddedBackend) -> None:
    run = backend.store.create_run("big")
    writer = BatchWriter(backend.store, run.id, spool_dir=settings.spool_dir, flush_interval=60)
    for step in range(25_000):
        writer.put_metrics(step, {"a": 1.0, "b": 2.0})
    assert writer.close(RunEnd(RunStatus.FINISHED, 1), 60)
    assert writer.stats.points_sent == 50_000
    assert writer.stats.batches_sent >= 3
    stored = backend.store.get_run(run.id)
    assert stored.status is RunStatus.FINISHED
    assert stored.metrics["b"].count == 25_000
    assert not (settings.spool_dir / run.id).exists()
