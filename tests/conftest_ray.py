"""A session-scoped local Ray head node (loaded by tests/conftest.py as a plugin).

Started on first use only, on loopback, in a temp dir; stopped at the end of the session,
stopping only the processes it started.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator

import pytest

from shipyard.testing.ray_cluster import RAY_ENV, RayHead, local_ray_head


@pytest.fixture(scope="session")
def ray_head(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RayHead]:
    """A Ray head node with the Jobs API for the whole session."""
    if importlib.util.find_spec("ray") is None:
        if os.environ.get("SHIPYARD_TEST_REQUIRE_SERVICES"):
            pytest.fail("ray must be installed when SHIPYARD_TEST_REQUIRE_SERVICES is set (CI)")
        pytest.skip("the Ray tests need 'shipyard[ray]'")
    with local_ray_head(tmp_path_factory.mktemp("ray")) as head:
        yield head


@pytest.fixture
def ray_address(ray_head: RayHead, monkeypatch: pytest.MonkeyPatch) -> str:
    """The head node's Jobs API URL, with this process set up as a client (no auth)."""
    for key, value in RAY_ENV.items():
        monkeypatch.setenv(key, value)
    return ray_head.dashboard_url
