"""The search contract over the SQL store: SQLite (a file) and PostgreSQL (a fresh database)."""

from __future__ import annotations

import base64
import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from shipyard.errors import InvalidArgument
from shipyard.store.base import RunStore, SearchQuery
from shipyard.store.sql.store import SqlRunStore
from shipyard.testing.search_contract import SearchContract


class TestSqliteSearch(SearchContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Iterator[RunStore]:
        store = SqlRunStore.from_uri(f"sqlite:///{tmp_path / 'shipyard.db'}", auto_create=True)
        yield store
        store.close()


@pytest.mark.postgres
class TestPostgresSearch(SearchContract):
    @pytest.fixture
    def store(self, pg_url: str) -> Iterator[RunStore]:
        store = SqlRunStore.from_uri(pg_url, auto_create=True)
        yield store
        store.close()


# --- SQL-specific promises ---------------------------------------------------------------------


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[SqlRunStore]:
    store = SqlRunStore.from_uri(f"sqlite:///{tmp_path / 'shipyard.db'}", auto_create=True)
    yield store
    store.close()


def _statements(store: SqlRunStore) -> list[tuple[str, Any]]:
    """Record every statement the store sends to the driver, with its parameters."""
    seen: list[tuple[str, Any]] = []

    def record(conn: Any, cursor: Any, statement: str, params: Any, *_: Any) -> None:
        seen.append((statement, params))

    event.listen(store.engine, "before_cursor_execute", record)
    return seen


def test_filter_values_and_keys_travel_as_bound_parameters(sqlite_store: SqlRunStore) -> None:
    sqlite_store.create_run("p", name="a", params={"opt": "adam"})
    seen = _statements(sqlite_store)
    text = "params.`k' OR 1=1 --` = 'v'' OR ''x''=''x' OR tags.t LIKE '%x%'"
    assert sqlite_store.search_runs(SearchQuery(project="p", filter=text)).items == []
    search = [stmt for stmt, _ in seen if "EXISTS" in stmt]
    assert len(search) == 1
    assert "OR 1=1" not in search[0]
    assert "%x%" not in search[0]
    params = next(p for stmt, p in seen if stmt == search[0])
    assert "k' OR 1=1 --" in params
    assert "v' OR 'x'='x" in params


def _token_with(token: str, change: Any) -> str:
    data = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    data["k"] = change(data["k"])
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_page_tokens_with_forged_values_are_refused(sqlite_store: SqlRunStore) -> None:
    for i in range(3):
        sqlite_store.create_run("p", name=f"r{i}", start_time=1000 + i, params={"x": i})
    query = SearchQuery(project="p", order_by=["params.x", "name"], limit=1)
    token = sqlite_store.search_runs(query).next_page_token
    assert token is not None
    forged = [
        lambda k: k[:-1],
        lambda k: [*k, 1],
        lambda k: ["zero", *k[1:]],
        lambda k: [k[0], 5, *k[2:]],
        lambda k: [*k[:2], "r\x00", k[3]],
        lambda k: [True, *k[1:]],
        lambda k: [*k[:-1], None],
        lambda k: [*k[:-1], 2**70],
        lambda k: [{"x": 1}, *k[1:]],
    ]
    for change in forged:
        with pytest.raises(InvalidArgument, match="invalid page token"):
            sqlite_store.search_runs(
                dataclasses.replace(query, page_token=_token_with(token, change))
            )
    walked = dataclasses.replace(query, page_token=_token_with(token, lambda k: k))
    assert [run.name for run in sqlite_store.search_runs(walked).items] == ["r1"]
