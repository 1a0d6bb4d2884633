"""Copies an MLflow history into Shipyard, idempotently.

* Runs keep their MLflow run id (a second import finds them and creates nothing).
* Metric points are appended per key after the points already stored, in batches whose ids name
  the key and the offset, so a re-import (even of a run that logged more since) adds only what is
  new and a replayed batch is ignored.
* Artifacts already recorded with the same size and sha256 are not uploaded again.
* Imported model versions carry their MLflow number in the tag ``mlflow.importedVersion``,
  which re-imports match on; aliases and tags are set (idempotent).
"""

from __future__ import annotations

import hashlib
import re
import shutil
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from shipyard.artifacts.base import hash_file
from shipyard.domain.batch import IngestBatch, MetricColumns
from shipyard.domain.entities import RunStatus
from shipyard.domain.ids import is_id
from shipyard.domain.validation import validate_key, validate_tags
from shipyard.errors import AlreadyExists, InvalidArgument, NotFound, ShipyardError
from shipyard.importers.mlflow._source import MlflowSource, Point, SrcModel, SrcRun, SrcVersion
from shipyard.sdk.backend import Backend
from shipyard.store.mlflow import MlflowStore
from shipyard.store.registry import RegistryStore

Progress = Callable[[int, int, str], None]
"""Called as runs are copied: ``(done, total, what)``."""

_CHUNK = 50_000
VERSION_TAG = "mlflow.importedVersion"
"""Tag of an imported model version: its version number in MLflow (re-imports match on it)."""
_BAD_NAME = re.compile(r"[^A-Za-z0-9_.\- ]+")


@dataclass
class ImportSummary:
    """What an import did."""

    experiments: int = 0
    runs_new: int = 0
    runs_existing: int = 0
    metric_points: int = 0
    artifacts_new: int = 0
    models_new: int = 0
    versions_new: int = 0
    warnings: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, object]:
        """As a JSON-ready mapping."""
        return {
            "experiments": self.experiments,
            "runs_new": self.runs_new,
            "runs_existing": self.runs_existing,
            "metric_points": self.metric_points,
            "artifacts_new": self.artifacts_new,
            "models_new": self.models_new,
            "versions_new": self.versions_new,
            "warnings": list(self.warnings),
        }


def project_name(experiment: str) -> str:
    """A valid project name for an MLflow experiment name (``/Users/a/x`` -> ``Users-a-x``)."""
    cleaned = _BAD_NAME.sub("-", experiment).strip("-_. ")[:256]
    return cleaned or "Default"


def run_id_for(mlflow_id: str) -> str:
    """The Shipyard id of an MLflow run: the same id when it has Shipyard's shape (32 hex)."""
    return mlflow_id if is_id(mlflow_id) else hashlib.sha256(mlflow_id.encode()).hexdigest()[:32]


class Copier:
    """Copies one source into one backend (see the module docstring)."""

    def __init__(self, source: MlflowSource, backend: Backend, progress: Progress | None = None):
        self.source, self.backend, self.progress = source, backend, progress
        self.store = backend.store
        self.summary = ImportSummary()
        self.runs: dict[str, SrcRun] = {}
        self.projects: dict[str, str] = {}
        self._tmp = Path(tempfile.mkdtemp(prefix="shipyard-mlflow-import-"))

    def close(self) -> None:
        """Remove the downloads folder."""
        shutil.rmtree(self._tmp, ignore_errors=True)

    def run(self) -> ImportSummary:
        """Copy experiments, runs and registered models."""
        pending: list[SrcRun] = []
        for exp in self.source.experiments():
            project = project_name(exp.name)
            self.projects[exp.experiment_id] = project
            self.summary.experiments += 1
            self._experiment_tags(project, exp.tags)
            pending.extend(self.source.runs(exp.experiment_id))
        for done, run in enumerate(pending, start=1):
            self.runs[run.run_id] = run
            self._copy_run(run)
            if self.progress is not None:
                self.progress(done, len(pending), run.name or run.run_id)
        models = self.source.registered_models()
        if models:
            registry = _registry(self.backend, self.summary.warnings)
            for model in models:
                if registry is not None:
                    self._copy_model(registry, model)
        return self.summary

    # -- runs -------------------------------------------------------------------------------
    def _experiment_tags(self, project: str, tags: Mapping[str, str]) -> None:
        if not isinstance(self.store, MlflowStore):
            return
        try:
            exp_id = self.store.mlflow_experiment_by_name(project).experiment_id
        except NotFound:
            exp_id = self.store.mlflow_create_experiment(project).experiment_id
        self.store.mlflow_set_experiment_tags(exp_id, _valid(tags, self.summary.warnings))

    def _copy_run(self, run: SrcRun) -> None:
        run_id = run_id_for(run.run_id)
        try:
            self.store.get_run(run_id)
            self.summary.runs_existing += 1
        except NotFound:
            self._create_run(run, run_id)
        try:
            self._copy_metrics(run, run_id)
            self._copy_artifacts(run_id, run.artifact_uri, "")
        except ShipyardError as exc:
            self.summary.warnings.append(f"run {run.run_id}: {exc.message}")

    def _create_run(self, run: SrcRun, run_id: str) -> None:
        params = {
            k: v for k, v in _valid(run.params, self.summary.warnings).items() if len(v) <= 6000
        }
        try:
            self.store.create_run(
                self.projects[run.experiment_id],
                run_id=run_id,
                name=run.name[:256],
                user=run.user[:256],
                params=params,
                tags=_valid(run.tags, self.summary.warnings),
                start_time=run.start_time,
            )
        except AlreadyExists as exc:
            self.summary.warnings.append(f"run {run.run_id}: {exc.message}")
            return
        status = _status(run.status)
        if status is not RunStatus.RUNNING:
            self.store.update_run(run_id, status=status, end_time=run.end_time or run.start_time)
        if run.deleted:
            self.store.delete_run(run_id)
        self.summary.runs_new += 1

    def _copy_metrics(self, run: SrcRun, run_id: str) -> None:
        for key, points in self.source.metrics(run).items():
            try:
                stored = self.store.metric_history(run_id, key, max_points=1).total
            except NotFound:
                stored = 0
            for start in range(stored, len(points), _CHUNK):
                self._ingest(run_id, key, start, points[start : start + _CHUNK])

    def _ingest(self, run_id: str, key: str, offset: int, points: Sequence[Point]) -> None:
        digest = hashlib.sha1(key.encode(), usedforsecurity=False).hexdigest()[:16]
        columns = MetricColumns(
            [p[0] for p in points], [p[1] for p in points], [p[2] for p in points]
        )
        batch = IngestBatch(f"mlflow-import-{digest}-{offset}", metrics={key: columns})
        if self.store.ingest(run_id, batch):
            self.summary.metric_points += len(points)

    def _copy_artifacts(self, run_id: str, artifact_uri: str, prefix: str) -> None:
        dest = self._tmp / run_id / prefix
        files = list(self.source.artifact_files(artifact_uri, dest))
        if not files:
            return
        stored = {a.path: a for a in self.store.list_artifacts(run_id)}
        todo = []
        for path, rel in files:
            target = f"{prefix}/{rel}" if prefix else rel
            known = stored.get(target)
            if known is None or known.sha256 != hash_file(path).sha256:
                todo.append((path, target))
        if todo:
            self.backend.upload_artifacts(run_id, todo)
            self.summary.artifacts_new += len(todo)

    # -- registry ---------------------------------------------------------------------------
    def _copy_model(self, registry: RegistryStore, model: SrcModel) -> None:
        located = [(v, self._locate(v)) for v in model.versions]
        project = (
            next(
                (
                    self.projects.get(self.runs[w[0]].experiment_id)
                    for _, w in located
                    if w is not None and w[0] in self.runs
                ),
                None,
            )
            or "Default"
        )
        try:
            registry.create_registered_model(
                model.name, project=project, description=model.description
            )
            self.summary.models_new += 1
        except AlreadyExists:
            pass
        for key, value in _valid(model.tags, self.summary.warnings).items():
            registry.set_registered_model_tag(model.name, key, value)
        existing = {
            v.tags.get(VERSION_TAG): v.version for v in registry.list_model_versions(model.name)
        }
        numbers: dict[int, int] = {}
        for version, where in located:
            if where is None:
                self.summary.warnings.append(
                    f"model {model.name} version {version.version}: source {version.source!r} "
                    "is not a run of this import; skipped"
                )
                continue
            numbers[version.version] = existing.get(str(version.version)) or self._create_version(
                registry, model.name, version, where
            )
        for alias, number in model.aliases.items():
            if number in numbers:
                registry.set_model_alias(model.name, alias, numbers[number])

    def _create_version(
        self, registry: RegistryStore, name: str, version: SrcVersion, where: tuple[str, str]
    ) -> int:
        created = registry.create_model_version(
            name,
            run_id=where[0],
            source=where[1],
            flavor=self._flavor(where),
            description=version.description,
            tags={
                **_valid(version.tags, self.summary.warnings),
                VERSION_TAG: str(version.version),
            },
        )
        self.summary.versions_new += 1
        return created.version

    def _locate(self, version: SrcVersion) -> tuple[str, str] | None:
        """The Shipyard (run id, folder) of a version's files, importing logged-model files."""
        source = version.source
        if source.startswith("runs:/"):
            run, _, path = source.removeprefix("runs:/").partition("/")
            return run_id_for(run), path.strip("/")
        if source.startswith("models:/m-"):
            return self._logged_model(source.removeprefix("models:/"))
        owner = self.runs.get(version.run_id or "")
        root = "" if owner is None else owner.artifact_uri.rstrip("/")
        if owner is not None and source.startswith(root + "/"):
            return run_id_for(owner.run_id), source[len(root) + 1 :]
        return None

    def _logged_model(self, model_id: str) -> tuple[str, str] | None:
        model = self.source.logged_model(model_id)
        if model is None or model.source_run_id not in self.runs:
            return None
        run_id, path = run_id_for(model.source_run_id), f"models/{model_id}"
        self._copy_artifacts(run_id, model.artifact_location, path)
        return run_id, path

    def _flavor(self, where: tuple[str, str]) -> str:
        try:
            record = self.store.get_artifact(where[0], f"{where[1]}/MLmodel")
        except (NotFound, InvalidArgument):
            return "mlflow"
        local = self._tmp / "flavor" / record.sha256
        self.backend.download_artifact(where[0], record, local)
        flavors = (yaml.safe_load(local.read_text()) or {}).get("flavors") or {}
        names = [str(f) for f in flavors if f != "python_function"]
        return names[0] if names else "mlflow"


def _registry(backend: Backend, warnings: list[str]) -> RegistryStore | None:
    """The target's registry (SQL store or server API), or ``None`` with a warning."""
    from shipyard.sdk._models import registry_of

    try:
        return registry_of(backend)
    except ShipyardError as exc:
        warnings.append(f"registered models skipped: {exc.message}")
        return None


def _status(text: str) -> RunStatus:
    try:
        return RunStatus(text)
    except ValueError:
        return RunStatus.FINISHED if text != "SCHEDULED" else RunStatus.RUNNING


def _valid(pairs: Mapping[str, str], warnings: list[str]) -> dict[str, str]:
    """The pairs whose keys and values Shipyard accepts (the others are reported)."""
    out: dict[str, str] = {}
    for key, value in pairs.items():
        try:
            validate_key(key)
            out.update(validate_tags({key: value}))
        except InvalidArgument as exc:
            warnings.append(f"skipped {key!r}: {exc.message}")
    return out
