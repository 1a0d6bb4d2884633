"""What a reproduction takes from the record besides code and packages: the GPU check, dataset
pins, determinism variables, and the command to run (with its interpreter swapped in)."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from shipyard.capture import capture_accelerators
from shipyard.capture.frameworks import DETERMINISM_VARIABLES
from shipyard.domain.entities import RunInput
from shipyard.errors import InvalidArgument
from shipyard.repro._pyenv import is_python
from shipyard.repro.source import DATASET_KIND, Record, lookup

_VERSION = re.compile(r"^v?(\d+)$")


def gpu_models(accelerators: object) -> list[str]:
    """The sorted GPU model names of an ``accelerators`` record (one per GPU)."""
    gpus = lookup(accelerators, "gpus")
    if not isinstance(gpus, list):
        return []
    return sorted(str(g.get("name")) for g in gpus if isinstance(g, Mapping))


def gpu_check(env: Record, current: Record | None = None) -> tuple[dict[str, Any], str | None]:
    """Compare the recorded GPUs with this machine's; returns a record and a mismatch message.

    A run recorded without GPUs never mismatches (it did not depend on one); a run with GPUs
    mismatches when the models (and their count) differ.
    """
    recorded = gpu_models(lookup(env, "accelerators"))
    here = gpu_models(capture_accelerators({}) if current is None else current)
    record = {"recorded": recorded, "current": here, "same": recorded == here}
    if not recorded or recorded == here:
        return record, None
    shown = ", ".join(here) or "no GPU"
    return record, f"the run used {', '.join(recorded)}; this machine has {shown}"


def dataset_pins(inputs: Sequence[RunInput]) -> tuple[dict[str, int], list[str]]:
    """``{dataset name: version}`` for the dataset inputs of a run, and notes on the others."""
    pins: dict[str, int] = {}
    notes: list[str] = []
    for item in inputs:
        if item.kind != DATASET_KIND or item.direction != "input":
            continue
        match = _VERSION.match(item.version)
        if match is None:
            notes.append(f"dataset {item.name} version {item.version!r} cannot be pinned")
        else:
            pins[item.name] = int(match.group(1))
    return pins, notes


def determinism_env(env: Record) -> dict[str, str]:
    """The determinism variables the run started with (``PYTHONHASHSEED``, ``OMP_NUM_THREADS``...).

    ``PYTHONHASHSEED`` also comes from the seed record when ``seed_everything`` exported it.
    """
    started = lookup(env, "frameworks", "determinism", "env") or {}
    found = {k: str(started[k]) for k in DETERMINISM_VARIABLES if k in started}
    exported = lookup(env, "seeds", "env", "PYTHONHASHSEED")
    if "PYTHONHASHSEED" not in found and exported is not None:
        found["PYTHONHASHSEED"] = str(exported)
    return found


def recorded_command(env: Record, run_id: str) -> list[str]:
    """The argv that runs the recorded program again. Raises ``InvalidArgument`` when unknown."""
    command = env.get("command")
    if not isinstance(command, list) or not command:
        raise InvalidArgument(
            f"run {run_id} recorded no command to run again (it was started from an "
            "interactive session, `python -c`, or before commands were recorded)",
            hint="reproduce runs started from a script, `python -m`, or `shipyard run -- ...`",
        )
    return [str(arg) for arg in command]


def with_python(command: Sequence[str], python: Path) -> list[str]:
    """``command`` with a leading Python interpreter replaced by ``python``."""
    args = list(command)
    if args and is_python(args[0]):
        args[0] = str(python)
    return args


def child_env(
    base: Mapping[str, str], bin_dir: Path, variables: Mapping[str, str]
) -> dict[str, str]:
    """The command's environment: ``base`` with ``bin_dir`` first on ``PATH`` and the recorded
    determinism variables. (Dataset pins travel in the settings, which the launcher exports.)"""
    env = dict(base)
    env["PATH"] = os.pathsep.join([str(bin_dir), *([env["PATH"]] if env.get("PATH") else [])])
    env.pop("PYTHONHOME", None)
    env.update(variables)
    return env
