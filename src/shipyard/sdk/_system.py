"""System metrics: a daemon thread samples the machine every few seconds while a run is active.

Keys (all under ``system/``): ``cpu_percent``, ``memory_percent``, ``memory_used_mb``,
``process_rss_mb``, ``process_cpu_percent``, ``disk_read_mb`` / ``disk_write_mb`` and
``network_sent_mb`` / ``network_recv_mb`` (since the run started), and per NVIDIA GPU when NVML is
available (``pip install 'shipyard[gpu]'``): ``gpu{i}/utilization``, ``gpu{i}/memory_used_mb``,
``gpu{i}/memory_percent``, ``gpu{i}/temperature``, ``gpu{i}/power_w``. The step is the sample index.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from types import ModuleType
from typing import Any

import psutil

logger = logging.getLogger("shipyard.sdk")

MB = 1024 * 1024
Sink = Callable[[int, dict[str, float]], None]
"""Receives ``(sample_index, values)``."""


class _Gpus:
    """NVIDIA GPUs through NVML; empty when ``pynvml`` or a driver is missing."""

    def __init__(self) -> None:
        self._nvml: ModuleType | None = None
        self._handles: list[Any] = []
        try:
            import pynvml

            pynvml.nvmlInit()
            count = pynvml.nvmlDeviceGetCount()
            self._handles = [pynvml.nvmlDeviceGetHandleByIndex(i) for i in range(count)]
            self._nvml = pynvml
        except Exception:  # no package, no driver, no device: no GPU metrics
            self._handles = []

    def sample(self) -> dict[str, float]:
        values: dict[str, float] = {}
        for index, handle in enumerate(self._handles):
            values.update(self._sample_one(index, handle))
        return values

    def _sample_one(self, index: int, handle: Any) -> dict[str, float]:
        nvml = self._nvml
        assert nvml is not None
        prefix = f"system/gpu{index}/"
        out: dict[str, float] = {}
        readers: dict[str, Callable[[], float]] = {
            "utilization": lambda: float(nvml.nvmlDeviceGetUtilizationRates(handle).gpu),
            "memory_used_mb": lambda: nvml.nvmlDeviceGetMemoryInfo(handle).used / MB,
            "memory_percent": lambda: _percent(nvml.nvmlDeviceGetMemoryInfo(handle)),
            "temperature": lambda: float(
                nvml.nvmlDeviceGetTemperature(handle, nvml.NVML_TEMPERATURE_GPU)
            ),
            "power_w": lambda: nvml.nvmlDeviceGetPowerUsage(handle) / 1000.0,
        }
        for name, read in readers.items():
            with contextlib.suppress(Exception):  # a GPU may lack a reading (power, on some)
                out[prefix + name] = float(read())
        return out

    def close(self) -> None:
        if self._nvml is not None:
            with contextlib.suppress(Exception):  # shutting down a library we no longer need
                self._nvml.nvmlShutdown()
            self._nvml = None


def _percent(info: Any) -> float:
    return 100.0 * float(info.used) / float(info.total) if info.total else 0.0


class SystemSampler:
    """Takes one sample of the machine; counters are reported relative to its creation."""

    def __init__(self) -> None:
        self._process = psutil.Process()
        self._gpus = _Gpus()
        self._disk0 = _disk_counters()
        self._net0 = _net_counters()
        psutil.cpu_percent(interval=None)  # the first call only primes the counter
        self._process.cpu_percent(interval=None)

    def sample(self) -> dict[str, float]:
        """One reading of every available metric."""
        memory = psutil.virtual_memory()
        values = {
            "system/cpu_percent": float(psutil.cpu_percent(interval=None)),
            "system/memory_percent": float(memory.percent),
            "system/memory_used_mb": memory.used / MB,
            "system/process_rss_mb": self._process.memory_info().rss / MB,
            "system/process_cpu_percent": float(self._process.cpu_percent(interval=None)),
        }
        disk, net = _disk_counters(), _net_counters()
        if disk is not None and self._disk0 is not None:
            values["system/disk_read_mb"] = (disk[0] - self._disk0[0]) / MB
            values["system/disk_write_mb"] = (disk[1] - self._disk0[1]) / MB
        if net is not None and self._net0 is not None:
            values["system/network_sent_mb"] = (net[0] - self._net0[0]) / MB
            values["system/network_recv_mb"] = (net[1] - self._net0[1]) / MB
        values.update(self._gpus.sample())
        return values

    def close(self) -> None:
        """Release NVML."""
        self._gpus.close()


def _disk_counters() -> tuple[int, int] | None:
    try:
        io = psutil.disk_io_counters()
    except (OSError, RuntimeError):
        return None
    return None if io is None else (io.read_bytes, io.write_bytes)


def _net_counters() -> tuple[int, int] | None:
    try:
        io = psutil.net_io_counters()
    except (OSError, RuntimeError):
        return None
    return None if io is None else (io.bytes_sent, io.bytes_recv)


class SystemMonitor:
    """Samples every ``interval`` seconds on a daemon thread and hands each sample to ``sink``."""

    def __init__(self, sink: Sink, interval: float) -> None:
        self._sink = sink
        self._interval = interval
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="shipyard-system", daemon=True)

    def start(self) -> None:
        """Start sampling (the first sample comes after one interval)."""
        self._thread.start()

    def stop(self) -> None:
        """Stop sampling and wait for the thread."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _loop(self) -> None:
        try:
            sampler = SystemSampler()
        except Exception:  # a locked-down /proc must not break the run
            logger.warning("system metrics are unavailable on this machine", exc_info=True)
            return
        index = 0
        try:
            while not self._stop.wait(self._interval):
                self._sink(index, sampler.sample())
                index += 1
        except Exception:  # sampling is best effort
            logger.warning("system metrics stopped", exc_info=True)
        finally:
            sampler.close()
