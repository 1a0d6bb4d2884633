"""Reproducibility capture: what a run needs to be rebuilt (code, packages, machine, GPUs, seeds).

Rule: a probe never fails the run. Each probe catches its own errors and reports them in an
``errors`` list (``{"probe", "step", "error"}``) next to whatever it could read; every record is a
plain JSON-able dict. This package imports only ``shipyard.domain``, ``shipyard.errors`` and the
standard library; third-party modules (``pynvml``, ``psutil``, frameworks) are optional, imported
inside guards, and frameworks are never imported just to be described (only ``seed_everything``
imports them, because seeding needs them).

Exception to the library rule "never read ``os.environ``": capture is a probe of the environment,
so it reads environment variables (scheduler ids, container image, determinism settings). Every
probe also accepts an ``environ`` mapping so that tests and callers can pass their own.

Entry points: :func:`capture_environment` runs every probe (20-100 ms measured on a busy 2-core
VM with 300 packages and a dirty git repository; the budget is 300 ms) and :func:`summarize`
turns its record into ``shipyard.*`` run tags; :func:`seed_everything` seeds the random
generators.
"""

from shipyard.capture.accelerators import capture_accelerators
from shipyard.capture.code import (
    DEFAULT_DIFF_CAP_BYTES,
    DEFAULT_FILE_CAP_BYTES,
    capture_code,
    detect_notebook,
)
from shipyard.capture.container import capture_container
from shipyard.capture.environment import ENV_SCHEMA, TAG_PREFIX, capture_environment, summarize
from shipyard.capture.frameworks import capture_frameworks
from shipyard.capture.packages import canonical_name, capture_packages, packages_hash
from shipyard.capture.seeds import seed_everything
from shipyard.capture.system import capture_python, capture_system

__all__ = [
    "DEFAULT_DIFF_CAP_BYTES",
    "DEFAULT_FILE_CAP_BYTES",
    "ENV_SCHEMA",
    "TAG_PREFIX",
    "canonical_name",
    "capture_accelerators",
    "capture_code",
    "capture_container",
    "capture_environment",
    "capture_frameworks",
    "capture_packages",
    "capture_python",
    "capture_system",
    "detect_notebook",
    "packages_hash",
    "seed_everything",
    "summarize",
]
