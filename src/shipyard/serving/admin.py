"""The admin endpoint a deployment's model server gets, so its controller can switch slots.

Mounted by :mod:`shipyard.serving.deployment_server` on the app of
:func:`shipyard.serving.app.create_serving_app` (the serving app itself is unchanged)::

    GET /admin/slots   -> {"slots": [{"name", "version", "path", "weight"}], "ready": bool}
    PUT /admin/slots   <- {"slots": [...]}: load the new versions, then switch (200), or keep
                          serving the old ones and answer 503 with the load error

Both need ``Authorization: Bearer <token>``; the controller writes the token to a file only it
and the server read (mode 0600), so nobody else who reaches the port can move traffic.
"""

from __future__ import annotations

import hmac
from pathlib import Path
from typing import Any

import anyio.to_thread
import orjson
from fastapi import FastAPI
from starlette.requests import Request
from starlette.responses import Response

from shipyard.errors import InvalidArgument, ShipyardError
from shipyard.serving.runtime import ModelSlot, ServingState

SLOTS = "/admin/slots"


def install_admin(app: FastAPI, token: str) -> None:
    """Add ``/admin/slots`` to a serving app, guarded by ``token``."""

    async def get_slots(request: Request) -> Response:
        if not _authorized(request, token):
            return _error(401, "missing or wrong admin token")
        state: ServingState = request.app.state.serving
        table = state.table
        slots = [slot_dict(s) for s in table.slots]
        return _json({"slots": slots, "ready": table.ready, "failed": _failed(table.failed)})

    async def put_slots(request: Request) -> Response:
        if not _authorized(request, token):
            return _error(401, "missing or wrong admin token")
        state: ServingState = request.app.state.serving
        try:
            slots = parse_slots(orjson.loads(await request.body()))
            await anyio.to_thread.run_sync(state.reload, slots)
        except orjson.JSONDecodeError:
            return _error(400, "the body is not JSON")
        except ShipyardError as exc:
            return _error(exc.http_status, exc.message)
        return _json({"slots": [slot_dict(s) for s in state.table.slots], "ready": True})

    app.add_route(SLOTS, get_slots, methods=["GET"], include_in_schema=False)
    app.add_route(SLOTS, put_slots, methods=["PUT"], include_in_schema=False)


def slot_dict(slot: ModelSlot) -> dict[str, Any]:
    """JSON form of a slot."""
    return {
        "name": slot.name,
        "version": slot.version,
        "path": str(slot.path),
        "weight": slot.weight,
    }


def parse_slots(doc: Any) -> list[ModelSlot]:
    """Slots from ``{"slots": [{"name", "version", "path", "weight"}]}``."""
    items = doc.get("slots") if isinstance(doc, dict) else None
    if not isinstance(items, list) or not items:
        raise InvalidArgument('expected {"slots": [...]} with at least one slot')
    try:
        return [
            ModelSlot(str(i["name"]), str(i["version"]), Path(i["path"]), float(i["weight"]))
            for i in items
        ]
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidArgument(f"malformed slot: {exc}") from None


def _authorized(request: Request, token: str) -> bool:
    given = request.headers.get("authorization", "")
    return hmac.compare_digest(given.encode(), f"Bearer {token}".encode())


def _failed(failed: dict[tuple[str, str], str]) -> list[dict[str, str]]:
    return [{"name": n, "version": v, "error": e} for (n, v), e in failed.items()]


def _json(doc: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(doc), status_code=status, media_type="application/json")


def _error(status: int, message: str) -> Response:
    return _json({"error": message}, status)
