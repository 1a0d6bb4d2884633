"""Users, API tokens, sessions, teams and project members of ``SqlRunStore``.

Passwords are stored as argon2 hashes; API tokens and session ids as sha256 hashes (they are
random, 256 bits), so a copy of the database lets no one sign in. The audit log lives in
:mod:`shipyard.store.sql._audit`.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from functools import cache

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.orm import Session

from shipyard.domain.auth import (
    ROLE_RANK,
    ApiToken,
    IssuedToken,
    Member,
    PrincipalKind,
    Role,
    Team,
    TokenScope,
    User,
    validate_password,
    validate_principal_name,
)
from shipyard.domain.ids import new_id
from shipyard.errors import AlreadyExists, InvalidArgument, NotFound
from shipyard.store.sql._audit import SqlAuditLog
from shipyard.store.sql._runs import affected_rows, dialect_insert, now_ms
from shipyard.store.sql.models_auth import (
    ProjectMemberRow,
    SessionRow,
    TeamMemberRow,
    TeamRow,
    TokenRow,
    UserRow,
)

TOKEN_PREFIX = "shp_"  # noqa: S105  # a public prefix, not a secret


@cache
def _hasher() -> PasswordHasher:
    return PasswordHasher()


@cache
def _dummy_hash() -> str:
    """A hash to verify against for unknown users, so that timing does not reveal them."""
    return _hasher().hash("not-a-password-" + secrets.token_hex(8))


def secret_hash(secret: str) -> str:
    """sha256 hex of a token or session id (what is stored)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def _user(row: UserRow) -> User:
    return User(row.name, row.is_admin, row.disabled, row.created_at)


def _token(row: TokenRow) -> ApiToken:
    return ApiToken(
        row.id,
        row.user,
        TokenScope(row.scope),
        row.created_at,
        row.expires_at,
        row.revoked,
        row.description,
    )


def _user_row(session: Session, name: str) -> UserRow:
    row = session.get(UserRow, name)
    if row is None:
        raise NotFound(f"user {name!r} not found", hint="see `shipyard users list`")
    return row


def _team_row(session: Session, name: str) -> TeamRow:
    row = session.get(TeamRow, name)
    if row is None:
        raise NotFound(f"team {name!r} not found", hint="see `shipyard teams list`")
    return row


class SqlAuthStore(SqlAuditLog):
    """Methods of :class:`~shipyard.store.sql.store.SqlRunStore` (a base class of it)."""

    # -- users ------------------------------------------------------------------------------
    def create_user(self, name: str, password: str, *, is_admin: bool = False) -> User:
        """Create a user. Raises ``AlreadyExists``, or ``InvalidArgument`` for a bad name or
        password."""
        validate_principal_name(name)
        digest = _hasher().hash(validate_password(password))
        with self._write() as session:
            stmt = dialect_insert(session, UserRow).values(
                name=name,
                password_hash=digest,
                is_admin=is_admin,
                disabled=False,
                created_at=now_ms(),
            )
            if affected_rows(session, stmt.on_conflict_do_nothing()) == 0:
                raise AlreadyExists(f"user {name!r} already exists", hint="pick another name")
            return _user(_user_row(session, name))

    def get_user(self, name: str) -> User:
        """One user. Raises ``NotFound``."""
        with self._read() as session:
            return _user(_user_row(session, name))

    def list_users(self) -> Sequence[User]:
        """Every user, by name."""
        with self._read() as session:
            return [_user(r) for r in session.scalars(sa.select(UserRow).order_by(UserRow.name))]

    def set_user_disabled(self, name: str, disabled: bool = True) -> User:
        """Disable (or enable again) a user; a disabled user's tokens and sessions stop working."""
        with self._write() as session:
            row = _user_row(session, name)
            row.disabled = disabled
            if disabled:
                session.execute(sa.delete(SessionRow).where(SessionRow.user == name))
            return _user(row)

    def set_password(self, name: str, password: str) -> None:
        """Replace a user's password."""
        digest = _hasher().hash(validate_password(password))
        with self._write() as session:
            _user_row(session, name).password_hash = digest

    def verify_password(self, name: str, password: str) -> User | None:
        """The user when the password is right and the user is enabled, else ``None``."""
        with self._read() as session:
            row = session.get(UserRow, name) if isinstance(name, str) else None
            digest = row.password_hash if row is not None else _dummy_hash()
            user = None if row is None else _user(row)
        try:
            _hasher().verify(digest, password)
        except (VerificationError, InvalidHashError):
            return None
        return user if user is not None and not user.disabled else None

    # -- API tokens -------------------------------------------------------------------------
    def create_token(
        self,
        user: str,
        *,
        scope: TokenScope = TokenScope.WRITE,
        expires_at: int | None = None,
        description: str = "",
    ) -> IssuedToken:
        """Issue a token for a user; the returned secret is the only copy."""
        if len(description) > 256:
            raise InvalidArgument("a token description has at most 256 characters")
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        with self._write() as session:
            _user_row(session, user)
            row = TokenRow(
                id=new_id(),
                user=user,
                token_hash=secret_hash(secret),
                scope=TokenScope(scope).value,
                description=description,
                created_at=now_ms(),
                expires_at=expires_at,
                revoked=False,
            )
            session.add(row)
            session.flush()
            return IssuedToken(_token(row), secret)

    def list_tokens(self, user: str | None = None) -> Sequence[ApiToken]:
        """Token records (never secrets), newest first; all users' when ``user`` is ``None``."""
        query = sa.select(TokenRow).order_by(TokenRow.created_at.desc(), TokenRow.id)
        if user is not None:
            query = query.where(TokenRow.user == user)
        with self._read() as session:
            return [_token(row) for row in session.scalars(query)]

    def get_token(self, token_id: str) -> ApiToken:
        """One token record. Raises ``NotFound``."""
        with self._read() as session:
            row = session.get(TokenRow, token_id)
            if row is None:
                raise NotFound(f"token {token_id!r} not found", hint="see `shipyard tokens list`")
            return _token(row)

    def revoke_token(self, token_id: str) -> ApiToken:
        """Revoke a token (it stops working at once). Raises ``NotFound``."""
        with self._write() as session:
            row = session.get(TokenRow, token_id)
            if row is None:
                raise NotFound(f"token {token_id!r} not found", hint="see `shipyard tokens list`")
            row.revoked = True
            return _token(row)

    def authenticate_token(self, secret: str) -> tuple[User, ApiToken] | None:
        """The user and token record of a valid (known, unexpired, unrevoked) token."""
        if not secret.startswith(TOKEN_PREFIX):
            return None
        with self._read() as session:
            row = session.scalar(
                sa.select(TokenRow).where(TokenRow.token_hash == secret_hash(secret))
            )
            if row is None or row.revoked:
                return None
            if row.expires_at is not None and row.expires_at <= now_ms():
                return None
            user = session.get(UserRow, row.user)
            if user is None or user.disabled:
                return None
            return _user(user), _token(row)

    # -- sessions ---------------------------------------------------------------------------
    def create_session(self, user: str, ttl_ms: int) -> str:
        """Open a UI session; returns its id (only its hash is stored)."""
        session_id = secrets.token_urlsafe(32)
        now = now_ms()
        with self._write() as session:
            _user_row(session, user)
            session.add(
                SessionRow(
                    id_hash=secret_hash(session_id),
                    user=user,
                    created_at=now,
                    expires_at=now + ttl_ms,
                )
            )
        return session_id

    def session_user(self, session_id: str) -> User | None:
        """The enabled user of a live session, else ``None``."""
        with self._read() as session:
            row = session.get(SessionRow, secret_hash(session_id))
            if row is None or row.expires_at <= now_ms():
                return None
            user = session.get(UserRow, row.user)
            return None if user is None or user.disabled else _user(user)

    def delete_session(self, session_id: str) -> None:
        """End a session (signing out); unknown ids are ignored."""
        with self._write() as session:
            session.execute(
                sa.delete(SessionRow).where(SessionRow.id_hash == secret_hash(session_id))
            )

    # -- teams ------------------------------------------------------------------------------
    def create_team(self, name: str) -> Team:
        """Create an empty team. Raises ``AlreadyExists``."""
        validate_principal_name(name, "team")
        with self._write() as session:
            stmt = dialect_insert(session, TeamRow).values(name=name, created_at=now_ms())
            if affected_rows(session, stmt.on_conflict_do_nothing()) == 0:
                raise AlreadyExists(f"team {name!r} already exists", hint="pick another name")
            return _team(session, _team_row(session, name))

    def list_teams(self) -> Sequence[Team]:
        """Every team with its members, by name."""
        with self._read() as session:
            rows = session.scalars(sa.select(TeamRow).order_by(TeamRow.name)).all()
            return [_team(session, row) for row in rows]

    def add_team_member(self, team: str, user: str) -> Team:
        """Add a user to a team (adding a member again changes nothing)."""
        with self._write() as session:
            row = _team_row(session, team)
            _user_row(session, user)
            stmt = dialect_insert(session, TeamMemberRow).values(team=team, user=user)
            session.execute(stmt.on_conflict_do_nothing())
            return _team(session, row)

    def remove_team_member(self, team: str, user: str) -> Team:
        """Remove a user from a team. Raises ``NotFound`` when they are not in it."""
        with self._write() as session:
            row = _team_row(session, team)
            stmt = sa.delete(TeamMemberRow).where(
                TeamMemberRow.team == team, TeamMemberRow.user == user
            )
            if affected_rows(session, stmt) == 0:
                raise NotFound(f"user {user!r} is not in team {team!r}", hint="see `teams list`")
            return _team(session, row)

    # -- project members --------------------------------------------------------------------
    def grant_role(
        self, project: str, principal: str, role: Role, *, kind: PrincipalKind = PrincipalKind.USER
    ) -> Role | None:
        """Give a user or team a role in a project; returns the role it had before."""
        kind, role = PrincipalKind(kind), Role(role)
        with self._write() as session:
            if kind is PrincipalKind.USER:
                _user_row(session, principal)
            else:
                _team_row(session, principal)
            key = (project, kind.value, principal)
            row = session.get(ProjectMemberRow, key, with_for_update=True)
            if row is None:
                session.add(
                    ProjectMemberRow(
                        project=project, kind=kind.value, principal=principal, role=role.value
                    )
                )
                return None
            before, row.role = Role(row.role), role.value
            return before

    def revoke_role(
        self, project: str, principal: str, *, kind: PrincipalKind = PrincipalKind.USER
    ) -> Role:
        """Take a user's or team's role in a project away; returns it. Raises ``NotFound``."""
        kind = PrincipalKind(kind)
        with self._write() as session:
            row = session.get(ProjectMemberRow, (project, kind.value, principal))
            if row is None:
                raise NotFound(
                    f"{kind.value} {principal!r} has no role in project {project!r}",
                    hint="see `shipyard projects members PROJECT`",
                )
            before = Role(row.role)
            session.delete(row)
            return before

    def list_members(self, project: str) -> Sequence[Member]:
        """The roles granted in a project."""
        query = (
            sa.select(ProjectMemberRow)
            .where(ProjectMemberRow.project == project)
            .order_by(ProjectMemberRow.kind, ProjectMemberRow.principal)
        )
        with self._read() as session:
            return [
                Member(r.project, PrincipalKind(r.kind), r.principal, Role(r.role))
                for r in session.scalars(query)
            ]

    def roles_of(self, user: str) -> dict[str, Role]:
        """A user's strongest role per project, directly or through teams."""
        teams = sa.select(TeamMemberRow.team).where(TeamMemberRow.user == user)
        query = sa.select(ProjectMemberRow.project, ProjectMemberRow.role).where(
            sa.or_(
                sa.and_(
                    ProjectMemberRow.kind == PrincipalKind.USER.value,
                    ProjectMemberRow.principal == user,
                ),
                sa.and_(
                    ProjectMemberRow.kind == PrincipalKind.TEAM.value,
                    ProjectMemberRow.principal.in_(teams),
                ),
            )
        )
        roles: dict[str, Role] = {}
        with self._read() as session:
            for project, text in session.execute(query):
                role = Role(text)
                if project not in roles or ROLE_RANK[role] > ROLE_RANK[roles[project]]:
                    roles[project] = role
        return roles


def _team(session: Session, row: TeamRow) -> Team:
    members = session.scalars(
        sa.select(TeamMemberRow.user)
        .where(TeamMemberRow.team == row.name)
        .order_by(TeamMemberRow.user)
    )
    return Team(row.name, tuple(members), row.created_at)
