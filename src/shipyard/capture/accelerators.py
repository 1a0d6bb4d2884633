"""GPUs, the driver, and the CUDA / cuDNN / NCCL versions a run uses.

GPUs come from NVML (``pynvml``, from ``pip install 'shipyard[gpu]'``) or, without it, from
``nvidia-smi --query-gpu`` (5 s timeout). Neither is tried on a Linux machine without an NVIDIA
driver, so CPU-only machines pay nothing. Library versions come from a framework that the
program has *already* imported (importing torch takes seconds), otherwise from installed
distributions such as ``nvidia-cudnn-cu12``.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import sys
from collections.abc import Mapping
from types import ModuleType
from typing import Any

from shipyard.capture._common import ProbeErrors, Record, environ_or_default, run_command
from shipyard.errors import ShipyardError

_SMI_FIELDS = ("index", "name", "uuid", "memory.total", "pci.bus_id", "driver_version")
# Distributions that ship the CUDA libraries as wheels (torch and jax depend on them).
_LIBRARY_DISTS = {
    "cuda": ("nvidia-cuda-runtime-cu12", "nvidia-cuda-runtime-cu11", "nvidia-cuda-runtime"),
    "cudnn": ("nvidia-cudnn-cu12", "nvidia-cudnn-cu11", "nvidia-cudnn"),
    "nccl": ("nvidia-nccl-cu12", "nvidia-nccl-cu11", "nvidia-nccl"),
}


def capture_accelerators(
    packages: Mapping[str, str] | None = None,
    environ: Mapping[str, str] | None = None,
    modules: Mapping[str, ModuleType] | None = None,
) -> Record:
    """Describe the GPUs and the CUDA stack; never raises, quick on CPU-only machines.

    Args:
        packages: ``{canonical name: version}`` of installed distributions (the packages probe).
        environ: the variables to read (default: ``os.environ``).
        modules: the imported modules to look at (default: ``sys.modules``).

    Returns ``{"gpus", "gpu_source", "driver_version", "cuda_driver_version",
    "cuda_visible_devices", "cuda", "cudnn", "nccl", "library_source", "errors"}``. Each GPU is
    ``{"index", "name", "uuid", "memory_total_bytes", "pci_bus_id", "compute_capability"}``.
    On a machine without GPUs: ``{"gpus": [], "cuda": None, ...}``.
    """
    env = environ_or_default(environ)
    errors = ProbeErrors("accelerators")
    record: Record = {"gpus": [], "gpu_source": None, "driver_version": None}
    record["cuda_driver_version"] = None
    if _nvidia_driver_present():
        record.update(_probe_gpus(errors))
    record["cuda_visible_devices"] = env.get("CUDA_VISIBLE_DEVICES")
    libraries: Record = {"cuda": None, "cudnn": None, "nccl": None, "library_source": None}
    with errors.guard("cuda libraries"):
        libraries = cuda_libraries(packages or {}, sys.modules if modules is None else modules)
    record.update(libraries)
    record["errors"] = errors.items
    return record


def _nvidia_driver_present() -> bool:
    if sys.platform.startswith("linux"):
        markers = ("/proc/driver/nvidia/version", "/dev/nvidiactl", "/usr/lib/wsl/lib/nvidia-smi")
        if any(os.path.exists(marker) for marker in markers):
            return True
    return shutil.which("nvidia-smi") is not None


def _probe_gpus(errors: ProbeErrors) -> Record:
    try:
        return _from_nvml()
    except ImportError:
        pass  # the [gpu] extra is not installed: nvidia-smi is the fallback
    except Exception as exc:
        errors.add("nvml", exc)
    with errors.guard("nvidia-smi"):
        found = _from_nvidia_smi()
        with errors.guard("cuda driver version (libcuda)"):
            found["cuda_driver_version"] = _libcuda_version()
        return found
    return {}


def _from_nvml() -> Record:
    import pynvml

    pynvml.nvmlInit()
    try:
        cuda = _cuda_text(pynvml.nvmlSystemGetCudaDriverVersion_v2())
        gpus = [_nvml_gpu(pynvml, i) for i in range(pynvml.nvmlDeviceGetCount())]
        driver = _text(pynvml.nvmlSystemGetDriverVersion())
    finally:
        pynvml.nvmlShutdown()
    return {
        "gpus": gpus,
        "gpu_source": "nvml",
        "driver_version": driver,
        "cuda_driver_version": cuda,
    }


def _nvml_gpu(pynvml: Any, index: int) -> Record:
    handle = pynvml.nvmlDeviceGetHandleByIndex(index)
    try:
        major, minor = pynvml.nvmlDeviceGetCudaComputeCapability(handle)
        capability: str | None = f"{major}.{minor}"
    except pynvml.NVMLError:
        capability = None
    return {
        "index": index,
        "name": _text(pynvml.nvmlDeviceGetName(handle)),
        "uuid": _text(pynvml.nvmlDeviceGetUUID(handle)),
        "memory_total_bytes": int(pynvml.nvmlDeviceGetMemoryInfo(handle).total),
        "pci_bus_id": _text(pynvml.nvmlDeviceGetPciInfo(handle).busId),
        "compute_capability": capability,
    }


def _from_nvidia_smi() -> Record:
    fields: tuple[str, ...] = (*_SMI_FIELDS, "compute_cap")
    try:
        out = _query_smi(fields)
    except ShipyardError:  # drivers older than 510 do not know compute_cap
        fields = _SMI_FIELDS
        out = _query_smi(fields)
    gpus, driver = parse_smi_csv(out, fields)
    return {"gpus": gpus, "gpu_source": "nvidia-smi", "driver_version": driver}


def _query_smi(fields: tuple[str, ...]) -> str:
    args = ["nvidia-smi", f"--query-gpu={','.join(fields)}", "--format=csv,noheader,nounits"]
    return run_command(args, timeout=5.0).decode("utf-8", errors="replace")


def parse_smi_csv(text: str, fields: tuple[str, ...]) -> tuple[list[Record], str | None]:
    """GPUs and the driver version from ``nvidia-smi --format=csv,noheader,nounits`` output."""
    gpus: list[Record] = []
    driver: str | None = None
    for line in text.strip().splitlines():
        row = dict(zip(fields, (cell.strip() for cell in line.split(",")), strict=False))
        driver = driver or row.get("driver_version")
        memory = row.get("memory.total", "")
        gpus.append(
            {
                "index": int(row["index"]) if row.get("index", "").isdigit() else len(gpus),
                "name": row.get("name"),
                "uuid": row.get("uuid"),
                "memory_total_bytes": int(memory) << 20 if memory.isdigit() else None,
                "pci_bus_id": row.get("pci.bus_id"),
                "compute_capability": row.get("compute_cap"),
            }
        )
    return gpus, driver


def _libcuda_version() -> str | None:
    """The CUDA version the driver supports, from ``cuDriverGetVersion`` (no CUDA context)."""
    name = "nvcuda.dll" if sys.platform == "win32" else "libcuda.so.1"
    try:
        libcuda = ctypes.CDLL(name)
    except OSError:
        return None
    version = ctypes.c_int(0)
    if libcuda.cuDriverGetVersion(ctypes.byref(version)) != 0:
        return None
    return _cuda_text(version.value)


def _cuda_text(version: int) -> str:
    """12040 -> '12.4' (CUDA's integer encoding)."""
    return f"{version // 1000}.{(version % 1000) // 10}"


def _text(value: object) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def cuda_libraries(packages: Mapping[str, str], modules: Mapping[str, ModuleType]) -> Record:
    """CUDA runtime, cuDNN and NCCL versions: from torch / tensorflow when already imported,
    else from the installed NVIDIA wheels."""
    torch = modules.get("torch")
    if torch is not None and getattr(getattr(torch, "version", None), "cuda", None):
        return {**_from_torch(torch), "library_source": "torch"}
    tensorflow = modules.get("tensorflow")
    if tensorflow is not None:
        found = _from_tensorflow(tensorflow)
        if found.get("cuda"):
            return {**found, "library_source": "tensorflow"}
    found = {key: _first_version(packages, names) for key, names in _LIBRARY_DISTS.items()}
    source = "distributions" if any(found.values()) else None
    return {**found, "library_source": source}


def _from_torch(torch: Any) -> Record:
    cudnn = torch.backends.cudnn.version() if hasattr(torch, "backends") else None
    try:
        nccl = torch.cuda.nccl.version()
    except Exception:  # CPU builds and builds without NCCL
        nccl = None
    nccl_text = ".".join(str(p) for p in nccl) if isinstance(nccl, tuple) else nccl
    return {
        "cuda": str(torch.version.cuda),
        "cudnn": None if cudnn is None else str(cudnn),
        "nccl": None if nccl_text is None else str(nccl_text),
    }


def _from_tensorflow(tensorflow: Any) -> Record:
    info = tensorflow.sysconfig.get_build_info()
    return {"cuda": info.get("cuda_version"), "cudnn": info.get("cudnn_version"), "nccl": None}


def _first_version(packages: Mapping[str, str], names: tuple[str, ...]) -> str | None:
    return next((packages[name] for name in names if name in packages), None)
