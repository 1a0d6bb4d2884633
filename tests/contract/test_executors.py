"""The executor contract over every backend: local processes (always) and Ray Jobs on a local
head node (session-scoped, started and stopped by ``tests/conftest_ray.py``)."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipyard.executors.local import LocalExecutor
from shipyard.executors.ray import RayExecutor
from shipyard.testing.executor_contract import ExecutorContract


class TestLocalExecutor(ExecutorContract):
    @pytest.fixture
    def executor(self, tmp_path: Path) -> LocalExecutor:
        return LocalExecutor(tmp_path / "jobs", grace_s=2)


@pytest.mark.slow
class TestRayExecutor(ExecutorContract):
    @pytest.fixture
    def executor(self, ray_address: str) -> RayExecutor:
        return RayExecutor(ray_address)
