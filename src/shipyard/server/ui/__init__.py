"""The hub's web UI: server-rendered pages plus small, framework-free JavaScript modules.

Rule: the UI never reaches beyond its own origin. Its scripts, styles and plotly.js (from the
installed ``plotly`` package) are served by this app, pages carry a same-origin-only
Content-Security-Policy, and every user value is escaped (Jinja autoescape on the server,
``textContent`` in the browser).

Wire it into an app with :func:`install`::

    app = create_app(store, artifacts)   # calls ui.install(app)
"""

from __future__ import annotations

import os

from fastapi import FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response
from starlette.types import Scope

from shipyard.server.ui import data, pages
from shipyard.server.ui._templates import PLOTLY_JS, PLOTLY_URL, STATIC_DIR, STATIC_PREFIX

__all__ = ["install"]

PLOTLY_CACHE = "public, max-age=604800, immutable"


class _RevalidatedStatic(StaticFiles):
    """Static files that browsers revalidate (cheap 304s) so an upgrade is seen at once."""

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        """The file, with ``Cache-Control: no-cache`` and ``nosniff``."""
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["Cache-Control"] = "no-cache"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


def _plotly_js() -> FileResponse:
    """plotly.js from the installed ``plotly`` package (its URL carries the version)."""
    headers = {"Cache-Control": PLOTLY_CACHE, "X-Content-Type-Options": "nosniff"}
    return FileResponse(PLOTLY_JS, media_type="text/javascript", headers=headers)


def install(app: FastAPI) -> None:
    """Add the UI to ``app``: its pages, its JSON helpers, and its static files.

    Pages are ``/``, ``/projects/{name}``, ``/runs/{id}`` and ``/compare?runs=a,b``; helpers live
    under ``/api/v1/ui``; assets under ``/static/ui`` and ``/static/vendor/plotly.min.js``.
    """
    app.include_router(pages.router)
    app.include_router(data.router)
    app.add_api_route(PLOTLY_URL, _plotly_js, methods=["GET"], include_in_schema=False)
    app.mount(STATIC_PREFIX, _RevalidatedStatic(directory=STATIC_DIR), name="ui-static")
