"""The TriggerStore contract over SQLite and PostgreSQL."""

from __future__ import annotations

import pytest

from shipyard.store.sql.store import SqlRunStore
from shipyard.store.triggers import TriggerStore
from shipyard.testing.trigger_contract import TriggerStoreContract

pytest_plugins = ["store_fixtures"]  # sql_store


class TestSqlTriggerStore(TriggerStoreContract):
    @pytest.fixture
    def triggers(self, sql_store: SqlRunStore) -> TriggerStore:
        return sql_store
