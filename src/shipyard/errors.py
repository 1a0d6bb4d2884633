"""The one error hierarchy of Shipyard.

Every error carries a human ``message`` (what was wrong) and an optional ``hint`` (what to do).
Each class maps to one stable ``code`` and one HTTP status; the server writes
``{"error": {"code", "message", "hint"}}`` and the SDK maps the code back to the same class::

    ShipyardError                   500 internal
    ├── InvalidArgument             400 invalid_argument
    │   └── FilterSyntaxError       400 filter_syntax
    ├── Unauthenticated             401 unauthenticated
    ├── PermissionDenied            403 permission_denied
    ├── NotFound                    404 not_found
    ├── AlreadyExists               409 already_exists
    ├── Conflict                    409 conflict
    ├── PayloadTooLarge             413 payload_too_large
    ├── TooManyRequests             429 too_many_requests (retry after ``retry_after`` seconds)
    ├── IntegrityError              422 integrity_error   (a checksum did not match)
    ├── SchemaOutdated              503 schema_outdated   (run `shipyard db upgrade`)
    └── Unavailable                 503 unavailable       (server or backend unreachable)
"""

from __future__ import annotations

from typing import ClassVar


class ShipyardError(Exception):
    """Root of all Shipyard errors: a message saying what was wrong, a hint saying what to do."""

    code: ClassVar[str] = "internal"
    http_status: ClassVar[int] = 500

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if self.hint is None else f"{self.message} (hint: {self.hint})"

    def to_dict(self) -> dict[str, str | None]:
        """The wire shape of this error, as the server sends it."""
        return {"code": self.code, "message": self.message, "hint": self.hint}


class InvalidArgument(ShipyardError):
    """The caller passed something malformed or not allowed."""

    code = "invalid_argument"
    http_status = 400


class FilterSyntaxError(InvalidArgument):
    """A search filter or order-by expression could not be parsed."""

    code = "filter_syntax"

    def __init__(self, message: str, position: int, token: str, hint: str | None = None) -> None:
        super().__init__(message, hint)
        self.position = position
        self.token = token

    def to_dict(self) -> dict[str, str | None]:
        data = super().to_dict()
        data.update(position=str(self.position), token=self.token)
        return data


class Unauthenticated(ShipyardError):
    """No valid credentials were presented."""

    code = "unauthenticated"
    http_status = 401


class PermissionDenied(ShipyardError):
    """The caller is known but may not do this."""

    code = "permission_denied"
    http_status = 403


class NotFound(ShipyardError):
    """The named object does not exist (the message always names it)."""

    code = "not_found"
    http_status = 404


class AlreadyExists(ShipyardError):
    """An object with this identity already exists."""

    code = "already_exists"
    http_status = 409


class Conflict(ShipyardError):
    """The request conflicts with the stored state (e.g. a param set again with another value)."""

    code = "conflict"
    http_status = 409


class PayloadTooLarge(ShipyardError):
    """The request body is larger than the server accepts."""

    code = "payload_too_large"
    http_status = 413


class TooManyRequests(ShipyardError):
    """Too many attempts in a short time (e.g. failed logins); retry after ``retry_after`` s."""

    code = "too_many_requests"
    http_status = 429

    def __init__(self, message: str, hint: str | None = None, retry_after: int = 60) -> None:
        super().__init__(message, hint)
        self.retry_after = retry_after


class IntegrityError(ShipyardError):
    """Stored or transferred content does not match its checksum."""

    code = "integrity_error"
    http_status = 422


class SchemaOutdated(ShipyardError):
    """The metadata store's schema is behind (or ahead of) this version of Shipyard."""

    code = "schema_outdated"
    http_status = 503


class Unavailable(ShipyardError):
    """A server or backend could not be reached; the operation may be retried."""

    code = "unavailable"
    http_status = 503


ERROR_CLASSES: dict[str, type[ShipyardError]] = {
    cls.code: cls
    for cls in (
        ShipyardError,
        InvalidArgument,
        FilterSyntaxError,
        Unauthenticated,
        PermissionDenied,
        NotFound,
        AlreadyExists,
        Conflict,
        PayloadTooLarge,
        TooManyRequests,
        IntegrityError,
        SchemaOutdated,
        Unavailable,
    )
}


def error_from_dict(data: dict[str, object]) -> ShipyardError:
    """Rebuild the error a server sent (the inverse of :meth:`ShipyardError.to_dict`)."""
    cls = ERROR_CLASSES.get(str(data.get("code")), ShipyardError)
    message = str(data.get("message", "unknown error"))
    hint = data.get("hint")
    hint_text = None if hint is None else str(hint)
    if cls is FilterSyntaxError:
        position = str(data.get("position", "0"))
        return FilterSyntaxError(
            message,
            int(position) if position.isdigit() else 0,
            str(data.get("token", "")),
            hint_text,
        )
    return cls(message, hint_text)
