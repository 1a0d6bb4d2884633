"""The auth store protocol: users, API tokens, UI sessions, teams, project roles, audit log.

Contract (checked by ``tests/security/test_auth_store.py`` on SQLite and PostgreSQL):

* Secrets are never stored: passwords as argon2 hashes, tokens and session ids as sha256.
  ``create_token`` returns the secret once; nothing else ever returns it.
* ``authenticate_token`` and ``session_user`` answer ``None`` for an unknown, expired or revoked
  credential and for a disabled user.
* ``roles_of(user)`` is the user's strongest role per project, granted directly or to a team.
* The audit log is append-only and hash-chained: each record holds the sha256 of its canonical
  JSON, which includes the previous record's hash. ``verify_audit`` names every record that was
  edited or deleted. Values under secret-looking keys (password, token, secret...) are redacted.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

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


@runtime_checkable
class AuthStore(Protocol):
    """Where users, tokens, sessions, teams, project roles and the audit log live."""

    def create_user(self, name: str, password: str, *, is_admin: bool = False) -> User:
        """Create a user (``AlreadyExists``; ``InvalidArgument`` for a bad name or password)."""
        ...

    def get_user(self, name: str) -> User:
        """One user (``NotFound``)."""
        ...

    def list_users(self) -> Sequence[User]:
        """Every user, by name."""
        ...

    def set_user_disabled(self, name: str, disabled: bool = True) -> User:
        """Disable or enable a user."""
        ...

    def verify_password(self, name: str, password: str) -> User | None:
        """The enabled user whose password this is, else ``None``."""
        ...

    def create_token(
        self,
        user: str,
        *,
        scope: TokenScope = TokenScope.WRITE,
        expires_at: int | None = None,
        description: str = "",
    ) -> IssuedToken:
        """Issue a token (the secret is returned once)."""
        ...

    def list_tokens(self, user: str | None = None) -> Sequence[ApiToken]:
        """Token records, newest first."""
        ...

    def get_token(self, token_id: str) -> ApiToken:
        """One token record (``NotFound``)."""
        ...

    def revoke_token(self, token_id: str) -> ApiToken:
        """Revoke a token (``NotFound``)."""
        ...

    def authenticate_token(self, secret: str) -> tuple[User, ApiToken] | None:
        """The user and record of a valid token, else ``None``."""
        ...

    def create_session(self, user: str, ttl_ms: int) -> str:
        """Open a UI session, returning its id."""
        ...

    def session_user(self, session_id: str) -> User | None:
        """The user of a live session, else ``None``."""
        ...

    def delete_session(self, session_id: str) -> None:
        """End a session."""
        ...

    def create_team(self, name: str) -> Team:
        """Create a team (``AlreadyExists``)."""
        ...

    def list_teams(self) -> Sequence[Team]:
        """Every team, by name."""
        ...

    def add_team_member(self, team: str, user: str) -> Team:
        """Add a user to a team."""
        ...

    def remove_team_member(self, team: str, user: str) -> Team:
        """Remove a user from a team (``NotFound``)."""
        ...

    def grant_role(
        self, project: str, principal: str, role: Role, *, kind: PrincipalKind = PrincipalKind.USER
    ) -> Role | None:
        """Grant a role; returns the previous one."""
        ...

    def revoke_role(
        self, project: str, principal: str, *, kind: PrincipalKind = PrincipalKind.USER
    ) -> Role:
        """Revoke a role, returning it (``NotFound``)."""
        ...

    def list_members(self, project: str) -> Sequence[Member]:
        """The roles granted in a project."""
        ...

    def roles_of(self, user: str) -> dict[str, Role]:
        """A user's strongest role per project."""
        ...

    def record_audit(
        self,
        *,
        actor: str,
        action: str,
        target: str,
        address: str = "",
        before: Any = None,
        after: Any = None,
    ) -> AuditRecord:
        """Append one audit record."""
        ...

    def list_audit(
        self, *, actor: str | None = None, since: int | None = None, limit: int = 100
    ) -> Sequence[AuditRecord]:
        """Audit records, newest first."""
        ...

    def verify_audit(self) -> tuple[int, list[AuditProblem]]:
        """How many records there are, and which do not match the chain."""
        ...
