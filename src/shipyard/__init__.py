"""Shipyard: reproducible, collaborative, scalable and continuous machine learning.

Example::

    import shipyard

    with shipyard.start_run(project="iris", params={"lr": 0.01}) as run:
        for step in range(100):
            run.log_metrics({"loss": 1 / (step + 1)}, step=step)
        run.log_artifact("model.pkl")

The SDK is imported on first use of one of these names, so ``import shipyard.errors`` (or the
server) does not pay for it.
"""

from __future__ import annotations

import importlib
from importlib.metadata import PackageNotFoundError, version
from typing import TYPE_CHECKING, Any

try:
    __version__ = version("shipyard")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"

if TYPE_CHECKING:  # what __getattr__ below resolves lazily, for type checkers and IDEs
    from shipyard.domain.entities import RunStatus as RunStatus
    from shipyard.sdk._capture import seed_everything as seed_everything
    from shipyard.sdk.client import Client as Client
    from shipyard.sdk.fluent import active_run as active_run
    from shipyard.sdk.fluent import finish as finish
    from shipyard.sdk.fluent import init as init
    from shipyard.sdk.fluent import load_model as load_model
    from shipyard.sdk.fluent import log as log
    from shipyard.sdk.fluent import log_artifact as log_artifact
    from shipyard.sdk.fluent import log_model as log_model
    from shipyard.sdk.fluent import log_params as log_params
    from shipyard.sdk.fluent import register_model as register_model
    from shipyard.sdk.fluent import set_tags as set_tags
    from shipyard.sdk.fluent import start_run as start_run
    from shipyard.sdk.run import Run as Run
    from shipyard.sdk.sync import SyncReport as SyncReport
    from shipyard.sdk.sync import sync as sync
    from shipyard.settings import Settings as Settings
    from shipyard.sweeps import sweep as sweep

_EXPORTS = {
    "Client": "shipyard.sdk.client",
    "Run": "shipyard.sdk.run",
    "RunStatus": "shipyard.domain.entities",
    "Settings": "shipyard.settings",
    "SyncReport": "shipyard.sdk.sync",
    "active_run": "shipyard.sdk.fluent",
    "finish": "shipyard.sdk.fluent",
    "init": "shipyard.sdk.fluent",
    "log": "shipyard.sdk.fluent",
    "log_artifact": "shipyard.sdk.fluent",
    "load_model": "shipyard.sdk.fluent",
    "log_model": "shipyard.sdk.fluent",
    "register_model": "shipyard.sdk.fluent",
    "log_params": "shipyard.sdk.fluent",
    "seed_everything": "shipyard.sdk._capture",
    "set_tags": "shipyard.sdk.fluent",
    "start_run": "shipyard.sdk.fluent",
    "sweep": "shipyard.sweeps",
    "sync": "shipyard.sdk.sync",
}
_SUBPACKAGES = ("sweeps",)  # ``shipyard.sweeps.SweepSpec`` works after ``import shipyard``

__all__ = ["__version__", *sorted(_EXPORTS)]


def __getattr__(name: str) -> Any:
    if name in _SUBPACKAGES:
        return importlib.import_module(f"shipyard.{name}")
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'shipyard' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_EXPORTS, *_SUBPACKAGES])
