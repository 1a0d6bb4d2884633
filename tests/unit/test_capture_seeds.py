"""seed_everything: random and numpy repeat, the environment is set, bad seeds are refused."""

from __future__ import annotations

import os
import random

import numpy as np
import pytest

from shipyard.capture import seed_everything
from shipyard.errors import InvalidArgument


@pytest.fixture(autouse=True)
def _restore_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("PYTHONHASHSEED", "CUBLAS_WORKSPACE_CONFIG", "TF_DETERMINISTIC_OPS"):
        monkeypatch.delenv(name, raising=False)


def draw() -> tuple[list[float], list[float]]:
    return [random.random() for _ in range(5)], np.random.rand(5).tolist()


def test_random_and_numpy_repeat() -> None:
    seed_everything(123)
    first = draw()
    seed_everything(123)
    assert draw() == first
    seed_everything(124)
    assert draw() != first


def test_record() -> None:
    record = seed_everything(7)
    assert record["schema"] == 1
    assert record["seed"] == 7
    assert record["deterministic"] is False
    assert record["seeded"][:2] == ["random", "numpy"]
    assert record["env"] == {"PYTHONHASHSEED": "7"}
    assert os.environ["PYTHONHASHSEED"] == "7"
    assert "CUBLAS_WORKSPACE_CONFIG" not in os.environ
    assert record["errors"] == []


def test_deterministic_sets_library_switches(monkeypatch: pytest.MonkeyPatch) -> None:
    record = seed_everything(0, deterministic=True)
    assert record["env"]["CUBLAS_WORKSPACE_CONFIG"] == ":4096:8"
    assert os.environ["TF_DETERMINISTIC_OPS"] == "1"
    monkeypatch.setenv("CUBLAS_WORKSPACE_CONFIG", ":16:8")
    record = seed_everything(0, deterministic=True)
    assert record["env"]["CUBLAS_WORKSPACE_CONFIG"] == ":16:8"  # the user's choice is kept


@pytest.mark.parametrize("seed", [-1, 2**32, 1.5, "42", True])
def test_bad_seed_is_refused(seed: object) -> None:
    with pytest.raises(InvalidArgument, match="seed must be an integer") as info:
        seed_everything(seed)  # type: ignore[arg-type]
    assert info.value.hint
