"""The ``sklearn`` flavor: a scikit-learn estimator or pipeline, pickled with joblib."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shipyard.flavors._base import module_of, require

MODEL_FILE = "model.joblib"


@dataclass(frozen=True)
class SklearnPredictor:
    """A loaded scikit-learn estimator."""

    raw: Any

    def predict(self, inputs: Any) -> Any:
        """``estimator.predict(inputs)``."""
        return self.raw.predict(inputs)


class SklearnFlavor:
    """Save and load scikit-learn estimators (pickle format: load with the same versions)."""

    name = "sklearn"
    modules: tuple[str, ...] = ("sklearn", "numpy", "scipy", "joblib")

    def matches(self, model: Any) -> bool:
        """Estimators from ``sklearn`` itself (boosting libraries have their own flavors)."""
        return module_of(model) == "sklearn"

    def save(self, model: Any, folder: Path) -> dict[str, Any]:
        """Pickle the estimator with joblib."""
        joblib = require("joblib", self.name, "joblib")
        joblib.dump(model, folder / MODEL_FILE)
        return {
            "model_file": MODEL_FILE,
            "class": f"{type(model).__module__}.{type(model).__name__}",
        }

    def load(self, folder: Path, extra: dict[str, Any]) -> SklearnPredictor:
        """Unpickle the estimator."""
        joblib = require("joblib", self.name, "joblib")
        return SklearnPredictor(joblib.load(folder / str(extra.get("model_file", MODEL_FILE))))
