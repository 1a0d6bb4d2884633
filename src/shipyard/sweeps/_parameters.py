"""The ``parameters`` section of a sweep spec: one :class:`Parameter` per searched name.

A parameter is a list of ``values`` (categorical), a constant ``value``, or a ``distribution``
(``uniform``, ``log_uniform``, ``int_uniform``, ``int_log_uniform``) between ``min`` and ``max``
with an optional ``step`` (``q`` is accepted as its other name).
"""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shipyard.domain.entities import ParamValue
from shipyard.sweeps._located import KeyPath, Located

DISTRIBUTIONS = ("uniform", "log_uniform", "int_uniform", "int_log_uniform")
MAX_GRID = 100_000
"""The most points a grid sweep may have (Optuna's GridSampler holds the whole grid)."""
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")
_SHAPES = (
    "write it as {values: [2, 4, 8]}, {value: 0.5}, "
    "or {distribution: uniform|log_uniform|int_uniform|int_log_uniform, min: 0, max: 1}"
)


@dataclass(frozen=True, slots=True)
class Parameter:
    """One searched parameter: ``kind`` is ``values``, ``value`` or one of :data:`DISTRIBUTIONS`."""

    name: str
    kind: str
    values: tuple[ParamValue, ...] = ()
    low: float | None = None
    high: float | None = None
    step: float | None = None

    @property
    def is_constant(self) -> bool:
        """A fixed value: passed to every trial, never searched."""
        return self.kind == "value"

    @property
    def is_int(self) -> bool:
        """Whether the distribution draws whole numbers."""
        return self.kind.startswith("int_")

    @property
    def is_log(self) -> bool:
        """Whether the distribution is uniform in the logarithm."""
        return "log" in self.kind

    def grid_values(self) -> tuple[ParamValue, ...]:
        """Every value a grid takes (only for ``values`` and stepped non-log distributions)."""
        if self.kind in ("values", "value"):
            return self.values
        low, high, step = float(self.low or 0), float(self.high or 0), self.step or 1
        count = round((high - low) / step) + 1
        if self.is_int:
            return tuple(int(low) + i * int(step) for i in range(count))
        return tuple(low + i * step for i in range(count))

    def to_dict(self) -> dict[str, Any]:
        """The parameter in the spec's YAML layout."""
        if self.kind == "values":
            return {"values": list(self.values)}
        if self.kind == "value":
            return {"value": self.values[0]}
        data: dict[str, Any] = {"distribution": self.kind, "min": self.low, "max": self.high}
        if self.step is not None:
            data["step"] = self.step
        return data


def grid_size(parameters: Mapping[str, Parameter]) -> int:
    """How many points the grid over ``parameters`` has."""
    return math.prod(len(p.grid_values()) for p in parameters.values() if not p.is_constant)


def read_text(doc: Located, path: KeyPath, value: Any) -> str:
    """A non-empty text value (numbers are refused: quote them)."""
    if not isinstance(value, str) or not value.strip():
        raise doc.error(path, f"must be non-empty text, got {value!r}", hint="e.g. tuning")
    return value


def read_parameters(doc: Located, value: Any, *, grid: bool) -> dict[str, Parameter]:
    """Validate the ``parameters`` mapping; with ``grid`` every parameter must be finite."""
    path: KeyPath = ("parameters",)
    if not isinstance(value, Mapping) or not value:
        problem = "is required" if value is None else "must be a non-empty mapping of names"
        raise doc.error(path, problem, hint="e.g. parameters: {lr: {values: [0.1, 0.01]}}")
    parameters = {}
    for name, item in value.items():
        if not _NAME.match(name):
            raise doc.error(
                (*path, name),
                "is not a valid parameter name",
                hint="use letters, digits, '_', '.' and '-', starting with a letter or '_'",
            )
        parameter = _parameter(doc, (*path, name), name, item)
        if grid:
            _check_finite(doc, (*path, name), parameter)
        parameters[name] = parameter
    if grid and not all(p.is_constant for p in parameters.values()):
        size = grid_size(parameters)
        if size > MAX_GRID:
            raise doc.error(path, f"make a grid of {size} points", f"keep it under {MAX_GRID}")
    if all(p.is_constant for p in parameters.values()):
        raise doc.error(path, "has nothing to search (only constant values)", hint=_SHAPES)
    return parameters


def _parameter(doc: Located, path: KeyPath, name: str, item: Any) -> Parameter:
    if isinstance(item, list):
        return Parameter(name, "values", _values(doc, path, item))
    if not isinstance(item, Mapping):
        raise doc.error(path, f"must be a mapping, got {item!r}", hint=_SHAPES)
    if "values" in item:
        _only(doc, path, item, ("values",))
        return Parameter(name, "values", _values(doc, (*path, "values"), item["values"]))
    if "value" in item:
        _only(doc, path, item, ("value",))
        return Parameter(name, "value", (_scalar(doc, (*path, "value"), item["value"]),))
    if "distribution" not in item:
        raise doc.error(path, "needs values, value or distribution", hint=_SHAPES)
    return _distribution(doc, path, name, item)


def _only(doc: Located, path: KeyPath, item: Mapping[str, Any], allowed: tuple[str, ...]) -> None:
    for key in item:
        if key not in allowed:
            raise doc.error((*path, key), f"cannot be combined with {allowed[0]}", hint=_SHAPES)


def _values(doc: Located, path: KeyPath, items: Any) -> tuple[ParamValue, ...]:
    if not isinstance(items, list) or not items:
        raise doc.error(path, "must be a non-empty list", hint="e.g. values: [2, 4, 8]")
    values = tuple(_scalar(doc, (*path, i), v) for i, v in enumerate(items))
    for i, item in enumerate(values):
        if any(type(item) is type(seen) and item == seen for seen in values[:i]):
            raise doc.error((*path, i), f"repeats {item!r}", hint="list each value once")
    return values


def _scalar(doc: Located, path: KeyPath, value: Any) -> ParamValue:
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return value
    raise doc.error(
        path, f"must be text, a number, true/false or null, got {value!r}", "e.g. 0.1 or adam"
    )


def _distribution(doc: Located, path: KeyPath, name: str, item: Mapping[str, Any]) -> Parameter:
    for key in item:
        if key not in ("distribution", "min", "max", "step", "q"):
            raise doc.error((*path, key), "is not a distribution key", hint=_SHAPES)
    kind = item["distribution"]
    if kind not in DISTRIBUTIONS:
        raise doc.error(
            (*path, "distribution"),
            f"{kind!r} is not a distribution",
            hint=f"use one of {', '.join(DISTRIBUTIONS)} (or values: [...] for a list)",
        )
    whole = kind.startswith("int_")
    for bound in ("min", "max"):
        if bound not in item:
            example = f"e.g. {{distribution: {kind}, min: 1, max: 10}}"
            raise doc.error(path, f"has no {bound}", hint=example)
    low = _number(doc, (*path, "min"), item["min"], whole)
    high = _number(doc, (*path, "max"), item["max"], whole)
    if low >= high:
        raise doc.error((*path, "max"), f"must be above min ({low!r})", hint="swap them?")
    if "log" in kind and low <= 0:
        raise doc.error((*path, "min"), "must be above 0 for a log distribution", "e.g. 1e-5")
    step = _step(doc, path, item, kind, low, high)
    return Parameter(name, kind, low=low, high=high, step=step)


def _step(
    doc: Located, path: KeyPath, item: Mapping[str, Any], kind: str, low: float, high: float
) -> float | None:
    if "step" in item and "q" in item:
        raise doc.error((*path, "q"), "is another name of step: give one", hint="keep step")
    key = "step" if "step" in item else "q"
    if key not in item:
        return None
    step = _number(doc, (*path, key), item[key], kind.startswith("int_"))
    if step <= 0:
        raise doc.error((*path, key), "must be above 0", hint="e.g. step: 8")
    if "log" in kind and step != 1:
        raise doc.error((*path, key), "cannot be used with a log distribution", "drop it")
    intervals = (high - low) / step
    if abs(intervals - round(intervals)) > 1e-9 * max(1.0, abs(intervals)):
        raise doc.error(
            (*path, key),
            f"does not divide max - min ({high - low!r}) into whole steps",
            hint="choose min, max and step so that (max - min) / step is a whole number",
        )
    return None if "log" in kind else step


def _number(doc: Located, path: KeyPath, value: Any, whole: bool) -> float:
    if isinstance(value, str):  # YAML 1.1 reads 1e-4 (no dot) as text
        with contextlib.suppress(ValueError):
            value = float(value)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise doc.error(path, f"must be a number, got {value!r}", hint="e.g. 0.001 or 1e-3")
    if whole:
        if not float(value).is_integer():
            raise doc.error(path, f"must be a whole number, got {value!r}", hint="e.g. 8")
        return int(value)
    return float(value)


def _check_finite(doc: Located, path: KeyPath, parameter: Parameter) -> None:
    if parameter.kind in ("values", "value"):
        return
    if parameter.is_log or (not parameter.is_int and parameter.step is None):
        raise doc.error(
            path,
            f"is a continuous {parameter.kind} distribution, which method grid cannot cover",
            hint="give it values: [...] (or an int_uniform/stepped uniform range), "
            "or use method random, tpe or cmaes",
        )
