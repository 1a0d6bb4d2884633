"""SQL rows of users, API tokens, sessions, teams, project members and the hash-chained audit log.

Owned by migration 0004; :mod:`shipyard.store.sql.models` imports it (``Base.metadata`` whole).
Secrets are stored as hashes only: argon2 for passwords, sha256 for tokens and session ids.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shipyard.store.sql.models import ID, Base

NAME = String(64)
SHA256 = String(64)


class UserRow(Base):
    __tablename__ = "users"

    name: Mapped[str] = mapped_column(NAME, primary_key=True)
    password_hash: Mapped[str] = mapped_column(String(256))
    is_admin: Mapped[bool] = mapped_column(Boolean, default=False)
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[int] = mapped_column(BigInteger)


class TokenRow(Base):
    __tablename__ = "api_tokens"

    id: Mapped[str] = mapped_column(ID, primary_key=True)
    user: Mapped[str] = mapped_column(NAME, ForeignKey("users.name", ondelete="CASCADE"))
    token_hash: Mapped[str] = mapped_column(SHA256, unique=True)
    scope: Mapped[str] = mapped_column(String(8))
    description: Mapped[str] = mapped_column(String(256), default="")
    created_at: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)

    __table_args__ = (Index("ix_api_tokens_user", "user"),)


class SessionRow(Base):
    __tablename__ = "user_sessions"

    id_hash: Mapped[str] = mapped_column(SHA256, primary_key=True)
    user: Mapped[str] = mapped_column(NAME, ForeignKey("users.name", ondelete="CASCADE"))
    created_at: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[int] = mapped_column(BigInteger)


class TeamRow(Base):
    __tablename__ = "teams"

    name: Mapped[str] = mapped_column(NAME, primary_key=True)
    created_at: Mapped[int] = mapped_column(BigInteger)


class TeamMemberRow(Base):
    __tablename__ = "team_members"

    team: Mapped[str] = mapped_column(
        NAME, ForeignKey("teams.name", ondelete="CASCADE"), primary_key=True
    )
    user: Mapped[str] = mapped_column(
        NAME, ForeignKey("users.name", ondelete="CASCADE"), primary_key=True
    )


class ProjectMemberRow(Base):
    """A role in a project (by name) for a user or a team (``kind``)."""

    __tablename__ = "project_members"

    project: Mapped[str] = mapped_column(String(256), primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), primary_key=True)
    principal: Mapped[str] = mapped_column(NAME, primary_key=True)
    role: Mapped[str] = mapped_column(String(16))

    __table_args__ = (Index("ix_project_members_principal", "kind", "principal"),)


class AuditRow(Base):
    """One audit record; ``hash`` is the sha256 of its canonical JSON, which holds ``prev_hash``."""

    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    timestamp: Mapped[int] = mapped_column(BigInteger)
    actor: Mapped[str] = mapped_column(String(256))
    action: Mapped[str] = mapped_column(String(128))
    target: Mapped[str] = mapped_column(Text)
    address: Mapped[str] = mapped_column(String(64))
    before_json: Mapped[str] = mapped_column(Text)
    after_json: Mapped[str] = mapped_column(Text)
    prev_hash: Mapped[str] = mapped_column(SHA256)
    hash: Mapped[str] = mapped_column(SHA256)

    __table_args__ = (
        Index("ix_audit_log_actor", "actor", "seq"),
        Index("ix_audit_log_timestamp", "timestamp"),
    )


class AuditHeadRow(Base):
    """The last record of the chain (one row), so that deleting the newest record shows too."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(BigInteger)
    hash: Mapped[str] = mapped_column(SHA256)
