""":class:`HttpAuthClient`: users, tokens, teams, project roles and the audit log over REST.

It shares the connection, headers and error translation of an :class:`HttpRunStore`.
"""

from __future__ import annotations

from typing import Any

from shipyard.api import auth as api
from shipyard.api.routes import url
from shipyard.domain.auth import (
    ApiToken,
    AuditProblem,
    AuditRecord,
    IssuedToken,
    Member,
    PrincipalKind,
    Role,
    Team,
    TokenScope,
    User,
)
from shipyard.sdk._http_store import HttpRunStore, wire


def _user(out: api.UserOut) -> User:
    return User(out.name, out.is_admin, out.disabled, out.created_at)


def _token(out: api.TokenOut) -> ApiToken:
    return ApiToken(
        out.id,
        out.user,
        TokenScope(out.scope),
        out.created_at,
        out.expires_at,
        out.revoked,
        out.description,
    )


def _team(out: api.TeamOut) -> Team:
    return Team(out.name, tuple(out.members), out.created_at)


def _member(out: api.MemberOut) -> Member:
    return Member(out.project, PrincipalKind(out.kind), out.principal, Role(out.role))


class HttpAuthClient:
    """Auth administration against a Shipyard server (what ``shipyard users`` etc. call)."""

    def __init__(self, http: HttpRunStore) -> None:
        self._http = http

    def _json(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        query = {k: v for k, v in params.items() if v is not None}
        return self._http.request(method, path, body=body, params=query or None)

    def whoami(self) -> api.WhoAmI:
        """Who the token belongs to, and their roles."""
        return api.WhoAmI.model_validate_json(self._json("GET", api.WHOAMI).content)

    def create_user(self, name: str, password: str, *, is_admin: bool = False) -> User:
        """Create a user."""
        body = wire(api.UserCreate, name=name, password=password, is_admin=is_admin)
        return _user(api.UserOut.model_validate_json(self._json("POST", api.USERS, body).content))

    def list_users(self) -> list[User]:
        """Every user."""
        found = api.UserList.model_validate_json(self._json("GET", api.USERS).content)
        return [_user(u) for u in found.users]

    def disable_user(self, name: str, disabled: bool = True) -> User:
        """Disable or enable a user."""
        body = wire(api.UserDisable, disabled=disabled)
        path = url(api.USER_DISABLE, user=name)
        return _user(api.UserOut.model_validate_json(self._json("POST", path, body).content))

    def create_token(
        self,
        user: str | None = None,
        *,
        scope: TokenScope = TokenScope.WRITE,
        expires_in: str | None = None,
        description: str = "",
    ) -> IssuedToken:
        """Issue a token (the secret is returned once)."""
        body = wire(
            api.TokenCreate,
            user=user,
            scope=TokenScope(scope).value,
            expires_in=expires_in,
            description=description,
        )
        out = api.TokenIssued.model_validate_json(self._json("POST", api.TOKENS, body).content)
        return IssuedToken(_token(out.token), out.secret)

    def list_tokens(self, user: str | None = None) -> list[ApiToken]:
        """Token records."""
        found = api.TokenList.model_validate_json(self._json("GET", api.TOKENS, user=user).content)
        return [_token(t) for t in found.tokens]

    def revoke_token(self, token_id: str) -> None:
        """Revoke a token."""
        self._json("DELETE", url(api.TOKEN, token_id=token_id))

    def create_team(self, name: str) -> Team:
        """Create a team."""
        body = wire(api.TeamCreate, name=name)
        return _team(api.TeamOut.model_validate_json(self._json("POST", api.TEAMS, body).content))

    def list_teams(self) -> list[Team]:
        """Every team."""
        found = api.TeamList.model_validate_json(self._json("GET", api.TEAMS).content)
        return [_team(t) for t in found.teams]

    def add_team_member(self, team: str, user: str) -> Team:
        """Add a user to a team."""
        path = url(api.TEAM_MEMBER, team=team, user=user)
        return _team(api.TeamOut.model_validate_json(self._json("PUT", path).content))

    def remove_team_member(self, team: str, user: str) -> Team:
        """Remove a user from a team."""
        path = url(api.TEAM_MEMBER, team=team, user=user)
        return _team(api.TeamOut.model_validate_json(self._json("DELETE", path).content))

    def grant(
        self, project: str, role: Role, *, user: str | None = None, team: str | None = None
    ) -> Member:
        """Grant a role in a project to a user or a team."""
        body = wire(api.MemberGrant, user=user, team=team, role=Role(role).value)
        path = url(api.PROJECT_MEMBERS, name=project)
        return _member(api.MemberOut.model_validate_json(self._json("PUT", path, body).content))

    def revoke(self, project: str, *, user: str | None = None, team: str | None = None) -> None:
        """Revoke a user's or team's role in a project."""
        kind = PrincipalKind.USER if user is not None else PrincipalKind.TEAM
        principal = user if user is not None else str(team)
        path = url(api.PROJECT_MEMBER, name=project, kind=kind.value, principal=principal)
        self._json("DELETE", path)

    def members(self, project: str) -> list[Member]:
        """The roles granted in a project."""
        path = url(api.PROJECT_MEMBERS, name=project)
        found = api.MemberList.model_validate_json(self._json("GET", path).content)
        return [_member(m) for m in found.members]

    def audit(
        self, *, user: str | None = None, since: int | None = None, limit: int = 100
    ) -> list[AuditRecord]:
        """Audit records, newest first."""
        response = self._json("GET", api.AUDIT, user=user, since=since, limit=limit)
        found = api.AuditList.model_validate_json(response.content)
        return [AuditRecord(**r.model_dump()) for r in found.records]

    def verify_audit(self) -> tuple[int, list[AuditProblem]]:
        """Check the audit chain."""
        out = api.AuditVerifyOut.model_validate_json(self._json("GET", api.AUDIT_VERIFY).content)
        return out.records, [AuditProblem(p.seq, p.problem) for p in out.problems]
