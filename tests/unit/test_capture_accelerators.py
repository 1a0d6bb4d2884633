"""GPU and CUDA-stack probe: CPU-only behaviour, nvidia-smi parsing, library versions."""

from __future__ import annotations

import os
import shutil
from types import ModuleType, SimpleNamespace

import pytest

from shipyard.capture import capture_accelerators
from shipyard.capture.accelerators import cuda_libraries, parse_smi_csv

HAS_NVIDIA = os.path.exists("/proc/driver/nvidia/version") or shutil.which("nvidia-smi")


@pytest.mark.skipif(bool(HAS_NVIDIA), reason="this machine has an NVIDIA driver")
def test_cpu_only_machine() -> None:
    record = capture_accelerators({}, {"CUDA_VISIBLE_DEVICES": "0,1"}, {})
    assert record == {
        "gpus": [],
        "gpu_source": None,
        "driver_version": None,
        "cuda_driver_version": None,
        "cuda_visible_devices": "0,1",
        "cuda": None,
        "cudnn": None,
        "nccl": None,
        "library_source": None,
        "errors": [],
    }


@pytest.mark.skipif(not HAS_NVIDIA, reason="needs an NVIDIA driver")
def test_gpu_machine_lists_gpus() -> None:
    record = capture_accelerators()
    assert record["errors"] == []
    assert record["gpus"]
    assert record["driver_version"]
    assert all(gpu["name"] and gpu["memory_total_bytes"] > 0 for gpu in record["gpus"])


def test_parse_smi_csv() -> None:
    fields = (
        "index",
        "name",
        "uuid",
        "memory.total",
        "pci.bus_id",
        "driver_version",
        "compute_cap",
    )
    text = (
        "0, NVIDIA H100 80GB HBM3, GPU-aaaa, 81559, 00000000:18:00.0, 550.54.15, 9.0\n"
        "1, NVIDIA H100 80GB HBM3, GPU-bbbb, 81559, 00000000:2A:00.0, 550.54.15, 9.0\n"
    )
    gpus, driver = parse_smi_csv(text, fields)
    assert driver == "550.54.15"
    assert gpus[1] == {
        "index": 1,
        "name": "NVIDIA H100 80GB HBM3",
        "uuid": "GPU-bbbb",
        "memory_total_bytes": 81559 << 20,
        "pci_bus_id": "00000000:2A:00.0",
        "compute_capability": "9.0",
    }


def test_library_versions_from_nvidia_wheels() -> None:
    packages = {"nvidia-cuda-runtime-cu12": "12.1.105", "nvidia-cudnn-cu12": "8.9.2.26"}
    assert cuda_libraries(packages, {}) == {
        "cuda": "12.1.105",
        "cudnn": "8.9.2.26",
        "nccl": None,
        "library_source": "distributions",
    }


def test_library_versions_from_an_imported_torch() -> None:
    def nccl_version() -> tuple[int, int, int]:
        return (2, 20, 5)

    torch = ModuleType("torch")
    torch.version = SimpleNamespace(cuda="12.1")  # type: ignore[attr-defined]
    torch.backends = SimpleNamespace(cudnn=SimpleNamespace(version=lambda: 8902))  # type: ignore[attr-defined]
    torch.cuda = SimpleNamespace(nccl=SimpleNamespace(version=nccl_version))  # type: ignore[attr-defined]
    found = cuda_libraries({"nvidia-cudnn-cu12": "1.0"}, {"torch": torch})
    assert found == {"cuda": "12.1", "cudnn": "8902", "nccl": "2.20.5", "library_source": "torch"}
