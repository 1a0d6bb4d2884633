"""UI sessions: the session cookie, CSRF tokens, and what templates need to know about them.

A signed-in browser holds ``shipyard_session`` (HttpOnly, SameSite=Lax, Secure over https); the
server stores only the sha256 of its value. Requests authenticated by that cookie that change
something must send the session's CSRF token in the ``X-CSRF-Token`` header (the UI's scripts
read it from ``<meta name="csrf-token">``) or, for HTML forms, in a ``csrf_token`` field. Before
sign-in, the login form is protected by a double-submit cookie (``shipyard_login_csrf``).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from fastapi import Request, Response

SESSION_COOKIE = "shipyard_session"
LOGIN_CSRF_COOKIE = "shipyard_login_csrf"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SESSION_TTL_MS = 12 * 3600 * 1000
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def csrf_for(session_id: str) -> str:
    """The CSRF token of a session (derived from its id, which only its browser knows)."""
    return hashlib.sha256(f"shipyard-csrf:{session_id}".encode()).hexdigest()


def same_secret(a: str | None, b: str | None) -> bool:
    """Constant-time comparison of two secrets (``False`` when either is missing)."""
    return bool(a) and bool(b) and hmac.compare_digest(str(a), str(b))


def is_https(request: Request) -> bool:
    """Whether the browser reached us over https (directly or via a proxy that says so)."""
    forwarded = request.headers.get("x-forwarded-proto", "")
    return request.url.scheme == "https" or forwarded.split(",")[0].strip() == "https"


def set_cookie(request: Request, response: Response, name: str, value: str, max_age: int) -> None:
    """Set an HttpOnly, SameSite=Lax cookie (Secure over https)."""
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="lax",
        secure=is_https(request),
    )


def login_csrf(request: Request) -> str:
    """The login form's CSRF value: the browser's cookie, or a new one (set it on the response)."""
    return request.cookies.get(LOGIN_CSRF_COOKIE) or secrets.token_urlsafe(24)


def auth_context(request: Request) -> dict[str, Any]:
    """What a page template shows: ``enabled``, the signed-in ``user`` and the ``csrf`` token."""
    enabled = getattr(request.app.state, "auth", None) is not None
    caller = getattr(request.state, "caller", None)
    user = str(getattr(caller, "user", "")) if enabled else ""
    session_id = request.cookies.get(SESSION_COOKIE)
    csrf = csrf_for(session_id) if enabled and session_id and user else ""
    is_admin = bool(getattr(caller, "is_admin", False)) if enabled else False
    return {"enabled": enabled, "user": user, "csrf": csrf, "is_admin": is_admin}
