"""One call to seed every random number generator a run may use, and a record of what was done.

Frameworks are seeded only when installed; seeding *imports* them (the caller asked for it).
``PYTHONHASHSEED`` is exported for child processes (worker pools, data loaders): the running
interpreter fixed its own string hashing at start-up and cannot change it.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import random
import sys
from collections.abc import Callable
from typing import Any

from shipyard.capture._common import ProbeErrors, Record
from shipyard.errors import InvalidArgument

SEED_SCHEMA = 1
MAX_SEED = 2**32 - 1  # numpy's legacy global generator takes 32-bit seeds
CUBLAS_WORKSPACE_CONFIG = ":4096:8"


def seed_everything(seed: int, *, deterministic: bool = False) -> Record:
    """Seed ``random``, numpy, torch (and CUDA), tensorflow/keras; note what jax needs.

    Args:
        seed: an integer from 0 to 2**32 - 1.
        deterministic: also ask torch and tensorflow for deterministic kernels
            (``torch.use_deterministic_algorithms(True)``, cuDNN deterministic and no benchmark,
            ``CUBLAS_WORKSPACE_CONFIG``, tensorflow op determinism). Slower, but repeatable.

    Returns ``{"schema", "seed", "deterministic", "seeded", "env", "notes", "errors"}``:
    ``seeded`` names what was seeded, ``env`` the variables that were set. A framework that
    fails to seed is reported in ``errors``; the others are still seeded.

    Raises:
        InvalidArgument: ``seed`` is not an integer in range.

    Example::

        record = seed_everything(42, deterministic=True)
        run.log_params({"seed": record["seed"]})
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise InvalidArgument(
            f"seed must be an integer from 0 to {MAX_SEED}, got {seed!r}",
            hint="pass a non-negative integer such as seed_everything(42)",
        )
    errors = ProbeErrors("seeds")
    record: Record = {"schema": SEED_SCHEMA, "seed": seed, "deterministic": deterministic}
    record.update(seeded=["random"], env={}, notes=[])
    random.seed(seed)
    _export(record, "PYTHONHASHSEED", str(seed))
    if deterministic:
        # cuBLAS reads it when CUDA starts, so it is set before torch is imported.
        _export(record, "CUBLAS_WORKSPACE_CONFIG", CUBLAS_WORKSPACE_CONFIG, keep=True)
        _export(record, "TF_DETERMINISTIC_OPS", "1")
    for name, seeder in _SEEDERS.items():
        if _importable(name):
            with errors.guard(name):
                seeder(importlib.import_module(name), seed, deterministic, record)
    if _importable("jax"):
        record["notes"].append(
            "jax has no global random state: derive keys with jax.random.PRNGKey(seed)"
        )
    record["errors"] = errors.items
    return record


def _export(record: Record, name: str, value: str, *, keep: bool = False) -> None:
    """Set an environment variable (``keep``: unless the user already set it)."""
    if not (keep and name in os.environ):
        os.environ[name] = value
    record["env"][name] = os.environ[name]


def _importable(name: str) -> bool:
    if name in sys.modules:
        return True
    try:
        return importlib.util.find_spec(name) is not None
    except (ImportError, ValueError):
        return False


def _seed_numpy(numpy: Any, seed: int, deterministic: bool, record: Record) -> None:
    numpy.random.seed(seed)
    record["seeded"].append("numpy")
    record["notes"].append(
        "numpy: the legacy global generator is seeded; numpy.random.default_rng() needs the "
        "seed passed explicitly"
    )


def _seed_torch(torch: Any, seed: int, deterministic: bool, record: Record) -> None:
    torch.manual_seed(seed)
    torch.cuda.manual_seed_all(seed)  # lazy: safe without a GPU
    record["seeded"] += ["torch", "torch.cuda"]
    if deterministic:
        torch.use_deterministic_algorithms(True)
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False


def _seed_tensorflow(tensorflow: Any, seed: int, deterministic: bool, record: Record) -> None:
    keras_utils: Any = getattr(getattr(tensorflow, "keras", None), "utils", None)
    if hasattr(keras_utils, "set_random_seed"):
        keras_utils.set_random_seed(seed)  # python, numpy and tensorflow at once
        record["seeded"].append("keras")
    tensorflow.random.set_seed(seed)
    record["seeded"].append("tensorflow")
    if deterministic and hasattr(tensorflow.config.experimental, "enable_op_determinism"):
        tensorflow.config.experimental.enable_op_determinism()


_SEEDERS: dict[str, Callable[[Any, int, bool, Record], None]] = {
    "numpy": _seed_numpy,
    "torch": _seed_torch,
    "tensorflow": _seed_tensorflow,
}
