"""Who may call what. Every route declares exactly one rule; a dependency enforces it.

A route declares its rule with ``dependencies=[rule(Need.READ, project=by_run())]``. The rule's
dependency runs before FastAPI reads the request body, so a caller who may not touch a project
gets ``401``/``404``/``403`` whatever the body holds. Handlers that need the caller (to filter a
listing, to record who did something) also take ``caller: CallerDep``.

Outcomes, in order: no valid credentials on a non-public route -> 401; a project the caller is not a
member of (or that does not exist) -> 404, so a private project's existence is not revealed; a
member whose role is too low, or a read-only token used to write -> 403.

With authentication off (the embedded default) every caller is the local user, a server admin.
The authorization matrix test (``tests/security/``) enumerates the app's routes and fails for any
route without a rule.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated, Any, Protocol

from fastapi import Depends, Request

from shipyard.domain.auth import ROLE_RANK, Role
from shipyard.errors import NotFound, PermissionDenied, Unauthenticated

__all__ = [
    "LOCAL_CALLER",
    "Authenticator",
    "Caller",
    "CallerDep",
    "Need",
    "Role",
    "Rule",
    "by_path",
    "by_query",
    "by_run",
    "by_run_query",
    "current_caller",
    "declared_rule",
    "rule",
]


class Need(StrEnum):
    """What a route needs of its caller."""

    PUBLIC = "public"
    """Anyone, without credentials (health, login, webhooks that verify their own signature)."""
    USER = "user"
    """Any signed-in user; listings are filtered to what the caller may see."""
    READ = "read"
    """A viewer (or more) of the resource's project."""
    WRITE = "write"
    """An editor (or more) of the resource's project, with a token that may write."""
    ADMIN = "admin"
    """An admin of the resource's project (members, deletes)."""
    SERVER_ADMIN = "server-admin"
    """A server admin."""


_RANK = ROLE_RANK
_NEEDED = {Need.READ: Role.VIEWER, Need.WRITE: Role.EDITOR, Need.ADMIN: Role.ADMIN}


@dataclass(frozen=True)
class Caller:
    """Who is calling: a user, what their token may do, and their role per project (by name)."""

    user: str
    is_admin: bool = False
    can_write: bool = True
    roles: dict[str, Role] = field(default_factory=dict)
    authenticated: bool = True

    def role(self, project: str) -> Role | None:
        """The caller's role in a project (server admins are admins everywhere)."""
        if self.is_admin:
            return Role.ADMIN
        return self.roles.get(project)

    def sees(self, project: str) -> bool:
        """Whether the caller may know the project exists."""
        return self.role(project) is not None

    def require(self, project: str, need: Need) -> None:
        """Raise ``NotFound`` (not a member) or ``PermissionDenied`` (role or token too weak)."""
        if need in (Need.PUBLIC, Need.USER):
            return
        if need is Need.SERVER_ADMIN:
            self.require_admin()
            return
        role = self.role(project)
        if role is None:
            raise NotFound(
                f"project {project!r} does not exist", hint="see `shipyard projects list`"
            )
        if need is not Need.READ and not self.can_write:
            raise PermissionDenied(
                "this token is read-only", hint="create a token with `--scope write`"
            )
        if _RANK[role] < _RANK[_NEEDED[need]]:
            raise PermissionDenied(
                f"{self.user!r} is a {role.value} of project {project!r}; this needs "
                f"{_NEEDED[need].value}",
                hint="ask a project admin for `shipyard projects grant`",
            )

    def require_admin(self) -> None:
        """Raise ``PermissionDenied`` unless the caller is a server admin."""
        if not self.is_admin:
            raise PermissionDenied("only a server admin may do this", hint="ask a server admin")


LOCAL_CALLER = Caller(user="local", is_admin=True)
"""The caller when authentication is off."""
ANONYMOUS = Caller(user="", can_write=False, authenticated=False)
"""The caller without (valid) credentials when authentication is on."""


class Authenticator(Protocol):
    """Turns a request's credentials into a :class:`Caller` (installed when auth is on)."""

    def caller(self, request: Request) -> Caller | None:
        """The caller, or ``None`` when the request carries no valid credentials."""
        ...


def current_caller(request: Request) -> Caller:
    """The request's caller; raises ``Unauthenticated`` when auth is on and none is signed in."""
    cached = getattr(request.state, "caller", None)
    if isinstance(cached, Caller):
        return cached
    auth: Authenticator | None = getattr(request.app.state, "auth", None)
    caller = LOCAL_CALLER if auth is None else auth.caller(request)
    if caller is None:
        caller = ANONYMOUS
    request.state.caller = caller
    return caller


def _public_caller(request: Request) -> Caller:
    """The caller of a public route: a cookie request without its CSRF token (a sign-out form
    carries it in a field the handler checks) is simply anonymous here."""
    try:
        return current_caller(request)
    except PermissionDenied:
        request.state.caller = ANONYMOUS
        return ANONYMOUS


CallerDep = Annotated[Caller, Depends(current_caller)]

ProjectOf = Callable[[Request], str]
"""Finds the project a request is about (raises ``NotFound`` for a missing resource)."""


def by_path(param: str = "name") -> ProjectOf:
    """The project named by a path parameter."""
    return lambda request: str(request.path_params[param])


def by_query(param: str = "project") -> ProjectOf:
    """The project named by a query parameter."""

    def find(request: Request) -> str:
        value = request.query_params.get(param)
        if not value:
            raise NotFound(f"no project given in ?{param}=", hint=f"add ?{param}=NAME")
        return value

    return find


def by_run(param: str = "run_id") -> ProjectOf:
    """The project of the run whose id is a path parameter."""

    def find(request: Request) -> str:
        return str(request.app.state.store.get_run(str(request.path_params[param])).project)

    return find


def by_run_query(param: str) -> ProjectOf:
    """The project of the run whose id is a query parameter (``NotFound`` when it is missing)."""

    def find(request: Request) -> str:
        run_id = request.query_params.get(param)
        if not run_id:
            raise NotFound(f"no run given in ?{param}=", hint=f"add ?{param}=RUN_ID")
        return str(request.app.state.store.get_run(run_id).project)

    return find


@dataclass(frozen=True)
class Rule:
    """A route's declared rule; called by FastAPI as a dependency."""

    need: Need
    project: ProjectOf | None = None
    reads: bool = False
    """A USER route that only reads, whatever its method (``POST .../search``)."""

    def __call__(self, request: Request) -> Caller:
        """Check the rule for this request, returning the caller.

        Sets ``request.state.access`` to ``"allowed"`` or ``"denied"`` (the authorization
        matrix test reads it to tell the rule's answer from the handler's).
        """
        request.state.access = "denied"
        caller = self._check(request)
        request.state.access = "allowed"
        return caller

    def _check(self, request: Request) -> Caller:
        if self.need is Need.PUBLIC:
            return _public_caller(request)
        caller = current_caller(request)
        if caller is LOCAL_CALLER:
            return caller  # auth off: nothing to look up, handlers report missing resources
        if not caller.authenticated:
            raise Unauthenticated(
                "sign in to use this server",
                hint="send `Authorization: Bearer TOKEN` (SHIPYARD_TOKEN or `shipyard login`)",
            )
        if self.need is Need.USER:
            writes = request.method not in ("GET", "HEAD") and not self.reads
            if writes and not caller.can_write:
                raise PermissionDenied(
                    "this token is read-only", hint="create a token with `--scope write`"
                )
            return caller
        if self.need is Need.SERVER_ADMIN:
            caller.require_admin()
            return caller
        if self.project is None:
            raise RuntimeError(f"rule {self.need} needs a project finder")
        caller.require(self.project(request), self.need)
        return caller


def rule(need: Need, *, project: ProjectOf | None = None, reads: bool = False) -> Any:
    """The dependency declaring (and enforcing) a route's rule.

    ``reads=True`` marks a USER route that changes nothing although its method is not GET (a
    search sent as POST): read-only tokens may call it.

    >>> @router.get(RUN, dependencies=[rule(Need.READ, project=by_run())])
    ... def get_run(run_id: str) -> Response: ...
    """
    if need in (Need.READ, Need.WRITE, Need.ADMIN) and project is None:
        raise ValueError(f"a {need.value!r} rule needs project=... to find the project")
    return Depends(Rule(need, project, reads))


def declared_rule(dependencies: list[Any]) -> Rule | None:
    """The rule among a route's dependencies (for the authorization matrix test)."""
    for dependency in dependencies:
        call = getattr(dependency, "call", None) or getattr(dependency, "dependency", None)
        if isinstance(call, Rule):
            return call
    return None
