"""The interpreter and machine probe, with schedulers described through given variables."""

from __future__ import annotations

import os
import platform
import sys
from pathlib import Path

from shipyard.capture import capture_python, capture_system
from shipyard.capture.system import kubernetes_info, parse_cpuinfo, slurm_info

CPUINFO = """\
processor\t: 0
model name\t: AMD EPYC 7763 64-Core Processor
physical id\t: 0
core id\t\t: 0

processor\t: 1
model name\t: AMD EPYC 7763 64-Core Processor
physical id\t: 0
core id\t\t: 0

processor\t: 2
model name\t: AMD EPYC 7763 64-Core Processor
physical id\t: 1
core id\t\t: 0
"""


def test_python_section() -> None:
    python = capture_python({"CONDA_DEFAULT_ENV": "train"})
    assert python["version"] == platform.python_version()
    assert python["implementation"] == platform.python_implementation()
    assert python["executable"] == sys.executable
    assert python["virtualenv"] == (sys.prefix != sys.base_prefix)
    assert python["conda_env"] == "train"


def test_system_section_on_this_machine() -> None:
    system = capture_system({})
    assert system["errors"] == []
    assert system["os"]["system"] == platform.system()
    assert system["os"]["machine"] == platform.machine()
    assert system["hostname"]
    assert system["cpu"]["logical_cores"] == os.cpu_count()
    assert system["cpu"]["physical_cores"] >= 1
    assert system["memory_total_bytes"] > 0
    assert system["kubernetes"] is None
    assert system["slurm"] is None
    if sys.platform.startswith("linux"):
        assert system["cpu"]["model"]
        assert system["os"]["kernel"].startswith("Linux ")


def test_parse_cpuinfo_counts_physical_cores() -> None:
    assert parse_cpuinfo(CPUINFO) == ("AMD EPYC 7763 64-Core Processor", 2)
    assert parse_cpuinfo("processor : 0\nHardware : BCM2835\n") == ("BCM2835", None)


def test_files_are_read_under_the_given_root(tmp_path: Path) -> None:
    (tmp_path / "proc").mkdir()
    (tmp_path / "proc/cpuinfo").write_text(CPUINFO)
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/os-release").write_text('NAME="Ubuntu"\nPRETTY_NAME="Ubuntu 24.04 LTS"\n')
    system = capture_system({}, root=tmp_path)
    assert system["cpu"]["model"] == "AMD EPYC 7763 64-Core Processor"
    assert system["cpu"]["physical_cores"] == 2
    if sys.platform.startswith("linux"):
        assert system["os"]["distribution"] == "Ubuntu 24.04 LTS"


def test_kubernetes_ids_from_downward_api(tmp_path: Path) -> None:
    account = tmp_path / "var/run/secrets/kubernetes.io/serviceaccount"
    account.mkdir(parents=True)
    (account / "namespace").write_text("ml-team\n")
    env = {"KUBERNETES_SERVICE_HOST": "10.0.0.1", "HOSTNAME": "train-7f9c", "NODE_NAME": "gpu-3"}
    assert kubernetes_info(env, root=tmp_path) == {
        "pod_name": "train-7f9c",
        "namespace": "ml-team",
        "node_name": "gpu-3",
        "pod_uid": None,
    }
    explicit = {**env, "POD_NAME": "trainer-0", "POD_NAMESPACE": "prod", "POD_UID": "u-1"}
    info = kubernetes_info(explicit, root=tmp_path)
    assert info == {
        "pod_name": "trainer-0",
        "namespace": "prod",
        "node_name": "gpu-3",
        "pod_uid": "u-1",
    }
    assert kubernetes_info({}, root=tmp_path) is None


def test_slurm_ids() -> None:
    env = {
        "SLURM_JOB_ID": "4242",
        "SLURM_ARRAY_JOB_ID": "4240",
        "SLURM_ARRAY_TASK_ID": "2",
        "SLURM_PROCID": "0",
        "SLURM_CLUSTER_NAME": "hpc",
        "SLURM_SOMETHING_ELSE": "not recorded",
    }
    assert slurm_info(env) == {
        "job_id": "4242",
        "array_job_id": "4240",
        "array_task_id": "2",
        "procid": "0",
        "cluster_name": "hpc",
    }
    assert capture_system(env)["slurm"]["job_id"] == "4242"
    assert slurm_info({"SLURM_PROCID": "0"}) is None
