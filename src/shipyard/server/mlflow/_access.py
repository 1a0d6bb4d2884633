"""Project finders for the compat routes' access rules (``shipyard.server.access``).

MLflow sends ids in query strings *and* JSON bodies, so these finders read the request's fields
(awaiting the body from the rule's worker thread). A missing resource raises ``NotFound``, which
the rule turns into MLflow's ``RESOURCE_DOES_NOT_EXIST`` before the handler runs.
"""

from __future__ import annotations

from typing import cast

from fastapi import Request

from shipyard.errors import InvalidArgument
from shipyard.server.access import Caller, Need
from shipyard.server.mlflow._wire import request_fields
from shipyard.store.base import RunStore
from shipyard.store.mlflow import MlflowStore


class CompatStore(RunStore, MlflowStore):
    """What the compat routes need of the app's store (``SqlRunStore`` is one)."""


def compat_store(request: Request) -> CompatStore:
    """The app's store, typed for the compat routes."""
    return cast(CompatStore, request.app.state.store)


def experiment_id(text: object) -> int:
    """An MLflow experiment id (a decimal string) as Shipyard's integer."""
    try:
        if isinstance(text, bool):
            raise ValueError
        value = int(str(text))
        if value < 0:
            raise ValueError
        return value
    except ValueError:
        raise InvalidArgument(
            f"invalid experiment id {text!r}", hint="experiment ids are whole numbers such as '1'"
        ) from None


def by_experiment(request: Request) -> str:
    """The project of ``experiment_id`` (default ``0``, MLflow's default experiment)."""
    fields = request_fields(request)
    raw = fields.text("experiment_id", "0")
    return compat_store(request).mlflow_experiment(experiment_id(raw)).name


def by_experiment_name(request: Request) -> str:
    """The project named by ``experiment_name``."""
    name = request_fields(request).need("experiment_name")
    return compat_store(request).mlflow_experiment_by_name(name).name


def by_first_experiment(request: Request) -> str:
    """The project of the first of ``experiment_ids`` (handlers check the others)."""
    ids = request_fields(request).items("experiment_ids") or ["0"]
    return compat_store(request).mlflow_experiment(experiment_id(ids[0])).name


def by_run(request: Request) -> str:
    """The project of the run named by ``run_id`` (or ``run_uuid``)."""
    run_id = request_fields(request).run_id()
    return compat_store(request).get_run(run_id).project


def by_model(request: Request) -> str:
    """The project of the logged model named by the ``model_id`` path parameter."""
    model_id = str(request.path_params["model_id"])
    return compat_store(request).mlflow_get_logged_model(model_id).project


def check_all(caller: Caller, store: CompatStore, ids: list[int], need: Need) -> None:
    """Check ``need`` on every experiment of ``ids`` (the rule checked only the first)."""
    for exp_id in ids[1:]:
        caller.require(store.mlflow_experiment(exp_id).name, need)
