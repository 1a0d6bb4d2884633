"""Sign-in, sign-out and the audit log page of the hub (auth on).

``GET /login`` shows the form; ``POST /login`` checks the double-submit CSRF value, the rate
limit (5 failures per user and address per minute, then 429 with ``Retry-After``) and the
password, then opens a server-side session (cookie ``shipyard_session``: HttpOnly, SameSite=Lax,
Secure over https) and goes to ``next`` (a local path only). ``POST /logout`` ends the session.
``GET /audit`` lists the audit log for server admins and says whether its chain is intact.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from shipyard.errors import InvalidArgument, TooManyRequests
from shipyard.server.access import Need, rule
from shipyard.server.audit import audit
from shipyard.server.auth.sessions import (
    CSRF_FIELD,
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    SESSION_TTL_MS,
    csrf_for,
    login_csrf,
    same_secret,
    set_cookie,
)
from shipyard.server.routes.auth import get_auth_store
from shipyard.server.ui._templates import render
from shipyard.server.ui.pages import _page

router = APIRouter(include_in_schema=False)

LOGIN = "/login"
LOGOUT = "/logout"
AUDIT_PAGE = "/audit"
MAX_FORM_BYTES = 16 * 1024
AUDIT_PAGE_SIZE = 200


def safe_next(target: str | None) -> str:
    """A local path to go to after sign-in (anything else, e.g. ``//evil.example``, is ``/``)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def _auth_on(request: Request) -> bool:
    return getattr(request.app.state, "auth", None) is not None


def _login_page(
    request: Request, *, next_url: str, error: str = "", user: str = "", status_code: int = 200
) -> Response:
    token = login_csrf(request)
    response = render(
        request,
        "login.html",
        status_code=status_code,
        title="Sign in",
        next_url=next_url,
        error=error,
        username=user,
        login_csrf=token,
    )
    set_cookie(request, response, LOGIN_CSRF_COOKIE, token, max_age=3600)
    return response


@router.get(LOGIN, dependencies=[rule(Need.PUBLIC)])
def login_form(request: Request, next: str = "/") -> Response:
    """The sign-in form (with auth off there is nothing to sign in to: go home)."""
    if not _auth_on(request):
        return RedirectResponse("/", status_code=303)
    return _login_page(request, next_url=safe_next(next))


async def _form(request: Request) -> dict[str, str]:
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise InvalidArgument("the form is too large", hint="send a user name and a password")
    fields = parse_qs(body.decode("utf-8", errors="replace"), keep_blank_values=True)
    return {key: values[0] for key, values in fields.items() if values}


@router.post(LOGIN, dependencies=[rule(Need.PUBLIC)])
async def login(request: Request) -> Response:
    """Check the form and open a session; a wrong password shows the form again (401)."""
    if not _auth_on(request):
        raise InvalidArgument("authentication is off on this server", hint="nothing to sign in to")
    form = await _form(request)
    user, password = form.get("username", ""), form.get("password", "")
    next_url = safe_next(form.get("next"))
    if not same_secret(form.get(CSRF_FIELD), request.cookies.get(LOGIN_CSRF_COOKIE)):
        return _login_page(
            request, next_url=next_url, error="The form expired; please sign in again.",
            user=user, status_code=403,
        )  # fmt: skip
    address = request.client.host if request.client else ""
    store = get_auth_store(request)
    limiter = request.app.state.auth.limiter
    try:
        limiter.check(user, address)
    except TooManyRequests as exc:
        response = _login_page(
            request, next_url=next_url, error=f"{exc.message}: {exc.hint}.", user=user,
            status_code=429,
        )  # fmt: skip
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    found = store.verify_password(user, password)
    if found is None:
        limiter.failed(user, address)
        audit(request, "login.failed", f"users/{user}")
        return _login_page(
            request, next_url=next_url, error="Wrong user name or password.", user=user,
            status_code=401,
        )  # fmt: skip
    limiter.succeeded(user, address)
    session_id = store.create_session(found.name, SESSION_TTL_MS)
    store.record_audit(actor=found.name, action="login", target=f"users/{found.name}",
                       address=address)  # fmt: skip
    request.state.audited = True
    response = RedirectResponse(next_url, status_code=303)
    set_cookie(request, response, SESSION_COOKIE, session_id, max_age=SESSION_TTL_MS // 1000)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/")
    return response


@router.post(LOGOUT, dependencies=[rule(Need.PUBLIC)])
async def logout(request: Request) -> Response:
    """End the session (the form carries its CSRF token) and go to the sign-in page."""
    form = await _form(request)
    session_id = request.cookies.get(SESSION_COOKIE)
    response = RedirectResponse(LOGIN if _auth_on(request) else "/", status_code=303)
    if session_id and _auth_on(request):
        if not same_secret(form.get(CSRF_FIELD), csrf_for(session_id)):
            raise InvalidArgument("missing or wrong CSRF token", hint="sign out from a hub page")
        store = get_auth_store(request)
        user = store.session_user(session_id)
        store.delete_session(session_id)
        if user is not None:
            address = request.client.host if request.client else ""
            store.record_audit(
                actor=user.name, action="logout", target=f"users/{user.name}", address=address
            )
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get(AUDIT_PAGE, dependencies=[rule(Need.SERVER_ADMIN)])
def audit_page(request: Request, user: str = "") -> Response:
    """The newest audit records (optionally one user's) and whether the chain verifies."""

    def build() -> Response:
        store = get_auth_store(request)
        records = store.list_audit(actor=user or None, limit=AUDIT_PAGE_SIZE)
        count, problems = store.verify_audit()
        context: dict[str, Any] = {"records": records, "count": count, "problems": problems}
        return render(request, "audit.html", title="Audit log", nav="audit", user=user, **context)

    return _page(request, build)
