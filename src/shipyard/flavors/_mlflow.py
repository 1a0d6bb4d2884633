"""Loading an MLflow ``MLmodel`` folder of the sklearn flavor (a pickled estimator)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from shipyard.errors import InvalidArgument
from shipyard.flavors._meta import ModelMeta
from shipyard.flavors._signature import ColSpec, Signature
from shipyard.flavors.sklearn import SklearnFlavor

if TYPE_CHECKING:
    from shipyard.flavors._api import LoadedModel

MLMODEL = "MLmodel"
_TYPES = {
    "double": "float64",
    "float": "float32",
    "long": "int64",
    "integer": "int32",
    "boolean": "bool",
    "string": "string",
}


def is_mlflow_model(path: Path) -> bool:
    """Whether ``path`` holds an ``MLmodel`` file."""
    return (path / MLMODEL).is_file()


def load(path: Path) -> LoadedModel:
    """A :class:`~shipyard.flavors.LoadedModel` of an MLflow sklearn model."""
    from shipyard.flavors._api import LoadedModel

    data: dict[str, Any] = yaml.safe_load((path / MLMODEL).read_text(encoding="utf-8")) or {}
    flavor = (data.get("flavors") or {}).get("sklearn")
    if not isinstance(flavor, dict) or "pickled_model" not in flavor:
        raise InvalidArgument(
            f"the MLflow model in {str(path)!r} has no sklearn flavor",
            hint="only MLflow models of the sklearn flavor load without MLflow",
        )
    extra = {"model_file": str(flavor["pickled_model"]), "mlflow": True}
    meta = ModelMeta(
        flavor="sklearn",
        signature=_signature(data.get("signature")),
        python_version=str(
            (data.get("flavors") or {}).get("python_function", {}).get("python_version", "")
        ),
        created_at=str(data.get("utc_time_created", "")),
        extra=extra,
    )
    return LoadedModel(meta, path, SklearnFlavor().load(path, extra))


def _signature(data: Any) -> Signature | None:
    """The MLflow column signature (``inputs``/``outputs`` JSON strings), when it has one."""
    if not isinstance(data, dict) or not isinstance(data.get("inputs"), str):
        return None
    inputs = _columns(data["inputs"])
    if inputs is None:
        return None
    outputs = _columns(data["outputs"]) if isinstance(data.get("outputs"), str) else None
    return Signature(inputs, outputs)


def _columns(text: str) -> list[ColSpec] | None:
    specs = json.loads(text)
    if not all(isinstance(s, dict) and s.get("type") in _TYPES for s in specs):
        return None  # tensor specs: left unchecked
    return [ColSpec(s.get("name"), _TYPES[s["type"]], None) for s in specs]
