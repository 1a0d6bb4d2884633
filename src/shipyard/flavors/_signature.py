"""Model signatures: the columns (or tensor) a model takes and returns, inferred from examples.

Two shapes of input are described:

* **named columns**, from a dict of arrays (``{"sepal_length": [...], ...}``) or a list of
  records (``[{"sepal_length": 5.1, ...}, ...]``): one :class:`ColSpec` per column, in order;
* **a tensor**, from a numpy array: one unnamed :class:`ColSpec` whose ``shape`` starts with
  ``-1`` (any number of rows), e.g. ``(-1, 4)`` for four unnamed columns.

:meth:`Signature.coerce_inputs` checks data against the inputs and returns the array to feed the
model, raising :class:`~shipyard.errors.InvalidArgument` with a message a caller can act on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from shipyard.errors import InvalidArgument

DTYPES = ("float32", "float64", "int32", "int64", "bool", "string")
"""The column types a signature names."""

_NUMERIC = {"float32", "float64", "int32", "int64", "bool"}
_SHOWN_NAMES = 8


@dataclass(frozen=True, slots=True)
class ColSpec:
    """One input or output: a named column (``shape`` ``None``) or a tensor (``shape`` with
    ``-1`` for any size, first the rows)."""

    name: str | None
    dtype: str
    shape: tuple[int, ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain form (YAML/JSON)."""
        shape = None if self.shape is None else list(self.shape)
        return {"name": self.name, "dtype": self.dtype, "shape": shape}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ColSpec:
        """Inverse of :meth:`to_dict`; raises ``InvalidArgument`` for an unknown dtype."""
        dtype = str(data.get("dtype", ""))
        if dtype not in DTYPES:
            raise InvalidArgument(
                f"unknown signature dtype {dtype!r}", hint=f"use one of {', '.join(DTYPES)}"
            )
        shape = data.get("shape")
        name = data.get("name")
        return cls(
            name=None if name is None else str(name),
            dtype=dtype,
            shape=None if shape is None else tuple(int(d) for d in shape),
        )


@dataclass(frozen=True, slots=True)
class Signature:
    """What a model takes (``inputs``) and returns (``outputs``, ``None`` when unknown)."""

    inputs: list[ColSpec]
    outputs: list[ColSpec] | None = None

    @property
    def names(self) -> list[str] | None:
        """The input column names, or ``None`` when the inputs are one unnamed tensor."""
        if not self.inputs or any(spec.name is None for spec in self.inputs):
            return None
        return [str(spec.name) for spec in self.inputs]

    def to_dict(self) -> dict[str, Any]:
        """Plain form (YAML/JSON)."""
        outputs = None if self.outputs is None else [s.to_dict() for s in self.outputs]
        return {"inputs": [s.to_dict() for s in self.inputs], "outputs": outputs}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Signature:
        """Inverse of :meth:`to_dict`."""
        outputs = data.get("outputs")
        return cls(
            inputs=[ColSpec.from_dict(s) for s in data.get("inputs") or []],
            outputs=None if outputs is None else [ColSpec.from_dict(s) for s in outputs],
        )

    def coerce_inputs(self, data: Any) -> np.ndarray:
        """Check ``data`` against the inputs and return the array to feed the model.

        Named columns give a 2-D array in the signature's column order; a tensor signature gives
        an array of its shape. Raises ``InvalidArgument`` naming what does not fit, e.g.
        ``expected 4 input columns [sepal_length, ...], got 3``.
        """
        names = self.names
        if names is not None:
            return _coerce_columns(self.inputs, names, data)
        if len(self.inputs) == 1 and self.inputs[0].shape is not None:
            return _coerce_tensor(self.inputs[0], data)
        return _coerce_tensor(ColSpec(None, self.inputs[0].dtype, (-1, len(self.inputs))), data)


def dtype_name(dtype: np.dtype[Any]) -> str:
    """The signature dtype of a numpy dtype (``int8`` -> ``int32``, ``<U5`` -> ``string``)."""
    if dtype.kind == "b":
        return "bool"
    if dtype.kind == "f":
        return "float64" if dtype.itemsize > 4 else "float32"
    if dtype.kind in "iu":
        small = dtype.itemsize < 4 or (dtype.kind == "i" and dtype.itemsize == 4)
        return "int32" if small else "int64"
    return "string"


def infer_signature(input_example: Any, output: Any = None) -> Signature:
    """The signature of an input example (and of the model's output for it).

    >>> infer_signature({"x": [1.0, 2.0], "n": [1, 2]}).inputs[0]
    ColSpec(name='x', dtype='float64', shape=None)
    """
    outputs = None if output is None else _specs(output)
    return Signature(inputs=_specs(input_example), outputs=outputs)


def _specs(data: Any) -> list[ColSpec]:
    columns = _as_columns(data)
    if columns is not None:
        return [_column_spec(name, values) for name, values in columns.items()]
    array = _as_array(data, "input")
    return [ColSpec(None, dtype_name(array.dtype), (-1, *array.shape[1:]))]


def _column_spec(name: str, values: np.ndarray) -> ColSpec:
    shape = None if values.ndim <= 1 else (-1, *values.shape[1:])
    return ColSpec(str(name), dtype_name(values.dtype), shape)


def _as_columns(data: Any) -> dict[str, np.ndarray] | None:
    """Named columns of a dict of arrays, a record, or a list of records (``None`` otherwise)."""
    if isinstance(data, Mapping):
        if all(np.ndim(v) == 0 for v in data.values()):  # one record
            data = [data]
        else:
            return {str(k): _as_array(v, f"column {k!r}") for k, v in data.items()}
    if isinstance(data, list | tuple) and data and all(isinstance(r, Mapping) for r in data):
        return _records_to_columns(data)
    return None


def _records_to_columns(records: Sequence[Mapping[str, Any]]) -> dict[str, np.ndarray]:
    names = [str(k) for k in records[0]]
    for index, record in enumerate(records):
        if [str(k) for k in record] != names and set(map(str, record)) != set(names):
            raise InvalidArgument(
                f"record {index} has columns {sorted(map(str, record))}, record 0 has {names}",
                hint="give every record the same keys",
            )
    return {
        name: _as_array([_field(r, name) for r in records], f"column {name!r}") for name in names
    }


def _field(record: Mapping[Any, Any], name: str) -> Any:
    return record[name] if name in record else next(v for k, v in record.items() if str(k) == name)


def _as_array(data: Any, what: str) -> np.ndarray:
    try:
        array = np.asarray(data)
    except (ValueError, TypeError) as exc:
        raise InvalidArgument(
            f"the {what} is not a rectangular array: {exc}",
            hint="give lists of equal lengths, or a numpy array",
        ) from None
    if array.dtype.kind == "O":
        raise InvalidArgument(
            f"the {what} mixes types or has rows of different lengths",
            hint="give numbers (or strings) in rows of equal length",
        )
    return array


def _shown(names: Sequence[str]) -> str:
    head = ", ".join(names[:_SHOWN_NAMES])
    return f"[{head}, ...]" if len(names) > _SHOWN_NAMES else f"[{head}]"


def _coerce_columns(specs: list[ColSpec], names: list[str], data: Any) -> np.ndarray:
    columns = _as_columns(data)
    if columns is None:  # an array: columns by position
        array = _as_array(data, "input")
        array = array.reshape(1, -1) if array.ndim == 1 else array
        if array.ndim != 2 or array.shape[1] != len(names):
            got = array.shape[1] if array.ndim == 2 else f"shape {array.shape}"
            raise InvalidArgument(
                f"expected {len(names)} input columns {_shown(names)}, got {got}",
                hint="send one value per column in this order, or named columns",
            )
        columns = {name: array[:, i] for i, name in enumerate(names)}
    _check_names(names, list(columns))
    converted = [_convert(columns[spec.name or ""], spec) for spec in specs]
    _check_lengths(names, converted)
    return _stack(converted)


def _check_names(expected: list[str], got: list[str]) -> None:
    missing = [n for n in expected if n not in got]
    unknown = [n for n in got if n not in expected]
    if missing or unknown:
        detail = f"missing {_shown(missing)}" if missing else f"unknown {_shown(unknown)}"
        raise InvalidArgument(
            f"expected {len(expected)} input columns {_shown(expected)}, got {len(got)} ({detail})",
            hint="send exactly the columns of the model's signature",
        )


def _check_lengths(names: list[str], columns: list[np.ndarray]) -> None:
    lengths = {len(c) for c in columns}
    if len(lengths) > 1:
        sizes = ", ".join(f"{n}={len(c)}" for n, c in zip(names, columns, strict=True))
        raise InvalidArgument(
            f"input columns have different lengths ({sizes})",
            hint="give every column one value per row",
        )


def _stack(columns: list[np.ndarray]) -> np.ndarray:
    flat = [c.reshape(len(c), -1) for c in columns]
    dtypes = {c.dtype for c in flat}
    if len(dtypes) == 1:
        return np.hstack(flat)
    if all(c.dtype.kind in "biuf" for c in flat):
        return np.hstack(flat).astype(np.result_type(*dtypes))
    return np.hstack([c.astype(object) for c in flat])


def _coerce_tensor(spec: ColSpec, data: Any) -> np.ndarray:
    if _as_columns(data) is not None:
        raise InvalidArgument(
            f"this model takes an array of shape {_shape_text(spec.shape)}, not named columns",
            hint="send a list of rows (lists of numbers)",
        )
    array = _as_array(data, "input")
    shape = spec.shape or (-1,)
    if array.ndim == len(shape) - 1:
        array = array.reshape(1, *array.shape)  # one row
    if array.ndim != len(shape) or any(
        want not in (-1, got) for want, got in zip(shape[1:], array.shape[1:], strict=True)
    ):
        raise InvalidArgument(_shape_error(shape, array.shape), hint="send rows of that shape")
    return _convert(array, spec)


def _shape_error(shape: tuple[int, ...], got: tuple[int, ...]) -> str:
    if len(shape) == 2 and len(got) == 2:
        return f"expected {shape[1]} input columns, got {got[1]}"
    return f"expected an input of shape {_shape_text(shape)}, got {_shape_text(got)}"


def _shape_text(shape: tuple[int, ...] | None) -> str:
    dims = ["N" if d == -1 else str(d) for d in (shape or (-1,))]
    return f"({', '.join(dims)})"


def _convert(values: np.ndarray, spec: ColSpec) -> np.ndarray:
    """The values as the spec's dtype, refusing lossy or meaningless conversions."""
    what = f"input column {spec.name!r}" if spec.name is not None else "input"
    if spec.dtype == "string":
        return values.astype(str)
    if values.dtype.kind not in "biuf":
        example = f" (e.g. {values.flat[0]!r})" if values.size else ""
        raise InvalidArgument(
            f"{what} expects {spec.dtype} values, got {dtype_name(values.dtype)}{example}",
            hint="send numbers",
        )
    if (
        spec.dtype.startswith("int")
        and values.dtype.kind == "f"
        and not (np.all(np.isfinite(values)) and np.all(np.mod(values, 1) == 0))
    ):
        raise InvalidArgument(
            f"{what} expects whole numbers ({spec.dtype}), got fractions",
            hint="send integers",
        )
    return values.astype(spec.dtype if spec.dtype in _NUMERIC else str)
