"""The RunStore contract over SQLite (a file in WAL mode) and PostgreSQL."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from shipyard.store.base import RunStore
from shipyard.store.sql.migrate import upgrade
from shipyard.store.sql.models import Base
from shipyard.store.sql.store import SqlRunStore
from shipyard.testing.store_contract import RunStoreContract

PG_URL_ENV = "SHIPYARD_TEST_POSTGRES_URL"


class TestSqliteRunStore(RunStoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[RunStore]:
        store = SqlRunStore.from_uri(f"sqlite:///{tmp_path}/db/shipyard.db", auto_create=True)
        yield store
        store.close()


@pytest.fixture(scope="module")
def pg_contract_url() -> Iterator[str]:
    """One migrated PostgreSQL database for the whole suite (each test starts from empty tables):
    creating and migrating a database per test would cost half a second each."""
    admin = os.environ.get(PG_URL_ENV)
    if not admin:
        pytest.skip(f"{PG_URL_ENV} is not set")
    name = f"shipyard_c_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = f"{admin.rsplit('/', 1)[0]}/{name}"
    try:
        upgrade(url)
        yield url
    finally:
        with engine.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


@pytest.mark.postgres
class TestPostgresRunStore(RunStoreContract):
    @pytest.fixture
    def store(self, pg_contract_url: str) -> Iterator[RunStore]:
        store = SqlRunStore.from_uri(pg_contract_url)
        with store.engine.begin() as conn:  # DELETE: far cheaper than TRUNCATE on tiny tables
            for table in reversed(Base.metadata.sorted_tables):
                conn.execute(table.delete())
        yield store
        store.close()
