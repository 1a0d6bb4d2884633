"""``shipyard sync``: upload what runs left in the spool while the backend was unreachable.

Every segment under ``settings.spool_dir`` whose writing process has ended is replayed in order:
batches already acknowledged or rejected are skipped, the rest are sent through ``store.ingest``
(idempotent per batch id, so syncing twice, or after a partly acknowledged run, never duplicates a
point), and the segment is deleted once nothing of it is left. Segments that a live process still
writes are left alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from shipyard.errors import ShipyardError, Unavailable
from shipyard.sdk._spool import Segment, SpoolRecord, encode_record, list_segments, read_records
from shipyard.sdk.backend import Backend, open_backend
from shipyard.settings import Settings
from shipyard.store.base import RunStore

Progress = Callable[[int, int], None]
"""Called as ``progress(batches_done, batches_total)`` after each batch."""


@dataclass(slots=True)
class SyncReport:
    """What a sync did."""

    runs: int = 0
    """Runs that had something to upload."""
    batches_sent: int = 0
    points_sent: int = 0
    batches_rejected: int = 0
    """Batches the backend refused for good (kept in ``<segment>.rejected``)."""
    batches_left: int = 0
    """Batches still unsent because the backend was unavailable."""
    segments_live: int = 0
    """Segments skipped because the process writing them is still running."""
    errors: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """Whether nothing that could be uploaded was left behind."""
        return self.batches_left == 0


@dataclass(slots=True)
class _Plan:
    segment: Segment
    pending: list[SpoolRecord]


def sync(
    settings: Settings, *, progress: Progress | None = None, backend: Backend | None = None
) -> SyncReport:
    """Upload every unacknowledged spooled batch, in order, then delete the finished spools.

    ``backend`` defaults to the one ``settings`` names (opened and closed here). Stops at the
    first ``Unavailable`` (the rest stays spooled for the next sync) and reports it in
    ``errors``. Example::

        report = sync(Settings())
        print(report.batches_sent, "batches uploaded")
    """
    report = SyncReport()
    plans = _plan(settings, report)
    if not plans:
        return report
    owned = backend is None
    active = backend or open_backend(settings)
    try:
        _upload(active.store, plans, report, progress)
    finally:
        if owned:
            active.close()
    return report


def _plan(settings: Settings, report: SyncReport) -> list[_Plan]:
    plans = []
    for segment in list_segments(settings.spool_dir):
        if segment.is_live():
            report.segments_live += 1
            continue
        handled = segment.handled_ids()
        records = read_records(segment.file(".spool"))
        plans.append(_Plan(segment, [r for r in records if r.batch.batch_id not in handled]))
    report.runs = len({p.segment.run_id for p in plans if p.pending})
    return plans


def _upload(
    store: RunStore, plans: list[_Plan], report: SyncReport, progress: Progress | None
) -> None:
    total = sum(len(p.pending) for p in plans)
    done = 0
    for index, plan in enumerate(plans):
        for position, record in enumerate(plan.pending):
            if not _send(store, plan.segment, record, report):
                report.batches_left = (
                    len(plan.pending) - position + sum(len(p.pending) for p in plans[index + 1 :])
                )
                return
            done += 1
            if progress is not None:
                progress(done, total)
        plan.segment.remove()


def _send(store: RunStore, segment: Segment, record: SpoolRecord, report: SyncReport) -> bool:
    """Send one batch and record the outcome; ``False`` when the backend is unavailable."""
    batch = record.batch
    try:
        store.ingest(record.run_id, batch)
    except Unavailable as exc:
        report.errors.append(f"backend unavailable: {exc}")
        return False
    except ShipyardError as exc:
        error = f"{type(exc).__name__}: {exc}"
        with segment.file(".rejected").open("ab") as fh:
            fh.write(encode_record(record.run_id, batch, error))
        report.batches_rejected += 1
        report.errors.append(f"run {record.run_id}: batch {batch.batch_id} refused: {error}")
        return True
    with segment.file(".acks").open("a", encoding="ascii") as fh:
        fh.write(batch.batch_id + "\n")
    report.batches_sent += 1
    report.points_sent += batch.point_count
    return True
