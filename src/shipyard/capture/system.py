"""The interpreter and the machine: Python build, OS, kernel, CPU, memory, host and scheduler ids.

Cheap reads only: ``platform.uname().processor`` and ``platform.libc_ver()`` are avoided (one
spawns ``uname -p``, the other reads the whole interpreter binary).
"""

from __future__ import annotations

import os
import platform
import socket
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from shipyard.capture._common import ProbeErrors, Record, environ_or_default, read_text

_SLURM_KEYS = (
    "SLURM_JOB_ID",
    "SLURM_JOB_NAME",
    "SLURM_ARRAY_JOB_ID",
    "SLURM_ARRAY_TASK_ID",
    "SLURM_STEP_ID",
    "SLURM_PROCID",
    "SLURM_LOCALID",
    "SLURM_NODEID",
    "SLURM_NTASKS",
    "SLURM_JOB_NUM_NODES",
    "SLURM_JOB_NODELIST",
    "SLURM_JOB_PARTITION",
    "SLURM_JOB_ACCOUNT",
    "SLURM_CLUSTER_NAME",
    "SLURM_SUBMIT_DIR",
    "SLURM_RESTART_COUNT",
)
# Downward-API variables as the Kubernetes docs and common charts name them.
_K8S_ENV = {
    "pod_name": ("POD_NAME", "K8S_POD_NAME", "MY_POD_NAME"),
    "namespace": ("POD_NAMESPACE", "K8S_NAMESPACE", "MY_POD_NAMESPACE"),
    "node_name": ("NODE_NAME", "K8S_NODE_NAME", "MY_NODE_NAME"),
    "pod_uid": ("POD_UID", "K8S_POD_UID", "MY_POD_UID"),
}
_SERVICE_ACCOUNT_NAMESPACE = "var/run/secrets/kubernetes.io/serviceaccount/namespace"


def capture_python(environ: Mapping[str, str] | None = None) -> Record:
    """The running interpreter: version, implementation, executable and environment kind."""
    env = environ_or_default(environ)
    return {
        "version": platform.python_version(),
        "implementation": platform.python_implementation(),
        "executable": sys.executable,
        "compiler": platform.python_compiler(),
        "build": list(platform.python_build()),
        "prefix": sys.prefix,
        "base_prefix": sys.base_prefix,
        "virtualenv": sys.prefix != sys.base_prefix,
        "conda_env": env.get("CONDA_DEFAULT_ENV"),
        "hash_randomization": bool(sys.flags.hash_randomization),
    }


def capture_system(environ: Mapping[str, str] | None = None, *, root: Path = Path("/")) -> Record:
    """OS, kernel, CPU, memory, hostname, and Kubernetes / Slurm ids; never raises.

    Args:
        environ: the variables to read (default: ``os.environ``).
        root: the file-system root to read ``/proc`` and friends under (tests pass a folder).

    Returns ``{"os", "hostname", "cpu", "memory_total_bytes", "kubernetes", "slurm", "errors"}``;
    ``kubernetes`` and ``slurm`` are ``None`` outside those schedulers.
    """
    env = environ_or_default(environ)
    errors = ProbeErrors("system")
    record: Record = {"os": None, "hostname": None, "cpu": None, "memory_total_bytes": None}
    with errors.guard("os"):
        record["os"] = _os_info(root)
    with errors.guard("hostname"):
        record["hostname"] = socket.gethostname()
    with errors.guard("cpu"):
        record["cpu"] = _cpu_info(root, errors)
    with errors.guard("memory"):
        record["memory_total_bytes"] = _memory_total()
    record["kubernetes"] = kubernetes_info(env, root=root)
    record["slurm"] = slurm_info(env)
    record["errors"] = errors.items
    return record


def _os_info(root: Path) -> Record:
    uname = os.uname() if hasattr(os, "uname") else None
    info: Record = {
        "system": platform.system(),
        "release": platform.release(),
        "version": platform.version(),
        "machine": platform.machine(),
        "kernel": None if uname is None else f"{uname.sysname} {uname.release} {uname.version}",
        "distribution": None,
        "libc": _libc(),
    }
    if sys.platform.startswith("linux"):
        info["distribution"] = _os_release(root)
    elif sys.platform == "darwin":
        info["distribution"] = f"macOS {platform.mac_ver()[0]}"
    elif sys.platform == "win32":
        info["distribution"] = " ".join(platform.win32_ver()[:2])
    return info


def _os_release(root: Path) -> str | None:
    for name in ("etc/os-release", "usr/lib/os-release"):
        text = read_text(root / name)
        if text is not None:
            fields = dict(_key_values(text, "="))
            return fields.get("PRETTY_NAME") or fields.get("NAME")
    return None


def _libc() -> str | None:
    try:
        return os.confstr("CS_GNU_LIBC_VERSION")
    except (AttributeError, ValueError, OSError):
        return None


def _key_values(text: str, separator: str) -> list[tuple[str, str]]:
    pairs = []
    for line in text.splitlines():
        key, sep, value = line.partition(separator)
        if sep:
            pairs.append((key.strip(), value.strip().strip('"')))
    return pairs


def _cpu_info(root: Path, errors: ProbeErrors) -> Record:
    model, physical = None, None
    cpuinfo = read_text(root / "proc/cpuinfo", limit=4 << 20)
    if cpuinfo is not None:
        model, physical = parse_cpuinfo(cpuinfo)
    if model is None and sys.platform == "darwin":
        with errors.guard("cpu model (sysctl)"):
            model = _sysctl("machdep.cpu.brand_string")
    if model is None and sys.platform == "win32":
        model = platform.processor() or None
    if physical is None:
        physical = _psutil_physical_cores()
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    return {
        "model": model,
        "logical_cores": os.cpu_count(),
        "physical_cores": physical,
        "usable_cores": usable,
    }


def parse_cpuinfo(text: str) -> tuple[str | None, int | None]:
    """The CPU model and the number of physical cores described by ``/proc/cpuinfo``."""
    model: str | None = None
    cores: set[tuple[str, str]] = set()
    physical_id = ""
    for key, value in _key_values(text, ":"):
        if key in ("model name", "Hardware", "cpu model", "Model") and model is None and value:
            model = value
        elif key == "physical id":
            physical_id = value
        elif key == "core id":
            cores.add((physical_id, value))
    return model, (len(cores) or None)


def _sysctl(name: str) -> str | None:
    done = subprocess.run(
        ["sysctl", "-n", name], capture_output=True, timeout=2, check=False, text=True
    )
    return done.stdout.strip() or None


def _psutil_physical_cores() -> int | None:
    try:
        import psutil
    except ImportError:
        return None
    return psutil.cpu_count(logical=False)


def _memory_total() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):
        pass
    try:
        import psutil
    except ImportError:
        return None
    return int(psutil.virtual_memory().total)


def kubernetes_info(environ: Mapping[str, str], *, root: Path = Path("/")) -> Record | None:
    """Pod name, namespace, node and uid when running in a Kubernetes pod, else ``None``."""
    if "KUBERNETES_SERVICE_HOST" not in environ:
        return None
    info: Record = {
        field: next((environ[name] for name in names if environ.get(name)), None)
        for field, names in _K8S_ENV.items()
    }
    info["pod_name"] = info["pod_name"] or environ.get("HOSTNAME") or socket.gethostname()
    if info["namespace"] is None:
        text = read_text(root / _SERVICE_ACCOUNT_NAMESPACE)
        info["namespace"] = text.strip() if text else None
    return info


def slurm_info(environ: Mapping[str, str]) -> Record | None:
    """The Slurm job, array and step ids (``SLURM_*`` variables), else ``None``."""
    if "SLURM_JOB_ID" not in environ:
        return None
    return {
        key.removeprefix("SLURM_").lower(): environ[key] for key in _SLURM_KEYS if key in environ
    }
