"""The ``xgboost`` flavor: a Booster or an XGBoost scikit-learn model in the native UBJSON file."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shipyard.flavors._base import class_path, import_class, module_of, require

MODEL_FILE = "model.ubj"


@dataclass(frozen=True)
class XGBoostPredictor:
    """A loaded booster (``DMatrix`` predictions) or scikit-learn wrapper (``predict``)."""

    raw: Any

    def predict(self, inputs: Any) -> Any:
        """Predictions of the model."""
        xgboost = require("xgboost", "xgboost", "xgboost")
        if isinstance(self.raw, xgboost.Booster):
            return self.raw.predict(xgboost.DMatrix(inputs))
        return self.raw.predict(inputs)


class XGBoostFlavor:
    """Save and load XGBoost models with XGBoost's own format (portable across versions)."""

    name = "xgboost"
    modules: tuple[str, ...] = ("xgboost", "numpy", "scipy")

    def matches(self, model: Any) -> bool:
        """Models whose class comes from ``xgboost``."""
        return module_of(model) == "xgboost"

    def save(self, model: Any, folder: Path) -> dict[str, Any]:
        """``model.save_model(model.ubj)``, remembering the class to rebuild."""
        model.save_model(str(folder / MODEL_FILE))
        return {"model_file": MODEL_FILE, "model_class": class_path(model)}

    def load(self, folder: Path, extra: dict[str, Any]) -> XGBoostPredictor:
        """Rebuild the class and load the saved model into it."""
        require("xgboost", self.name, "xgboost")
        model = import_class(str(extra.get("model_class", "xgboost:Booster")))()
        model.load_model(str(folder / str(extra.get("model_file", MODEL_FILE))))
        return XGBoostPredictor(model)
