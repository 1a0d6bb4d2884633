"""Reads an ``mlruns`` folder (MLflow's file store) directly: ``meta.yaml`` files, one file per
param/tag, and metric files of ``timestamp value step`` lines."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from shipyard.importers.mlflow._source import (
    Point,
    SrcExperiment,
    SrcLoggedModel,
    SrcModel,
    SrcRun,
    SrcVersion,
    local_files,
    local_path,
)

_STATUS = {1: "RUNNING", 2: "SCHEDULED", 3: "FINISHED", 4: "FAILED", 5: "KILLED"}
_NOT_RUNS = frozenset({"tags", "models", "datasets", "traces"})


def _meta(folder: Path) -> dict[str, Any]:
    path = folder / "meta.yaml"
    if not path.is_file():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return data if isinstance(data, dict) else {}


def _key_files(folder: Path) -> dict[str, str]:
    """Files under ``folder`` as ``{relative path: content}`` (keys may hold ``/``)."""
    return {rel: path.read_text(encoding="utf-8") for path, rel in local_files(folder)}


class FolderSource:
    """An ``mlruns`` folder."""

    def __init__(self, root: Path) -> None:
        self._root = root

    def _experiment_dirs(self) -> Iterator[Path]:
        for parent in (self._root, self._root / ".trash"):
            if parent.is_dir():
                yield from (p for p in sorted(parent.iterdir()) if (p / "meta.yaml").is_file())

    def experiments(self) -> Sequence[SrcExperiment]:
        """Every experiment (those in ``.trash`` are deleted)."""
        found = []
        for folder in self._experiment_dirs():
            meta = _meta(folder)
            if "name" not in meta:
                continue
            deleted = meta.get("lifecycle_stage") == "deleted" or folder.parent.name == ".trash"
            tags = _key_files(folder / "tags")
            found.append(
                SrcExperiment(
                    str(meta.get("experiment_id", folder.name)), str(meta["name"]), deleted, tags
                )
            )
        return found

    def _experiment_dir(self, experiment_id: str) -> Path:
        for folder in self._experiment_dirs():
            if str(_meta(folder).get("experiment_id", folder.name)) == experiment_id:
                return folder
        return self._root / experiment_id

    def runs(self, experiment_id: str) -> Iterator[SrcRun]:
        """Every run folder of an experiment."""
        folder = self._experiment_dir(experiment_id)
        for run_dir in sorted(
            p for p in folder.iterdir() if p.is_dir() and p.name not in _NOT_RUNS
        ):
            meta = _meta(run_dir)
            if not meta:
                continue
            tags = _key_files(run_dir / "tags")
            status = meta.get("status", 3)
            yield SrcRun(
                run_id=str(meta.get("run_id") or meta.get("run_uuid") or run_dir.name),
                experiment_id=experiment_id,
                name=str(meta.get("run_name") or tags.get("mlflow.runName") or ""),
                status=_STATUS.get(status, str(status)) if isinstance(status, int) else str(status),
                start_time=int(meta.get("start_time") or 0),
                end_time=None if meta.get("end_time") is None else int(meta["end_time"]),
                user=str(meta.get("user_id") or ""),
                deleted=meta.get("lifecycle_stage") == "deleted",
                artifact_uri=str(meta.get("artifact_uri") or run_dir / "artifacts"),
                params=_key_files(run_dir / "params"),
                tags=tags,
            )

    def metrics(self, run: SrcRun) -> Mapping[str, list[Point]]:
        """Metric files: one ``timestamp value step`` line per point."""
        folder = self._experiment_dir(run.experiment_id) / run.run_id / "metrics"
        out: dict[str, list[Point]] = {}
        for key, text in _key_files(folder).items():
            points = out.setdefault(key, [])
            for line in text.splitlines():
                parts = line.split()
                if len(parts) >= 2:
                    value = float(parts[1]) if parts[1].lower() != "nan" else math.nan
                    step = int(parts[2]) if len(parts) > 2 else 0
                    points.append((step, int(parts[0]), value))
        return out

    def artifact_files(self, artifact_uri: str, dest: Path) -> Iterator[tuple[Path, str]]:
        """Files of a local artifact location."""
        root = local_path(artifact_uri, self._root.parent)
        return iter(()) if root is None else local_files(root)

    def logged_model(self, model_id: str) -> SrcLoggedModel | None:
        """An MLflow 3 logged model folder (``<experiment>/models/<id>``)."""
        for folder in self._experiment_dirs():
            meta = _meta(folder / "models" / model_id)
            if meta:
                location = (
                    meta.get("artifact_location") or folder / "models" / model_id / "artifacts"
                )
                return SrcLoggedModel(model_id, meta.get("source_run_id"), str(location))
        return None

    def registered_models(self) -> Sequence[SrcModel]:
        """Registered models under ``models/``."""
        root = self._root / "models"
        if not root.is_dir():
            return []
        return [self._model(folder) for folder in sorted(root.iterdir()) if _meta(folder)]

    def _model(self, folder: Path) -> SrcModel:
        meta = _meta(folder)
        aliases = {k: int(v.strip()) for k, v in _key_files(folder / "aliases").items()}
        versions = []
        for vdir in sorted(folder.glob("version-*"), key=lambda p: int(p.name.split("-")[1])):
            vmeta = _meta(vdir)
            if not vmeta or vmeta.get("current_stage") == "Deleted_Internal":
                continue
            versions.append(
                SrcVersion(
                    int(vmeta["version"]),
                    vmeta.get("run_id") or None,
                    str(vmeta.get("source") or ""),
                    str(vmeta.get("description") or ""),
                    _key_files(vdir / "tags"),
                )
            )
        return SrcModel(
            str(meta["name"]),
            str(meta.get("description") or ""),
            _key_files(folder / "tags"),
            aliases,
            versions,
        )

    def close(self) -> None:
        """Nothing to release."""
