"""The FastAPI application: routes, error translation, body limits and self-hosted API docs."""

from __future__ import annotations

import logging
from typing import Any

import swagger_ui_bundle  # type: ignore[import-untyped]  # ships no type hints
from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect

from shipyard.api.schemas import IngestIn, describe_errors
from shipyard.artifacts.base import ArtifactStore
from shipyard.errors import (
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ShipyardError,
    Unauthenticated,
)
from shipyard.server import mlflow as mlflow_compat
from shipyard.server import ui
from shipyard.server._deps import server_version
from shipyard.server._middleware import BodyLimitMiddleware, ErrorMiddleware
from shipyard.server.access import Need, rule
from shipyard.server.auth import install as install_auth
from shipyard.server.auth import install_audit
from shipyard.server.routes import artifacts as artifact_routes
from shipyard.server.routes import auth as auth_routes
from shipyard.server.routes import collab as collab_routes
from shipyard.server.routes import datasets as dataset_routes
from shipyard.server.routes import deployments as deployment_routes
from shipyard.server.routes import diff as run_diff
from shipyard.server.routes import environment, metrics, projects, runs
from shipyard.server.routes import hooks as hook_routes
from shipyard.server.routes import jobs as job_routes
from shipyard.server.routes import models as model_routes
from shipyard.server.routes import workflows as workflow_routes
from shipyard.store.base import RunStore

logger = logging.getLogger("shipyard.server")

DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024
DOCS_ASSETS = "/static/swagger-ui"
_DESCRIPTION = (
    "The native REST API of a Shipyard hub: projects, runs, params, tags, metrics, artifacts and "
    'lineage. Errors are `{"error": {"code", "message", "hint"}}`; NaN and infinite metric '
    'values travel as the strings `"NaN"`, `"Infinity"` and `"-Infinity"`.'
)


class _ShipyardAPI(FastAPI):
    """FastAPI whose OpenAPI document also lists the schemas of hand-parsed request bodies."""

    extra_schemas: tuple[type[BaseModel], ...] = (IngestIn,)

    def openapi(self) -> dict[str, Any]:
        """The OpenAPI document, built once."""
        if self.openapi_schema is None:
            schema = get_openapi(
                title=self.title,
                version=self.version,
                description=self.description,
                routes=self.routes,
            )
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            for model in self.extra_schemas:
                model_schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
                components.update(model_schema.pop("$defs", {}))
                components[model.__name__] = model_schema
            self.openapi_schema = schema
        return self.openapi_schema


def create_app(
    store: RunStore,
    artifacts: ArtifactStore,
    *,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    max_blob_bytes: int | None = None,
    auth: bool = False,
) -> FastAPI:
    """Build the Shipyard server application over a metadata store and an artifact store.

    Args:
        store: where runs live (closed by the caller, not by the app).
        artifacts: where artifact bytes live.
        max_body_bytes: largest accepted request body (413 beyond), blob uploads excepted.
        max_blob_bytes: largest accepted blob upload (streamed); ``None`` for no limit.
        auth: require credentials (tokens, UI sessions) and enforce project roles; the store
            must keep users (a SQL store). Off: every caller is the local admin.

    Example::

        app = create_app(open_store("sqlite:///s.db", auto_create=True), open_artifact_store("a"))
    """
    app = _ShipyardAPI(
        title="Shipyard",
        version=server_version(),
        description=_DESCRIPTION,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,  # served by _install_docs, with its access rule
    )
    app.state.store = store
    app.state.artifacts = artifacts
    for module in (projects, run_diff, runs, metrics, artifact_routes, environment):
        app.include_router(module.router)
    app.include_router(dataset_routes.router)
    app.include_router(job_routes.router)
    app.include_router(model_routes.router)
    app.include_router(hook_routes.router)
    app.include_router(collab_routes.router)
    app.include_router(auth_routes.router)
    app.include_router(deployment_routes.router)
    app.include_router(workflow_routes.router)
    mlflow_compat.install(app)
    _install_docs(app)
    ui.install(app)
    if auth:
        install_auth(app, store)
    install_audit(app, store)
    _install_error_handlers(app)
    app.add_middleware(ErrorMiddleware)
    app.add_middleware(
        BodyLimitMiddleware, max_body_bytes=max_body_bytes, max_stream_bytes=max_blob_bytes
    )
    return app


# -- docs -----------------------------------------------------------------------------------


def _install_docs(app: FastAPI) -> None:
    """Swagger UI at ``/docs``, its assets served from the installed ``swagger-ui-bundle``."""
    app.mount(
        DOCS_ASSETS, StaticFiles(directory=swagger_ui_bundle.swagger_ui_path), name="swagger-ui"
    )

    @app.get("/openapi.json", include_in_schema=False, dependencies=[rule(Need.PUBLIC)])
    def openapi() -> JSONResponse:
        return JSONResponse(app.openapi())

    @app.get("/docs", include_in_schema=False, dependencies=[rule(Need.PUBLIC)])
    def docs(request: Request) -> HTMLResponse:
        root = str(request.scope.get("root_path", "")).rstrip("/")
        return get_swagger_ui_html(
            openapi_url=f"{root}/openapi.json",
            title="Shipyard API",
            swagger_js_url=f"{root}{DOCS_ASSETS}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{root}{DOCS_ASSETS}/favicon-32x32.png",
            swagger_ui_parameters={"validatorUrl": None},
        )


# -- errors ---------------------------------------------------------------------------------


def error_response(error: ShipyardError, status_code: int | None = None) -> JSONResponse:
    """The JSON response of an error: ``{"error": {"code", "message", "hint"}}``."""
    return JSONResponse({"error": error.to_dict()}, status_code=status_code or error.http_status)


def _install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ShipyardError, _on_shipyard_error)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    app.add_exception_handler(HTTPException, _on_http_error)
    app.add_exception_handler(ClientDisconnect, _on_client_disconnect)


async def _on_shipyard_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ShipyardError)
    if exc.http_status >= 500:
        logger.error("%s %s failed: %s", request.method, request.url.path, exc)
    return error_response(exc)


async def _on_validation_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    problems = exc.errors()
    malformed = any(e.get("type") == "json_invalid" for e in problems)
    hint = "send a valid JSON document" if malformed else "see /docs for the request schema"
    return error_response(InvalidArgument(describe_errors(problems), hint=hint))


_HTTP_ERRORS: dict[int, type[ShipyardError]] = {
    401: Unauthenticated,
    403: PermissionDenied,
    404: NotFound,
}


async def _on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    route = f"{request.method} {request.url.path}"
    if exc.status_code == 404:
        message = f"no route {route}"
    elif exc.status_code == 405:
        message = f"method {request.method} is not allowed on {request.url.path}"
    else:
        message = f"{route}: {exc.detail}"
    cls = _HTTP_ERRORS.get(
        exc.status_code, InvalidArgument if exc.status_code < 500 else ShipyardError
    )
    response = error_response(cls(message, hint="see /docs for the routes"), exc.status_code)
    response.headers.update(exc.headers or {})
    return response


async def _on_client_disconnect(request: Request, exc: Exception) -> Response:
    logger.info("client went away during %s %s", request.method, request.url.path)
    return error_response(InvalidArgument("client disconnected before sending the whole body"))
