"""The authenticator installed when auth is on: a Bearer token, or a UI session cookie + CSRF."""

from __future__ import annotations

from fastapi import Request

from shipyard.domain.auth import TokenScope, User
from shipyard.errors import PermissionDenied
from shipyard.server.access import Caller
from shipyard.server.auth.ratelimit import LoginLimiter
from shipyard.server.auth.sessions import (
    CSRF_HEADER,
    SAFE_METHODS,
    SESSION_COOKIE,
    csrf_for,
    same_secret,
)
from shipyard.store.auth import AuthStore


class StoreAuthenticator:
    """Finds the caller of a request in the auth store (see :mod:`shipyard.server.access`).

    ``Authorization: Bearer <token>`` wins; otherwise the session cookie is used, and a request
    that changes something must carry the session's CSRF token (header ``X-CSRF-Token``).
    """

    def __init__(self, store: AuthStore) -> None:
        self.store = store
        self.limiter = LoginLimiter()

    def caller(self, request: Request) -> Caller | None:
        """The caller, or ``None`` without valid credentials; ``PermissionDenied`` for a cookie
        request that changes something without its CSRF token."""
        header = request.headers.get("authorization", "")
        scheme, _, secret = header.partition(" ")
        if scheme.lower() == "bearer" and secret.strip():
            found = self.store.authenticate_token(secret.strip())
            if found is None:
                return None
            user, token = found
            return self._caller(user, can_write=token.scope is TokenScope.WRITE)
        session_id = request.cookies.get(SESSION_COOKIE)
        if not session_id:
            return None
        session_user = self.store.session_user(session_id)
        if session_user is None:
            return None
        sent = request.headers.get(CSRF_HEADER)
        if request.method not in SAFE_METHODS and not same_secret(sent, csrf_for(session_id)):
            raise PermissionDenied(
                "missing or wrong CSRF token",
                hint=f"send the page's <meta name='csrf-token'> value as {CSRF_HEADER}",
            )
        return self._caller(session_user, can_write=True)

    def _caller(self, user: User, *, can_write: bool) -> Caller:
        roles = {} if user.is_admin else self.store.roles_of(user.name)
        return Caller(user=user.name, is_admin=user.is_admin, can_write=can_write, roles=roles)
