"""Read sweeps back from their Optuna storage: ``shipyard sweep status`` and ``sweep list``."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import optuna
from optuna.storages import RDBStorage
from sqlalchemy.engine import make_url

from shipyard.errors import NotFound
from shipyard.settings import Settings
from shipyard.sweeps import _optuna as opt
from shipyard.sweeps.result import SweepListing, SweepResult, summarize
from shipyard.sweeps.spec import parse_spec


def sweep_status(
    sweep_id: str, *, settings: Settings | None = None, storage: str | None = None
) -> SweepResult:
    """Every trial of sweep ``sweep_id`` with its state, value, params and run.

    Raises ``NotFound`` for a sweep that is not in the storage (default ``<home>/sweeps.db``).

    Example::

        result = sweep_status("0193a5c1f2e04b7d9c1e2f3a4b5c6d7e")
        print(result.counts, result.best)
    """
    with _opened(settings or Settings(), storage) as found:
        if found is None:
            raise _unknown(sweep_id)
        spec = opt.stored_spec(found, sweep_id)
        study_id = found.get_study_id_from_name(sweep_id)
        project = str(found.get_study_user_attrs(study_id)[opt.PROJECT_ATTR])
        trials = found.get_all_trials(study_id, deepcopy=False)
        return SweepResult(sweep_id, project, spec, tuple(summarize(t, spec) for t in trials))


def list_sweeps(
    *, settings: Settings | None = None, storage: str | None = None
) -> list[SweepListing]:
    """The sweeps in the storage, oldest first (studies that Shipyard did not create are left
    out)."""
    with _opened(settings or Settings(), storage) as found:
        if found is None:
            return []
        summaries = optuna.get_all_study_summaries(found, include_best_trial=True)
    listings = [_listing(s) for s in summaries if opt.SPEC_ATTR in s.user_attrs]
    return sorted(listings, key=lambda item: (item.started_at or 0, item.sweep_id))


def _listing(summary: optuna.study.StudySummary) -> SweepListing:
    spec = parse_spec(summary.user_attrs[opt.SPEC_ATTR], source=summary.study_name)
    best = summary.best_trial
    start = summary.datetime_start
    return SweepListing(
        sweep_id=summary.study_name,
        project=str(summary.user_attrs.get(opt.PROJECT_ATTR, "")),
        name=spec.name,
        method=spec.method,
        metric=spec.metric,
        max_trials=spec.max_trials,
        trials=summary.n_trials,
        best_value=None if best is None else best.value,
        started_at=None if start is None else int(start.timestamp() * 1000),
    )


@contextlib.contextmanager
def _opened(settings: Settings, storage: str | None) -> Iterator[RDBStorage | None]:
    """The storage, or ``None`` when it is the default SQLite file and that does not exist."""
    url = opt.storage_url(settings, storage)
    if storage is None and not Path(make_url(url).database or "").exists():
        yield None
        return
    found = opt.open_storage(url)
    try:
        yield found
    finally:
        found.engine.dispose()


def _unknown(sweep_id: str) -> NotFound:
    return NotFound(
        f"sweep {sweep_id!r} not found: no sweep has run with this Shipyard home yet",
        hint="list sweeps with `shipyard sweep list` (pass --storage if it ran with one)",
    )
