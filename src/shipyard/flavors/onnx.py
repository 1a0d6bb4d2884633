"""The ``onnx`` flavor: an ONNX model (a ``ModelProto`` or its bytes), run by onnxruntime."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from shipyard.flavors._base import module_of, require

MODEL_FILE = "model.onnx"
_TYPES = {
    "tensor(float)": np.float32,
    "tensor(double)": np.float64,
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
    "tensor(bool)": np.bool_,
    "tensor(string)": np.str_,
}


@dataclass(frozen=True)
class OnnxPredictor:
    """An onnxruntime session. One output gives an array; several give a dict by name."""

    raw: Any

    def predict(self, inputs: Any) -> Any:
        """Run the session."""
        feeds = self._feeds(inputs)
        names = [o.name for o in self.raw.get_outputs()]
        outputs = self.raw.run(names, feeds)
        if len(outputs) == 1:
            return outputs[0]
        return dict(zip(names, outputs, strict=True))

    def _feeds(self, inputs: Any) -> dict[str, Any]:
        specs = self.raw.get_inputs()
        if isinstance(inputs, dict):
            return {s.name: np.asarray(inputs[s.name], dtype=_TYPES.get(s.type)) for s in specs}
        return {specs[0].name: np.asarray(inputs, dtype=_TYPES.get(specs[0].type))}


class OnnxFlavor:
    """Save ONNX models as ``model.onnx``; load them in an onnxruntime CPU session."""

    name = "onnx"
    modules: tuple[str, ...] = ("onnxruntime", "numpy")

    def matches(self, model: Any) -> bool:
        """An ``onnx.ModelProto``."""
        return module_of(model) == "onnx" and hasattr(model, "SerializeToString")

    def save(self, model: Any, folder: Path) -> dict[str, Any]:
        """Write the serialized model."""
        data = model if isinstance(model, bytes) else model.SerializeToString()
        (folder / MODEL_FILE).write_bytes(data)
        return {"model_file": MODEL_FILE}

    def load(self, folder: Path, extra: dict[str, Any]) -> OnnxPredictor:
        """Open an inference session on the CPU."""
        ort = require("onnxruntime", self.name, "onnxruntime")
        path = folder / str(extra.get("model_file", MODEL_FILE))
        return OnnxPredictor(ort.InferenceSession(str(path), providers=["CPUExecutionProvider"]))
