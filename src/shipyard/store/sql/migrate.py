"""Schema migrations: Alembic, run programmatically, with the scripts inside the package.

Opening a store only *checks* the schema (one cheap ``SELECT`` on ``alembic_version``; Alembic
itself is imported only to migrate). An empty database is migrated when the caller asked for
``auto_create`` (the embedded default); a database behind this code raises ``SchemaOutdated``
naming the command that upgrades it::

    shipyard db upgrade --store postgresql+psycopg://user@host/shipyard
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from shipyard.errors import SchemaOutdated, Unavailable
from shipyard.store.sql.engine import create_engine, redact, translate_errors, writer

if TYPE_CHECKING:
    from alembic.config import Config

SCHEMA_REVISION = "0012"
"""The revision this code reads and writes (a test checks that it is the migrations' head)."""

MIGRATIONS_DIR = Path(__file__).with_name("migrations")

_VERSION_TABLE = "alembic_version"
_PROBE_TABLE = "runs"
_PG_MIGRATION_LOCK = (
    0x5348_4950  # "SHIP": serializes concurrent upgrades of one PostgreSQL database
)


def head_revision() -> str:
    """The newest revision among the packaged migration scripts."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError(f"no migration scripts found in {MIGRATIONS_DIR}")
    return str(head)


def current_revision(engine_or_uri: Engine | str) -> str | None:
    """The revision a database is at, or ``None`` when it was never migrated.

    Raises ``Unavailable`` when the database cannot be reached.
    """
    if isinstance(engine_or_uri, Engine):
        return _read_revision(engine_or_uri)
    engine = create_engine(engine_or_uri)
    try:
        return _read_revision(engine)
    finally:
        engine.dispose()


def upgrade(uri: str) -> str:
    """Migrate the database at ``uri`` to the newest schema and return the revision it is at.

    Safe to run again (a database at head is left alone) and from several processes at once.
    """
    engine = create_engine(uri)
    try:
        return upgrade_engine(engine)
    finally:
        engine.dispose()


def upgrade_engine(engine: Engine) -> str:
    """Migrate the database behind ``engine`` to the newest schema (see :func:`upgrade`)."""
    from alembic import command

    config = _alembic_config()
    with translate_errors(engine.url), writer(engine).begin() as connection:
        # SQLite: BEGIN IMMEDIATE already holds the write lock; PostgreSQL: take an advisory lock.
        if connection.dialect.name == "postgresql":
            connection.execute(sa.select(sa.func.pg_advisory_xact_lock(_PG_MIGRATION_LOCK)))
        config.attributes["connection"] = connection
        command.upgrade(config, "head")
        revision = _revision_on(connection)
    if revision is None:
        raise RuntimeError("the migrations ran but left no revision in alembic_version")
    return revision


def check_schema(engine: Engine, *, auto_create: bool = False) -> str:
    """Make sure the database has the schema this code needs; return its revision.

    An empty database is migrated when ``auto_create`` is true. Otherwise a database without the
    Shipyard schema, or with another revision, raises ``SchemaOutdated`` whose hint names the
    command to run.
    """
    attempts = _SQLITE_CREATE_ATTEMPTS if auto_create and engine.dialect.name == "sqlite" else 1
    for attempt in range(1, attempts + 1):
        try:
            return _check_schema_once(engine, auto_create=auto_create)
        except Unavailable as exc:
            # A brand-new SQLite file being migrated by another process or thread can answer
            # "database is locked" before its busy timeout applies (the journal-mode switch to
            # WAL takes an exclusive lock): wait for that migration instead of failing.
            if attempt == attempts or "locked" not in exc.message:
                raise
            time.sleep(0.1 * attempt)
    raise AssertionError("unreachable")  # pragma: no cover


_SQLITE_CREATE_ATTEMPTS = 8


def _check_schema_once(engine: Engine, *, auto_create: bool) -> str:
    current = _read_revision(engine)
    if current == SCHEMA_REVISION:
        return current
    if current is None:
        if _has_shipyard_tables(engine):
            raise SchemaOutdated(
                f"the metadata store at {redact(engine.url)} has Shipyard tables but no schema "
                "revision (it was not created by Shipyard's migrations)",
                hint="move it aside and let Shipyard create a new one, or stamp it with Alembic",
            )
        if auto_create:
            return upgrade_engine(engine)
        raise SchemaOutdated(
            f"the metadata store at {redact(engine.url)} has no Shipyard schema",
            hint=_upgrade_hint(engine),
        )
    raise _mismatch(engine, current)


def _mismatch(engine: Engine, current: str) -> SchemaOutdated:
    where = f"the metadata store at {redact(engine.url)}"
    if _is_behind(current):
        return SchemaOutdated(
            f"{where}: schema is at revision {current}, this Shipyard needs {SCHEMA_REVISION}",
            hint=_upgrade_hint(engine),
        )
    return SchemaOutdated(
        f"{where}: schema is at revision {current}, newer than this Shipyard knows "
        f"({SCHEMA_REVISION})",
        hint="upgrade Shipyard (pip install -U shipyard) to the version that migrated it",
    )


def _is_behind(current: str) -> bool:
    # Revisions are zero-padded sequence numbers ("0001", "0002", ...), so they compare as numbers.
    return current.isdigit() and int(current) < int(SCHEMA_REVISION)


def _upgrade_hint(engine: Engine) -> str:
    return f"run `shipyard db upgrade --store {redact(engine.url)}`"


def _read_revision(engine: Engine) -> str | None:
    with translate_errors(engine.url), engine.connect() as connection:
        return _revision_on(connection)


def _revision_on(connection: Connection) -> str | None:
    if not sa.inspect(connection).has_table(_VERSION_TABLE):
        return None
    version = sa.table(_VERSION_TABLE, sa.column("version_num", sa.String))
    rows = connection.execute(sa.select(version.c.version_num)).scalars().all()
    return max(rows) if rows else None


def _has_shipyard_tables(engine: Engine) -> bool:
    with translate_errors(engine.url), engine.connect() as connection:
        return sa.inspect(connection).has_table(_PROBE_TABLE)


def _alembic_config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config
