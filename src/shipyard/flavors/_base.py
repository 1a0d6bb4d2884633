"""What every flavor provides: recognise a model, save it to a folder, load a predictor back."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any, Protocol

from shipyard.errors import InvalidArgument


class Predictor(Protocol):
    """A loaded model, ready to predict."""

    @property
    def raw(self) -> Any:
        """The framework's own object (estimator, booster, session...)."""
        ...

    def predict(self, inputs: Any) -> Any:
        """Predictions for inputs already checked against the signature."""
        ...


class Flavor(Protocol):
    """One way of saving and loading models (``sklearn``, ``xgboost``...)."""

    name: str
    modules: tuple[str, ...]
    """Top-level modules whose installed distributions the model needs (its requirements)."""

    def matches(self, model: Any) -> bool:
        """Whether this flavor saves ``model`` (used when no flavor is named)."""
        ...

    def save(self, model: Any, folder: Path) -> dict[str, Any]:
        """Write the model's files into ``folder``; returns the flavor's ``extra`` details."""
        ...

    def load(self, folder: Path, extra: dict[str, Any]) -> Predictor:
        """Load the model saved in ``folder``."""
        ...


def module_of(model: Any) -> str:
    """The top-level module that defines the model's class."""
    return type(model).__module__.split(".")[0]


def require(module: str, flavor: str, package: str) -> Any:
    """Import a framework module, or say which package to install."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise InvalidArgument(
            f"the {flavor} flavor needs the {package!r} package, which is not installed",
            hint=f"pip install {package}",
        ) from None


def class_path(obj: Any) -> str:
    """``module:QualName`` of an object's class."""
    cls = type(obj)
    return f"{cls.__module__}:{cls.__qualname__}"


def import_class(path: str) -> Any:
    """The class named by ``module:QualName``; ``InvalidArgument`` when it cannot be imported."""
    module_name, _, qualname = path.partition(":")
    try:
        found: Any = importlib.import_module(module_name)
        for part in qualname.split("."):
            found = getattr(found, part)
    except (ImportError, AttributeError) as exc:
        raise InvalidArgument(
            f"the model's class {path} cannot be imported ({exc})",
            hint=f"install the package that defines {module_name!r} or put it on PYTHONPATH",
        ) from None
    return found
