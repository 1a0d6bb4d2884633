"""Reads an MLflow tracking server through its REST API with ``httpx`` (no ``mlflow`` needed);
artifacts come through its ``mlflow-artifacts`` proxy (or from local paths it names)."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import httpx

from shipyard.errors import InvalidArgument, Unavailable
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

API = "/api/2.0/mlflow"
ARTIFACTS = "/api/2.0/mlflow-artifacts/artifacts"


def _pairs(items: Any) -> dict[str, str]:
    return {str(i["key"]): str(i.get("value", "")) for i in items or []}


def _number(value: Any) -> float:
    if isinstance(value, str):
        return {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}.get(value, math.nan)
    return float(value)


class HttpSource:
    """An MLflow tracking server (``http(s)://host:port``); ``MLFLOW_TRACKING_TOKEN``-style bearer
    tokens are passed as ``token``."""

    def __init__(self, url: str, token: str | None = None, client: httpx.Client | None = None):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = client or httpx.Client(base_url=url.rstrip("/"), headers=headers, timeout=60)

    def _call(self, method: str, path: str, **kwargs: Any) -> dict[str, Any]:
        try:
            response = self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise Unavailable(
                f"cannot reach the MLflow server: {exc}", hint="check --from"
            ) from None
        if response.status_code >= 400:
            raise InvalidArgument(
                f"MLflow server answered {response.status_code} to {method} {path}: "
                f"{response.text[:300]}",
                hint="check the URI and that the server is an MLflow tracking server",
            )
        data = response.json()
        return data if isinstance(data, dict) else {}

    def _pages(self, method: str, path: str, key: str, body: dict[str, Any]) -> Iterator[Any]:
        token: str | None = None
        while True:
            page = dict(body, page_token=token) if token else body
            data = self._call(
                method, path, **({"json": page} if method == "POST" else {"params": page})
            )
            yield from data.get(key, [])
            token = data.get("next_page_token")
            if not token:
                return

    def experiments(self) -> Sequence[SrcExperiment]:
        """Every experiment (view ``ALL``)."""
        body = {"max_results": 1000, "view_type": "ALL"}
        return [
            SrcExperiment(
                str(e["experiment_id"]),
                str(e["name"]),
                e.get("lifecycle_stage") == "deleted",
                _pairs(e.get("tags")),
            )
            for e in self._pages("POST", f"{API}/experiments/search", "experiments", body)
        ]

    def runs(self, experiment_id: str) -> Iterator[SrcRun]:
        """Every run (view ``ALL``), oldest first."""
        body = {
            "experiment_ids": [experiment_id],
            "max_results": 1000,
            "run_view_type": "ALL",
            "order_by": ["attributes.start_time ASC"],
        }
        for run in self._pages("POST", f"{API}/runs/search", "runs", body):
            info, data = run.get("info", {}), run.get("data", {})
            tags = _pairs(data.get("tags"))
            yield SrcRun(
                run_id=str(info["run_id"]),
                experiment_id=experiment_id,
                name=str(info.get("run_name") or tags.get("mlflow.runName") or ""),
                status=str(info.get("status") or "FINISHED"),
                start_time=int(info.get("start_time") or 0),
                end_time=None if info.get("end_time") is None else int(info["end_time"]),
                user=str(info.get("user_id") or ""),
                deleted=info.get("lifecycle_stage") == "deleted",
                artifact_uri=str(info.get("artifact_uri") or ""),
                params=_pairs(data.get("params")),
                tags=tags,
            )

    def metrics(self, run: SrcRun) -> Mapping[str, list[Point]]:
        """Full history of each metric the run has."""
        latest = self._call("GET", f"{API}/runs/get", params={"run_id": run.run_id})
        keys = {m["key"] for m in latest.get("run", {}).get("data", {}).get("metrics", [])}
        out: dict[str, list[Point]] = {}
        for key in sorted(keys):
            params = {"run_id": run.run_id, "metric_key": key, "max_results": 25000}
            out[key] = [
                (int(m.get("step") or 0), int(m.get("timestamp") or 0), _number(m.get("value")))
                for m in self._pages("GET", f"{API}/metrics/get-history", "metrics", params)
            ]
        return out

    def artifact_files(self, artifact_uri: str, dest: Path) -> Iterator[tuple[Path, str]]:
        """Files under an artifact URI: downloaded through the proxy, or read locally."""
        if artifact_uri.startswith("mlflow-artifacts:"):
            root = artifact_uri.removeprefix("mlflow-artifacts:").lstrip("/")
            if artifact_uri.startswith("mlflow-artifacts://"):
                root = root.split("/", 1)[1] if "/" in root else ""
            yield from self._download_tree(root, "", dest)
            return
        local = local_path(artifact_uri)
        if local is not None:
            yield from local_files(local)

    def _download_tree(self, root: str, rel: str, dest: Path) -> Iterator[tuple[Path, str]]:
        listing = self._call("GET", ARTIFACTS, params={"path": f"{root}/{rel}".rstrip("/")})
        for item in listing.get("files", []):
            child = f"{rel}/{item['path']}".lstrip("/")
            if item.get("is_dir"):
                yield from self._download_tree(root, child, dest)
                continue
            target = dest / child
            target.parent.mkdir(parents=True, exist_ok=True)
            with self._http.stream("GET", f"{ARTIFACTS}/{root}/{child}") as response:
                response.raise_for_status()
                with target.open("wb") as fh:
                    for chunk in response.iter_bytes():
                        fh.write(chunk)
            yield target, child

    def logged_model(self, model_id: str) -> SrcLoggedModel | None:
        """A logged model (MLflow 3 servers)."""
        try:
            info = self._call("GET", f"{API}/logged-models/{model_id}")["model"]["info"]
        except (InvalidArgument, KeyError):
            return None
        return SrcLoggedModel(model_id, info.get("source_run_id"), str(info.get("artifact_uri")))

    def registered_models(self) -> Sequence[SrcModel]:
        """Registered models with every version."""
        models = []
        for item in self._pages(
            "GET", f"{API}/registered-models/search", "registered_models", {"max_results": 1000}
        ):
            name = str(item["name"])
            params = {"filter": f"name='{name}'", "max_results": 1000}
            versions = [
                SrcVersion(
                    int(v["version"]),
                    v.get("run_id") or None,
                    str(v.get("source") or ""),
                    str(v.get("description") or ""),
                    _pairs(v.get("tags")),
                )
                for v in self._pages(
                    "GET", f"{API}/model-versions/search", "model_versions", params
                )
            ]
            versions.sort(key=lambda v: v.version)
            aliases = {str(a["alias"]): int(a["version"]) for a in item.get("aliases", [])}
            models.append(
                SrcModel(
                    name,
                    str(item.get("description") or ""),
                    _pairs(item.get("tags")),
                    aliases,
                    versions,
                )
            )
        return models

    def close(self) -> None:
        """Close the HTTP client."""
        self._http.close()
