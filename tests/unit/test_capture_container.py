"""Container detection from marker files, cgroup and mountinfo under a fake root folder."""

from __future__ import annotations

from pathlib import Path

from shipyard.capture import capture_container
from shipyard.capture.container import cgroup_limits, container_id

DOCKER_ID = "3f4e" + "a1" * 30
PODMAN_ID = "9b" * 32


def write(root: Path, relative: str, text: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_bare_machine(tmp_path: Path) -> None:
    write(tmp_path, "proc/self/cgroup", "0::/user.slice/user-1000.slice/session-2.scope\n")
    record = capture_container({}, root=tmp_path)
    assert record["in_container"] is False
    assert record["runtime"] is None
    assert record["hints"] == []
    assert record["id"] is None
    assert record["image"] is None
    assert record["errors"] == []


def test_docker_cgroup_v1(tmp_path: Path) -> None:
    write(tmp_path, ".dockerenv", "")
    write(
        tmp_path, "proc/self/cgroup", f"12:memory:/docker/{DOCKER_ID}\n11:cpu:/docker/{DOCKER_ID}\n"
    )
    write(tmp_path, f"sys/fs/cgroup/cpu/docker/{DOCKER_ID}/cpu.cfs_quota_us", "150000\n")
    write(tmp_path, f"sys/fs/cgroup/cpu/docker/{DOCKER_ID}/cpu.cfs_period_us", "100000\n")
    write(tmp_path, "sys/fs/cgroup/memory/memory.limit_in_bytes", "9223372036854771712\n")
    env = {"SHIPYARD_CONTAINER_IMAGE": "ghcr.io/org/train:1.4@sha256:" + "ab" * 32}
    record = capture_container(env, root=tmp_path)
    assert record["in_container"] is True
    assert record["runtime"] == "docker"
    assert record["hints"] == ["/.dockerenv", "cgroup:docker"]
    assert record["id"] == DOCKER_ID
    assert record["image"] == env["SHIPYARD_CONTAINER_IMAGE"]
    assert record["image_digest"] == "sha256:" + "ab" * 32
    assert record["limits"] == {"cpus": 1.5, "memory_bytes": None}


def test_docker_cgroup_v2_id_from_mountinfo(tmp_path: Path) -> None:
    write(tmp_path, ".dockerenv", "")
    write(tmp_path, "proc/self/cgroup", "0::/\n")
    write(
        tmp_path,
        "proc/self/mountinfo",
        "700 690 0:52 / / rw - overlay overlay rw,lowerdir=/var/lib/docker/overlay2/"
        + "cd" * 32
        + "/diff\n"
        f"712 700 254:1 /var/lib/docker/containers/{DOCKER_ID}/hostname /etc/hostname rw - ext4\n",
    )
    write(tmp_path, "sys/fs/cgroup/cgroup.controllers", "cpu memory\n")
    write(tmp_path, "sys/fs/cgroup/cpu.max", "200000 100000\n")
    write(tmp_path, "sys/fs/cgroup/memory.max", "4294967296\n")
    record = capture_container({"CONTAINER_IMAGE": "python:3.11"}, root=tmp_path)
    assert record["id"] == DOCKER_ID
    assert record["image"] == "python:3.11"
    assert record["image_digest"] is None
    assert record["limits"] == {"cpus": 2.0, "memory_bytes": 4294967296}


def test_podman_containerenv(tmp_path: Path) -> None:
    write(
        tmp_path,
        "run/.containerenv",
        'engine="podman-4.9.3"\nname="trainer"\n'
        f'id="{PODMAN_ID}"\nimage="quay.io/org/train:2"\nimageid="' + "ef" * 32 + '"\n',
    )
    write(tmp_path, "sys/fs/cgroup/cgroup.controllers", "cpu memory\n")
    write(tmp_path, "sys/fs/cgroup/cpu.max", "max 100000\n")
    write(tmp_path, "sys/fs/cgroup/memory.max", "max\n")
    record = capture_container({"container": "podman"}, root=tmp_path)
    assert record["runtime"] == "podman"
    assert record["id"] == PODMAN_ID
    assert record["name"] == "trainer"
    assert record["image"] == "quay.io/org/train:2"
    assert record["image_id"] == "ef" * 32
    assert record["limits"] == {"cpus": None, "memory_bytes": None}


def test_kubernetes_pod(tmp_path: Path) -> None:
    write(
        tmp_path,
        "proc/self/cgroup",
        "0::/kubepods.slice/kubepods-pod1.slice/cri-containerd-" + PODMAN_ID + ".scope\n",
    )
    record = capture_container({"KUBERNETES_SERVICE_HOST": "10.0.0.1"}, root=tmp_path)
    assert record["runtime"] == "kubernetes"
    assert record["id"] == PODMAN_ID
    assert "env:KUBERNETES_SERVICE_HOST" in record["hints"]


def test_container_id_ignores_overlay_layers() -> None:
    layer_only = "1 0 0:1 / / rw - overlay overlay lowerdir=/var/lib/docker/overlay2/" + "cd" * 32
    assert container_id("0::/\n", layer_only) is None


def test_limits_of_this_machine_are_readable() -> None:
    limits = cgroup_limits()
    assert set(limits) == {"cpus", "memory_bytes"}
