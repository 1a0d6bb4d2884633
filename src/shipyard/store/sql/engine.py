"""Engines for the SQL store, and the one place where driver errors become Shipyard errors.

SQLite runs in WAL mode (readers never block the writer), with a busy timeout, foreign keys on
and ``synchronous=NORMAL`` (durable at each checkpoint, fast commits). pysqlite's implicit
transactions are replaced by explicit ones: read transactions ``BEGIN`` (a consistent snapshot),
write transactions ``BEGIN IMMEDIATE`` (the write lock is taken up front, so a read-then-write
transaction never fails half way with "database is locked"). PostgreSQL uses psycopg 3 with
``pool_pre_ping``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.pool import StaticPool

from shipyard.errors import Conflict, InvalidArgument, Unavailable

WRITE_OPTION = "shipyard_write"
"""Execution option marking an engine (and its transactions) as a writer."""

BUSY_TIMEOUT_MS = 30_000
"""How long a SQLite writer waits for the lock before giving up."""

CONNECT_TIMEOUT_S = 10
"""Seconds to wait for a PostgreSQL connection unless the URI says otherwise."""

PAGE_SIZE = 16_384
"""SQLite page size of new databases."""

_HINT_UNAVAILABLE = "check that the database is running and reachable; the operation may be retried"


def parse_uri(uri: str) -> URL:
    """Parse a store URI, defaulting PostgreSQL to the psycopg 3 driver.

    >>> parse_uri("postgresql://u@db/shipyard").drivername
    'postgresql+psycopg'
    """
    try:
        url = make_url(uri)
    except sa.exc.ArgumentError:
        raise InvalidArgument(
            f"invalid store URI {uri!r}",
            hint="use sqlite:///path/to/shipyard.db or postgresql+psycopg://user@host/db",
        ) from None
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg")
    return url


def redact(uri: str | URL) -> str:
    """The URI as it may appear in messages: the password replaced by ``***``."""
    try:
        url = uri if isinstance(uri, URL) else make_url(uri)
    except sa.exc.ArgumentError:
        return "<invalid URI>"
    return url.render_as_string(hide_password=True)


def create_engine(uri: str) -> Engine:
    """Create the engine for a ``sqlite:///...`` or ``postgresql+psycopg://...`` URI.

    Connecting is lazy; errors surface (as :class:`~shipyard.errors.Unavailable`) on first use.
    An in-memory SQLite database (``sqlite://``) lives in one shared connection: fine for tests
    and scripts, not for several threads writing at once.
    """
    url = parse_uri(uri)
    if url.get_backend_name() == "sqlite":
        return _sqlite_engine(url)
    if url.get_backend_name() == "postgresql":
        # Without a connect timeout an unreachable host hangs for minutes before failing.
        connect_args = (
            {} if "connect_timeout" in url.query else {"connect_timeout": CONNECT_TIMEOUT_S}
        )
        return sa.create_engine(url, pool_pre_ping=True, connect_args=connect_args)
    raise InvalidArgument(
        f"unsupported database {url.get_backend_name()!r} in store URI {redact(url)!r}",
        hint="use sqlite:///path/to/shipyard.db or postgresql+psycopg://user@host/db",
    )


def writer(engine: Engine) -> Engine:
    """The same engine, with transactions that take the write lock up front (SQLite)."""
    return engine.execution_options(**{WRITE_OPTION: True})


def _sqlite_engine(url: URL) -> Engine:
    database = url.database or ""
    in_memory = database in ("", ":memory:") or database.startswith("file::memory:")
    if in_memory:
        # One shared connection, or every pooled connection would see its own empty database.
        engine = sa.create_engine(
            url, poolclass=StaticPool, connect_args={"check_same_thread": False}
        )
    else:
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = sa.create_engine(url)
    event.listen(engine, "connect", _sqlite_on_connect)
    event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def _sqlite_on_connect(dbapi_conn: sqlite3.Connection, _record: Any) -> None:
    # Turn off pysqlite's own transaction handling; _sqlite_on_begin issues BEGIN itself.
    dbapi_conn.isolation_level = None
    cursor = dbapi_conn.cursor()
    try:
        # Only takes effect on a new, empty database (before WAL is on): bigger pages read the
        # metric chunk blobs in far fewer steps.
        cursor.execute(f"PRAGMA page_size={PAGE_SIZE}")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
    finally:
        cursor.close()


def _sqlite_on_begin(conn: Connection) -> None:
    write = conn.get_execution_options().get(WRITE_OPTION, False)
    conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


@contextmanager
def translate_errors(uri: str | URL) -> Iterator[None]:
    """Turn driver errors raised inside the block into Shipyard errors naming the (redacted) URI.

    ``OperationalError`` (cannot connect, locked, connection lost) becomes ``Unavailable``; an
    integrity violation that slipped past the store's own checks becomes ``Conflict``; a value the
    database refuses (too long, out of range) becomes ``InvalidArgument``.
    """
    try:
        yield
    except sa.exc.OperationalError as exc:
        raise Unavailable(
            f"the metadata store at {redact(uri)} is unavailable: {_reason(exc)}",
            hint=_HINT_UNAVAILABLE,
        ) from exc
    except sa.exc.IntegrityError as exc:
        raise Conflict(
            f"the change conflicts with data in the metadata store: {_reason(exc)}",
            hint="another client changed the same object; read it again and retry",
        ) from exc
    except sa.exc.DataError as exc:
        raise InvalidArgument(
            f"the metadata store refused a value: {_reason(exc)}",
            hint="check the lengths and ranges of the values sent",
        ) from exc


def _reason(exc: sa.exc.DBAPIError) -> str:
    """The driver's own message, first line only (no SQL, no parameters)."""
    text = str(exc.orig) if exc.orig is not None else str(exc)
    return text.strip().splitlines()[0] if text.strip() else type(exc.orig).__name__
