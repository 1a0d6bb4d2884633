"""The audit middleware: every successful change made through the server is recorded.

Pure ASGI. After a state-changing request (POST, PUT, PATCH, DELETE) answered with a 2xx or 3xx
status, it appends ``{actor, action: "METHOD /path/{template}", target: path, address}`` unless
the handler already called :func:`shipyard.server.audit.audit` with before/after values. The
data plane (metric batches, blob uploads, searches, heartbeats, claims) is left out: it is
frequent and each run's own records say what happened.
"""

from __future__ import annotations

import logging
import re

from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shipyard.store.auth import AuthStore

logger = logging.getLogger("shipyard.server")

CHANGES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
SKIPPED = re.compile(
    r"/(ingest|heartbeat|claim|search|missing|fetch|pack)$|/blobs/[0-9a-f]{64}$|^/login$|^/logout$"
)


class AuditMiddleware:
    """Record successful changes in the audit log (see the module docstring)."""

    def __init__(self, app: ASGIApp, store: AuthStore) -> None:
        self.app = app
        self.store = store

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """ASGI entry point."""
        method = scope.get("method", "")
        path = str(scope.get("path", ""))
        if scope["type"] != "http" or method not in CHANGES or SKIPPED.search(path):
            await self.app(scope, receive, send)
            return
        state = scope.setdefault("state", {})
        status = 0

        async def watching(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        await self.app(scope, receive, watching)
        if 200 <= status < 400 and not state.get("audited"):
            await run_in_threadpool(self._record, scope, state)

    def _record(self, scope: Scope, state: dict[str, object]) -> None:
        caller = state.get("caller")
        route = scope.get("route")
        template = getattr(route, "path", None) or scope.get("path", "")
        client = scope.get("client")
        try:
            self.store.record_audit(
                actor=str(getattr(caller, "user", "") or ""),
                action=f"{scope.get('method')} {template}",
                target=str(scope.get("path", "")),
                address=str(client[0]) if client else "",
            )
        except Exception:  # the change is done; a failed audit append must be seen in the log
            logger.exception(
                "could not record %s %s in the audit log", scope.get("method"), template
            )
