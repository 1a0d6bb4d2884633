"""``save_model`` and ``load_model``: a model folder is its flavor's files plus
``shipyard-model.yaml``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from shipyard.errors import InvalidArgument, NotFound
from shipyard.flavors._base import Flavor, Predictor
from shipyard.flavors._meta import MODEL_FILE, ModelMeta, requirements_of
from shipyard.flavors._signature import Signature, infer_signature
from shipyard.flavors.lightgbm import LightGBMFlavor
from shipyard.flavors.onnx import OnnxFlavor
from shipyard.flavors.python import PythonFlavor
from shipyard.flavors.sklearn import SklearnFlavor
from shipyard.flavors.xgboost import XGBoostFlavor

_ALL: tuple[Flavor, ...] = (
    XGBoostFlavor(),
    LightGBMFlavor(),
    OnnxFlavor(),
    SklearnFlavor(),
    PythonFlavor(),
)
FLAVORS: dict[str, Flavor] = {f.name: f for f in _ALL}
"""Every flavor by name, in the order they are tried when none is named."""

INPUT_EXAMPLE_FILE = "input_example.json"


@dataclass(frozen=True)
class LoadedModel:
    """A model loaded from its folder: ``predict`` checks inputs against the signature first."""

    meta: ModelMeta
    path: Path
    predictor: Predictor

    @property
    def raw(self) -> Any:
        """The framework's own object (estimator, booster, onnxruntime session...)."""
        return self.predictor.raw

    @property
    def flavor(self) -> str:
        """The flavor name."""
        return self.meta.flavor

    def predict(
        self, inputs: np.ndarray | dict[str, np.ndarray] | Any
    ) -> np.ndarray | dict[str, np.ndarray]:
        """Predictions for ``inputs`` (an array, named columns, or a list of records).

        Raises ``InvalidArgument`` when they do not fit the model's signature.
        """
        signature = self.meta.signature
        data = signature.coerce_inputs(inputs) if signature is not None else inputs
        result: np.ndarray | dict[str, np.ndarray] = self.predictor.predict(data)
        return result


def flavor_of(model: Any) -> Flavor:
    """The flavor that saves ``model``; ``InvalidArgument`` when none does."""
    if isinstance(model, bytes):
        return FLAVORS["onnx"]
    for flavor in FLAVORS.values():
        if flavor.matches(model):
            return flavor
    raise InvalidArgument(
        f"no flavor saves a {type(model).__module__}.{type(model).__qualname__}",
        hint="pass a scikit-learn, XGBoost, LightGBM or ONNX model, or an object with predict()",
    )


def _named(flavor: str) -> Flavor:
    if flavor not in FLAVORS:
        raise InvalidArgument(
            f"unknown model flavor {flavor!r}", hint=f"use one of {', '.join(sorted(FLAVORS))}"
        )
    return FLAVORS[flavor]


def save_model(
    model: Any, path: Path, *, input_example: Any = None, flavor: str | None = None
) -> ModelMeta:
    """Save ``model`` into the folder ``path`` (created; it must be empty) and return its meta.

    The flavor is found from the model's class unless named. With an ``input_example`` the
    signature is inferred from it and from the model's predictions for it, and the example is
    kept as ``input_example.json``.

    >>> meta = save_model(clf, Path("out/iris"), input_example=X[:5])
    """
    chosen = flavor_of(model) if flavor is None else _named(flavor)
    path = Path(path)
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise InvalidArgument(
            f"{str(path)!r} already exists and is not an empty folder",
            hint="save the model into a new folder",
        )
    path.mkdir(parents=True, exist_ok=True)
    extra = chosen.save(model, path)
    signature = _signature(chosen, path, extra, input_example)
    if input_example is not None:
        _write_example(path, input_example)
    meta = ModelMeta(
        flavor=chosen.name,
        signature=signature,
        requirements=requirements_of(chosen.modules),
        extra=extra,
    )
    meta.write(path)
    return meta


def _signature(flavor: Flavor, path: Path, extra: dict[str, Any], example: Any) -> Signature | None:
    if example is None:
        return None
    inputs = infer_signature(example)
    loaded = LoadedModel(ModelMeta(flavor.name, inputs), path, flavor.load(path, extra))
    output = loaded.predict(example)
    if isinstance(output, dict):  # several named outputs (ONNX): one spec each
        return Signature(inputs.inputs, _output_specs(output))
    return Signature(inputs.inputs, infer_signature(output).inputs)


def _output_specs(outputs: dict[str, Any]) -> list[Any] | None:
    try:
        return infer_signature({k: np.asarray(v) for k, v in outputs.items()}).inputs
    except InvalidArgument:
        return None


def _write_example(path: Path, example: Any) -> None:
    try:
        text = json.dumps(example, default=_jsonable)
    except (TypeError, ValueError):
        return  # an example that JSON cannot hold is only used for the signature
    (path / INPUT_EXAMPLE_FILE).write_text(text, encoding="utf-8")


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.ndarray | np.generic):
        return value.tolist()
    raise TypeError(type(value).__name__)


def load_model(path: Path) -> LoadedModel:
    """Load the model saved in the folder ``path`` (also an MLflow ``MLmodel`` folder of the
    sklearn flavor). Raises ``NotFound`` when the folder holds no model."""
    path = Path(path)
    if not (path / MODEL_FILE).is_file():
        from shipyard.flavors import _mlflow

        if _mlflow.is_mlflow_model(path):
            return _mlflow.load(path)
        raise NotFound(
            f"{str(path)!r} holds no {MODEL_FILE}",
            hint="pass the folder of a model saved with save_model or run.log_model",
        )
    meta = ModelMeta.read(path)
    return LoadedModel(meta, path, _named(meta.flavor).load(path, meta.extra))
