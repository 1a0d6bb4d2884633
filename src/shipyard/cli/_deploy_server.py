"""What ``shipyard server`` adds for deployments: the deployment controller in a background
thread, next to the workflow daemon. Model servers run as jobs on the hub's executor (``local``:
supervised processes of the hub machine; ``ray``: a Ray cluster), their files under
``<home>/deployments`` (see :mod:`shipyard.serving.controller` and
:mod:`shipyard.serving.runners`)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from shipyard.artifacts.base import ArtifactStore
from shipyard.errors import InvalidArgument
from shipyard.settings import Settings
from shipyard.store.base import RunStore

Start = Callable[[RunStore, ArtifactStore], Callable[[], None]]


DEPLOYMENT_EXECUTORS = ("local", "ray")


def check_executor(name: str, ray_address: str | None) -> None:
    """Refuse an executor deployments cannot run on, before the server starts."""
    if name not in DEPLOYMENT_EXECUTORS:
        raise InvalidArgument(
            f"deployments cannot run on the {name!r} executor",
            hint="use --deployments-executor local or ray (Kubernetes is not supported for "
            "deployments yet: the server needs the hub's deployment folder)",
        )
    if name == "ray" and not ray_address:
        raise InvalidArgument(
            "--deployments-executor ray needs the Ray cluster's address",
            hint="add --ray-address http://HEAD:8265 (the Jobs API of `ray start --head`)",
        )


def deployment_controller(
    settings: Settings,
    executor: str = "local",
    ray_address: str | None = None,
    host: str = "127.0.0.1",
) -> Start:
    """Starts the deployment controller over the server's stores, its servers running as jobs
    of ``executor`` and listening on ``host``; returns its stop."""

    def start(store: RunStore, artifacts: ArtifactStore) -> Callable[[], None]:
        from shipyard.executors import open_executor
        from shipyard.serving.controller import start_background
        from shipyard.serving.runners import ExecutorRunner

        home = Path(settings.home).absolute()
        jobs = open_executor(executor, ray_address=ray_address, state_dir=home / "jobs")
        root = home / "deployments"
        _, stop, thread = start_background(
            store,  # type: ignore[arg-type]
            artifacts,
            root,
            runner=ExecutorRunner(jobs),
            host=host,
        )

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
