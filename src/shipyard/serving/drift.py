"""Data drift: per-feature tests of a window of logged predictions against a summarised reference.

The reference (the training data, or a sample saved with the deployment) is summarised ONCE into
a :class:`ReferenceSummary` (JSON-able, stored with the deployment): per numeric feature its
quantiles, a 30-bin histogram, mean and std (and the values themselves when the reference has at
most 1000 rows, for an exact Kolmogorov-Smirnov test); per categorical feature its category counts.
A check then only touches the current window.

Default tests follow Evidently's (see docs/design/015-deployments-and-drift.md):

============================  ===============================  ==================================
reference rows                numeric, more than 5 values      categorical (or numeric <= 5 values)
============================  ===============================  ==================================
<= 1000                       Kolmogorov-Smirnov, p < 0.05     chi-squared (Z-test when <= 2
                                                               values), p < 0.05
> 1000                        Wasserstein / ref std >= 0.1     Jensen-Shannon distance >= 0.1
============================  ===============================  ==================================

``psi`` (population stability index over the reference's bins, drift when >= 0.1) can be chosen
per feature. The dataset drifts when at least ``drift_share`` (0.5) of its features drift.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from shipyard.errors import InvalidArgument

SMALL_REFERENCE = 1000
"""References of at most this many rows use p-value tests, larger ones distances."""
DISCRETE_MAX_UNIQUE = 5
"""Numeric features with at most this many distinct values are tested as categories."""
P_VALUE = 0.05
DISTANCE = 0.1
DRIFT_SHARE = 0.5
QUANTILES = 501
BINS = 30
MAX_CATEGORIES = 1000
EPS = 1e-4
TESTS = ("ks", "wasserstein", "chisquare", "z", "jensenshannon", "psi")


@dataclass(frozen=True)
class FeatureSummary:
    """One feature of the reference, summarised."""

    name: str
    kind: str
    """``numeric`` or ``categorical`` (numeric features with <= 5 values count as categorical)."""
    rows: int
    mean: float = 0.0
    std: float = 0.0
    quantiles: tuple[float, ...] = ()
    edges: tuple[float, ...] = ()
    hist: tuple[int, ...] = ()
    sample: tuple[float, ...] = ()
    counts: Mapping[str, int] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "name": self.name, "kind": self.kind, "rows": self.rows, "mean": self.mean,
            "std": self.std, "quantiles": list(self.quantiles), "edges": list(self.edges),
            "hist": list(self.hist), "sample": list(self.sample), "counts": dict(self.counts),
        }  # fmt: skip

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> FeatureSummary:
        """Read :meth:`to_dict` back."""
        return cls(
            name=str(data["name"]), kind=str(data["kind"]), rows=int(data["rows"]),
            mean=float(data.get("mean", 0.0)), std=float(data.get("std", 0.0)),
            quantiles=tuple(data.get("quantiles", ())), edges=tuple(data.get("edges", ())),
            hist=tuple(data.get("hist", ())), sample=tuple(data.get("sample", ())),
            counts=dict(data.get("counts", {})),
        )  # fmt: skip


@dataclass(frozen=True)
class ReferenceSummary:
    """Every feature of the reference, summarised (what a deployment stores)."""

    features: tuple[FeatureSummary, ...]
    rows: int
    source: str = ""

    @property
    def names(self) -> list[str]:
        """Feature names, in column order."""
        return [f.name for f in self.features]

    def to_dict(self) -> dict[str, Any]:
        """JSON-able form."""
        return {
            "rows": self.rows,
            "source": self.source,
            "features": [f.to_dict() for f in self.features],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ReferenceSummary:
        """Read :meth:`to_dict` back. Raises ``InvalidArgument`` for a malformed summary."""
        try:
            features = tuple(FeatureSummary.from_dict(f) for f in data["features"])
            return cls(features=features, rows=int(data["rows"]), source=str(data.get("source")))
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidArgument(
                f"malformed drift reference summary: {exc}",
                hint="build it with shipyard.serving.drift.summarize()",
            ) from None


def summarize(
    data: np.ndarray, columns: Sequence[str] | None = None, *, source: str = ""
) -> ReferenceSummary:
    """Summarise a 2-D reference (rows x features; numeric or strings) once.

    >>> summary = summarize(np.random.default_rng(0).normal(size=(500, 4)), ["a", "b", "c", "d"])
    """
    array = _two_d(data, "reference")
    names = _names(columns, array.shape[1])
    features = tuple(_summarize_column(names[i], array[:, i]) for i in range(array.shape[1]))
    return ReferenceSummary(features=features, rows=int(array.shape[0]), source=source)


def _summarize_column(name: str, column: np.ndarray) -> FeatureSummary:
    numeric = _as_float(column)
    rows = len(column)
    if numeric is None or len(np.unique(numeric)) <= DISCRETE_MAX_UNIQUE:
        values = column if numeric is None else numeric
        return FeatureSummary(name, "categorical", rows, counts=_counts(values))
    return _numeric_summary(name, numeric)


def _numeric_summary(name: str, values: np.ndarray) -> FeatureSummary:
    probs = (np.arange(QUANTILES) + 0.5) / QUANTILES
    low, high = float(values.min()), float(values.max())
    edges = np.linspace(low, high, BINS + 1)
    hist, _ = np.histogram(values, bins=edges)
    small = len(values) <= SMALL_REFERENCE
    return FeatureSummary(
        name, "numeric", len(values), mean=float(values.mean()), std=float(values.std()),
        quantiles=tuple(np.quantile(values, probs).tolist()), edges=tuple(edges.tolist()),
        hist=tuple(int(h) for h in hist), sample=tuple(values.tolist()) if small else (),
    )  # fmt: skip


def check_drift(
    reference: ReferenceSummary,
    current: np.ndarray,
    columns: Sequence[str] | None = None,
    *,
    methods: Mapping[str, str] | None = None,
    drift_share: float = DRIFT_SHARE,
) -> dict[str, Any]:
    """Test every feature of ``current`` (rows x features) against the reference.

    Returns ``{"dataset_drift", "share_drifted", "drift_share", "reference_rows",
    "current_rows", "features": [{"name", "kind", "test", "statistic", "p_value",
    "threshold", "drift"}]}``. ``methods`` overrides the test of named features
    (one of ``ks``, ``wasserstein``, ``chisquare``, ``z``, ``jensenshannon``, ``psi``).
    """
    array = _aligned(reference, _two_d(current, "current window"), columns)
    chosen = dict(methods or {})
    results = [
        feature_drift(feature, array[:, i], chosen.get(feature.name))
        for i, feature in enumerate(reference.features)
    ]
    drifted = sum(1 for r in results if r["drift"])
    share = drifted / len(results) if results else 0.0
    return {
        "dataset_drift": bool(results) and share >= drift_share,
        "share_drifted": share,
        "drift_share": drift_share,
        "reference_rows": reference.rows,
        "current_rows": int(array.shape[0]),
        "features": results,
    }


def feature_drift(
    feature: FeatureSummary, values: np.ndarray, method: str | None = None
) -> dict[str, Any]:
    """Test one feature's current values; ``method`` picks a test (default: Evidently's)."""
    test = method or default_test(feature)
    if test not in TESTS:
        raise InvalidArgument(f"unknown drift test {test!r}", hint=f"use one of {TESTS}")
    statistic, p_value = _TESTS[test](feature, values)
    threshold = P_VALUE if p_value is not None else DISTANCE
    drift = p_value < P_VALUE if p_value is not None else statistic >= DISTANCE
    return {
        "name": feature.name, "kind": feature.kind, "test": test,
        "statistic": _finite(statistic), "p_value": _finite(p_value),
        "threshold": threshold, "drift": bool(drift),
    }  # fmt: skip


def default_test(feature: FeatureSummary) -> str:
    """Evidently's default test for a feature of this kind and reference size."""
    small = feature.rows <= SMALL_REFERENCE
    if feature.kind == "numeric":
        return "ks" if small else "wasserstein"
    if not small:
        return "jensenshannon"
    return "chisquare" if len(feature.counts) > 2 else "z"


# -- tests: (statistic, p-value or None) ----------------------------------------------------


def _ks(feature: FeatureSummary, values: np.ndarray) -> tuple[float, float | None]:
    current = _numeric(feature, values)
    reference = np.asarray(feature.sample) if feature.sample else np.asarray(feature.quantiles)
    from scipy import stats  # type: ignore[import-untyped]  # no type hints; slow to import

    # scipy's "auto" picks the exact distribution up to 10,000 rows, which takes about a
    # second for 1,000 x 10,000; the asymptotic one agrees closely at these sizes.
    method = "exact" if len(reference) * len(current) <= 1_000_000 else "asymp"
    result = stats.ks_2samp(reference, current, method=method)
    return float(result.statistic), float(result.pvalue)


def _wasserstein(feature: FeatureSummary, values: np.ndarray) -> tuple[float, float | None]:
    current = _numeric(feature, values)
    probs = (np.arange(len(feature.quantiles)) + 0.5) / len(feature.quantiles)
    distance = float(np.mean(np.abs(np.quantile(current, probs) - np.asarray(feature.quantiles))))
    return distance / max(feature.std, 0.001), None


def _psi(feature: FeatureSummary, values: np.ndarray) -> tuple[float, float | None]:
    ref, cur = _binned(feature, values)
    return float(np.sum((cur - ref) * np.log(cur / ref))), None


def _jensenshannon(feature: FeatureSummary, values: np.ndarray) -> tuple[float, float | None]:
    from scipy.spatial.distance import jensenshannon  # type: ignore[import-untyped]

    ref, cur = _binned(feature, values)
    return float(jensenshannon(ref, cur)), None


def _chisquare(feature: FeatureSummary, values: np.ndarray) -> tuple[float, float | None]:
    keys, ref, cur = _category_table(feature, values)
    if len(keys) < 2:
        return 0.0, 1.0
    from scipy import stats

    table = np.vstack([ref, cur])
    result = stats.chi2_contingency(table[:, table.sum(axis=0) > 0])
    return float(result.statistic), float(result.pvalue)


def _z(feature: FeatureSummary, values: np.ndarray) -> tuple[float, float | None]:
    keys, ref, cur = _category_table(feature, values)
    if len(keys) < 2 or ref.sum() == 0 or cur.sum() == 0:
        return 0.0, 1.0
    n1, n2 = ref.sum(), cur.sum()
    p1, p2 = ref[0] / n1, cur[0] / n2
    pooled = (ref[0] + cur[0]) / (n1 + n2)
    spread = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if spread == 0:
        return 0.0, 1.0 if p1 == p2 else 0.0
    z = (p1 - p2) / spread
    return float(z), math.erfc(abs(z) / math.sqrt(2))


_TESTS = {
    "ks": _ks,
    "wasserstein": _wasserstein,
    "psi": _psi,
    "jensenshannon": _jensenshannon,
    "chisquare": _chisquare,
    "z": _z,
}


# -- helpers --------------------------------------------------------------------------------


def _binned(feature: FeatureSummary, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Reference and current shares over the reference's bins (or categories), zeros -> EPS."""
    if feature.kind == "numeric":
        current = _numeric(feature, values)
        edges = np.asarray(feature.edges, dtype=float).copy()
        edges[0], edges[-1] = -np.inf, np.inf
        cur = np.histogram(current, bins=edges)[0].astype(float)
        ref = np.asarray(feature.hist, dtype=float)
    else:
        _, ref, cur = _category_table(feature, values)
    return _shares(ref), _shares(cur)


def _shares(counts: np.ndarray) -> np.ndarray:
    total = counts.sum()
    shares = counts / total if total > 0 else np.full(len(counts), 1 / max(len(counts), 1))
    return np.where(shares == 0, EPS, shares)


def _category_table(
    feature: FeatureSummary, values: np.ndarray
) -> tuple[list[str], np.ndarray, np.ndarray]:
    current = _counts(values)
    keys = sorted(set(feature.counts) | set(current))
    ref = np.array([feature.counts.get(k, 0) for k in keys], dtype=float)
    cur = np.array([current.get(k, 0) for k in keys], dtype=float)
    return keys, ref, cur


def _counts(values: Iterable[Any]) -> dict[str, int]:
    counted = Counter(_category(v) for v in values)
    return dict(counted.most_common(MAX_CATEGORIES))


def _category(value: Any) -> str:
    if isinstance(value, float | np.floating) and float(value).is_integer():
        return str(int(value))
    return str(value)


def _numeric(feature: FeatureSummary, values: np.ndarray) -> np.ndarray:
    converted = _as_float(values)
    if converted is None:
        raise InvalidArgument(
            f"feature {feature.name!r} is numeric in the reference but the logged values are not",
            hint="check that the deployment's inputs have the reference's columns",
        )
    finite: np.ndarray = converted[np.isfinite(converted)]
    if finite.size == 0:
        raise InvalidArgument(f"feature {feature.name!r} has no finite values in the window")
    return finite


def _as_float(values: np.ndarray) -> np.ndarray | None:
    try:
        return np.asarray(values, dtype=float)
    except (TypeError, ValueError):
        return None


def _two_d(data: Any, what: str) -> np.ndarray:
    array = np.asarray(data)
    if array.ndim == 1:
        array = array.reshape(-1, 1)
    if array.ndim != 2 or array.shape[0] == 0 or array.shape[1] == 0:
        raise InvalidArgument(
            f"the {what} must be a non-empty table (rows x features), got shape {array.shape}",
            hint="pass a 2-D array, or a CSV file with a header row",
        )
    return array


def _names(columns: Sequence[str] | None, width: int) -> list[str]:
    if columns is None:
        return [f"f{i}" for i in range(width)]
    if len(columns) != width:
        raise InvalidArgument(
            f"{len(columns)} column names for {width} columns",
            hint="give one name per column",
        )
    return [str(c) for c in columns]


def _aligned(
    reference: ReferenceSummary, array: np.ndarray, columns: Sequence[str] | None
) -> np.ndarray:
    """The current columns in the reference's order (by name when both have names)."""
    names = reference.names
    if columns is not None and set(names) <= set(columns):
        index = {name: i for i, name in enumerate(columns)}
        return array[:, [index[name] for name in names]]
    if array.shape[1] != len(names):
        raise InvalidArgument(
            f"the reference has {len(names)} features {names}, the window has "
            f"{array.shape[1]} columns",
            hint="drift needs the same inputs the reference was summarised from",
        )
    return array


def _finite(value: float | None) -> float | None:
    if value is None or math.isnan(value):
        return None
    return value if math.isfinite(value) else (1e308 if value > 0 else -1e308)
