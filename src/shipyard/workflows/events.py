"""Events from Shipyard itself that can start workflows: a new dataset version, a model alias
change, a monitoring alert.

Whoever notices one records it with the store (``store.request_workflow_event(kind, payload)``,
or the helpers below); the workflow daemon matches it against the ``on:`` of the workflows it
watches with the engine's rule (:meth:`shipyard.workflows.spec.Workflow.matches`: same kind
and name, and the same alias for ``model_alias``)::

    on:
      dataset: {name: iris}                          # any new version of dataset iris
      model_alias: {name: iris-clf, alias: champion} # the champion alias of iris-clf moved
      alert: {deployment: iris-prod}                 # an alert fired on deployment iris-prod
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shipyard.domain.triggers import WorkflowRequest
from shipyard.domain.workflows import TriggerEvent
from shipyard.store.triggers import TriggerStore
from shipyard.workflows.spec import EventTrigger, Triggers, Workflow

EVENT_KINDS = ("dataset", "model_alias", "alert")
"""Event kinds Shipyard emits (any other lowercase name may be recorded too)."""


def dataset_version_created(store: TriggerStore, name: str, version: int) -> WorkflowRequest:
    """Record that version ``version`` of dataset ``name`` was created."""
    return store.request_workflow_event("dataset", {"name": name, "version": version})


def model_alias_moved(
    store: TriggerStore, name: str, alias: str, version: int, previous: int | None = None
) -> WorkflowRequest:
    """Record that alias ``alias`` of registered model ``name`` now points to ``version``."""
    payload = {"name": name, "alias": alias, "version": version, "previous": previous}
    return store.request_workflow_event("model_alias", payload)


def alert_fired(store: TriggerStore, deployment: str, **details: Any) -> WorkflowRequest:
    """Record that an alert fired on ``deployment``."""
    return store.request_workflow_event("alert", {**details, "deployment": deployment})


def trigger_event(event: Mapping[str, Any]) -> TriggerEvent:
    """The engine's :class:`TriggerEvent` for a request's event mapping.

    Internal events name their subject in ``name`` (``deployment`` for alerts); every other field
    goes to ``data`` as text.
    """
    kind = str(event.get("kind", ""))
    fields = {"branch", "cron", "name", "alias"}
    name = event.get("name", event.get("deployment") if kind == "alert" else None)
    data = {k: str(v) for k, v in event.items() if k not in fields | {"kind"} and v is not None}
    return TriggerEvent(
        kind,
        branch=_text(event.get("branch")),
        cron=_text(event.get("cron")),
        name=_text(name),
        alias=_text(event.get("alias")),
        data=data,
    )


def triggers_to_dict(on: Triggers) -> dict[str, Any]:
    """A JSON-ready copy of a workflow's triggers (kept on its watch)."""
    return {
        "push": None if on.push is None else list(on.push),
        "pull_request": None if on.pull_request is None else list(on.pull_request),
        "schedule": list(on.schedule),
        "manual": on.manual,
        "events": [{"kind": e.kind, "name": e.name, "alias": e.alias} for e in on.events],
    }


def triggers_from_dict(data: Mapping[str, Any]) -> Triggers:
    """Read back :func:`triggers_to_dict`."""
    push, pull = data.get("push"), data.get("pull_request")
    return Triggers(
        push=None if push is None else tuple(push),
        pull_request=None if pull is None else tuple(pull),
        schedule=tuple(data.get("schedule") or ()),
        manual=bool(data.get("manual")),
        events=tuple(
            EventTrigger(str(e["kind"]), str(e["name"]), e.get("alias"))
            for e in data.get("events") or ()
        ),
    )


def matches(triggers: Triggers, event: TriggerEvent) -> bool:
    """Whether a workflow with ``triggers`` would start for ``event`` (the engine's rule)."""
    return Workflow(name="watch", jobs={}, on=triggers).matches(event)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
