"""What an MLflow history looks like to the importer, whatever it is read from.

Three readers implement :class:`MlflowSource`: a tracking server's REST API (``_http.py``), a
tracking database (``_db.py``, SQLAlchemy over MLflow's tables) and an ``mlruns`` folder
(``_folder.py``). None of them needs the ``mlflow`` package.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True, slots=True)
class SrcExperiment:
    """An MLflow experiment."""

    experiment_id: str
    name: str
    deleted: bool = False
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SrcRun:
    """An MLflow run with its params and tags (metrics and artifacts are read separately)."""

    run_id: str
    experiment_id: str
    name: str
    status: str
    start_time: int
    end_time: int | None
    user: str
    deleted: bool
    artifact_uri: str
    params: Mapping[str, str] = field(default_factory=dict)
    tags: Mapping[str, str] = field(default_factory=dict)


Point = tuple[int, int, float]
"""One metric point: ``(step, timestamp, value)``."""


@dataclass(frozen=True, slots=True)
class SrcVersion:
    """A registered model version: where its files are, as a run and a path inside the run."""

    version: int
    run_id: str | None
    source: str
    description: str = ""
    tags: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SrcModel:
    """A registered model with its versions and aliases."""

    name: str
    description: str = ""
    tags: Mapping[str, str] = field(default_factory=dict)
    aliases: Mapping[str, int] = field(default_factory=dict)
    versions: Sequence[SrcVersion] = ()


@dataclass(frozen=True, slots=True)
class SrcLoggedModel:
    """An MLflow 3 logged model: its run and where its files are."""

    model_id: str
    source_run_id: str | None
    artifact_location: str


class MlflowSource(Protocol):
    """Reads one MLflow history."""

    def experiments(self) -> Sequence[SrcExperiment]:
        """Every experiment, deleted ones included."""
        ...

    def runs(self, experiment_id: str) -> Iterator[SrcRun]:
        """Every run of an experiment, deleted ones included."""
        ...

    def metrics(self, run: SrcRun) -> Mapping[str, list[Point]]:
        """A run's full metric history by key."""
        ...

    def artifact_files(self, artifact_uri: str, dest: Path) -> Iterator[tuple[Path, str]]:
        """The files under an artifact URI as ``(local file, relative path)`` pairs (downloaded
        under ``dest`` when they are remote). Nothing when the location cannot be read."""
        ...

    def logged_model(self, model_id: str) -> SrcLoggedModel | None:
        """An MLflow 3 logged model, or ``None``."""
        ...

    def registered_models(self) -> Sequence[SrcModel]:
        """Every registered model with its versions and aliases."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


def local_files(root: Path) -> Iterator[tuple[Path, str]]:
    """The files under a local folder, as ``(path, relative POSIX path)``, sorted."""
    if not root.is_dir():
        return
    for path in sorted(root.rglob("*")):
        if path.is_file():
            yield path, path.relative_to(root).as_posix()


def local_path(uri: str, base: Path | None = None) -> Path | None:
    """The local folder of a ``file://`` URI or plain path (relative to ``base``), else ``None``."""
    if uri.startswith("file://"):
        return Path(uri.removeprefix("file://"))
    if "://" in uri or uri.startswith("mlflow-artifacts:"):
        return None
    path = Path(uri)
    return path if path.is_absolute() or base is None else base / path
