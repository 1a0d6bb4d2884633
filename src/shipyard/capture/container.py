"""Whether the run is inside a container, which one, from which image, and its cgroup limits.

Reads marker files (``/.dockerenv``, ``/run/.containerenv``), ``/proc/self/cgroup`` and
``/proc/self/mountinfo``. The image is rarely visible from inside a container, so it is taken from
``SHIPYARD_CONTAINER_IMAGE`` / ``CONTAINER_IMAGE`` (set them in the Dockerfile or pod spec) or from
podman's ``/run/.containerenv``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from shipyard.capture._common import ProbeErrors, Record, environ_or_default, read_text

IMAGE_VARIABLES = ("SHIPYARD_CONTAINER_IMAGE", "CONTAINER_IMAGE")
DIGEST_VARIABLES = ("SHIPYARD_CONTAINER_IMAGE_DIGEST", "CONTAINER_IMAGE_DIGEST")

_ID = re.compile(r"([0-9a-f]{64})")
_MOUNT_ID = re.compile(r"/(?:overlay-)?(?:containers|sandboxes)/([0-9a-f]{64})(?:/|\s)")
_DIGEST = re.compile(r"@(sha256:[0-9a-f]{64})")
# Words in cgroup paths, most specific first.
_CGROUP_RUNTIMES = (
    ("kubepods", "kubernetes"),
    ("libpod", "podman"),
    ("docker", "docker"),
    ("containerd", "containerd"),
    ("crio", "cri-o"),
    ("lxc", "lxc"),
)
_NO_LIMIT = 1 << 62  # cgroup v1 writes a huge number for "unlimited"


def capture_container(
    environ: Mapping[str, str] | None = None, *, root: Path = Path("/")
) -> Record:
    """Describe the container this process runs in; never raises.

    Args:
        environ: the variables to read (default: ``os.environ``).
        root: the file-system root to read marker files under (tests pass a folder).

    Returns ``{"in_container", "runtime", "hints", "id", "name", "image", "image_digest",
    "image_id", "limits", "errors"}``; ``limits`` holds the cgroup ``cpus`` (a float) and
    ``memory_bytes``, ``None`` where unlimited.

    Example::

        capture_container()["image"]  # 'ghcr.io/org/train:1.4' when CONTAINER_IMAGE is set
    """
    env = environ_or_default(environ)
    errors = ProbeErrors("container")
    record: Record = {"in_container": False, "runtime": None, "hints": [], "id": None}
    podman = _containerenv(root)
    with errors.guard("markers"):
        record.update(_identify(env, root, podman))
    with errors.guard("image"):
        record.update(_image(env, podman))
    record["limits"] = {"cpus": None, "memory_bytes": None}
    with errors.guard("cgroup limits"):
        record["limits"] = cgroup_limits(root)
    record["errors"] = errors.items
    return record


def _identify(env: Mapping[str, str], root: Path, podman: dict[str, str] | None) -> Record:
    hints: list[str] = []
    if (root / ".dockerenv").exists():
        hints.append("/.dockerenv")
    if podman is not None:
        hints.append("/run/.containerenv")
    cgroup = read_text(root / "proc/self/cgroup") or ""
    from_cgroup = next((name for word, name in _CGROUP_RUNTIMES if word in cgroup), None)
    if from_cgroup is not None:
        hints.append(f"cgroup:{from_cgroup}")
    for variable in ("KUBERNETES_SERVICE_HOST", "container"):
        if env.get(variable):
            hints.append(f"env:{variable}")
    return {
        "in_container": bool(hints),
        "runtime": _runtime(hints, env, from_cgroup),
        "hints": hints,
        "id": container_id(cgroup, read_text(root / "proc/self/mountinfo", limit=4 << 20) or "")
        or (podman or {}).get("id"),
        "name": (podman or {}).get("name"),
    }


def _runtime(hints: list[str], env: Mapping[str, str], from_cgroup: str | None) -> str | None:
    if "env:KUBERNETES_SERVICE_HOST" in hints or from_cgroup == "kubernetes":
        return "kubernetes"
    if "/run/.containerenv" in hints or env.get("container") == "podman":
        return "podman"
    if "/.dockerenv" in hints:
        return "docker"
    return from_cgroup or env.get("container") or None


def container_id(cgroup: str, mountinfo: str) -> str | None:
    """The 64-hex container id named in ``/proc/self/cgroup`` or (cgroup v2) mountinfo."""
    match = _ID.search(cgroup) or _MOUNT_ID.search(mountinfo)
    return match.group(1) if match else None


def _containerenv(root: Path) -> dict[str, str] | None:
    """Podman's ``/run/.containerenv`` as a mapping (empty when podman hides the details)."""
    text = read_text(root / "run/.containerenv")
    if text is None:
        return None
    pairs = (line.partition("=") for line in text.splitlines())
    return {key.strip(): value.strip().strip('"') for key, sep, value in pairs if sep}


def _image(env: Mapping[str, str], podman: dict[str, str] | None) -> Record:
    image = next((env[v] for v in IMAGE_VARIABLES if env.get(v)), None)
    image = image or (podman or {}).get("image") or None
    digest = next((env[v] for v in DIGEST_VARIABLES if env.get(v)), None)
    if digest is None and image is not None:
        match = _DIGEST.search(image)
        digest = match.group(1) if match else None
    return {"image": image, "image_digest": digest, "image_id": (podman or {}).get("imageid")}


def cgroup_limits(root: Path = Path("/")) -> Record:
    """The CPU quota (in CPUs) and memory limit of this process's cgroup (v2 or v1)."""
    paths = _cgroup_paths(read_text(root / "proc/self/cgroup") or "")
    base = root / "sys/fs/cgroup"
    if (base / "cgroup.controllers").exists():
        cpu = _read_first(base, [paths.get("", "/")], "cpu.max")
        memory = _read_first(base, [paths.get("", "/")], "memory.max")
        return {"cpus": _cpu_v2(cpu), "memory_bytes": _bytes(memory)}
    quota = _read_first(base / "cpu", [paths.get("cpu", "/")], "cpu.cfs_quota_us")
    period = _read_first(base / "cpu", [paths.get("cpu", "/")], "cpu.cfs_period_us")
    memory = _read_first(base / "memory", [paths.get("memory", "/")], "memory.limit_in_bytes")
    return {"cpus": _cpu_v1(quota, period), "memory_bytes": _bytes(memory)}


def _cgroup_paths(text: str) -> dict[str, str]:
    """``{controller: path}`` from ``/proc/self/cgroup`` (the v2 entry has controller ``""``)."""
    paths: dict[str, str] = {}
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) == 3:
            for controller in parts[1].split(","):
                paths.setdefault(controller, parts[2])
    return paths


def _read_first(base: Path, relatives: list[str], name: str) -> str | None:
    """The file in the process's own cgroup folder, else at the (namespaced) root."""
    for relative in [*relatives, "/"]:
        text = read_text(base / relative.lstrip("/") / name)
        if text is not None:
            return text.strip()
    return None


def _cpu_v2(text: str | None) -> float | None:
    quota, _, period = (text or "max").partition(" ")
    if quota == "max" or not period:
        return None
    return int(quota) / int(period)


def _cpu_v1(quota: str | None, period: str | None) -> float | None:
    if quota is None or period is None or int(quota) <= 0:
        return None
    return int(quota) / int(period)


def _bytes(text: str | None) -> int | None:
    if text is None or not text.isdigit() or int(text) >= _NO_LIMIT:
        return None
    return int(text)
