"""MLflow's JSON conventions: request fields, responses, errors, and the route class that applies
them to every compat route (so even an access rule's error comes back in MLflow's shape).

* Requests: GET fields are query parameters (repeated keys for lists); every other method sends a
  JSON body. int64 fields may be numbers or strings; doubles may be ``"NaN"``/``"Infinity"``.
* Responses: snake_case, unset fields omitted, non-finite doubles as strings, ``200 {}`` when empty.
* Errors: ``{"error_code": "RESOURCE_DOES_NOT_EXIST", "message": ...}`` with MLflow's statuses
  (already-exists is 400 in MLflow, not 409).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Coroutine, Mapping
from typing import Any

import anyio.from_thread
import orjson
from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

from shipyard.errors import (
    AlreadyExists,
    Conflict,
    IntegrityError,
    InvalidArgument,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    ShipyardError,
    Unauthenticated,
    Unavailable,
)

_CODES: tuple[tuple[type[ShipyardError], str, int], ...] = (
    (NotFound, "RESOURCE_DOES_NOT_EXIST", 404),
    (AlreadyExists, "RESOURCE_ALREADY_EXISTS", 400),
    (Conflict, "INVALID_PARAMETER_VALUE", 400),
    (InvalidArgument, "INVALID_PARAMETER_VALUE", 400),
    (IntegrityError, "INVALID_PARAMETER_VALUE", 400),
    (PayloadTooLarge, "RESOURCE_EXHAUSTED", 413),
    (Unauthenticated, "UNAUTHENTICATED", 401),
    (PermissionDenied, "PERMISSION_DENIED", 403),
    (Unavailable, "TEMPORARILY_UNAVAILABLE", 503),
)
_FIELDS_KEY = "mlflow_fields"


def error_response(exc: ShipyardError) -> Response:
    """An MLflow error body for a Shipyard error (the hint is appended to the message)."""
    code, status = "INTERNAL_ERROR", 500
    for cls, name, http in _CODES:
        if isinstance(exc, cls):
            code, status = name, http
            break
    message = exc.message if not exc.hint else f"{exc.message} (hint: {exc.hint})"
    body = {"error_code": code, "message": message}
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


def ok(body: Mapping[str, Any] | None = None) -> Response:
    """A 200 JSON response (``{}`` when there is nothing to say)."""
    return Response(orjson.dumps(body or {}), media_type="application/json")


def double(value: float) -> float | str:
    """A double as MLflow writes it: non-finite values become ``"NaN"``/``"Infinity"``."""
    if math.isfinite(value):
        return value
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


class MlflowRoute(APIRoute):
    """An ``APIRoute`` whose Shipyard errors (from handlers and dependencies) are MLflow errors."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        """Wrap FastAPI's handler to translate errors."""
        handler = super().get_route_handler()

        async def translated(request: Request) -> Response:
            try:
                return await handler(request)
            except ShipyardError as exc:
                return error_response(exc)
            except RequestValidationError as exc:
                return error_response(InvalidArgument(str(exc.errors()[:1])))

        return translated


class Fields:
    """The fields of one MLflow request, with typed, validated accessors."""

    def __init__(self, data: Mapping[str, Any], lists: Mapping[str, list[str]] | None = None):
        self._data = data
        self._lists = lists or {}

    def raw(self, name: str) -> Any:
        """The value as sent, or ``None``."""
        return self._data.get(name)

    def text(self, name: str, default: str | None = None, *, required: bool = False) -> str | None:
        """A string field."""
        value = self._data.get(name)
        if value is None or value == "":
            if required:
                raise missing(name)
            return default
        if isinstance(value, dict | list):
            raise InvalidArgument(f"field {name!r} must be a string, got {type(value).__name__}")
        return value if isinstance(value, str) else _text(value)

    def need(self, name: str) -> str:
        """A required string field."""
        value = self.text(name, required=True)
        assert value is not None
        return value

    def integer(self, name: str, default: int | None = None) -> int | None:
        """An int64 field (number or numeric string)."""
        value = self._data.get(name)
        if value is None or value == "":
            return default
        try:
            if isinstance(value, bool):
                raise ValueError
            return int(value)
        except (TypeError, ValueError):
            raise InvalidArgument(
                f"field {name!r} must be an integer, got {value!r}", hint="send a whole number"
            ) from None

    def number(self, name: str) -> float:
        """A required double field (``"NaN"`` and ``"Infinity"`` accepted)."""
        value = self._data.get(name)
        if value is None:
            raise missing(name)
        try:
            if isinstance(value, bool):
                raise ValueError
            return float(value)
        except (TypeError, ValueError):
            raise InvalidArgument(
                f"field {name!r} must be a number, got {value!r}", hint="send a number"
            ) from None

    def items(self, name: str) -> list[Any]:
        """A repeated field (query keys repeated, or a JSON array)."""
        if name in self._lists:
            return list(self._lists[name])
        value = self._data.get(name)
        if value is None:
            return []
        if not isinstance(value, list):
            return [value]
        return value

    def run_id(self) -> str:
        """The run id (``run_id``, or the deprecated ``run_uuid``)."""
        value = self.text("run_id") or self.text("run_uuid")
        if value is None:
            raise missing("run_id")
        return value


def missing(name: str) -> InvalidArgument:
    """The error for a missing required field."""
    return InvalidArgument(f"missing value for required parameter {name!r}", hint=f"send {name}")


def _text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def key_value_pairs(items: list[Any], what: str) -> dict[str, str]:
    """``[{key, value}]`` as a mapping (values converted to text)."""
    out: dict[str, str] = {}
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("key"), str):
            raise InvalidArgument(f"each {what} needs a 'key'", hint="send [{key, value}] items")
        value = item.get("value")
        out[item["key"]] = "" if value is None else _text(value)
    return out


def request_fields(request: Request) -> Fields:
    """The request's fields, read once (the body is awaited from a worker thread when needed:
    access rules run before the handler and need e.g. the run id of a POST body)."""
    cached = getattr(request.state, _FIELDS_KEY, None)
    if isinstance(cached, Fields):
        return cached
    if request.method == "GET":
        query = request.query_params
        lists = {k: query.getlist(k) for k in query if len(query.getlist(k)) > 1}
        fields = Fields(dict(query), lists)
    else:
        fields = Fields(_parse_body(anyio.from_thread.run(request.body)))
    setattr(request.state, _FIELDS_KEY, fields)
    return fields


async def fields_dependency(request: Request) -> Fields:
    """FastAPI dependency: the request's fields (parsed in the event loop)."""
    cached = getattr(request.state, _FIELDS_KEY, None)
    if isinstance(cached, Fields):
        return cached
    if request.method == "GET":
        query = request.query_params
        lists = {k: query.getlist(k) for k in query if len(query.getlist(k)) > 1}
        fields = Fields(dict(query), lists)
    else:
        fields = Fields(_parse_body(await request.body()))
    setattr(request.state, _FIELDS_KEY, fields)
    return fields


def _parse_body(body: bytes) -> dict[str, Any]:
    if not body.strip():
        return {}
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise InvalidArgument("request body is not valid JSON", hint="send a JSON object") from None
    if not isinstance(data, dict):
        raise InvalidArgument("request body must be a JSON object", hint="send a JSON object")
    return data
