"""Auth administration for the CLI: users, tokens, teams, project roles and the audit log.

:func:`open_auth_client` picks how: against a server (``SHIPYARD_TRACKING_URI=http(s)://...``)
the REST API with the caller's token; otherwise the database directly (the server's host, e.g.
to create the first admin), recording each change in the audit log as the local OS user.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

from shipyard.api.auth import WhoAmI
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
    parse_duration,
    validate_principal_name,
)
from shipyard.errors import InvalidArgument
from shipyard.settings import Settings
from shipyard.store.auth import AuthStore
from shipyard.store.base import RunStore

__all__ = ["AuthClient", "LocalAuthClient", "open_auth_client"]


class AuthClient(Protocol):
    """What the auth commands call (over HTTP, or on the database directly)."""

    def whoami(self) -> WhoAmI: ...
    def create_user(self, name: str, password: str, *, is_admin: bool = False) -> User: ...
    def list_users(self) -> list[User]: ...
    def disable_user(self, name: str, disabled: bool = True) -> User: ...
    def create_token(
        self,
        user: str | None = None,
        *,
        scope: TokenScope = TokenScope.WRITE,
        expires_in: str | None = None,
        description: str = "",
    ) -> IssuedToken: ...
    def list_tokens(self, user: str | None = None) -> list[ApiToken]: ...
    def revoke_token(self, token_id: str) -> None: ...
    def create_team(self, name: str) -> Team: ...
    def list_teams(self) -> list[Team]: ...
    def add_team_member(self, team: str, user: str) -> Team: ...
    def remove_team_member(self, team: str, user: str) -> Team: ...
    def grant(
        self, project: str, role: Role, *, user: str | None = None, team: str | None = None
    ) -> Member: ...
    def revoke(self, project: str, *, user: str | None = None, team: str | None = None) -> None: ...
    def members(self, project: str) -> list[Member]: ...
    def audit(
        self, *, user: str | None = None, since: int | None = None, limit: int = 100
    ) -> list[AuditRecord]: ...
    def verify_audit(self) -> tuple[int, list[AuditProblem]]: ...


def _principal(user: str | None, team: str | None) -> tuple[PrincipalKind, str]:
    if (user is None) == (team is None):
        raise InvalidArgument("give either a user or a team", hint="e.g. --user ada or --team ml")
    if user is not None:
        return PrincipalKind.USER, validate_principal_name(user)
    return PrincipalKind.TEAM, validate_principal_name(str(team), "team")


class LocalAuthClient:
    """Auth administration on the database itself; every change is audited as ``actor``."""

    def __init__(self, store: AuthStore, runs: RunStore, actor: str) -> None:
        self.store = store
        self.runs = runs
        self.actor = actor

    def _audit(self, action: str, target: str, before: object = None, after: object = None) -> None:
        self.store.record_audit(
            actor=self.actor, action=action, target=target, address="local", before=before,
            after=after,
        )  # fmt: skip

    def whoami(self) -> WhoAmI:
        """The local user: a server admin (direct database access)."""
        return WhoAmI(user=self.actor, is_admin=True, can_write=True, roles={})

    def create_user(self, name: str, password: str, *, is_admin: bool = False) -> User:
        """Create a user."""
        user = self.store.create_user(name, password, is_admin=is_admin)
        self._audit("user.create", f"users/{name}", after={"is_admin": is_admin})
        return user

    def list_users(self) -> list[User]:
        """Every user."""
        return list(self.store.list_users())

    def disable_user(self, name: str, disabled: bool = True) -> User:
        """Disable or enable a user."""
        before = self.store.get_user(name).disabled
        user = self.store.set_user_disabled(name, disabled)
        action = "user.disable" if disabled else "user.enable"
        self._audit(action, f"users/{name}", {"disabled": before}, {"disabled": disabled})
        return user

    def create_token(
        self,
        user: str | None = None,
        *,
        scope: TokenScope = TokenScope.WRITE,
        expires_in: str | None = None,
        description: str = "",
    ) -> IssuedToken:
        """Issue a token for ``user`` (required here: there is no signed-in user)."""
        if user is None:
            raise InvalidArgument(
                "say whose token this is", hint="pass --user NAME (on the database directly)"
            )
        expires = (
            None if expires_in is None else int(time.time() * 1000) + parse_duration(expires_in)
        )
        issued = self.store.create_token(
            user, scope=TokenScope(scope), expires_at=expires, description=description
        )
        after = {"id": issued.token.id, "user": user, "scope": scope, "expires_at": expires}
        self._audit("token.issue", f"tokens/{issued.token.id}", after=after)
        return issued

    def list_tokens(self, user: str | None = None) -> list[ApiToken]:
        """Token records."""
        return list(self.store.list_tokens(user))

    def revoke_token(self, token_id: str) -> None:
        """Revoke a token."""
        token = self.store.revoke_token(token_id)
        self._audit(
            "token.revoke", f"tokens/{token_id}", after={"revoked": True, "user": token.user}
        )

    def create_team(self, name: str) -> Team:
        """Create a team."""
        team = self.store.create_team(name)
        self._audit("team.create", f"teams/{name}", after={"members": []})
        return team

    def list_teams(self) -> list[Team]:
        """Every team."""
        return list(self.store.list_teams())

    def add_team_member(self, team: str, user: str) -> Team:
        """Add a user to a team."""
        found = self.store.add_team_member(team, user)
        self._audit("team.add", f"teams/{team}", after={"user": user})
        return found

    def remove_team_member(self, team: str, user: str) -> Team:
        """Remove a user from a team."""
        found = self.store.remove_team_member(team, user)
        self._audit("team.remove", f"teams/{team}", before={"user": user})
        return found

    def grant(
        self, project: str, role: Role, *, user: str | None = None, team: str | None = None
    ) -> Member:
        """Grant a role in an existing project."""
        kind, principal = _principal(user, team)
        self.runs.get_project(project)
        before = self.store.grant_role(project, principal, Role(role), kind=kind)
        self._audit(
            "project.grant",
            f"projects/{project}/members/{kind.value}/{principal}",
            {"role": None if before is None else before.value},
            {"role": Role(role).value},
        )
        return Member(project, kind, principal, Role(role))

    def revoke(self, project: str, *, user: str | None = None, team: str | None = None) -> None:
        """Revoke a role."""
        kind, principal = _principal(user, team)
        before = self.store.revoke_role(project, principal, kind=kind)
        target = f"projects/{project}/members/{kind.value}/{principal}"
        self._audit("project.revoke", target, {"role": before.value}, {"role": None})

    def members(self, project: str) -> list[Member]:
        """The roles granted in a project."""
        self.runs.get_project(project)
        return list(self.store.list_members(project))

    def audit(
        self, *, user: str | None = None, since: int | None = None, limit: int = 100
    ) -> list[AuditRecord]:
        """Audit records, newest first."""
        return list(self.store.list_audit(actor=user, since=since, limit=limit))

    def verify_audit(self) -> tuple[int, list[AuditProblem]]:
        """Check the audit chain."""
        return self.store.verify_audit()


@contextmanager
def open_auth_client(settings: Settings, store_uri: str | None = None) -> Iterator[AuthClient]:
    """An auth client for the configured tracking URI (or ``store_uri``, a database), closed
    when the block ends."""
    if settings.is_remote and store_uri is None:
        from shipyard.sdk._http import HttpBackend
        from shipyard.sdk._http_auth import HttpAuthClient

        backend = HttpBackend(settings)
        try:
            yield HttpAuthClient(backend.store)
        finally:
            backend.store.close()
        return
    from shipyard.store.factory import open_store

    store = open_store(store_uri or settings.store_uri, auto_create=True)
    try:
        if not isinstance(store, AuthStore):
            raise InvalidArgument(f"{type(store).__name__} keeps no users")
        yield LocalAuthClient(store, store, f"local:{settings.user}")
    finally:
        store.close()
