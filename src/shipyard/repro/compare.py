"""Comparing metric summaries of two runs: exactly, or within a tolerance like ``numpy.isclose``.

A reproduction is verified by comparing every metric's ``last``, ``min`` and ``max`` with the
original's (``system/`` metrics excepted: they describe the machine, not the model).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from shipyard.domain.entities import MetricSummary
from shipyard.errors import InvalidArgument

STATS = ("last", "min", "max")
"""The summary statistics compared, per metric key."""
SYSTEM_PREFIX = "system/"


def is_system_metric(key: str) -> bool:
    """Whether a metric describes the machine (``system/cpu``...) rather than the model."""
    return key.startswith(SYSTEM_PREFIX)


def check_tolerances(rtol: float, atol: float) -> None:
    """Raise ``InvalidArgument`` unless both tolerances are finite and non-negative."""
    for name, value in (("rtol", rtol), ("atol", atol)):
        if not math.isfinite(value) or value < 0:
            raise InvalidArgument(
                f"{name} must be a finite number >= 0, got {value!r}",
                hint=f"pass e.g. --{name} 1e-6 (0, the default, asks for exact equality)",
            )


def values_match(
    original: float | None, reproduced: float | None, *, rtol: float = 0.0, atol: float = 0.0
) -> bool:
    """Whether a reproduced value matches the original one.

    ``numpy.isclose(reproduced, original, rtol, atol, equal_nan=True)`` semantics:
    ``|reproduced - original| <= atol + rtol * |original|``; NaN matches NaN, an infinity matches
    the same infinity; ``None`` (no value, e.g. the min of an all-NaN series) matches only ``None``.
    With both tolerances 0 the values must be equal.

    >>> values_match(1.0, 1.0 + 1e-9, rtol=1e-6)
    True
    >>> values_match(float("nan"), float("nan"))
    True
    """
    if original is None or reproduced is None:
        return original is None and reproduced is None
    if math.isnan(original) or math.isnan(reproduced):
        return math.isnan(original) and math.isnan(reproduced)
    if math.isinf(original) or math.isinf(reproduced):
        return original == reproduced
    return abs(reproduced - original) <= atol + rtol * abs(original)


def difference(a: float | None, b: float | None) -> float | None:
    """``b - a``, or ``None`` when either is missing."""
    if a is None or b is None:
        return None
    if math.isinf(a) and a == b:
        return 0.0
    return b - a


def stat(summary: MetricSummary | None, name: str) -> float | None:
    """One statistic (``last``, ``min`` or ``max``) of a summary, ``None`` when absent."""
    if summary is None:
        return None
    value: float | None = getattr(summary, name)
    return value


def json_number(value: float | None) -> float | str | None:
    """A number for JSON: NaN and infinities become ``"NaN"``, ``"Infinity"``, ``"-Infinity"``."""
    if value is None or math.isfinite(value):
        return value
    if math.isnan(value):
        return "NaN"
    return "Infinity" if value > 0 else "-Infinity"


@dataclass(frozen=True, slots=True)
class MetricCheck:
    """One statistic of one metric, original against reproduced."""

    key: str
    stat: str
    original: float | None
    reproduced: float | None
    ok: bool

    @property
    def delta(self) -> float | None:
        """``reproduced - original`` (``None`` when either is missing)."""
        return difference(self.original, self.reproduced)

    def to_dict(self) -> dict[str, Any]:
        """JSON form (non-finite numbers as strings)."""
        return {
            "key": self.key,
            "stat": self.stat,
            "original": json_number(self.original),
            "reproduced": json_number(self.reproduced),
            "delta": json_number(self.delta),
            "ok": self.ok,
        }


def compare_metrics(
    original: Mapping[str, MetricSummary],
    reproduced: Mapping[str, MetricSummary],
    *,
    rtol: float = 0.0,
    atol: float = 0.0,
    include_system: bool = False,
) -> tuple[MetricCheck, ...]:
    """Check every metric summary of the original run against the reproduction.

    Every key of either side is checked (a key missing on one side fails), sorted by key, one
    :class:`MetricCheck` per statistic in :data:`STATS`. Raises ``InvalidArgument`` for a
    negative or non-finite tolerance.

    Example::

        checks = compare_metrics(original.metrics, new.metrics, rtol=1e-6)
        all(c.ok for c in checks)
    """
    check_tolerances(rtol, atol)
    keys = sorted(k for k in {*original, *reproduced} if include_system or not is_system_metric(k))
    checks: list[MetricCheck] = []
    for key in keys:
        a, b = original.get(key), reproduced.get(key)
        for name in STATS:
            va, vb = stat(a, name), stat(b, name)
            present = a is not None and b is not None
            ok = present and values_match(va, vb, rtol=rtol, atol=atol)
            checks.append(MetricCheck(key, name, va, vb, ok))
    return tuple(checks)
