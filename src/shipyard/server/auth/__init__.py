"""Authentication for ``shipyard server --auth``: who the caller is, sessions, CSRF, login rate
limits and the audit middleware. Authorization (who may do what) is :mod:`shipyard.server.access`.

:func:`install` turns it on for an app (``create_app(..., auth=True)`` calls it).
"""

from __future__ import annotations

import logging
from urllib.parse import quote

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse, RedirectResponse

from shipyard.errors import (
    InvalidArgument,
    NotFound,
    PermissionDenied,
    ShipyardError,
    TooManyRequests,
    Unauthenticated,
)
from shipyard.server.auth.authenticator import StoreAuthenticator
from shipyard.server.auth.middleware import AuditMiddleware
from shipyard.store.auth import AuthStore

__all__ = ["StoreAuthenticator", "install", "install_audit"]

logger = logging.getLogger("shipyard.server")


def install(app: FastAPI, store: object) -> StoreAuthenticator:
    """Require credentials on ``app``: install the authenticator and the audit middleware.

    Raises ``InvalidArgument`` when the store keeps no users (it is not an ``AuthStore``).
    """
    if not isinstance(store, AuthStore):
        raise InvalidArgument(
            f"{type(store).__name__} keeps no users, so authentication cannot be turned on",
            hint="serve a SQL store (sqlite:/// or postgresql+psycopg://)",
        )
    authenticator = StoreAuthenticator(store)
    if not store.list_users():
        logger.warning(
            "auth is on but there are no users yet: create a server admin with "
            "`shipyard users create NAME --admin --store STORE_URI`"
        )
    app.state.auth = authenticator
    app.add_exception_handler(Unauthenticated, _on_unauthenticated)
    app.add_exception_handler(TooManyRequests, _on_too_many)
    app.add_exception_handler(PermissionDenied, _on_refused)
    app.add_exception_handler(NotFound, _on_refused)
    return authenticator


def install_audit(app: FastAPI, store: object) -> None:
    """Record every successful change made through ``app`` in the store's audit log (auth on or
    off: with auth off the actor is the local user). No-op for a store without an audit log."""
    if isinstance(store, AuthStore):
        app.add_middleware(AuditMiddleware, store=store)


def _json_error(error: ShipyardError, headers: dict[str, str]) -> Response:
    return JSONResponse({"error": error.to_dict()}, status_code=error.http_status, headers=headers)


def _wants_page(request: Request) -> bool:
    """A browser asking for a hub page (not the API)."""
    accepts = request.headers.get("accept", "")
    api = request.url.path.startswith(("/api/", "/ajax-api/"))
    return request.method == "GET" and "text/html" in accepts and not api


async def _on_unauthenticated(request: Request, exc: Exception) -> Response:
    """Browsers asking for a page go to the login page; API clients get 401."""
    assert isinstance(exc, Unauthenticated)
    if _wants_page(request):
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(target, safe='')}", status_code=303)
    return _json_error(exc, {"WWW-Authenticate": 'Bearer realm="shipyard"'})


async def _on_too_many(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, TooManyRequests)
    return _json_error(exc, {"Retry-After": str(exc.retry_after)})


async def _on_refused(request: Request, exc: Exception) -> Response:
    """A page refused by its access rule is an HTML error page; the API answers JSON."""
    assert isinstance(exc, ShipyardError)
    if _wants_page(request):
        from shipyard.server.ui._templates import render

        return render(request, "error.html", status_code=exc.http_status, error=exc, title="Error")
    return _json_error(exc, {})
