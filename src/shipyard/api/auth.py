"""Routes and wire models of users, API tokens, teams, project members and the audit log.

Secrets travel in one direction only: a password in ``UserCreate``, a new token's secret in
``TokenIssued`` (once). No response ever carries a password, a password hash or a token hash.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from shipyard.api.routes import API_PREFIX, PROJECT
from shipyard.api.schemas import RequestModel, WireModel

WHOAMI = f"{API_PREFIX}/auth/whoami"
USERS = f"{API_PREFIX}/users"
USER = f"{USERS}/{{user}}"
USER_DISABLE = f"{USER}/disable"
TOKENS = f"{API_PREFIX}/tokens"
TOKEN = f"{TOKENS}/{{token_id}}"
TEAMS = f"{API_PREFIX}/teams"
TEAM_MEMBER = f"{TEAMS}/{{team}}/members/{{user}}"
PROJECT_MEMBERS = f"{PROJECT}/members"
PROJECT_MEMBER = f"{PROJECT_MEMBERS}/{{kind}}/{{principal}}"
AUDIT = f"{API_PREFIX}/audit"
AUDIT_VERIFY = f"{AUDIT}/verify"

ROUTES: tuple[tuple[str, str], ...] = (
    ("GET", WHOAMI),
    ("GET", USERS),
    ("POST", USERS),
    ("GET", USER),
    ("POST", USER_DISABLE),
    ("GET", TOKENS),
    ("POST", TOKENS),
    ("DELETE", TOKEN),
    ("GET", TEAMS),
    ("POST", TEAMS),
    ("PUT", TEAM_MEMBER),
    ("DELETE", TEAM_MEMBER),
    ("GET", PROJECT_MEMBERS),
    ("PUT", PROJECT_MEMBERS),
    ("DELETE", PROJECT_MEMBER),
    ("GET", AUDIT),
    ("GET", AUDIT_VERIFY),
)
"""Every auth route as ``(method, path template)``."""


class WhoAmI(WireModel):
    """The caller: user, whether a server admin, whether the credentials may write, roles."""

    user: str
    is_admin: bool
    can_write: bool
    roles: dict[str, str] = Field(description="Project name -> role (viewer, editor, admin).")


class UserCreate(RequestModel):
    """Create a user."""

    name: str
    password: str = Field(min_length=8, max_length=1024)
    is_admin: bool = False


class UserDisable(RequestModel):
    """Disable (or enable again) a user."""

    disabled: bool = True


class UserOut(WireModel):
    """A user (never a password or its hash)."""

    name: str
    is_admin: bool
    disabled: bool
    created_at: int


class UserList(WireModel):
    """Users by name."""

    users: list[UserOut]


class TokenCreate(RequestModel):
    """Issue an API token (for yourself; server admins for anyone)."""

    user: str | None = Field(default=None, description="Whose token; default: the caller.")
    scope: str = Field(default="write", description="`read` or `write`.")
    expires_in: str | None = Field(default=None, description="e.g. `30d`, `12h`; none: never.")
    description: str = ""


class TokenOut(WireModel):
    """A token's record (never the token)."""

    id: str
    user: str
    scope: str
    description: str
    created_at: int
    expires_at: int | None
    revoked: bool


class TokenIssued(WireModel):
    """A new token: ``secret`` is shown this once."""

    token: TokenOut
    secret: str


class TokenList(WireModel):
    """Token records, newest first."""

    tokens: list[TokenOut]


class TeamCreate(RequestModel):
    """Create a team."""

    name: str


class TeamOut(WireModel):
    """A team and its members."""

    name: str
    members: list[str]
    created_at: int


class TeamList(WireModel):
    """Teams by name."""

    teams: list[TeamOut]


class MemberGrant(RequestModel):
    """Grant a role in a project to a user or (with ``team``) a team."""

    user: str | None = None
    team: str | None = None
    role: str = Field(description="viewer, editor or admin.")


class MemberOut(WireModel):
    """A role granted in a project."""

    project: str
    kind: str
    principal: str
    role: str


class MemberList(WireModel):
    """The roles granted in a project."""

    members: list[MemberOut]


class AuditOut(WireModel):
    """One audit record."""

    seq: int
    timestamp: int
    actor: str
    action: str
    target: str
    address: str
    before: Any
    after: Any
    prev_hash: str
    hash: str


class AuditList(WireModel):
    """Audit records, newest first."""

    records: list[AuditOut]


class AuditProblemOut(WireModel):
    """A record that does not match the chain."""

    seq: int
    problem: str


class AuditVerifyOut(WireModel):
    """The result of checking the whole chain."""

    records: int
    ok: bool
    problems: list[AuditProblemOut]
