"""Migrations build exactly the schema of models.py; opening a store checks its revision."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from shipyard.errors import InvalidArgument, SchemaOutdated, Unavailable
from shipyard.store.factory import open_store
from shipyard.store.sql import migrate
from shipyard.store.sql.engine import create_engine
from shipyard.store.sql.models import Base
from shipyard.store.sql.store import SqlRunStore


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/nested/folder/shipyard.db"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/shipyard.db"
    return str(request.getfixturevalue("pg_url"))


def schema_differences(url: str) -> list[object]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            return list(compare_metadata(context, Base.metadata))
    finally:
        engine.dispose()


def execute(url: str, *statements: str) -> None:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            for statement in statements:
                conn.execute(sa.text(statement))
    finally:
        engine.dispose()


def test_schema_revision_is_the_head() -> None:
    assert migrate.head_revision() == migrate.SCHEMA_REVISION


def test_migrations_build_exactly_the_models(db_url: str) -> None:
    assert migrate.current_revision(db_url) is None
    assert migrate.upgrade(db_url) == migrate.head_revision()
    assert migrate.current_revision(db_url) == migrate.head_revision()
    assert schema_differences(db_url) == []
    assert migrate.upgrade(db_url) == migrate.SCHEMA_REVISION  # a second upgrade changes nothing
    assert schema_differences(db_url) == []
    downgrade_to_base(db_url)
    assert set(table_names(db_url)) <= {"alembic_version"}


def downgrade_to_base(url: str) -> None:
    from alembic import command

    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            config = migrate._alembic_config()
            config.attributes["connection"] = conn
            command.downgrade(config, "base")
    finally:
        engine.dispose()


def table_names(url: str) -> list[str]:
    engine = create_engine(url)
    try:
        return sa.inspect(engine).get_table_names()
    finally:
        engine.dispose()


def test_empty_database_is_migrated_only_with_auto_create(db_url: str) -> None:
    with pytest.raises(SchemaOutdated, match="no Shipyard schema") as info:
        SqlRunStore.from_uri(db_url)
    assert info.value.hint is not None
    assert "shipyard db upgrade --store" in info.value.hint
    store = SqlRunStore.from_uri(db_url, auto_create=True)
    try:
        assert store.create_run("p").project == "p"
    finally:
        store.close()
    assert migrate.current_revision(db_url) == migrate.SCHEMA_REVISION


def test_a_schema_at_another_revision_is_refused(db_url: str) -> None:
    migrate.upgrade(db_url)
    execute(db_url, "UPDATE alembic_version SET version_num = '0000'")
    with pytest.raises(SchemaOutdated) as info:
        SqlRunStore.from_uri(db_url, auto_create=True)
    needs = f"schema is at revision 0000, this Shipyard needs {migrate.SCHEMA_REVISION}"
    assert needs in info.value.message
    assert info.value.hint is not None
    assert "shipyard db upgrade --store" in info.value.hint

    execute(db_url, "UPDATE alembic_version SET version_num = '0099'")
    with pytest.raises(SchemaOutdated, match="newer than this Shipyard") as info:
        SqlRunStore.from_uri(db_url)
    assert info.value.hint is not None
    assert "pip install -U shipyard" in info.value.hint

    execute(db_url, "DROP TABLE alembic_version")
    with pytest.raises(SchemaOutdated, match="no schema revision"):
        SqlRunStore.from_uri(db_url, auto_create=True)


def test_concurrent_auto_create_is_safe(db_url: str) -> None:
    stores: list[SqlRunStore] = []
    errors: list[BaseException] = []

    def open_one() -> None:
        try:
            stores.append(SqlRunStore.from_uri(db_url, auto_create=True))
        except BaseException as exc:
            errors.append(exc)

    run_threads(open_one, 3)
    for store in stores:
        store.close()
    assert errors == []
    assert len(stores) == 3


def run_threads(target: Callable[[], None], count: int) -> None:
    threads = [threading.Thread(target=target) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def test_sqlite_runs_in_wal_mode_with_its_pragmas(sqlite_url: str) -> None:
    store = SqlRunStore.from_uri(sqlite_url, auto_create=True)
    try:
        store.create_run("p")
        with store.engine.connect() as conn:
            pragma = {
                name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                for name in ("journal_mode", "foreign_keys", "synchronous", "busy_timeout")
            }
        assert pragma == {
            "journal_mode": "wal",
            "foreign_keys": 1,
            "synchronous": 1,  # NORMAL
            "busy_timeout": 30_000,
        }
        database = Path(sqlite_url.removeprefix("sqlite:///"))
        assert database.exists()
        assert database.with_name(database.name + "-wal").exists()
    finally:
        store.close()


def test_open_store_picks_the_sql_store(sqlite_url: str) -> None:
    store = open_store(sqlite_url, auto_create=True)
    try:
        assert isinstance(store, SqlRunStore)
    finally:
        store.close()


def test_unreachable_postgres_is_unavailable_without_the_password() -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"postgresql+psycopg://user:s3cret@127.0.0.1:{port}/shipyard?connect_timeout=2"
    with pytest.raises(Unavailable) as info:
        SqlRunStore.from_uri(url)
    assert "127.0.0.1" in info.value.message
    assert "s3cret" not in str(info.value)
    assert "***" in info.value.message


def test_unsupported_uri_is_refused() -> None:
    with pytest.raises(InvalidArgument, match="mysql"):
        SqlRunStore.from_uri("mysql://user@localhost/db")


def test_opening_a_current_store_does_not_import_alembic(sqlite_url: str) -> None:
    migrate.upgrade(sqlite_url)
    code = (
        "import sys\n"
        "from shipyard.store.sql.store import SqlRunStore\n"
        f"SqlRunStore.from_uri({sqlite_url!r}).close()\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'alembic'))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60
    )
    assert done.stdout.strip() == "[]"
