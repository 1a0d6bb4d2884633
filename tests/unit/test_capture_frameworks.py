"""Framework versions without imports, and determinism settings."""

from __future__ import annotations

import sys
from importlib import metadata
from types import ModuleType, SimpleNamespace

from shipyard.capture import capture_frameworks


def test_versions_of_installed_frameworks() -> None:
    record = capture_frameworks(environ={})
    assert record["versions"]["numpy"] == metadata.version("numpy")
    assert record["versions"]["scikit-learn"] == metadata.version("scikit-learn")
    assert record["errors"] == []


def test_versions_come_from_the_given_packages() -> None:
    record = capture_frameworks({"torch": "2.3.0", "pandas": "2.2.2", "requests": "2.0"}, {}, {})
    assert record["versions"] == {"torch": "2.3.0", "pandas": "2.2.2"}
    assert record["imported"] == []
    assert record["determinism"] == {"env": {}, "torch": None, "tensorflow": None}


def test_determinism_environment_variables() -> None:
    env = {"PYTHONHASHSEED": "0", "CUBLAS_WORKSPACE_CONFIG": ":4096:8", "HOME": "/root"}
    record = capture_frameworks({}, env, {})
    assert record["determinism"]["env"] == {
        "PYTHONHASHSEED": "0",
        "CUBLAS_WORKSPACE_CONFIG": ":4096:8",
    }


def test_flags_of_an_imported_torch() -> None:
    torch = ModuleType("torch")
    torch.are_deterministic_algorithms_enabled = lambda: True  # type: ignore[attr-defined]
    torch.backends = SimpleNamespace(  # type: ignore[attr-defined]
        cudnn=SimpleNamespace(deterministic=True, benchmark=False, allow_tf32=True),
        cuda=SimpleNamespace(matmul=SimpleNamespace(allow_tf32=False)),
    )
    record = capture_frameworks({"torch": "2.3.0"}, {}, {"torch": torch, "numpy": sys})
    flags = record["determinism"]["torch"]
    assert flags == {
        "deterministic_algorithms": True,
        "deterministic_warn_only": None,  # this torch lacks the function: recorded, not raised
        "cudnn_deterministic": True,
        "cudnn_benchmark": False,
        "cudnn_allow_tf32": True,
        "cuda_matmul_allow_tf32": False,
    }
    assert record["imported"] == ["numpy", "torch"]
    assert [error["step"] for error in record["errors"]] == ["torch deterministic_warn_only"]
