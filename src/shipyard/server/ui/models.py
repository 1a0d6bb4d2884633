"""HTML pages of the model registry: every registered model, one model's versions and aliases,
and one version with its lineage (the source run, its params, metrics, code commit and datasets)
and its signature."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from shipyard.domain.entities import Run
from shipyard.errors import NotFound
from shipyard.server._deps import Store
from shipyard.server.access import CallerDep, Need, rule
from shipyard.server.routes.models import get_registry, parse_version
from shipyard.server.ui import _model_views as views
from shipyard.server.ui._templates import render
from shipyard.server.ui.pages import _page
from shipyard.store.base import RunStore

router = APIRouter(include_in_schema=False)


def page_project(request: Request) -> str:
    """The project of the page's registered model; ``""`` when it does not exist, so that the
    page itself says what is missing."""
    try:
        return get_registry(request).get_registered_model(str(request.path_params["name"])).project
    except NotFound:
        return ""


READ_MODEL = [rule(Need.READ, project=page_project)]


@router.get("/models", dependencies=[rule(Need.USER)])
def models_page(request: Request, caller: CallerDep) -> Response:
    """Every registered model the caller may see."""

    def build() -> Response:
        models = [
            m for m in get_registry(request).list_registered_models() if caller.sees(m.project)
        ]
        return render(request, "models.html", title="Models", nav="models", models=models)

    return _page(request, build)


@router.get("/models/{name}", dependencies=READ_MODEL)
def model_page(request: Request, name: str, store: Store) -> Response:
    """A registered model: aliases, tags and every version with its source run."""

    def build() -> Response:
        registry = get_registry(request)
        model = registry.get_registered_model(name)
        versions = registry.list_model_versions(name)
        runs = {v.run_id: _run(store, v.run_id) for v in versions if v.run_id}
        return render(
            request,
            "model.html",
            title=name,
            nav="models",
            model=model,
            versions=versions,
            runs=runs,
        )

    return _page(request, build)


@router.get("/models/{name}/versions/{version}", dependencies=READ_MODEL)
def version_page(request: Request, name: str, version: str, store: Store) -> Response:
    """One version: its signature and its lineage back to the run, code and data."""

    def build() -> Response:
        registry = get_registry(request)
        found = registry.get_model_version(name, parse_version(registry, name, version))
        run = _run(store, found.run_id) if found.run_id else None
        inputs = store.list_run_inputs(run.id) if run is not None else []
        return render(
            request,
            "model_version.html",
            title=f"{name} v{found.version}",
            nav="models",
            model=registry.get_registered_model(name),
            version=found,
            run=run,
            commit=views.commit_of(run),
            metrics=views.metric_rows(run),
            datasets=views.dataset_inputs(inputs),
            signature=views.signature_rows(found.signature),
        )

    return _page(request, build)


def _run(store: RunStore, run_id: str) -> Run | None:
    try:
        return store.get_run(run_id)
    except NotFound:
        return None
