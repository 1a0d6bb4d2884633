"""The ``lightgbm`` flavor: the booster's native text model file.

A scikit-learn wrapper (``LGBMClassifier``...) is saved as its booster plus its classes, and
predicts like the wrapper did: class labels for a classifier, values for a regressor.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from shipyard.flavors._base import module_of, require

MODEL_FILE = "model.txt"


@dataclass(frozen=True)
class LightGBMPredictor:
    """A loaded booster; ``classes`` set for a classifier."""

    raw: Any
    classes: np.ndarray | None = None

    def predict(self, inputs: Any) -> Any:
        """Values, or class labels for a classifier."""
        result = self.raw.predict(inputs)
        if self.classes is None:
            return result
        if result.ndim == 1:  # binary: the probability of the second class
            return self.classes[(result > 0.5).astype(int)]
        return self.classes[np.argmax(result, axis=1)]


class LightGBMFlavor:
    """Save and load LightGBM boosters and scikit-learn wrappers."""

    name = "lightgbm"
    modules: tuple[str, ...] = ("lightgbm", "numpy", "scipy")

    def matches(self, model: Any) -> bool:
        """Models whose class comes from ``lightgbm``."""
        return module_of(model) == "lightgbm"

    def save(self, model: Any, folder: Path) -> dict[str, Any]:
        """Save the booster's text model (and a classifier's classes)."""
        lightgbm = require("lightgbm", self.name, "lightgbm")
        booster = model if isinstance(model, lightgbm.Booster) else model.booster_
        booster.save_model(str(folder / MODEL_FILE))
        extra: dict[str, Any] = {"model_file": MODEL_FILE}
        if isinstance(model, lightgbm.LGBMClassifier):
            extra["classes"] = np.asarray(model.classes_).tolist()
        return extra

    def load(self, folder: Path, extra: dict[str, Any]) -> LightGBMPredictor:
        """Load the booster."""
        lightgbm = require("lightgbm", self.name, "lightgbm")
        path = folder / str(extra.get("model_file", MODEL_FILE))
        booster = lightgbm.Booster(model_file=str(path))
        classes = extra.get("classes")
        return LightGBMPredictor(booster, None if classes is None else np.asarray(classes))
