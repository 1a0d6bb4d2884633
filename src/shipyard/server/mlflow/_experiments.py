"""MLflow experiment routes: an experiment is a Shipyard project."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Response

from shipyard.errors import InvalidArgument
from shipyard.server.access import CallerDep, Need, rule
from shipyard.server.mlflow import _access, _convert
from shipyard.server.mlflow._wire import Fields, MlflowRoute, fields_dependency, key_value_pairs, ok
from shipyard.store.mlflow import ACTIVE, DELETED, MlflowExperiment

router = APIRouter(route_class=MlflowRoute, include_in_schema=False)
FieldsDep = Annotated[Fields, Depends(fields_dependency)]
StoreDep = Annotated[_access.CompatStore, Depends(_access.compat_store)]

_BY_EXP = _access.by_experiment
_VIEW = {"ACTIVE_ONLY": (ACTIVE,), "DELETED_ONLY": (DELETED,), "ALL": (ACTIVE, DELETED)}
_CLAUSE = re.compile(
    r"^\s*(?:attributes?\.)?(?P<field>name|tags?\.(?:`[^`]+`|\"[^\"]+\"|[\w.\-/:]+))\s*"
    r"(?P<op>=|!=|LIKE|ILIKE)\s*(?P<quote>['\"])(?P<value>.*)(?P=quote)\s*$",
    re.IGNORECASE,
)


@router.post("/experiments/create", dependencies=[rule(Need.USER)])
def create_experiment(fields: FieldsDep, store: StoreDep) -> Response:
    """Create an experiment (a project)."""
    tags = key_value_pairs(fields.items("tags"), "tag")
    exp = store.mlflow_create_experiment(fields.need("name"), tags)
    return ok({"experiment_id": str(exp.experiment_id)})


@router.get("/experiments/get", dependencies=[rule(Need.READ, project=_BY_EXP)])
def get_experiment(fields: FieldsDep, store: StoreDep) -> Response:
    """One experiment by id."""
    exp_id = _access.experiment_id(fields.need("experiment_id"))
    return ok({"experiment": _convert.experiment(store.mlflow_experiment(exp_id))})


@router.get(
    "/experiments/get-by-name",
    dependencies=[rule(Need.READ, project=_access.by_experiment_name)],
)
def get_experiment_by_name(fields: FieldsDep, store: StoreDep) -> Response:
    """One experiment by name."""
    exp = store.mlflow_experiment_by_name(fields.need("experiment_name"))
    return ok({"experiment": _convert.experiment(exp)})


def search_experiments(fields: FieldsDep, store: StoreDep, caller: CallerDep) -> Response:
    """Experiments the caller may see, filtered by name/tags, ordered and paged."""
    stages = _VIEW.get(fields.text("view_type", "ACTIVE_ONLY") or "ACTIVE_ONLY", (ACTIVE,))
    found = [
        e for e in store.mlflow_experiments() if e.lifecycle_stage in stages and caller.sees(e.name)
    ]
    found = [e for e in found if _matches(e, fields.text("filter"))]
    found.sort(key=_order_key(fields.items("order_by")))
    offset = _offset(fields.text("page_token"))
    limit = fields.integer("max_results", 1000) or 1000
    page = found[offset : offset + limit]
    body: dict[str, Any] = {"experiments": [_convert.experiment(e) for e in page]}
    if offset + limit < len(found):
        body["next_page_token"] = str(offset + limit)
    return ok(body)


for _method in ("GET", "POST"):
    router.add_api_route(
        "/experiments/search",
        search_experiments,
        methods=[_method],
        dependencies=[rule(Need.USER, reads=True)],
    )


@router.post("/experiments/update", dependencies=[rule(Need.ADMIN, project=_BY_EXP)])
def update_experiment(fields: FieldsDep, store: StoreDep) -> Response:
    """Rename an experiment (its project)."""
    exp_id = _access.experiment_id(fields.need("experiment_id"))
    store.mlflow_update_experiment(exp_id, new_name=fields.text("new_name"))
    return ok()


@router.post("/experiments/delete", dependencies=[rule(Need.ADMIN, project=_BY_EXP)])
def delete_experiment(fields: FieldsDep, store: StoreDep) -> Response:
    """Mark an experiment deleted (its runs stay)."""
    exp_id = _access.experiment_id(fields.need("experiment_id"))
    store.mlflow_update_experiment(exp_id, lifecycle_stage=DELETED)
    return ok()


@router.post("/experiments/restore", dependencies=[rule(Need.ADMIN, project=_BY_EXP)])
def restore_experiment(fields: FieldsDep, store: StoreDep) -> Response:
    """Undo ``delete``."""
    exp_id = _access.experiment_id(fields.need("experiment_id"))
    store.mlflow_update_experiment(exp_id, lifecycle_stage=ACTIVE)
    return ok()


@router.post("/experiments/set-experiment-tag", dependencies=[rule(Need.WRITE, project=_BY_EXP)])
def set_experiment_tag(fields: FieldsDep, store: StoreDep) -> Response:
    """Set an experiment tag."""
    exp_id = _access.experiment_id(fields.need("experiment_id"))
    store.mlflow_set_experiment_tags(exp_id, {fields.need("key"): fields.text("value", "") or ""})
    return ok()


@router.post("/experiments/delete-experiment-tag", dependencies=[rule(Need.WRITE, project=_BY_EXP)])
def delete_experiment_tag(fields: FieldsDep, store: StoreDep) -> Response:
    """Remove an experiment tag."""
    exp_id = _access.experiment_id(fields.need("experiment_id"))
    store.mlflow_delete_experiment_tag(exp_id, fields.need("key"))
    return ok()


def _offset(token: str | None) -> int:
    if not token:
        return 0
    if not token.isdigit():
        raise InvalidArgument(f"invalid page token {token!r}", hint="pass next_page_token back")
    return int(token)


def _matches(exp: MlflowExperiment, text: str | None) -> bool:
    """Whether an experiment passes a filter of ``name``/``tags.X`` clauses joined by AND."""
    if not text or not text.strip():
        return True
    return all(_clause(exp, part) for part in re.split(r"\s+and\s+", text, flags=re.IGNORECASE))


def _clause(exp: MlflowExperiment, text: str) -> bool:
    match = _CLAUSE.match(text)
    if match is None:
        raise InvalidArgument(
            f"unsupported experiment filter {text.strip()!r}",
            hint="use name = 'x', name LIKE 'x%' or tags.key = 'v', joined by AND",
        )
    field, op, value = match.group("field"), match.group("op").upper(), match.group("value")
    if field.lower() == "name":
        actual: str | None = exp.name
    else:
        actual = exp.tags.get(field.split(".", 1)[1].strip('`"'))
    if actual is None:
        return False
    if op in ("LIKE", "ILIKE"):
        pattern = "^" + re.escape(value).replace("%", ".*").replace("_", ".") + "$"
        return re.match(pattern, actual, re.IGNORECASE if op == "ILIKE" else 0) is not None
    return (actual == value) == (op == "=")


def _order_key(terms: list[Any]) -> Callable[[MlflowExperiment], Any]:
    """Sort key for ``order_by`` (one term: name, experiment_id, creation/last_update_time)."""
    term = str(terms[0]) if terms else "experiment_id ASC"
    parts = term.replace("attributes.", "").split()
    field, descending = parts[0], len(parts) > 1 and parts[1].upper() == "DESC"
    getters: dict[str, Callable[[MlflowExperiment], Any]] = {
        "name": lambda e: e.name,
        "experiment_id": lambda e: e.experiment_id,
        "creation_time": lambda e: e.created_at,
        "last_update_time": lambda e: e.last_update_time,
    }
    if field not in getters:
        raise InvalidArgument(
            f"cannot order experiments by {field!r}",
            hint="order by name, experiment_id, creation_time or last_update_time",
        )
    get = getters[field]
    if not descending:
        return get
    return lambda e: _Desc(get(e))


class _Desc:
    """Reverses the order of a value in a sort key."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def __lt__(self, other: _Desc) -> bool:
        return bool(self.value > other.value)
