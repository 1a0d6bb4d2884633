"""The hub's web UI: server-rendered pages plus small, framework-free JavaScript modules.

Rule: the UI never reaches beyond its own origin. Its scripts, styles and plotly.js (from the
installed ``plotly`` package) are served by this app, pages carry a same-origin-only
Content-Security-Policy, and every user value is escaped (Jinja autoescape on the server,
``textContent`` in the browser).

Wire it into an app with :func:`install`::

    app = create_app(store, artifacts)   # calls ui.install(app)
"""

from __future__ import annotations

import gzip
import os
from functools import cache

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response
from starlette.types import Scope

from shipyard.server.access import Need, rule
from shipyard.server.ui import auth_pages, data, datasets, pages, sweeps
from shipyard.server.ui import collab as collab_widgets
from shipyard.server.ui import deployments as deployment_pages
from shipyard.server.ui import models as model_pages
from shipyard.server.ui import workflows as workflow_pages
from shipyard.server.ui._templates import PLOTLY_JS, PLOTLY_URL, STATIC_DIR, assets_prefix

__all__ = ["install"]

IMMUTABLE = "public, max-age=31536000, immutable"


class _VersionedStatic(StaticFiles):
    """Static files under a versioned path: browsers keep them until the version changes."""

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        """The file, cached for good, with ``nosniff``."""
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["Cache-Control"] = IMMUTABLE
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


@cache
def _plotly_gzip() -> bytes:
    """plotly.js gzipped once (4.8 MB becomes about 1.4 MB for hubs reached over a network)."""
    return gzip.compress(PLOTLY_JS.read_bytes(), compresslevel=6, mtime=0)


def _plotly_js(request: Request) -> Response:
    """plotly.js from the installed ``plotly`` package (its URL carries the version)."""
    headers = {"Cache-Control": IMMUTABLE, "X-Content-Type-Options": "nosniff",
               "Vary": "Accept-Encoding"}  # fmt: skip
    if "gzip" in request.headers.get("accept-encoding", ""):
        headers["Content-Encoding"] = "gzip"
        return Response(_plotly_gzip(), media_type="text/javascript", headers=headers)
    return FileResponse(PLOTLY_JS, media_type="text/javascript", headers=headers)


def install(app: FastAPI) -> None:
    """Add the UI to ``app``: its pages, its JSON helpers, and its static files.

    Pages are ``/``, ``/projects/{name}``, ``/runs/{id}``, ``/compare?runs=a,b``,
    ``/sweeps/{id}``, ``/datasets``, ``/datasets/{name}`` and
    ``/datasets/{name}/versions/{version}``; helpers live
    under ``/api/v1/ui``; assets under ``/static/ui/<version>`` and
    ``/static/vendor/plotly.min.js?v=<plotly version>``.
    """
    app.include_router(pages.router)
    app.include_router(datasets.router)
    app.include_router(sweeps.router)
    app.include_router(model_pages.router)
    app.include_router(data.router)
    app.include_router(collab_widgets.router)
    app.include_router(auth_pages.router)
    app.include_router(workflow_pages.router)
    app.include_router(deployment_pages.router)
    app.add_api_route(
        PLOTLY_URL,
        _plotly_js,
        methods=["GET"],
        include_in_schema=False,
        dependencies=[rule(Need.PUBLIC)],
    )
    app.mount(assets_prefix(), _VersionedStatic(directory=STATIC_DIR), name="ui-static")
