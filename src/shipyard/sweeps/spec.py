"""The sweep spec: what to run, what to optimise, over which parameters, and how to search.

Example (``sweep.yaml``)::

    project: tuning
    command: python train.py --lr ${lr} --depth ${depth}
    metric: {name: val_acc, goal: maximize}
    method: tpe            # grid | random | tpe | cmaes
    parameters:
      lr: {distribution: log_uniform, min: 1e-4, max: 1e-1}
      depth: {values: [2, 4, 8]}
      units: {distribution: int_uniform, min: 8, max: 64, step: 8}
    max_trials: 32
    early_stop: {type: hyperband, min_resource: 1}

Every error names the line and the key at fault and says what is allowed.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shipyard.domain.entities import ParamValue
from shipyard.sweeps._located import KeyPath, Located, SweepSpecError, load_located
from shipyard.sweeps._parameters import (
    DISTRIBUTIONS,
    Parameter,
    grid_size,
    read_parameters,
    read_text,
)

__all__ = [
    "DISTRIBUTIONS",
    "EARLY_STOPS",
    "GOALS",
    "METHODS",
    "EarlyStop",
    "Metric",
    "Parameter",
    "SweepSpec",
    "SweepSpecError",
    "load_spec",
    "parse_spec",
]

METHODS = ("grid", "random", "tpe", "cmaes")
GOALS = ("maximize", "minimize")
EARLY_STOPS: Mapping[str, Mapping[str, str]] = {
    "none": {},
    "median": {
        "n_startup_trials": "int",
        "n_warmup_steps": "int",
        "interval_steps": "int",
        "n_min_trials": "int",
    },
    "hyperband": {"min_resource": "int", "max_resource": "int|auto", "reduction_factor": "int"},
}
TOP_KEYS = (
    "project",
    "name",
    "command",
    "metric",
    "method",
    "parameters",
    "max_trials",
    "early_stop",
    "seed",
    "env",
)
_PLACEHOLDER = re.compile(r"\$\{([^}]*)\}")


@dataclass(frozen=True, slots=True)
class Metric:
    """The metric every trial logs and the sweep optimises."""

    name: str
    goal: str = "maximize"

    @property
    def maximize(self) -> bool:
        """Whether higher is better."""
        return self.goal == "maximize"


@dataclass(frozen=True, slots=True)
class EarlyStop:
    """Which Optuna pruner stops bad trials early (``none``, ``median``, ``hyperband``)."""

    type: str = "none"
    options: Mapping[str, int | str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class SweepSpec:
    """A validated sweep (build it with :func:`parse_spec` or :func:`load_spec`).

    ``command`` is an argument list whose ``${name}`` placeholders take the trial's values (each
    value stays one argument, whatever it contains); it may be empty for a sweep whose objective
    is a Python function. ``max_trials`` is resolved: a grid sweep without one runs the grid.
    """

    metric: Metric
    parameters: Mapping[str, Parameter]
    max_trials: int
    method: str = "tpe"
    project: str | None = None
    name: str | None = None
    command: tuple[str, ...] = ()
    early_stop: EarlyStop = field(default_factory=EarlyStop)
    seed: int | None = None
    env: Mapping[str, str] = field(default_factory=dict)

    @property
    def grid_size(self) -> int | None:
        """How many points the grid has (``None`` unless ``method`` is grid)."""
        return grid_size(self.parameters) if self.method == "grid" else None

    def command_for(self, params: Mapping[str, ParamValue]) -> list[str]:
        """The command with ``${name}`` replaced by each param's value, e.g.
        ``["python", "train.py", "--lr", "0.001"]``."""
        return [
            _PLACEHOLDER.sub(lambda m: format_value(params[m.group(1)]), a) for a in self.command
        ]

    def with_max_trials(self, max_trials: int) -> SweepSpec:
        """A copy with another trial budget (a grid sweep never runs more than its grid)."""
        return parse_spec(self.to_dict(), source="the sweep spec", max_trials=max_trials)

    def to_dict(self) -> dict[str, Any]:
        """The spec as plain data in the YAML layout (``parse_spec`` reads it back)."""
        data: dict[str, Any] = {
            "project": self.project,
            "name": self.name,
            "command": list(self.command),
            "metric": {"name": self.metric.name, "goal": self.metric.goal},
            "method": self.method,
            "parameters": {name: p.to_dict() for name, p in self.parameters.items()},
            "max_trials": self.max_trials,
            "early_stop": {"type": self.early_stop.type, **self.early_stop.options},
            "seed": self.seed,
            "env": dict(self.env),
        }
        return {key: value for key, value in data.items() if value not in (None, [], {})}

    def search_space(self) -> dict[str, Any]:
        """What must not change when a sweep resumes: metric, method, parameters, pruner."""
        data = self.to_dict()
        return {key: data.get(key) for key in ("metric", "method", "parameters", "early_stop")}


def format_value(value: ParamValue) -> str:
    """A param value as a command argument: ``0.001``, ``8``, ``true``, ``adam``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, float) else str(value)


def load_spec(path: str | os.PathLike[str], *, max_trials: int | None = None) -> SweepSpec:
    """Read and validate a sweep spec file (YAML).

    Raises :class:`SweepSpecError` (an ``InvalidArgument``) when the file cannot be read or is
    malformed; the message names the file, the line and the key.
    """
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise SweepSpecError(
            f"cannot read the sweep spec {file}: {exc.strerror or exc}",
            key="",
            line=None,
            source=str(file),
            hint="pass the path of a YAML file, e.g. shipyard sweep run sweep.yaml",
        ) from None
    return parse_spec(text, source=str(file), max_trials=max_trials)


def parse_spec(
    spec: str | Mapping[str, Any], *, source: str = "<spec>", max_trials: int | None = None
) -> SweepSpec:
    """Validate a spec given as YAML text or as a dict (with the same keys as the YAML);
    ``max_trials`` replaces the spec's own (a grid sweep still stops at its grid's size).

    Raises :class:`SweepSpecError` (an ``InvalidArgument``) naming the line and key at fault.

    Example::

        spec = parse_spec({"metric": {"name": "acc", "goal": "maximize"},
                           "parameters": {"depth": {"values": [2, 4]}}, "method": "grid"})
    """
    located = load_located(spec, source) if isinstance(spec, str) else Located(spec, source)
    if max_trials is not None and isinstance(located.data, Mapping):
        data = {**located.data, "max_trials": max_trials}
        located = Located(data, f"{source} (max_trials={max_trials!r})", located.lines)
    return _read_spec(located)


def _read_spec(doc: Located) -> SweepSpec:
    data = doc.data
    if not isinstance(data, Mapping):
        raise doc.error((), "the spec must be a mapping of keys", hint=_keys_hint())
    unknown = [key for key in data if key not in TOP_KEYS]
    if unknown:
        raise doc.error((unknown[0],), "is not a sweep spec key", hint=_keys_hint())
    metric = _metric(doc, data.get("metric"))
    method = _choice(doc, ("method",), data.get("method", "tpe"), METHODS)
    parameters = read_parameters(doc, data.get("parameters"), grid=method == "grid")
    return SweepSpec(
        metric=metric,
        parameters=parameters,
        max_trials=_max_trials(doc, data.get("max_trials"), method, parameters),
        method=method,
        project=_optional_text(doc, "project", data.get("project")),
        name=_optional_text(doc, "name", data.get("name")),
        command=_command(doc, data.get("command"), parameters),
        early_stop=_early_stop(doc, data.get("early_stop")),
        seed=_seed(doc, data.get("seed")),
        env=_env(doc, data.get("env")),
    )


def _keys_hint() -> str:
    return f"a spec has the keys {', '.join(TOP_KEYS)}"


def _choice(doc: Located, path: KeyPath, value: Any, allowed: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value.lower() not in allowed:
        raise doc.error(path, f"{value!r} is not allowed", hint=f"use one of {', '.join(allowed)}")
    return value.lower()


def _optional_text(doc: Located, key: str, value: Any) -> str | None:
    return None if value is None else read_text(doc, (key,), value)


def _metric(doc: Located, value: Any) -> Metric:
    path: KeyPath = ("metric",)
    hint = "write it as metric: {name: val_acc, goal: maximize} (goal: maximize or minimize)"
    if value is None:
        raise doc.error(path, "is required", hint=hint)
    if not isinstance(value, Mapping):
        raise doc.error(path, "must be a mapping with name and goal", hint=hint)
    for key in value:
        if key not in ("name", "goal"):
            raise doc.error((*path, key), "is not a metric key", hint=hint)
    if "name" not in value:
        raise doc.error(path, "has no name", hint=hint)
    if "goal" not in value:
        raise doc.error(path, "has no goal", hint=hint)
    name = read_text(doc, (*path, "name"), value["name"])
    return Metric(name, _choice(doc, (*path, "goal"), value["goal"], GOALS))


def _max_trials(doc: Located, value: Any, method: str, parameters: Mapping[str, Parameter]) -> int:
    path: KeyPath = ("max_trials",)
    size = grid_size(parameters) if method == "grid" else None
    if value is None:
        if size is not None:
            return size
        raise doc.error(path, f"is required for method {method}", hint="e.g. max_trials: 32")
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise doc.error(path, f"must be a whole number of at least 1, got {value!r}", "e.g. 32")
    return int(value) if size is None else min(int(value), size)


def _command(doc: Located, value: Any, parameters: Mapping[str, Parameter]) -> tuple[str, ...]:
    import shlex

    path: KeyPath = ("command",)
    hint = "write it as one line (command: python train.py --lr ${lr}) or a list of arguments"
    if value is None:
        return ()
    if isinstance(value, str):
        try:
            args = shlex.split(value)
        except ValueError as exc:
            raise doc.error(path, f"cannot be split into arguments: {exc}", hint=hint) from None
    elif isinstance(value, list) and all(isinstance(a, str | int | float) for a in value):
        args = [str(a) for a in value]
    else:
        raise doc.error(path, "must be text or a list of text", hint=hint)
    if not args:
        raise doc.error(path, "is empty", hint=hint)
    for arg in args:
        for name in _PLACEHOLDER.findall(arg):
            if name not in parameters:
                known = ", ".join(parameters) or "none"
                raise doc.error(
                    path, f"uses ${{{name}}}, which is not a parameter", f"parameters: {known}"
                )
    return tuple(args)


def _early_stop(doc: Located, value: Any) -> EarlyStop:
    path: KeyPath = ("early_stop",)
    if value is None:
        return EarlyStop()
    if isinstance(value, str):
        value = {"type": value}
    if not isinstance(value, Mapping) or "type" not in value:
        raise doc.error(
            path,
            "must be a mapping with a type",
            hint="e.g. early_stop: {type: median, n_warmup_steps: 2} (median, hyperband or none)",
        )
    kind = _choice(doc, (*path, "type"), value["type"], tuple(EARLY_STOPS))
    allowed = EARLY_STOPS[kind]
    options: dict[str, int | str] = {}
    for key, option in value.items():
        if key == "type":
            continue
        if key not in allowed:
            names = ", ".join(allowed) or "no options"
            hint = f"{kind} takes {names}"
            raise doc.error((*path, key), f"is not an option of {kind}", hint=hint)
        options[key] = _option(doc, (*path, key), option, allowed[key])
    return EarlyStop(kind, options)


def _option(doc: Located, path: KeyPath, value: Any, kind: str) -> int | str:
    if kind == "int|auto" and value == "auto":
        return "auto"
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        extra = " or auto" if kind == "int|auto" else ""
        raise doc.error(path, f"must be a whole number >= 0{extra}, got {value!r}", hint="e.g. 1")
    return int(value)


def _seed(doc: Located, value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise doc.error(("seed",), f"must be a whole number >= 0, got {value!r}", hint="e.g. 42")
    return int(value)


def _env(doc: Located, value: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise doc.error(("env",), "must be a mapping", hint="e.g. env: {OMP_NUM_THREADS: 1}")
    env: dict[str, str] = {}
    for key, item in value.items():
        if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*$", key) or isinstance(item, Mapping | list):
            raise doc.error(
                ("env", key), "must be NAME: value", hint="names use letters, digits and '_'"
            )
        env[key] = format_value(item)
    return env
