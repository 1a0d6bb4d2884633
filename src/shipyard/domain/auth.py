"""Users, API tokens, teams, project roles and audit records (frozen, stdlib only).

Secrets never live in these entities: a user carries no password hash, a token record no token.
The one exception is :class:`IssuedToken`, returned once when a token is created.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from shipyard.errors import InvalidArgument

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@\-]{0,63}$")
SECRET_KEYS = ("password", "token", "secret", "session", "credential")
"""Keys whose values are replaced by ``"***"`` before anything reaches the audit log."""
REDACTED = "***"


class Role(StrEnum):
    """A member's role in one project, weakest first."""

    VIEWER = "viewer"
    EDITOR = "editor"
    ADMIN = "admin"


ROLE_RANK = {Role.VIEWER: 1, Role.EDITOR: 2, Role.ADMIN: 3}


class TokenScope(StrEnum):
    """What an API token may do: read only, or read and write."""

    READ = "read"
    WRITE = "write"


class PrincipalKind(StrEnum):
    """Who a project role is granted to."""

    USER = "user"
    TEAM = "team"


@dataclass(frozen=True, slots=True)
class User:
    """A person (or robot) that signs in."""

    name: str
    is_admin: bool
    disabled: bool
    created_at: int


@dataclass(frozen=True, slots=True)
class ApiToken:
    """An API token's record (never the token itself: only its hash is stored)."""

    id: str
    user: str
    scope: TokenScope
    created_at: int
    expires_at: int | None
    revoked: bool
    description: str = ""


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A token just created: ``secret`` is shown once and never stored."""

    token: ApiToken
    secret: str


@dataclass(frozen=True, slots=True)
class Team:
    """A named group of users; a team can be granted a project role."""

    name: str
    members: tuple[str, ...]
    created_at: int


@dataclass(frozen=True, slots=True)
class Member:
    """A role in a project granted to a user or a team."""

    project: str
    kind: PrincipalKind
    principal: str
    role: Role


@dataclass(frozen=True, slots=True)
class AuditRecord:
    """One entry of the append-only, hash-chained audit log."""

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

    def content(self) -> dict[str, Any]:
        """The fields the hash covers."""
        return {
            "seq": self.seq,
            "timestamp": self.timestamp,
            "actor": self.actor,
            "action": self.action,
            "target": self.target,
            "address": self.address,
            "before": self.before,
            "after": self.after,
            "prev_hash": self.prev_hash,
        }

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {**self.content(), "hash": self.hash}


@dataclass(frozen=True, slots=True)
class AuditProblem:
    """A record of the audit log that does not match its chain."""

    seq: int
    problem: str


GENESIS_HASH = "0" * 64
"""The ``prev_hash`` of the first audit record."""


def record_hash(content: Mapping[str, Any]) -> str:
    """sha256 of the canonical JSON (sorted keys, no spaces) of a record's content."""
    text = json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def redact(value: Any) -> Any:
    """A copy of a JSON-able value with every secret-looking key's value replaced."""
    if isinstance(value, Mapping):
        return {str(k): REDACTED if _is_secret(str(k)) else redact(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    return value


def _is_secret(key: str) -> bool:
    lowered = key.lower()
    return any(word in lowered for word in SECRET_KEYS)


def validate_principal_name(name: str, what: str = "user") -> str:
    """Raise ``InvalidArgument`` unless ``name`` is a valid user or team name."""
    if not isinstance(name, str) or not _NAME_RE.match(name):
        raise InvalidArgument(
            f"invalid {what} name {name!r}",
            hint="use 1-64 letters, digits, '_', '.', '@' or '-', starting with a letter or digit",
        )
    return name


def validate_password(password: str) -> str:
    """Raise ``InvalidArgument`` for a password that is too short or too long."""
    if not isinstance(password, str) or not 8 <= len(password) <= 1024:
        raise InvalidArgument(
            "a password needs 8 to 1024 characters", hint="choose a longer password"
        )
    return password


def parse_role(text: str) -> Role:
    """A role from its name; ``InvalidArgument`` naming the choices otherwise."""
    try:
        return Role(text)
    except ValueError:
        choices = ", ".join(r.value for r in Role)
        raise InvalidArgument(f"unknown role {text!r}", hint=f"use one of {choices}") from None


def parse_duration(text: str) -> int:
    """Milliseconds of ``30d``, ``12h``, ``15m`` or ``90s``; ``InvalidArgument`` otherwise."""
    units = {"s": 1_000, "m": 60_000, "h": 3_600_000, "d": 86_400_000}
    match = re.fullmatch(r"\s*(\d{1,6})\s*([smhd])\s*", text or "")
    if match is None or int(match.group(1)) == 0:
        raise InvalidArgument(
            f"invalid duration {text!r}", hint="write a number and a unit: 90s, 15m, 12h or 30d"
        )
    return int(match.group(1)) * units[match.group(2)]
