"""The Open Inference Protocol v2 (REST) wire format, parsed and written by hand.

Requests are decoded with orjson and checked field by field (no pydantic on the hot path), so a
malformed body gives an :class:`~shipyard.errors.InvalidArgument` that says which field was wrong.
Triton's binary tensor extension is supported both ways (``Inference-Header-Content-Length``,
``binary_data_size``, ``binary_data`` / ``binary_data_output``), so ``tritonclient`` works with
its defaults.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import orjson

from shipyard.errors import InvalidArgument

DATATYPES: dict[str, np.dtype[Any]] = {
    "BOOL": np.dtype(np.bool_),
    "UINT8": np.dtype(np.uint8),
    "UINT16": np.dtype(np.uint16),
    "UINT32": np.dtype(np.uint32),
    "UINT64": np.dtype(np.uint64),
    "INT8": np.dtype(np.int8),
    "INT16": np.dtype(np.int16),
    "INT32": np.dtype(np.int32),
    "INT64": np.dtype(np.int64),
    "FP16": np.dtype(np.float16),
    "FP32": np.dtype(np.float32),
    "FP64": np.dtype(np.float64),
    "BYTES": np.dtype(np.object_),
}
"""Protocol datatype -> numpy dtype."""

_BY_KIND: dict[str, str] = {
    "b": "BOOL",
    "U": "BYTES",
    "S": "BYTES",
    "O": "BYTES",
}
HEADER_LENGTH = "inference-header-content-length"
_HINT = "see the Open Inference Protocol: {'inputs': [{'name', 'shape', 'datatype', 'data'}]}"


def datatype_of(array: np.ndarray[Any, Any]) -> str:
    """The protocol datatype of a numpy array (``BYTES`` for strings and objects)."""
    kind = array.dtype.kind
    if kind in _BY_KIND:
        return _BY_KIND[kind]
    name = array.dtype.name
    for key, dtype in DATATYPES.items():
        if dtype.name == name:
            return key
    raise InvalidArgument(f"the model returned an array of unsupported dtype {name}")


@dataclass
class InferRequest:
    """A decoded inference request: named input arrays plus the requested outputs."""

    inputs: dict[str, np.ndarray[Any, Any]]
    id: str | None = None
    outputs: list[str] | None = None
    binary_outputs: set[str] = field(default_factory=set)
    binary_default: bool = False


def parse_infer_request(body: bytes, header_length: str | None = None) -> InferRequest:
    """Decode an inference request body (JSON, or JSON + binary tensors).

    Raises:
        InvalidArgument: the body is not a valid request; the message names the bad field.
    """
    binary = b""
    if header_length is not None:
        size = _header_size(header_length, len(body))
        body, binary = body[:size], body[size:]
    doc = _load_object(body)
    raw_inputs = doc.get("inputs")
    if not isinstance(raw_inputs, list) or not raw_inputs:
        raise InvalidArgument("'inputs' must be a non-empty list of tensors", hint=_HINT)
    inputs: dict[str, np.ndarray[Any, Any]] = {}
    offset = 0
    for index, tensor in enumerate(raw_inputs):
        name, array, offset = _parse_tensor(tensor, index, binary, offset)
        inputs[name] = array
    if offset != len(binary):
        raise InvalidArgument(
            f"the body has {len(binary) - offset} bytes of binary data no input claims",
            hint="each binary input needs parameters.binary_data_size",
        )
    request = InferRequest(inputs=inputs, id=_optional_str(doc.get("id"), "id"))
    _parse_outputs(doc, request)
    return request


def _header_size(text: str, total: int) -> int:
    if not text.isdigit() or int(text) > total:
        raise InvalidArgument(
            f"Inference-Header-Content-Length {text!r} is not a size within the body "
            f"({total} bytes)"
        )
    return int(text)


def _load_object(body: bytes) -> dict[str, Any]:
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidArgument(f"the body is not valid JSON: {exc}", hint=_HINT) from None
    if not isinstance(doc, dict):
        raise InvalidArgument("the body must be a JSON object", hint=_HINT)
    return doc


def _optional_str(value: Any, what: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise InvalidArgument(f"'{what}' must be a string, got {type(value).__name__}")


def _parse_tensor(
    tensor: Any, index: int, binary: bytes, offset: int
) -> tuple[str, np.ndarray[Any, Any], int]:
    if not isinstance(tensor, dict):
        raise InvalidArgument(f"inputs[{index}] must be an object", hint=_HINT)
    name = tensor.get("name")
    if not isinstance(name, str) or not name:
        raise InvalidArgument(f"inputs[{index}].name must be a non-empty string", hint=_HINT)
    shape = _shape(tensor.get("shape"), name)
    dtype = _dtype(tensor.get("datatype"), name)
    params = tensor.get("parameters") or {}
    size = params.get("binary_data_size") if isinstance(params, dict) else None
    if size is not None:
        if not isinstance(size, int) or size < 0 or offset + size > len(binary):
            raise InvalidArgument(f"input {name!r}: binary_data_size {size!r} is out of range")
        array = _from_binary(binary[offset : offset + size], dtype, name)
        offset += size
    else:
        array = _from_json(tensor.get("data"), dtype, name)
    return name, _reshape(array, shape, name), offset


def _shape(value: Any, name: str) -> tuple[int, ...]:
    if not isinstance(value, list) or not all(
        isinstance(dim, int) and not isinstance(dim, bool) and dim >= 0 for dim in value
    ):
        raise InvalidArgument(
            f"input {name!r}: 'shape' must be a list of non-negative integers, got {value!r}"
        )
    return tuple(value)


def _dtype(value: Any, name: str) -> np.dtype[Any]:
    dtype = DATATYPES.get(value) if isinstance(value, str) else None
    if dtype is None:
        raise InvalidArgument(
            f"input {name!r}: unknown datatype {value!r}",
            hint="use one of " + ", ".join(DATATYPES),
        )
    return dtype


def _from_json(data: Any, dtype: np.dtype[Any], name: str) -> np.ndarray[Any, Any]:
    if not isinstance(data, list):
        raise InvalidArgument(f"input {name!r}: 'data' must be a JSON array", hint=_HINT)
    if dtype.kind == "O":
        return _strings(data, name)
    try:
        return np.asarray(data, dtype=dtype)
    except (ValueError, TypeError) as exc:
        raise InvalidArgument(f"input {name!r}: 'data' does not fit {dtype.name}: {exc}") from None


def _strings(data: list[Any], name: str) -> np.ndarray[Any, Any]:
    try:
        array = np.asarray(data)
    except ValueError as exc:
        raise InvalidArgument(f"input {name!r}: 'data' is not a rectangular array: {exc}") from None
    return array if array.dtype.kind == "U" else array.astype(str)


def _from_binary(raw: bytes, dtype: np.dtype[Any], name: str) -> np.ndarray[Any, Any]:
    if dtype.kind == "O":
        return _strings([_text(item) for item in _split_bytes(raw, name)], name)
    if len(raw) % dtype.itemsize:
        raise InvalidArgument(
            f"input {name!r}: {len(raw)} bytes is not a whole number of {dtype.name} values"
        )
    return np.frombuffer(raw, dtype=dtype)


def _split_bytes(raw: bytes, name: str) -> list[bytes]:
    items: list[bytes] = []
    pos = 0
    while pos < len(raw):
        if pos + 4 > len(raw):
            raise InvalidArgument(f"input {name!r}: truncated BYTES element length")
        size = int.from_bytes(raw[pos : pos + 4], "little")
        items.append(raw[pos + 4 : pos + 4 + size])
        pos += 4 + size
    if pos != len(raw):
        raise InvalidArgument(f"input {name!r}: truncated BYTES element")
    return items


def _reshape(
    array: np.ndarray[Any, Any], shape: tuple[int, ...], name: str
) -> np.ndarray[Any, Any]:
    if array.shape == shape:
        return array
    if array.size != int(np.prod(shape)):
        raise InvalidArgument(
            f"input {name!r}: shape {list(shape)} needs {int(np.prod(shape))} values, "
            f"'data' has {array.size}"
        )
    return array.reshape(shape)


def _parse_outputs(doc: dict[str, Any], request: InferRequest) -> None:
    params = doc.get("parameters")
    if isinstance(params, dict):
        request.binary_default = bool(params.get("binary_data_output", False))
    outputs = doc.get("outputs")
    if outputs is None:
        return
    if not isinstance(outputs, list):
        raise InvalidArgument("'outputs' must be a list of {'name': ...} objects", hint=_HINT)
    names: list[str] = []
    for index, item in enumerate(outputs):
        name = item.get("name") if isinstance(item, dict) else None
        if not isinstance(name, str):
            raise InvalidArgument(f"outputs[{index}].name must be a string", hint=_HINT)
        names.append(name)
        out_params = item.get("parameters")
        if isinstance(out_params, dict) and out_params.get("binary_data"):
            request.binary_outputs.add(name)
    request.outputs = names


def encode_infer_response(
    model: str,
    version: str,
    request: InferRequest,
    outputs: dict[str, np.ndarray[Any, Any]],
) -> tuple[bytes, int | None]:
    """The response body and, when it carries binary tensors, the JSON header's length.

    Raises:
        InvalidArgument: the request asked for an output the model does not produce.
    """
    chosen = _select(outputs, request.outputs)
    tensors: list[dict[str, Any]] = []
    blobs: list[bytes] = []
    for name, array in chosen.items():
        array = np.ascontiguousarray(array)
        datatype = datatype_of(array)
        tensor: dict[str, Any] = {"name": name, "shape": list(array.shape), "datatype": datatype}
        if request.binary_default or name in request.binary_outputs:
            raw = _to_binary(array, datatype)
            tensor["parameters"] = {"binary_data_size": len(raw)}
            blobs.append(raw)
        else:
            tensor["data"] = _json_data(array, datatype)
        tensors.append(tensor)
    doc: dict[str, Any] = {"model_name": model, "model_version": version, "outputs": tensors}
    if request.id is not None:
        doc["id"] = request.id
    header = orjson.dumps(doc, option=orjson.OPT_SERIALIZE_NUMPY)
    if not blobs:
        return header, None
    return header + b"".join(blobs), len(header)


def _select(
    outputs: dict[str, np.ndarray[Any, Any]], wanted: list[str] | None
) -> dict[str, np.ndarray[Any, Any]]:
    if wanted is None:
        return outputs
    missing = [name for name in wanted if name not in outputs]
    if missing:
        raise InvalidArgument(
            f"the model has no output {missing[0]!r}",
            hint="outputs are: " + ", ".join(outputs),
        )
    return {name: outputs[name] for name in wanted}


def _json_data(array: np.ndarray[Any, Any], datatype: str) -> Any:
    flat = array.reshape(-1)
    if datatype == "BYTES":
        return [_text(item) for item in flat.tolist()]
    if datatype == "FP16":
        return flat.astype(np.float32)
    return flat


def _text(item: Any) -> str:
    return item.decode("utf-8", "replace") if isinstance(item, bytes) else str(item)


def _to_binary(array: np.ndarray[Any, Any], datatype: str) -> bytes:
    if datatype != "BYTES":
        return array.tobytes()
    parts: list[bytes] = []
    for item in array.reshape(-1).tolist():
        raw = item if isinstance(item, bytes) else str(item).encode()
        parts.append(len(raw).to_bytes(4, "little") + raw)
    return b"".join(parts)


def error_body(message: str) -> bytes:
    """The protocol's error body: ``{"error": "..."}``."""
    return orjson.dumps({"error": message})
