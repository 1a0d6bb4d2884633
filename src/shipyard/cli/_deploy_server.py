"""What ``shipyard server`` adds for deployments: the deployment controller in a background
thread, next to the workflow daemon. Deployments run as local processes on the hub machine, their
files under ``<home>/deployments`` (see :mod:`shipyard.serving.controller`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from shipyard.artifacts.base import ArtifactStore
from shipyard.settings import Settings
from shipyard.store.base import RunStore

Start = Callable[[RunStore, ArtifactStore], Callable[[], None]]


def deployment_controller(settings: Settings) -> Start:
    """Starts the deployment controller over the server's stores; returns its stop."""

    def start(store: RunStore, artifacts: ArtifactStore) -> Callable[[], None]:
        from shipyard.serving.controller import start_background

        root = Path(settings.home).absolute() / "deployments"
        _, stop, thread = start_background(store, artifacts, root)  # type: ignore[arg-type]

        def halt() -> None:
            stop.set()
            thread.join(timeout=30)

        return halt

    return start


def combined(*starts: Start | None) -> Start | None:
    """One background start that runs every given one (``None`` when none is given)."""
    chosen = [s for s in starts if s is not None]
    if not chosen:
        return None

    def start(store: RunStore, artifacts: ArtifactStore) -> Callable[[], None]:
        stops = [s(store, artifacts) for s in chosen]

        def stop_all() -> None:
            for stop in reversed(stops):
                stop()

        return stop_all

    return start
