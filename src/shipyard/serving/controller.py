""":class:`DeploymentController`: makes running model servers match the deployments' desired state.

One server per deployment, ``python -m shipyard.serving.deployment_server``, with its files under
``<root>/<name>/`` (see :mod:`shipyard.serving._process`). A :class:`~shipyard.serving.runners.
ServerRunner` starts it: a detached local process when embedded (the default), a job on the
hub's executor (local or Ray) under ``shipyard server``.

``reconcile(name)`` (under the deployment folder's lock, so the CLI and a background controller
never act at once):

* ``DELETING``: stop the server, remove the deployment and its folder.
* no live server: download the model folders, start one, wait until it bound its port (models
  are loaded by then) and check readiness: ``READY`` with its URL, or ``FAILED`` (server
  stopped: a model that fails to load never takes traffic).
* a live server whose desired state changed: download new versions and switch its slots through
  the admin endpoint (the server loads the new versions first, then swaps). When a new version
  fails to load, the server keeps serving the old slots and the controller reverts the desired
  state to them (the canary is dropped, or the old stable restored), recording why.

``tick()`` does one round for every deployment: follow moved aliases, reconcile what changed
(or died), scrape ``/metrics`` into samples, run drift checks when due, evaluate alert rules.
``run(stop)`` ticks until ``stop`` is set (the hub's background thread; the embedded monitor).
"""

from __future__ import annotations

import hashlib
import logging
import secrets
import shutil
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Protocol

import httpx

from shipyard.domain.serving import Deployment, DeploymentStatus, DriftReport
from shipyard.errors import InvalidArgument, NotFound, ShipyardError
from shipyard.registry import BlobSource, download_model
from shipyard.serving import _process, monitoring, scrape
from shipyard.serving.alerts import AlertEvaluator, Poster, post_json
from shipyard.serving.deployments import DeploymentManager, DeploymentStore
from shipyard.serving.drift_data import prediction_window
from shipyard.serving.reference import LineageStore
from shipyard.serving.runners import ProcessRunner, ServerRef, ServerRunner

logger = logging.getLogger("shipyard.serving.controller")

DRIFT_INTERVAL_S = 60.0
SCRAPE_INTERVAL_S = 5.0
"""Seconds between scrapes of a server's /metrics (an hour of charts is 720 samples)."""
MIN_DRIFT_ROWS = 30
"""A periodic drift check needs at least this many logged rows in its window."""


class ControllerStore(DeploymentStore, LineageStore, Protocol):
    """What the controller needs: deployments, the registry, runs and datasets."""


class DeploymentController:
    """Reconciles deployments with running model servers, and monitors them.

    Args:
        store: deployments, the registry, runs and datasets (``SqlRunStore``).
        artifacts: where model files come from.
        root: the folder holding one folder per deployment.
        host: the address servers listen on (``0.0.0.0`` to reach them from elsewhere).
        ready_timeout_s: how long a starting server may take to load its models.
        drift_interval_s: seconds between periodic drift checks of a deployment.
        scrape_interval_s: seconds between scrapes of a server's ``/metrics``.
        post: how alert webhooks are sent.
        runner: where servers run (default: detached local processes).
    """

    def __init__(
        self,
        store: ControllerStore,
        artifacts: BlobSource,
        root: Path,
        *,
        host: str = "127.0.0.1",
        ready_timeout_s: float = 120.0,
        drift_interval_s: float = DRIFT_INTERVAL_S,
        scrape_interval_s: float = SCRAPE_INTERVAL_S,
        post: Poster = post_json,
        runner: ServerRunner | None = None,
    ) -> None:
        self.store = store
        self.artifacts = artifacts
        self.root = Path(root)
        self.host = host
        self.ready_timeout_s = ready_timeout_s
        self.drift_interval_s = drift_interval_s
        self.scrape_interval_s = scrape_interval_s
        self._last_scrape: dict[str, float] = {}
        self.runner: ServerRunner = runner or ProcessRunner(sys.executable)
        self.manager = DeploymentManager(store)
        self.alerts = AlertEvaluator(store, post=post)
        self._last_drift: dict[str, float] = {}

    def folder(self, name: str) -> Path:
        """The folder of a deployment's files."""
        return self.root / name

    # -- reconcile --------------------------------------------------------------------------
    def reconcile(self, name: str) -> Deployment | None:
        """Make deployment ``name`` match its desired state (``None`` once deleted)."""
        folder = self.folder(name)
        with _process.locked(folder):
            deployment = self.store.get_deployment(name)
            if deployment.status is DeploymentStatus.DELETING:
                self._remove(deployment, folder)
                return None
            running = self._answers(deployment)
            if running and deployment.settled:
                return deployment
            if not running and deployment.settled and deployment.status is DeploymentStatus.FAILED:
                return deployment  # a failed start is not retried until the next change
            return self._apply(deployment, folder, running)

    def _answers(self, deployment: Deployment) -> bool:
        ref = _ref(deployment)
        return ref.started and self.runner.running(ref) and _process.answers(deployment.url)

    def _apply(self, deployment: Deployment, folder: Path, running: bool) -> Deployment:
        try:
            slots = self._slots(deployment, folder)
        except ShipyardError as exc:
            return self._failed_update(deployment, f"cannot fetch the model: {exc.message}")
        if running and deployment.url is not None:
            return self._switch(deployment, folder, slots)
        return self._start(deployment, folder, slots)

    def _start(
        self, deployment: Deployment, folder: Path, slots: list[dict[str, Any]]
    ) -> Deployment:
        self.runner.stop(_ref(deployment))
        token = _process.admin_token(folder) or secrets.token_urlsafe(32)
        _process.write_config(folder, self._config(deployment, folder, slots, token))
        try:
            ref = self.runner.start(folder, deployment.name)
        except ShipyardError as exc:
            return self._failed_start(deployment, ServerRef(), f"could not start: {exc.message}")
        self.store.record_deployment_state(
            deployment.name, status=DeploymentStatus.STARTING, pid=ref.pid, job=ref.job,
            workdir=str(folder), url=None, message="",
        )  # fmt: skip
        started = _process.wait_started(
            lambda: self.runner.running(ref), folder, self.host, self.ready_timeout_s
        )
        if started.url is None:
            why = _process.load_errors(folder, _process.bound_url(folder, self.host))
            why = why or started.error
            return self._failed_start(
                deployment, ref, f"{started.error}: {why}" if why != started.error else why
            )
        self.store.add_deployment_event(deployment.name, "ready", f"serving at {started.url}")
        return self.store.record_deployment_state(
            deployment.name, status=DeploymentStatus.READY, url=started.url,
            message="", applied=slots, observed_generation=deployment.generation,
        )  # fmt: skip

    def _failed_start(self, deployment: Deployment, ref: ServerRef, why: str) -> Deployment:
        self.runner.stop(ref)
        self.store.add_deployment_event(deployment.name, "failed", why)
        return self.store.record_deployment_state(
            deployment.name, status=DeploymentStatus.FAILED, pid=None, job=None, url=None,
            message=why, observed_generation=deployment.generation,
        )  # fmt: skip

    def _switch(
        self, deployment: Deployment, folder: Path, slots: list[dict[str, Any]]
    ) -> Deployment:
        assert deployment.url is not None
        error = _process.put_slots(folder, deployment.url, [_wire(s) for s in slots])
        if error:
            return self._failed_update(deployment, error)
        self.store.add_deployment_event(deployment.name, "switched", _describe(slots))
        return self.store.record_deployment_state(
            deployment.name, status=DeploymentStatus.READY, message="", applied=slots,
            observed_generation=deployment.generation,
        )  # fmt: skip

    def _failed_update(self, deployment: Deployment, error: str) -> Deployment:
        """Keep serving what the server accepted last: revert the desired state to it."""
        applied = list(deployment.applied)
        self.store.add_deployment_event(deployment.name, "failed", error)
        if not applied:
            return self.store.record_deployment_state(
                deployment.name, status=DeploymentStatus.FAILED, message=error,
                observed_generation=deployment.generation,
            )  # fmt: skip
        stable, canary = applied[0], applied[1] if len(applied) > 1 else None
        reverted = self.store.set_deployment_revisions(
            deployment.name, stable_uri=stable["uri"], stable_version=stable["model_version"],
            canary_uri=canary["uri"] if canary else None,
            canary_version=canary["model_version"] if canary else None,
            canary_percent=round(canary["weight"] * 100) if canary else 0,
            event=("reverted", f"update failed, kept serving {stable['uri']}"),
        )  # fmt: skip
        return self.store.record_deployment_state(
            deployment.name, status=DeploymentStatus.READY, message=f"update failed: {error}",
            observed_generation=reverted.generation,
        )  # fmt: skip

    def _remove(self, deployment: Deployment, folder: Path) -> None:
        self.runner.stop(_ref(deployment))
        self.store.delete_deployment(deployment.name)
        shutil.rmtree(folder / "models", ignore_errors=True)
        _process.clear_address(folder)
        (folder / _process.CONFIG_FILE).unlink(missing_ok=True)

    # -- slots and config -------------------------------------------------------------------
    def _slots(self, deployment: Deployment, folder: Path) -> list[dict[str, Any]]:
        slots = []
        for uri, version, weight in deployment.slots:
            key = _key(uri)
            path = folder / "models" / key
            if not path.exists():
                self._download(uri, path)
            slots.append({
                "name": deployment.name, "version": str(version) if version else key[:12],
                "path": str(path), "weight": weight, "uri": uri, "model_version": version,
            })  # fmt: skip
        if len(slots) == 2 and slots[0]["uri"] == slots[1]["uri"]:
            slots = [{**slots[0], "weight": 1.0}]
        return slots

    def _download(self, uri: str, path: Path) -> None:
        tmp = path.with_name(path.name + ".partial")
        shutil.rmtree(tmp, ignore_errors=True)
        download_model(self.store, self.artifacts, uri, tmp)
        tmp.replace(path)

    def _config(
        self, deployment: Deployment, folder: Path, slots: list[dict[str, Any]], token: str
    ) -> dict[str, Any]:
        config = deployment.config
        batching = None
        if config.get("max_batch_size"):
            batching = {"max_batch_size": int(config["max_batch_size"]),
                        "max_wait_ms": float(config.get("max_wait_ms", 5.0))}  # fmt: skip
        rate = float(config.get("predlog_rate", 1.0))
        predlog = {"folder": str(folder / "predlog"), "sample_rate": rate} if rate > 0 else None
        return {
            "name": deployment.name, "host": self.host, "port": int(config.get("port", 0)),
            "admin_token": token, "slots": [_wire(s) for s in slots], "batching": batching,
            "predlog": predlog,
        }  # fmt: skip

    # -- monitoring -------------------------------------------------------------------------
    def check_drift(self, name: str, window_s: float | None = None) -> DriftReport:
        """Run and store a drift check (see :func:`shipyard.serving.monitoring.check`)."""
        deployment = self.store.get_deployment(name)
        return monitoring.check(self.store, self.artifacts, deployment, self.folder(name), window_s)

    def tick(self) -> None:
        """One round over every deployment (see the module docstring)."""
        for deployment in self.store.list_deployments():
            try:
                self._tick_one(deployment)
            except (ShipyardError, httpx.HTTPError, OSError) as exc:
                logger.warning("deployment %s: %s", deployment.name, exc)

    def _tick_one(self, deployment: Deployment) -> None:
        if deployment.status is not DeploymentStatus.DELETING:
            deployment = self.manager.follow(deployment) or deployment
        current = self.reconcile(deployment.name)
        if current is None or current.status is not DeploymentStatus.READY or not current.url:
            return
        if time.monotonic() - self._last_scrape.get(current.name, 0.0) >= self.scrape_interval_s:
            self._last_scrape[current.name] = time.monotonic()
            self.store.add_metric_sample(current.name, _now_ms(), scrape.scrape(current.url))
        self._drift_if_due(current)
        self.alerts.evaluate(current)

    def _drift_if_due(self, deployment: Deployment) -> None:
        last = self._last_drift.get(deployment.name, 0.0)
        if time.monotonic() - last < self.drift_interval_s:
            return
        self._last_drift[deployment.name] = time.monotonic()
        try:
            window = monitoring.window_of(deployment)
            rows, _ = prediction_window(self.folder(deployment.name) / "predlog", window_s=window)
            if rows is not None and len(rows) >= MIN_DRIFT_ROWS:
                self.check_drift(deployment.name, window)
        except (NotFound, InvalidArgument) as exc:
            logger.info("drift of %s skipped: %s", deployment.name, exc.message)

    def run(self, stop: threading.Event, interval_s: float = 2.0) -> None:
        """Tick until ``stop`` is set."""
        while not stop.is_set():
            started = time.monotonic()
            try:
                self.tick()
            except Exception:  # the loop must survive anything one round does
                logger.exception("deployment controller round failed")
            stop.wait(max(0.0, interval_s - (time.monotonic() - started)))

    def logs(self, name: str, lines: int = 100) -> str:
        """The last lines of a deployment's server log."""
        return monitoring.logs(self.store.get_deployment(name), lines)


def start_background(
    store: ControllerStore,
    artifacts: BlobSource,
    root: Path,
    *,
    interval_s: float = 2.0,
    runner: ServerRunner | None = None,
    host: str = "127.0.0.1",
) -> tuple[DeploymentController, threading.Event, threading.Thread]:
    """Run a controller in a daemon thread (the hub's); set the event to stop it."""
    controller = DeploymentController(store, artifacts, root, runner=runner, host=host)
    stop = threading.Event()
    thread = threading.Thread(
        target=controller.run, args=(stop, interval_s), name="shipyard-deployments", daemon=True
    )
    thread.start()
    return controller, stop, thread


def _wire(slot: Mapping[str, Any]) -> dict[str, Any]:
    return {k: slot[k] for k in ("name", "version", "path", "weight")}


def _key(uri: str) -> str:
    readable = uri.replace(":/", "-").replace("/", "-").replace("@", "-")[:40]
    return f"{readable}-{hashlib.sha256(uri.encode()).hexdigest()[:8]}"


def _describe(slots: list[dict[str, Any]]) -> str:
    return ", ".join(f"{s['uri']} {round(s['weight'] * 100)}%" for s in slots)


def _ref(deployment: Deployment) -> ServerRef:
    return ServerRef(pid=deployment.pid, job=deployment.job)


def _now_ms() -> int:
    return int(time.time() * 1000)
