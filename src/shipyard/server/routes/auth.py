"""Routes of users, API tokens, teams, project members and the audit log (see ``api/auth.py``).

Every change here is audited with its before and after values; secrets never are.
"""

from __future__ import annotations

import time
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from shipyard.api import auth as api
from shipyard.domain.auth import (
    PrincipalKind,
    TokenScope,
    parse_duration,
    parse_role,
    validate_principal_name,
)
from shipyard.errors import InvalidArgument, NotFound, PermissionDenied
from shipyard.server._deps import Store, errors, json_response
from shipyard.server.access import Caller, CallerDep, Need, by_path, rule
from shipyard.server.audit import audit
from shipyard.store.auth import AuthStore

router = APIRouter(tags=["auth"])
NO_CONTENT = 204


def get_auth_store(request: Request) -> AuthStore:
    """The app's store as an ``AuthStore`` (``InvalidArgument`` when it keeps no users)."""
    store = request.app.state.store
    if not isinstance(store, AuthStore):
        raise InvalidArgument(
            "this server's store keeps no users", hint="serve a SQL store to manage users"
        )
    return store


Auth = Annotated[AuthStore, Depends(get_auth_store)]
ADMIN_ONLY = [rule(Need.SERVER_ADMIN)]


# -- who am I, users -------------------------------------------------------------------------


@router.get(
    api.WHOAMI,
    response_model=api.WhoAmI,
    summary="Who am I",
    description="The caller's user name, whether a server admin, whether the credentials may "
    "write, and their role in each project.",
    dependencies=[rule(Need.USER)],
)
def whoami(caller: CallerDep) -> Response:
    """The caller."""
    roles = {project: role.value for project, role in sorted(caller.roles.items())}
    return json_response(
        api.WhoAmI(
            user=caller.user, is_admin=caller.is_admin, can_write=caller.can_write, roles=roles
        )
    )


@router.get(
    api.USERS,
    response_model=api.UserList,
    summary="List users",
    description="Every user, by name (server admins only).",
    dependencies=ADMIN_ONLY,
)
def list_users(store: Auth) -> Response:
    """Every user."""
    return json_response(api.UserList(users=[api.UserOut.of(u) for u in store.list_users()]))


@router.post(
    api.USERS,
    response_model=api.UserOut,
    status_code=201,
    responses=errors(409),
    summary="Create a user",
    description="Create a user with a password (hashed with argon2; server admins only).",
    dependencies=ADMIN_ONLY,
)
def create_user(body: api.UserCreate, store: Auth, request: Request) -> Response:
    """Create a user."""
    user = store.create_user(body.name, body.password, is_admin=body.is_admin)
    audit(request, "user.create", f"users/{user.name}", after={"is_admin": user.is_admin})
    return json_response(api.UserOut.of(user), status_code=201)


@router.get(
    api.USER,
    response_model=api.UserOut,
    responses=errors(404),
    summary="Get a user",
    description="One user (server admins only).",
    dependencies=ADMIN_ONLY,
)
def get_user(user: str, store: Auth) -> Response:
    """One user."""
    return json_response(api.UserOut.of(store.get_user(user)))


@router.post(
    api.USER_DISABLE,
    response_model=api.UserOut,
    responses=errors(404),
    summary="Disable a user",
    description="Disable (or, with `disabled: false`, enable) a user: their tokens and sessions "
    "stop working at once (server admins only).",
    dependencies=ADMIN_ONLY,
)
def disable_user(user: str, body: api.UserDisable, store: Auth, request: Request) -> Response:
    """Disable or enable a user."""
    before = store.get_user(user).disabled
    found = store.set_user_disabled(user, body.disabled)
    action = "user.disable" if body.disabled else "user.enable"
    audit(
        request,
        action,
        f"users/{user}",
        before={"disabled": before},
        after={"disabled": found.disabled},
    )
    return json_response(api.UserOut.of(found))


# -- tokens ------------------------------------------------------------------------------------


@router.get(
    api.TOKENS,
    response_model=api.TokenList,
    summary="List API tokens",
    description="Your tokens' records (server admins: everyone's, or one user's with `?user=`). "
    "Tokens themselves are never shown again.",
    dependencies=[rule(Need.USER)],
)
def list_tokens(caller: CallerDep, store: Auth, user: str | None = None) -> Response:
    """Token records."""
    if not caller.is_admin:
        user = caller.user
    tokens = store.list_tokens(user)
    return json_response(api.TokenList(tokens=[api.TokenOut.of(t) for t in tokens]))


@router.post(
    api.TOKENS,
    response_model=api.TokenIssued,
    status_code=201,
    responses=errors(403, 404),
    summary="Issue an API token",
    description="Issue a token for yourself (server admins: for anyone). The response holds the "
    "token's secret: it is shown once and only its hash is stored.",
    dependencies=[rule(Need.USER)],
)
def create_token(
    body: api.TokenCreate, caller: CallerDep, store: Auth, request: Request
) -> Response:
    """Issue a token."""
    owner = body.user or caller.user
    _own_or_admin(caller, owner, "issue a token for")
    scope = _scope(body.scope)
    if scope is TokenScope.WRITE and not caller.can_write:
        raise PermissionDenied("a read-only token cannot issue a write token", hint="--scope read")
    expires = (
        None
        if body.expires_in is None
        else int(time.time() * 1000) + parse_duration(body.expires_in)
    )
    issued = store.create_token(
        owner, scope=scope, expires_at=expires, description=body.description
    )
    after = {"id": issued.token.id, "user": owner, "scope": scope.value, "expires_at": expires}
    audit(request, "token.issue", f"tokens/{issued.token.id}", after=after)
    out = api.TokenIssued(token=api.TokenOut.of(issued.token), secret=issued.secret)
    return json_response(out, status_code=201)


@router.delete(
    api.TOKEN,
    status_code=NO_CONTENT,
    responses=errors(404),
    summary="Revoke an API token",
    description="Revoke one of your tokens (server admins: anyone's); it stops working at once.",
    dependencies=[rule(Need.USER)],
)
def revoke_token(token_id: str, caller: CallerDep, store: Auth, request: Request) -> Response:
    """Revoke a token."""
    token = store.get_token(token_id)
    if not caller.is_admin and token.user != caller.user:
        raise NotFound(f"token {token_id!r} not found", hint="see `shipyard tokens list`")
    store.revoke_token(token_id)
    audit(
        request,
        "token.revoke",
        f"tokens/{token_id}",
        before={"revoked": token.revoked, "user": token.user},
        after={"revoked": True, "user": token.user},
    )
    return Response(status_code=NO_CONTENT)


def _own_or_admin(caller: Caller, user: str, what: str) -> None:
    if user != caller.user and not caller.is_admin:
        raise PermissionDenied(f"only a server admin may {what} another user", hint="ask one")


def _scope(text: str) -> TokenScope:
    try:
        return TokenScope(text)
    except ValueError:
        raise InvalidArgument(f"unknown token scope {text!r}", hint="use read or write") from None


# -- teams -------------------------------------------------------------------------------------


@router.get(
    api.TEAMS,
    response_model=api.TeamList,
    summary="List teams",
    description="Every team with its members (server admins only).",
    dependencies=ADMIN_ONLY,
)
def list_teams(store: Auth) -> Response:
    """Every team."""
    return json_response(api.TeamList(teams=[api.TeamOut.of(t) for t in store.list_teams()]))


@router.post(
    api.TEAMS,
    response_model=api.TeamOut,
    status_code=201,
    responses=errors(409),
    summary="Create a team",
    description="Create an empty team (server admins only).",
    dependencies=ADMIN_ONLY,
)
def create_team(body: api.TeamCreate, store: Auth, request: Request) -> Response:
    """Create a team."""
    team = store.create_team(body.name)
    audit(request, "team.create", f"teams/{team.name}", after={"members": []})
    return json_response(api.TeamOut.of(team), status_code=201)


@router.put(
    api.TEAM_MEMBER,
    response_model=api.TeamOut,
    responses=errors(404),
    summary="Add a user to a team",
    description="Add a user to a team (again: no change; server admins only).",
    dependencies=ADMIN_ONLY,
)
def add_team_member(team: str, user: str, store: Auth, request: Request) -> Response:
    """Add a team member."""
    found = store.add_team_member(team, user)
    audit(
        request, "team.add", f"teams/{team}", after={"user": user, "members": list(found.members)}
    )
    return json_response(api.TeamOut.of(found))


@router.delete(
    api.TEAM_MEMBER,
    response_model=api.TeamOut,
    responses=errors(404),
    summary="Remove a user from a team",
    description="Remove a user from a team (server admins only).",
    dependencies=ADMIN_ONLY,
)
def remove_team_member(team: str, user: str, store: Auth, request: Request) -> Response:
    """Remove a team member."""
    found = store.remove_team_member(team, user)
    audit(
        request,
        "team.remove",
        f"teams/{team}",
        before={"user": user},
        after={"members": list(found.members)},
    )
    return json_response(api.TeamOut.of(found))


# -- project members ---------------------------------------------------------------------------


@router.get(
    api.PROJECT_MEMBERS,
    response_model=api.MemberList,
    responses=errors(404),
    summary="List a project's members",
    description="The roles granted in a project, to users and teams (its viewers and up).",
    dependencies=[rule(Need.READ, project=by_path("name"))],
)
def list_members(name: str, store: Auth, runs: Store) -> Response:
    """A project's members."""
    runs.get_project(name)
    members = store.list_members(name)
    return json_response(api.MemberList(members=[api.MemberOut.of(m) for m in members]))


@router.put(
    api.PROJECT_MEMBERS,
    response_model=api.MemberOut,
    responses=errors(404),
    summary="Grant a project role",
    description="Give a user (`user`) or a team (`team`) a role in a project: viewer (read), "
    "editor (write runs, artifacts, datasets) or admin (members, deletes). Project admins only.",
    dependencies=[rule(Need.ADMIN, project=by_path("name"))],
)
def grant(name: str, body: api.MemberGrant, store: Auth, runs: Store, request: Request) -> Response:
    """Grant a role."""
    kind, principal = _principal(body.user, body.team)
    role = parse_role(body.role)
    runs.get_project(name)
    before = store.grant_role(name, principal, role, kind=kind)
    audit(
        request,
        "project.grant",
        f"projects/{name}/members/{kind.value}/{principal}",
        before={"role": None if before is None else before.value},
        after={"role": role.value},
    )
    return json_response(
        api.MemberOut(project=name, kind=kind.value, principal=principal, role=role.value)
    )


@router.delete(
    api.PROJECT_MEMBER,
    status_code=NO_CONTENT,
    responses=errors(404),
    summary="Revoke a project role",
    description="Take a user's (`kind` user) or team's (`kind` team) role in a project away. "
    "Project admins only.",
    dependencies=[rule(Need.ADMIN, project=by_path("name"))],
)
def revoke(name: str, kind: str, principal: str, store: Auth, request: Request) -> Response:
    """Revoke a role."""
    try:
        principal_kind = PrincipalKind(kind)
    except ValueError:
        raise InvalidArgument(f"unknown member kind {kind!r}", hint="use user or team") from None
    before = store.revoke_role(name, principal, kind=principal_kind)
    audit(
        request,
        "project.revoke",
        f"projects/{name}/members/{kind}/{principal}",
        before={"role": before.value},
        after={"role": None},
    )
    return Response(status_code=NO_CONTENT)


def _principal(user: str | None, team: str | None) -> tuple[PrincipalKind, str]:
    if (user is None) == (team is None):
        raise InvalidArgument("give either a user or a team", hint='{"user": "ada", "role": ...}')
    if user is not None:
        return PrincipalKind.USER, validate_principal_name(user)
    return PrincipalKind.TEAM, validate_principal_name(str(team), "team")


# -- audit -------------------------------------------------------------------------------------


@router.get(
    api.AUDIT,
    response_model=api.AuditList,
    summary="List audit records",
    description="Audit records newest first: who changed what, when, from which address, with "
    "before/after values. Filter by `user` and `since` (epoch ms). Server admins only.",
    dependencies=ADMIN_ONLY,
)
def list_audit(
    store: Auth,
    user: str | None = None,
    since: int | None = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
) -> Response:
    """Audit records."""
    records = store.list_audit(actor=user, since=since, limit=limit)
    return json_response(api.AuditList(records=[api.AuditOut.of(r) for r in records]))


@router.get(
    api.AUDIT_VERIFY,
    response_model=api.AuditVerifyOut,
    summary="Verify the audit log",
    description="Recompute the hash chain: `ok` is false and `problems` name each record that "
    "was edited or deleted. Server admins only.",
    dependencies=ADMIN_ONLY,
)
def verify_audit(store: Auth) -> Response:
    """Check the chain."""
    count, problems = store.verify_audit()
    out = [api.AuditProblemOut(seq=p.seq, problem=p.problem) for p in problems]
    return json_response(api.AuditVerifyOut(records=count, ok=not problems, problems=out))
