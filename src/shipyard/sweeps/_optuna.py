"""Everything Optuna: samplers, pruners, distributions, and the study's RDB storage.

The study lives in an Optuna RDB storage of its own (default: ``<home>/sweeps.db``), never in
the Shipyard metadata database: both use Alembic, and their ``alembic_version`` tables would
collide. The study's name is the sweep id; its user attributes keep the spec and the project.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping, Sequence
from typing import Any

import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.pruners import BasePruner, HyperbandPruner, MedianPruner, NopPruner
from optuna.samplers import BaseSampler, GridSampler, RandomSampler, TPESampler
from optuna.storages import RDBStorage
from optuna.trial import FrozenTrial, TrialState
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from shipyard.errors import Conflict, InvalidArgument, NotFound, Unavailable
from shipyard.settings import Settings
from shipyard.sweeps.spec import SweepSpec

SPEC_ATTR = "shipyard.spec"
PROJECT_ATTR = "shipyard.project"
RUN_ATTR = "shipyard.run_id"
JOB_ATTR = "shipyard.job"
REQUEUED_ATTR = "shipyard.requeued"
RETRY_OF_ATTR = "shipyard.retry_of"
STORAGE_FILE = "sweeps.db"
SQLITE_TIMEOUT_S = 60


def distributions(spec: SweepSpec) -> dict[str, BaseDistribution]:
    """The Optuna distribution of each searched (non-constant) parameter."""
    found: dict[str, BaseDistribution] = {}
    for name, p in spec.parameters.items():
        if p.is_constant:
            continue
        if spec.method == "grid" or p.kind == "values":
            found[name] = CategoricalDistribution(p.grid_values())
            continue
        low, high = float(p.low or 0), float(p.high or 0)
        if p.is_int:
            step = int(p.step or 1)
            found[name] = IntDistribution(int(low), int(high), log=p.is_log, step=step)
        else:
            found[name] = FloatDistribution(low, high, log=p.is_log, step=p.step)
    return found


def make_sampler(spec: SweepSpec, resumed_at: int = 0) -> BaseSampler:
    """The sampler of ``spec.method``, seeded with ``spec.seed``.

    A sampler of a resumed sweep gets ``seed + resumed_at`` (the trials the study already
    has): the same seed again would replay the random draws the sweep already made.
    """
    seed = None if spec.seed is None else spec.seed + resumed_at
    if spec.method == "grid":
        space = {n: list(p.grid_values()) for n, p in spec.parameters.items() if not p.is_constant}
        return AskTellGridSampler(space, seed=spec.seed)  # same order: visited points skipped
    if spec.method == "random":
        return RandomSampler(seed=seed)
    if spec.method == "cmaes":
        return _cmaes_sampler(seed)
    return TPESampler(seed=seed)


class AskTellGridSampler(GridSampler):
    """Optuna's grid sampler for ask-and-tell use.

    ``GridSampler.after_trial`` calls ``study.stop()`` once the grid is covered, which raises
    outside ``study.optimize``; a grid sweep's ``max_trials`` never exceeds the grid's size, so
    the engine stops there by itself.
    """

    def after_trial(
        self,
        study: optuna.Study,
        trial: FrozenTrial,
        state: TrialState,
        values: Sequence[float] | None,
    ) -> None:
        """Nothing to do: the sweep's budget ends a grid sweep."""


def _cmaes_sampler(seed: int | None) -> BaseSampler:
    if importlib.util.find_spec("cmaes") is None:
        raise InvalidArgument(
            "method cmaes needs the 'cmaes' package, which is not installed",
            hint="pip install cmaes (or use method tpe, random or grid)",
        )
    from optuna.samplers import CmaEsSampler

    # Categorical parameters fall back to independent (random) sampling, as Optuna documents.
    return CmaEsSampler(seed=seed, warn_independent_sampling=False)


def make_pruner(spec: SweepSpec) -> BasePruner:
    """The pruner of ``spec.early_stop`` (``NopPruner`` for ``none``)."""
    options: dict[str, Any] = dict(spec.early_stop.options)
    if spec.early_stop.type == "median":
        return MedianPruner(**options)
    if spec.early_stop.type == "hyperband":
        return HyperbandPruner(**options)
    return NopPruner()


def storage_url(settings: Settings, storage: str | None) -> str:
    """The study storage: ``storage`` (an SQLAlchemy URL), else ``<home>/sweeps.db``.

    Raises ``InvalidArgument`` for a malformed URL or one that names the Shipyard metadata
    database itself.
    """
    if storage is None:
        return f"sqlite:///{(settings.home / STORAGE_FILE).absolute().as_posix()}"
    try:
        url = make_url(storage)
    except ArgumentError:
        raise InvalidArgument(
            f"invalid sweep storage URL {storage!r}",
            hint="pass an SQLAlchemy URL, e.g. sqlite:///sweeps.db or postgresql+psycopg://...",
        ) from None
    if not settings.is_remote and _same_database(url, make_url(settings.store_uri)):
        raise InvalidArgument(
            "the sweep storage cannot be the Shipyard metadata database",
            hint="both use Alembic and their alembic_version tables would collide; "
            "pass another database (the default is <home>/sweeps.db)",
        )
    return storage


def _same_database(one: Any, other: Any) -> bool:
    def key(url: Any) -> tuple[Any, ...]:
        return (url.get_backend_name(), url.host, url.port, url.database)

    return bool(key(one) == key(other))


def open_storage(url: str) -> RDBStorage:
    """Open (creating its tables if needed) the Optuna RDB storage at ``url``."""
    sqlite = url.startswith("sqlite")
    kwargs: dict[str, Any] = {"connect_args": {"timeout": SQLITE_TIMEOUT_S}} if sqlite else {}
    if sqlite:
        _make_parent(url)
    try:
        storage = RDBStorage(url, engine_kwargs=kwargs)
    except (SQLAlchemyError, ImportError, OSError) as exc:
        raise Unavailable(
            f"cannot open the sweep storage {redact(url)}: {exc}",
            hint="check the --storage URL and that the database is reachable",
        ) from None
    if sqlite:
        event.listen(storage.engine, "connect", _sqlite_pragmas)
        storage.engine.dispose()  # connections made from now on get the pragmas
    return storage


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    """WAL, as the Shipyard store uses: ``sweep status`` reads while the driver writes, and a
    commit (Optuna makes one per reported value) needs no fsync of the whole database."""
    cursor = connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def _make_parent(url: str) -> None:
    database = make_url(url).database
    if database and database != ":memory:":
        from pathlib import Path

        Path(database).parent.mkdir(parents=True, exist_ok=True)


def redact(url: str) -> str:
    """``url`` without its password (safe to print and to store in a tag)."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return "<invalid URL>"


def create_study(storage: RDBStorage, sweep_id: str, spec: SweepSpec, project: str) -> optuna.Study:
    """A new study named ``sweep_id`` that records ``spec`` and ``project``."""
    study = optuna.create_study(
        storage=storage,
        study_name=sweep_id,
        sampler=make_sampler(spec),
        pruner=make_pruner(spec),
        direction=spec.metric.goal,  # type: ignore[arg-type]
    )
    study.set_user_attr(SPEC_ATTR, spec.to_dict())
    study.set_user_attr(PROJECT_ATTR, project)
    return study


def load_study(storage: RDBStorage, sweep_id: str, spec: SweepSpec | None) -> optuna.Study:
    """The study of sweep ``sweep_id``; with ``spec``, check it searches the same space.

    Raises ``NotFound`` for an unknown sweep and ``Conflict`` when ``spec`` differs.
    """
    stored = stored_spec(storage, sweep_id)
    if spec is None:
        spec = stored
    elif spec.search_space() != stored.search_space():
        raise Conflict(
            f"the spec does not search the same space as sweep {sweep_id} "
            "(metric, method, parameters and early_stop must not change)",
            hint=f"resume it with the spec it started with; `shipyard sweep status {sweep_id} "
            "--json` shows it",
        )
    study_id = storage.get_study_id_from_name(sweep_id)
    sampler = make_sampler(spec, resumed_at=storage.get_n_trials(study_id))
    return optuna.load_study(
        study_name=sweep_id, storage=storage, sampler=sampler, pruner=make_pruner(spec)
    )


def stored_spec(storage: RDBStorage, sweep_id: str) -> SweepSpec:
    """The spec a sweep was started with. Raises ``NotFound`` for an unknown sweep."""
    from shipyard.sweeps.spec import parse_spec

    try:
        study_id = storage.get_study_id_from_name(sweep_id)
    except KeyError:
        raise NotFound(
            f"sweep {sweep_id!r} not found in {redact(storage.url)}",
            hint="list sweeps with `shipyard sweep list` (pass --storage if it ran with one)",
        ) from None
    attrs: Mapping[str, Any] = storage.get_study_user_attrs(study_id)
    return parse_spec(attrs[SPEC_ATTR], source=f"sweep {sweep_id}")


def study_project(study: optuna.Study) -> str:
    """The Shipyard project the sweep's runs live in."""
    return str(study.user_attrs[PROJECT_ATTR])
