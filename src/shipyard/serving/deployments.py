""":class:`DeploymentManager`: the desired state of deployments (what people ask for).

It resolves model URIs through the registry (an alias becomes the version it points at now),
records the change in the serving store, and leaves the rest to the controller
(:mod:`shipyard.serving.controller`), which reconciles running servers with it. The hub's routes
and the embedded CLI both use it; it imports neither the SDK nor the jobs layer.

Rollouts::

    manager.create("iris", "models:/iris-clf@champion", follow_alias=True)
    manager.update("iris", "models:/iris-clf/3", canary_percent=20)   # stable 80%, v3 20%
    manager.promote("iris")                                           # v3 100%
    manager.rollback("iris")                                          # (instead) stable 100%
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from shipyard.domain.serving import Deployment, validate_canary_percent, validate_deployment_name
from shipyard.errors import Conflict, InvalidArgument
from shipyard.registry import parse_model_uri, resolve_model_uri
from shipyard.serving.drift import TESTS, ReferenceSummary
from shipyard.store.base import RunStore
from shipyard.store.registry import RegistryStore
from shipyard.store.serving import ServingStore

CONFIG_KEYS = frozenset(
    {"max_batch_size", "max_wait_ms", "predlog_rate", "port", "drift_window_s", "drift_tests"}
)
MAX_BATCH = 65536


class DeploymentStore(ServingStore, RunStore, RegistryStore, Protocol):
    """A store holding deployments, the registry and runs (``SqlRunStore``)."""


@dataclass(frozen=True)
class Target:
    """A model URI resolved now: the concrete URI to load and its registered version."""

    uri: str
    version: int | None
    model: str | None
    project: str


def resolve_target(store: DeploymentStore, uri: str) -> Target:
    """Resolve a model URI to the concrete version it names now (``models:/NAME/V`` or
    ``runs:/ID/PATH``). Raises ``InvalidArgument`` or ``NotFound``."""
    resolved = resolve_model_uri(store, uri)
    if resolved.version is not None:
        version = resolved.version
        project = store.get_registered_model(version.name).project
        return Target(version.uri, version.version, version.name, project)
    return Target(resolved.run_uri, None, None, store.get_run(resolved.run_id).project)


def check_config(config: Mapping[str, Any] | None) -> dict[str, Any]:
    """Validate server options (batching, prediction log sampling, port, drift window and
    tests)."""
    checked = dict(config or {})
    unknown = set(checked) - CONFIG_KEYS
    if unknown:
        raise InvalidArgument(
            f"unknown deployment options {sorted(unknown)}",
            hint=f"known options: {', '.join(sorted(CONFIG_KEYS))}",
        )
    _number(checked, "predlog_rate", 0, 1, "e.g. 0.1 logs 1 in 10")
    _number(checked, "port", 0, 65535, "0 picks a free one", integer=True)
    _number(checked, "max_batch_size", 1, MAX_BATCH, "rows per batch, e.g. 32", integer=True)
    _number(checked, "max_wait_ms", 0, 60_000, "the longest wait for a batch, e.g. 5")
    _number(checked, "drift_window_s", 1, 365 * 86_400, "seconds, e.g. 3600")
    check_drift_tests(checked.get("drift_tests", {}))
    return checked


def _number(
    config: Mapping[str, Any], key: str, low: float, high: float, hint: str, integer: bool = False
) -> None:
    value = config.get(key)
    if value is None:
        return
    kind = int if integer else int | float
    if isinstance(value, bool) or not isinstance(value, kind) or not low <= value <= high:
        what = "a whole number" if integer else "a number"
        message = f"{key} must be {what} from {low} to {high}, got {value!r}"
        raise InvalidArgument(message, hint=hint)


def check_drift_tests(tests: Any) -> None:
    """``drift_tests`` maps feature names (``"*"``: every other feature) to a drift test."""
    if not isinstance(tests, Mapping) or not all(isinstance(k, str) for k in tests):
        raise InvalidArgument(
            f"drift_tests must map feature names to tests, got {tests!r}",
            hint='e.g. {"*": "psi"} or {"petal_width": "ks"}',
        )
    for feature, test in tests.items():
        if test not in TESTS:
            raise InvalidArgument(
                f"unknown drift test {test!r} for {feature!r}",
                hint=f"use one of {', '.join(TESTS)}",
            )


class DeploymentManager:
    """Create and change deployments (desired state); the controller does the rest.

    Args:
        store: the store of deployments, the registry and runs.
    """

    def __init__(self, store: DeploymentStore) -> None:
        self.store = store

    def create(
        self,
        name: str,
        model_uri: str,
        *,
        project: str | None = None,
        follow_alias: bool = False,
        config: Mapping[str, Any] | None = None,
        reference: Mapping[str, Any] | None = None,
        created_by: str = "",
    ) -> Deployment:
        """Record a deployment of ``model_uri``. ``follow_alias`` needs an ``@alias`` URI.

        Raises ``AlreadyExists``, ``NotFound`` (model, version or alias), ``InvalidArgument``.
        """
        validate_deployment_name(name)
        _check_follow(model_uri, follow_alias)
        checked = check_config(config)
        summary = None if reference is None else ReferenceSummary.from_dict(reference)
        target = resolve_target(self.store, model_uri)
        deployment = self.store.create_deployment(
            name, project=project or target.project, model_uri=model_uri,
            stable_uri=target.uri, stable_version=target.version, follow_alias=follow_alias,
            config=checked, created_by=created_by,
        )  # fmt: skip
        if summary is not None:
            self.store.set_deployment_reference(name, summary.to_dict())
        return deployment

    def update(
        self,
        name: str,
        model_uri: str,
        *,
        canary_percent: int | None = None,
        follow_alias: bool | None = None,
    ) -> Deployment:
        """Roll out ``model_uri``: as a canary taking ``canary_percent`` (1-99) of requests, or
        (no percent, or 100) as the new stable version."""
        current = self.store.get_deployment(name)
        percent = 100 if canary_percent is None else validate_canary_percent(canary_percent)
        if percent == 0:
            raise InvalidArgument(
                "a canary of 0% would take no traffic", hint="use 1-99, or leave --canary out"
            )
        if follow_alias:
            _check_follow(model_uri, True)
        target = resolve_target(self.store, model_uri)
        if percent == 100:
            return self.store.set_deployment_revisions(
                name, stable_uri=target.uri, stable_version=target.version, model_uri=model_uri,
                follow_alias=follow_alias if follow_alias is not None else False,
                event=("rollout", f"rolling out {target.uri}"),
                expected_generation=current.generation,
            )  # fmt: skip
        return self.store.set_deployment_revisions(
            name, stable_uri=current.stable_uri, stable_version=current.stable_version,
            canary_uri=target.uri, canary_version=target.version, canary_percent=percent,
            follow_alias=follow_alias, event=("canary", f"canary {target.uri} at {percent}%"),
            expected_generation=current.generation,
        )  # fmt: skip

    def promote(self, name: str) -> Deployment:
        """Make the canary the stable version (100% of requests)."""
        current = self.store.get_deployment(name)
        if current.canary_uri is None:
            raise Conflict(
                f"deployment {name!r} has no canary to promote",
                hint="start one with `shipyard deployments update NAME --model URI --canary 20`",
            )
        return self.store.set_deployment_revisions(
            name, stable_uri=current.canary_uri, stable_version=current.canary_version,
            model_uri=current.canary_uri, follow_alias=False,
            event=("promote", f"promoted {current.canary_uri} to 100%"),
            expected_generation=current.generation,
        )  # fmt: skip

    def rollback(self, name: str) -> Deployment:
        """Drop the canary: the stable version takes every request again."""
        current = self.store.get_deployment(name)
        if current.canary_uri is None:
            raise Conflict(
                f"deployment {name!r} has no canary to roll back",
                hint="`shipyard deployments status NAME` shows its versions",
            )
        return self.store.set_deployment_revisions(
            name, stable_uri=current.stable_uri, stable_version=current.stable_version,
            event=("rollback", f"rolled back {current.canary_uri}; {current.stable_uri} at 100%"),
            expected_generation=current.generation,
        )  # fmt: skip

    def follow(self, deployment: Deployment) -> Deployment | None:
        """When ``deployment`` follows an alias that moved, roll out the version it points at
        now (returns the changed deployment; ``None`` when nothing moved)."""
        if not deployment.follow_alias or deployment.canary_uri is not None:
            return None
        target = resolve_target(self.store, deployment.model_uri)
        if target.uri == deployment.stable_uri:
            return None
        return self.store.set_deployment_revisions(
            deployment.name, stable_uri=target.uri, stable_version=target.version,
            event=("alias", f"{deployment.model_uri} moved to {target.uri}; rolling out"),
            expected_generation=deployment.generation,
        )  # fmt: skip

    def delete(self, name: str) -> Deployment:
        """Ask the controller to stop and remove the deployment."""
        return self.store.request_deployment_delete(name)


def _check_follow(model_uri: str, follow_alias: bool) -> None:
    if follow_alias and parse_model_uri(model_uri).alias is None:
        raise InvalidArgument(
            f"--follow-alias needs a URI with an alias, got {model_uri!r}",
            hint="e.g. models:/iris-clf@champion",
        )
