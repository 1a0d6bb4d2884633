"""ML framework versions and the determinism settings a run used.

Versions come from installed distributions (nothing is imported). Determinism flags are read from
torch / tensorflow only when the program has already imported them, and from the environment
variables that govern determinism (``PYTHONHASHSEED``, ``CUBLAS_WORKSPACE_CONFIG``, ...).
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any

from shipyard.capture._common import ProbeErrors, Record, environ_or_default
from shipyard.capture.packages import capture_packages

#: Distribution name -> the module it provides.
FRAMEWORKS = {
    "torch": "torch",
    "torchvision": "torchvision",
    "tensorflow": "tensorflow",
    "tensorflow-cpu": "tensorflow",
    "keras": "keras",
    "jax": "jax",
    "jaxlib": "jaxlib",
    "scikit-learn": "sklearn",
    "xgboost": "xgboost",
    "lightgbm": "lightgbm",
    "numpy": "numpy",
    "pandas": "pandas",
    "scipy": "scipy",
}
DETERMINISM_VARIABLES = (
    "PYTHONHASHSEED",
    "CUBLAS_WORKSPACE_CONFIG",
    "TF_DETERMINISTIC_OPS",
    "TF_CUDNN_DETERMINISTIC",
    "XLA_FLAGS",
    "CUDA_LAUNCH_BLOCKING",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
)
_TORCH_FLAGS: dict[str, Callable[[Any], object]] = {
    "deterministic_algorithms": lambda t: t.are_deterministic_algorithms_enabled(),
    "deterministic_warn_only": lambda t: t.is_deterministic_algorithms_warn_only_enabled(),
    "cudnn_deterministic": lambda t: t.backends.cudnn.deterministic,
    "cudnn_benchmark": lambda t: t.backends.cudnn.benchmark,
    "cudnn_allow_tf32": lambda t: t.backends.cudnn.allow_tf32,
    "cuda_matmul_allow_tf32": lambda t: t.backends.cuda.matmul.allow_tf32,
}


def capture_frameworks(
    packages: Mapping[str, str] | None = None,
    environ: Mapping[str, str] | None = None,
    modules: Mapping[str, ModuleType] | None = None,
) -> Record:
    """Framework versions and determinism flags; never raises, never imports a framework.

    Args:
        packages: ``{canonical name: version}`` (default: a fresh :func:`capture_packages` scan).
        environ: the variables to read (default: ``os.environ``).
        modules: the imported modules (default: ``sys.modules``).

    Returns ``{"versions", "imported", "determinism", "errors"}``; ``determinism`` holds
    ``env`` (the variables that are set), ``torch`` and ``tensorflow`` (``None`` unless imported).

    Example::

        capture_frameworks()["versions"]  # {'numpy': '2.1.3', 'scikit-learn': '1.5.2'}
    """
    env = environ_or_default(environ)
    loaded = sys.modules if modules is None else modules
    errors = ProbeErrors("frameworks")
    installed = capture_packages()["distributions"] if packages is None else packages
    versions = {name: installed[name] for name in FRAMEWORKS if name in installed}
    determinism: Record = {
        "env": {key: env[key] for key in DETERMINISM_VARIABLES if key in env},
        "torch": None,
        "tensorflow": None,
    }
    if "torch" in loaded:
        determinism["torch"] = _torch_flags(loaded["torch"], errors)
    if "tensorflow" in loaded:
        with errors.guard("tensorflow determinism"):
            determinism["tensorflow"] = _tensorflow_flags(loaded["tensorflow"])
    return {
        "versions": versions,
        "imported": sorted({module for module in FRAMEWORKS.values() if module in loaded}),
        "determinism": determinism,
        "errors": errors.items,
    }


def _torch_flags(torch: Any, errors: ProbeErrors) -> Record:
    flags: Record = {}
    for name, read in _TORCH_FLAGS.items():
        flags[name] = None
        with errors.guard(f"torch {name}"):
            flags[name] = _plain(read(torch))
    return flags


def _tensorflow_flags(tensorflow: Any) -> Record:
    experimental = tensorflow.config.experimental
    enabled = getattr(experimental, "is_op_determinism_enabled", None)
    return {"op_determinism": _plain(enabled()) if callable(enabled) else None}


def _plain(value: object) -> bool | int | float | str | None:
    """A JSON scalar (framework flags may be numpy or torch types)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    return str(value)
