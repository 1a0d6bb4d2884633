"""The Python SDK. Rule: the caller's thread never waits on I/O to log metrics, params or tags;
a background writer batches, spools and sends them, so nothing is lost while a server is down."""

from shipyard.sdk.backend import Backend, open_backend
from shipyard.sdk.client import Client
from shipyard.sdk.fluent import (
    active_run,
    finish,
    init,
    log,
    log_artifact,
    log_params,
    set_tags,
    start_run,
)
from shipyard.sdk.run import Run
from shipyard.sdk.sync import SyncReport, sync

__all__ = [
    "Backend",
    "Client",
    "Run",
    "SyncReport",
    "active_run",
    "finish",
    "init",
    "log",
    "log_artifact",
    "log_params",
    "open_backend",
    "set_tags",
    "start_run",
    "sync",
]
