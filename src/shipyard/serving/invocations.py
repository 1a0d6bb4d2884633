"""MLflow's scoring format for ``POST /invocations``, parsed by hand.

A JSON body holds exactly one of ``dataframe_split`` (``{"columns", "data"}``),
``dataframe_records`` (``[{column: value}, ...]``), ``instances`` or ``inputs`` (a list of rows,
or ``{column: [values]}``); ``params`` is accepted and ignored. ``text/csv`` bodies (a header row,
then one row per line) work too. The answer is ``{"predictions": ...}``.
"""

from __future__ import annotations

import csv
import io
from typing import Any

import numpy as np
import orjson

from shipyard.errors import InvalidArgument

ModelInput = np.ndarray[Any, Any] | dict[str, np.ndarray[Any, Any]]
"""What a model takes: one array of rows, or named columns."""

FORMATS = ("dataframe_split", "dataframe_records", "instances", "inputs")
_HINT = (
    'send one of {"dataframe_split": {"columns": [...], "data": [[...]]}}, '
    '{"dataframe_records": [{...}]}, {"instances": [[...]]} or {"inputs": [[...]]}'
)


def parse_invocation(body: bytes, content_type: str) -> ModelInput:
    """Decode an ``/invocations`` body into rows or named columns.

    Raises:
        InvalidArgument: the body is malformed; the message says which part.
    """
    if content_type.startswith("text/csv"):
        return _parse_csv(body)
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise InvalidArgument(f"the body is not valid JSON: {exc}", hint=_HINT) from None
    if not isinstance(doc, dict):
        raise InvalidArgument("the body must be a JSON object", hint=_HINT)
    keys = [key for key in FORMATS if key in doc]
    if len(keys) != 1:
        found = ", ".join(sorted(doc)) or "nothing"
        raise InvalidArgument(f"expected exactly one of {', '.join(FORMATS)}; got {found}", _HINT)
    key = keys[0]
    value = doc[key]
    if key == "dataframe_split":
        return _split(value)
    if key == "dataframe_records":
        return _records(value, key)
    return _tensor(value, key)


def _split(value: Any) -> ModelInput:
    if not isinstance(value, dict) or not isinstance(value.get("data"), list):
        raise InvalidArgument("dataframe_split must be {'columns': [...], 'data': [[...]]}", _HINT)
    data = value["data"]
    columns = value.get("columns")
    if columns is None:
        return _rows(data, "dataframe_split.data")
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
        raise InvalidArgument("dataframe_split.columns must be a list of strings", hint=_HINT)
    for index, row in enumerate(data):
        if not isinstance(row, list) or len(row) != len(columns):
            raise InvalidArgument(
                f"dataframe_split.data[{index}] must be a list of {len(columns)} values "
                f"(one per column), got {_describe(row)}"
            )
    return {name: _column([row[i] for row in data], name) for i, name in enumerate(columns)}


def _records(value: Any, key: str) -> ModelInput:
    if not isinstance(value, list) or not value or not isinstance(value[0], dict):
        raise InvalidArgument(f"{key} must be a non-empty list of objects", hint=_HINT)
    columns = list(value[0])
    for index, record in enumerate(value):
        if not isinstance(record, dict) or set(record) != set(columns):
            raise InvalidArgument(
                f"{key}[{index}] must have the same fields as {key}[0] ({', '.join(columns)})"
            )
    return {name: _column([record[name] for record in value], name) for name in columns}


def _tensor(value: Any, key: str) -> ModelInput:
    if isinstance(value, dict):
        if not value:
            raise InvalidArgument(f"{key} must not be empty", hint=_HINT)
        return {str(name): _column(_as_list(v, f"{key}.{name}"), name) for name, v in value.items()}
    if isinstance(value, list) and value and isinstance(value[0], dict):
        return _records(value, key)
    return _rows(value, key)


def _rows(value: Any, key: str) -> np.ndarray[Any, Any]:
    if not isinstance(value, list) or not value:
        raise InvalidArgument(f"{key} must be a non-empty list of rows", hint=_HINT)
    try:
        array = np.asarray(value)
    except ValueError as exc:
        raise InvalidArgument(f"{key} must hold rows of equal length: {exc}") from None
    if array.dtype.kind == "O":
        raise InvalidArgument(f"{key} must hold rows of equal length and plain values")
    return array.reshape(-1, 1) if array.ndim == 1 else array


def _as_list(value: Any, key: str) -> list[Any]:
    if isinstance(value, list):
        return value
    return [value]


def _column(values: list[Any], name: str) -> np.ndarray[Any, Any]:
    try:
        array = np.asarray(values)
    except ValueError as exc:
        raise InvalidArgument(f"column {name!r} is not a list of plain values: {exc}") from None
    if array.dtype.kind == "O" and any(isinstance(v, list | dict) for v in values):
        raise InvalidArgument(f"column {name!r} holds nested values; expected one value per row")
    return array


def _describe(value: Any) -> str:
    if isinstance(value, list):
        return f"{len(value)} values"
    return type(value).__name__


def _parse_csv(body: bytes) -> ModelInput:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidArgument("a CSV body must be UTF-8") from None
    rows = list(csv.reader(io.StringIO(text)))
    if len(rows) < 2:
        raise InvalidArgument("a CSV body needs a header row and at least one data row")
    header, data = rows[0], rows[1:]
    for index, row in enumerate(data, start=2):
        if len(row) != len(header):
            raise InvalidArgument(f"CSV line {index} has {len(row)} fields, expected {len(header)}")
    return {name: _csv_column([row[i] for row in data]) for i, name in enumerate(header)}


def _csv_column(values: list[str]) -> np.ndarray[Any, Any]:
    try:
        return np.asarray(values, dtype=np.float64)
    except ValueError:
        return np.asarray(values, dtype=object)


def encode_predictions(outputs: np.ndarray[Any, Any] | dict[str, np.ndarray[Any, Any]]) -> bytes:
    """The ``{"predictions": ...}`` answer (a list, or ``{name: list}`` for several outputs)."""
    value: Any
    if isinstance(outputs, dict):
        value = {name: _plain(array) for name, array in outputs.items()}
    else:
        value = _plain(outputs)
    return orjson.dumps({"predictions": value}, option=orjson.OPT_SERIALIZE_NUMPY)


def _plain(array: np.ndarray[Any, Any]) -> Any:
    if array.dtype.kind in "OUS" or array.dtype == np.float16:
        return array.tolist()
    return np.ascontiguousarray(array)
