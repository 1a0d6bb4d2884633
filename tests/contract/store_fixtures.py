"""Stores for the contract tests, as a pytest plugin: a test module opts in with
``pytest_plugins = ["store_fixtures"]``.

``sql_store`` is a fresh ``SqlRunStore`` on SQLite and (marked ``postgres``) on PostgreSQL;
``sqlite_store`` is the SQLite one alone; ``http_runs`` is the SDK's HTTP run store against the app
in-process over ``sqlite_store`` (``app_client`` its client, ``server_blobs`` its artifacts).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from shipyard.artifacts.local import LocalArtifactStore
from shipyard.sdk._http_store import HttpRunStore
from shipyard.server.app import create_app
from shipyard.store.sql.store import SqlRunStore
from shipyard.testing.asgi import asgi_client


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[SqlRunStore]:
    """An empty SQLite store."""
    store = SqlRunStore.from_uri(f"sqlite:///{tmp_path}/db/shipyard.db", auto_create=True)
    yield store
    store.close()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def sql_store(request: pytest.FixtureRequest) -> Iterator[SqlRunStore]:
    """An empty store on each SQL engine (PostgreSQL skips without a test database)."""
    if request.param == "sqlite":
        yield request.getfixturevalue("sqlite_store")
        return
    store = SqlRunStore.from_uri(request.getfixturevalue("pg_url"), auto_create=True)
    yield store
    store.close()


@pytest.fixture
def server_blobs(tmp_path: Path) -> LocalArtifactStore:
    """The in-process server's artifact store."""
    return LocalArtifactStore(tmp_path / "artifacts")


@pytest.fixture
def app_client(
    sqlite_store: SqlRunStore, server_blobs: LocalArtifactStore
) -> Iterator[httpx.Client]:
    """An HTTP client for the app in-process, serving ``sqlite_store``."""
    client = asgi_client(create_app(sqlite_store, server_blobs))
    yield client
    client.close()


@pytest.fixture
def http_runs(app_client: httpx.Client) -> Iterator[HttpRunStore]:
    """The SDK's HTTP run store over ``app_client``."""
    store = HttpRunStore("http://shipyard.test", client=app_client)
    yield store
    store.close()
