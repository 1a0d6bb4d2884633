"""MLflow's REST API, served by ``shipyard server`` so that MLflow clients work unchanged.

One rule: everything maps onto the native stores — an experiment is a project, an MLflow run is a
Shipyard run, the ``mlflow-artifacts`` proxy reads and writes each run's content-addressed
artifacts. The only extra state (experiment ids and lifecycle, experiment tags, MLflow 3 logged
models) lives in the ``mlflow_*`` tables (``shipyard.store.mlflow``).

Routes are mounted under ``/api/2.0/mlflow`` and its UI mirror ``/ajax-api/2.0/mlflow``, the
artifact proxy under ``/api/2.0/mlflow-artifacts``; they are left out of the native OpenAPI
document (MLflow documents its own API). Every route declares an access rule.
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Response

from shipyard.server.access import Need, rule
from shipyard.server.mlflow import _artifacts, _experiments, _models, _runs
from shipyard.server.mlflow._wire import MlflowRoute, ok

PREFIXES = ("/api/2.0/mlflow", "/ajax-api/2.0/mlflow")
ARTIFACT_PREFIXES = ("/api/2.0/mlflow-artifacts", "/ajax-api/2.0/mlflow-artifacts")

info_router = APIRouter(route_class=MlflowRoute, include_in_schema=False)


@info_router.get("/api/3.0/mlflow/server-info", dependencies=[rule(Need.PUBLIC)])
@info_router.get("/ajax-api/3.0/mlflow/server-info", dependencies=[rule(Need.PUBLIC)])
def server_info() -> Response:
    """What MLflow 3 clients probe before large uploads: no multipart, no workspaces."""
    return ok(
        {
            "store_type": "SqlStore",
            "workspaces_enabled": False,
            "trace_archival_enabled": False,
            "multipart_uploads_enabled": False,
            "multipart_downloads_enabled": False,
        }
    )


def install(app: FastAPI) -> None:
    """Mount the MLflow-compatible routes on ``app``."""
    for prefix in PREFIXES:
        for router in (_experiments.router, _runs.router, _models.router, _artifacts.run_router):
            app.include_router(router, prefix=prefix)
        _install_registry(app, prefix)
    for prefix in ARTIFACT_PREFIXES:
        app.include_router(_artifacts.router, prefix=prefix)
    app.include_router(info_router)


def _install_registry(app: FastAPI, prefix: str) -> None:
    """The model registry routes, once the registry store exists."""
    import importlib

    try:
        registry = importlib.import_module("shipyard.server.mlflow._registry")
    except ImportError:  # pragma: no cover - the registry lands separately
        return
    app.include_router(registry.router, prefix=prefix)
