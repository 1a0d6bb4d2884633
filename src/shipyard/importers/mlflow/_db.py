"""Reads an MLflow tracking database (``sqlite:///mlflow.db``, ``postgresql://...``) with
SQLAlchemy over MLflow's own tables; artifacts are read from the local paths the runs name."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path

import sqlalchemy as sa

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


class DbSource:
    """An MLflow tracking database."""

    def __init__(self, uri: str, base: Path | None = None) -> None:
        self._engine = sa.create_engine(uri)
        self._base = base
        self._tables = set(sa.inspect(self._engine).get_table_names())

    def _rows(self, sql: str, **params: object) -> Sequence[sa.Row[tuple[object, ...]]]:
        with self._engine.connect() as conn:
            return conn.execute(sa.text(sql), params).all()

    def experiments(self) -> Sequence[SrcExperiment]:
        """Every experiment with its tags."""
        tags: dict[str, dict[str, str]] = {}
        for key, value, exp_id in self._rows(
            "SELECT key, value, experiment_id FROM experiment_tags"
        ):
            tags.setdefault(str(exp_id), {})[str(key)] = str(value or "")
        rows = self._rows("SELECT experiment_id, name, lifecycle_stage FROM experiments")
        return [
            SrcExperiment(str(i), str(n), s == "deleted", tags.get(str(i), {}))
            for i, n, s in sorted(rows, key=lambda r: int(str(r[0])))
        ]

    def runs(self, experiment_id: str) -> Iterator[SrcRun]:
        """Every run of an experiment."""
        rows = self._rows(
            "SELECT run_uuid, name, status, start_time, end_time, user_id, lifecycle_stage, "
            "artifact_uri FROM runs WHERE experiment_id = :e ORDER BY start_time, run_uuid",
            e=int(experiment_id),
        )
        for run_id, name, status, start, end, user, stage, uri in rows:
            rid = str(run_id)
            yield SrcRun(
                run_id=rid,
                experiment_id=experiment_id,
                name=str(name or ""),
                status=str(status or "FINISHED"),
                start_time=int(str(start or 0)),
                end_time=None if end is None else int(str(end)),
                user=str(user or ""),
                deleted=stage == "deleted",
                artifact_uri=str(uri or ""),
                params=self._pairs("params", rid),
                tags=self._pairs("tags", rid),
            )

    def _pairs(self, table: str, run_id: str) -> dict[str, str]:
        rows = self._rows(f"SELECT key, value FROM {table} WHERE run_uuid = :r", r=run_id)
        return {str(k): str(v or "") for k, v in rows}

    def metrics(self, run: SrcRun) -> Mapping[str, list[Point]]:
        """Full metric history by key (``is_nan`` rows become NaN)."""
        rows = self._rows(
            "SELECT key, step, timestamp, value, is_nan FROM metrics WHERE run_uuid = :r "
            "ORDER BY key, timestamp, step",
            r=run.run_id,
        )
        out: dict[str, list[Point]] = {}
        for key, step, stamp, value, is_nan in rows:
            number = math.nan if is_nan else float(str(value))
            out.setdefault(str(key), []).append((int(str(step or 0)), int(str(stamp)), number))
        return out

    def artifact_files(self, artifact_uri: str, dest: Path) -> Iterator[tuple[Path, str]]:
        """Files of a local artifact location (remote ones are not readable here)."""
        root = local_path(artifact_uri, self._base)
        return iter(()) if root is None else local_files(root)

    def logged_model(self, model_id: str) -> SrcLoggedModel | None:
        """A logged model from the ``logged_models`` table (MLflow 3)."""
        if "logged_models" not in self._tables:
            return None
        rows = self._rows(
            "SELECT source_run_id, artifact_location FROM logged_models WHERE model_id = :m",
            m=model_id,
        )
        if not rows:
            return None
        run_id, location = rows[0]
        return SrcLoggedModel(model_id, None if run_id is None else str(run_id), str(location))

    def registered_models(self) -> Sequence[SrcModel]:
        """Registered models with versions, tags and aliases."""
        if "registered_models" not in self._tables:
            return []
        return [
            self._model(str(n), str(d or ""))
            for n, d in self._rows("SELECT name, description FROM registered_models ORDER BY name")
        ]

    def _model(self, name: str, description: str) -> SrcModel:
        tags = {
            str(k): str(v or "")
            for k, v in self._rows(
                "SELECT key, value FROM registered_model_tags WHERE name = :n", n=name
            )
        }
        aliases: dict[str, int] = {}
        if "registered_model_aliases" in self._tables:
            aliases = {
                str(a): int(str(v))
                for a, v in self._rows(
                    "SELECT alias, version FROM registered_model_aliases WHERE name = :n", n=name
                )
            }
        versions = [
            SrcVersion(
                int(str(v)),
                None if r is None else str(r),
                str(s or ""),
                str(d or ""),
                self._version_tags(name, int(str(v))),
            )
            for v, r, s, d in self._rows(
                "SELECT version, run_id, source, description FROM model_versions WHERE name = :n "
                "AND current_stage != 'Deleted_Internal' ORDER BY version",
                n=name,
            )
        ]
        return SrcModel(name, description, tags, aliases, versions)

    def _version_tags(self, name: str, version: int) -> dict[str, str]:
        rows = self._rows(
            "SELECT key, value FROM model_version_tags WHERE name = :n AND version = :v",
            n=name,
            v=version,
        )
        return {str(k): str(v or "") for k, v in rows}

    def close(self) -> None:
        """Dispose of the engine."""
        self._engine.dispose()
