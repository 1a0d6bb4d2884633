"""The ``python`` flavor: any object with a ``predict`` method, pickled.

The object is pickled with the standard library (cloudpickle is not used), so its class is saved
by reference: the module that defines it must be importable where the model is loaded (installed,
or on ``PYTHONPATH``; a class defined in a script's ``__main__`` only loads in that script). The
class's ``module:QualName`` is recorded so that a missing module gets a clear error.
"""

from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shipyard.errors import InvalidArgument
from shipyard.flavors._base import class_path, import_class

MODEL_FILE = "model.pkl"


@dataclass(frozen=True)
class PythonPredictor:
    """The unpickled object."""

    raw: Any

    def predict(self, inputs: Any) -> Any:
        """``obj.predict(inputs)``."""
        return self.raw.predict(inputs)


class PythonFlavor:
    """Save and load Python objects that have ``predict``."""

    name = "python"
    modules: tuple[str, ...] = ("numpy",)

    def matches(self, model: Any) -> bool:
        """Anything with a callable ``predict``."""
        return callable(getattr(model, "predict", None))

    def save(self, model: Any, folder: Path) -> dict[str, Any]:
        """Pickle the object, recording its class."""
        if not self.matches(model):
            raise InvalidArgument(
                f"a {type(model).__name__} has no predict method",
                hint="give the python flavor an object with predict(inputs)",
            )
        try:
            data = pickle.dumps(model, protocol=pickle.HIGHEST_PROTOCOL)
        except (pickle.PicklingError, TypeError, AttributeError) as exc:
            raise InvalidArgument(
                f"the model cannot be pickled: {exc}",
                hint="define its class at the top level of an importable module",
            ) from None
        (folder / MODEL_FILE).write_bytes(data)
        return {"model_file": MODEL_FILE, "class": class_path(model)}

    def load(self, folder: Path, extra: dict[str, Any]) -> PythonPredictor:
        """Import the recorded class's module, then unpickle."""
        if "class" in extra:
            import_class(str(extra["class"]))
        data = (folder / str(extra.get("model_file", MODEL_FILE))).read_bytes()
        return PythonPredictor(pickle.loads(data))  # noqa: S301 - the user's own saved model
