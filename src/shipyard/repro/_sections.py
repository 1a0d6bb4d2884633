"""The non-code sections of a run diff: params, packages, environment, hardware, datasets, metrics.

Each builder is a pure function of what the two runs recorded; each section is a frozen dataclass
with ``to_dict`` (non-finite numbers become ``"NaN"``/``"Infinity"`` strings, as in the REST API).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from shipyard.domain.entities import MetricSummary, RunInput
from shipyard.repro.compare import STATS, difference, is_system_metric, json_number, stat
from shipyard.repro.source import DATASET_KIND, Record, lookup


def _same(a: object, b: object) -> bool:
    """Equality where NaN equals NaN and ``1`` differs from ``True`` (params keep their types)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a):
        return math.isnan(b)
    return a == b


def _json(value: object) -> object:
    return json_number(value) if isinstance(value, float) else value


@dataclass(frozen=True, slots=True)
class MappingDiff:
    """Keys only in B (``added``), only in A (``removed``), and in both with other values."""

    added: Mapping[str, Any]
    removed: Mapping[str, Any]
    changed: Mapping[str, tuple[Any, Any]]
    unchanged: int

    @property
    def empty(self) -> bool:
        """Whether both sides hold the same keys and values."""
        return not (self.added or self.removed or self.changed)

    def to_dict(self) -> dict[str, Any]:
        """JSON form: ``{"added": {k: v}, "removed": {k: v}, "changed": {k: {"a", "b"}}, ...}``."""
        return {
            "added": {k: _json(v) for k, v in self.added.items()},
            "removed": {k: _json(v) for k, v in self.removed.items()},
            "changed": {k: {"a": _json(a), "b": _json(b)} for k, (a, b) in self.changed.items()},
            "unchanged": self.unchanged,
        }


def diff_mapping(a: Mapping[str, Any], b: Mapping[str, Any]) -> MappingDiff:
    """Compare two flat mappings key by key (sorted)."""
    changed = {k: (a[k], b[k]) for k in sorted(a.keys() & b.keys()) if not _same(a[k], b[k])}
    return MappingDiff(
        added={k: b[k] for k in sorted(b.keys() - a.keys())},
        removed={k: a[k] for k in sorted(a.keys() - b.keys())},
        changed=changed,
        unchanged=len(a.keys() & b.keys()) - len(changed),
    )


@dataclass(frozen=True, slots=True)
class PackagesDiff:
    """Installed distributions of two runs (``recorded`` is false when a run captured none)."""

    recorded: bool
    count_a: int
    count_b: int
    versions: MappingDiff

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "recorded": self.recorded,
            "count": {"a": self.count_a, "b": self.count_b},
            "same": self.recorded and self.versions.empty,
            **self.versions.to_dict(),
        }


def diff_packages(env_a: Record | None, env_b: Record | None) -> PackagesDiff:
    """Compare the ``packages.distributions`` of two environment records."""
    a = lookup(env_a, "packages", "distributions")
    b = lookup(env_b, "packages", "distributions")
    recorded = isinstance(a, dict) and isinstance(b, dict)
    a, b = (a if isinstance(a, dict) else {}), (b if isinstance(b, dict) else {})
    return PackagesDiff(recorded, len(a), len(b), diff_mapping(a, b))


@dataclass(frozen=True, slots=True)
class Fact:
    """One described property of the two runs' machines (``None``: not recorded)."""

    key: str
    a: Any
    b: Any

    @property
    def same(self) -> bool:
        """Whether both sides recorded the same value."""
        return bool(self.a == self.b)

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"key": self.key, "a": self.a, "b": self.b, "same": self.same}


Probe = Callable[[Record | None], Any]


def _at(*keys: str) -> Probe:
    return lambda env: lookup(env, *keys)


def _gpu_models(env: Record | None) -> str | None:
    gpus = lookup(env, "accelerators", "gpus")
    if not isinstance(gpus, list) or not gpus:
        return None
    return ", ".join(sorted(str(g.get("name")) for g in gpus if isinstance(g, dict)))


def _gpu_count(env: Record | None) -> int | None:
    gpus = lookup(env, "accelerators", "gpus")
    return len(gpus) if isinstance(gpus, list) else None


ENVIRONMENT_FACTS: dict[str, Probe] = {
    "python.version": _at("python", "version"),
    "python.implementation": _at("python", "implementation"),
    "os.system": _at("system", "os", "system"),
    "os.distribution": _at("system", "os", "distribution"),
    "os.kernel": _at("system", "os", "kernel"),
    "os.libc": _at("system", "os", "libc"),
    "container.runtime": _at("container", "runtime"),
    "container.image": _at("container", "image"),
    "container.image_digest": _at("container", "image_digest"),
    "packages.sha256": _at("packages", "sha256"),
}
"""Software facts compared, by key; frameworks and determinism variables are added per name."""

HARDWARE_FACTS: dict[str, Probe] = {
    "host.name": _at("system", "hostname"),
    "cpu.arch": _at("system", "os", "machine"),
    "cpu.model": _at("system", "cpu", "model"),
    "cpu.logical_cores": _at("system", "cpu", "logical_cores"),
    "cpu.usable_cores": _at("system", "cpu", "usable_cores"),
    "memory.total_bytes": _at("system", "memory_total_bytes"),
    "gpu.count": _gpu_count,
    "gpu.models": _gpu_models,
    "gpu.driver": _at("accelerators", "driver_version"),
    "gpu.cuda_driver": _at("accelerators", "cuda_driver_version"),
    "cuda.version": _at("accelerators", "cuda"),
    "cudnn.version": _at("accelerators", "cudnn"),
    "nccl.version": _at("accelerators", "nccl"),
}
"""Hardware facts compared, by key."""


def _facts(probes: Mapping[str, Probe], a: Record | None, b: Record | None) -> tuple[Fact, ...]:
    return tuple(Fact(key, probe(a), probe(b)) for key, probe in probes.items())


def _per_name(
    label: str, keys: tuple[str, ...], a: Record | None, b: Record | None
) -> dict[str, Probe]:
    """One probe per name found under ``keys`` on either side, keyed ``label.name``."""
    names: set[str] = set()
    for env in (a, b):
        found = lookup(env, *keys)
        names.update(found if isinstance(found, dict) else ())
    return {f"{label}.{name}": _at(*keys, name) for name in sorted(names)}


def environment_facts(a: Record | None, b: Record | None) -> tuple[Fact, ...]:
    """Python, OS, container, framework versions and determinism variables of two records."""
    probes = {
        **ENVIRONMENT_FACTS,
        **_per_name("framework", ("frameworks", "versions"), a, b),
        **_per_name("env", ("frameworks", "determinism", "env"), a, b),
    }
    return _facts(probes, a, b)


def hardware_facts(a: Record | None, b: Record | None) -> tuple[Fact, ...]:
    """CPU, memory, GPUs, driver and CUDA libraries of two records."""
    return _facts(HARDWARE_FACTS, a, b)


@dataclass(frozen=True, slots=True)
class DatasetChange:
    """One dataset by name: the version and digest each run used (``None``: not used)."""

    name: str
    a: RunInput | None
    b: RunInput | None

    @property
    def same(self) -> bool:
        """Whether both runs used the same version with the same digest."""
        if self.a is None or self.b is None:
            return False
        return (self.a.version, self.a.digest) == (self.b.version, self.b.digest)

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {"name": self.name, "a": _input(self.a), "b": _input(self.b), "same": self.same}


def _input(item: RunInput | None) -> dict[str, str] | None:
    return None if item is None else {"version": item.version, "digest": item.digest}


def _datasets(inputs: Sequence[RunInput]) -> dict[str, RunInput]:
    found: dict[str, RunInput] = {}
    for item in inputs:
        if item.kind == DATASET_KIND and item.direction == "input":
            found[item.name] = item
    return found


def diff_datasets(a: Sequence[RunInput], b: Sequence[RunInput]) -> tuple[DatasetChange, ...]:
    """The dataset inputs of two runs, by name."""
    da, db = _datasets(a), _datasets(b)
    return tuple(DatasetChange(n, da.get(n), db.get(n)) for n in sorted(da.keys() | db.keys()))


@dataclass(frozen=True, slots=True)
class MetricDelta:
    """One metric's summaries side by side (``None``: the run did not log it)."""

    key: str
    a: MetricSummary | None
    b: MetricSummary | None

    def to_dict(self) -> dict[str, Any]:
        """JSON form: ``{"key", "a": {last, min, max}, "b": {...}, "delta": {...}}``."""
        return {
            "key": self.key,
            "a": _summary(self.a),
            "b": _summary(self.b),
            "delta": {s: json_number(difference(stat(self.a, s), stat(self.b, s))) for s in STATS},
        }


def _summary(summary: MetricSummary | None) -> dict[str, Any] | None:
    if summary is None:
        return None
    return {s: json_number(stat(summary, s)) for s in STATS} | {"count": summary.count}


def diff_metrics(
    a: Mapping[str, MetricSummary], b: Mapping[str, MetricSummary], *, include_system: bool
) -> tuple[MetricDelta, ...]:
    """Every metric of either run, by key (``system/`` ones only when asked)."""
    keys = sorted(k for k in a.keys() | b.keys() if include_system or not is_system_metric(k))
    return tuple(MetricDelta(k, a.get(k), b.get(k)) for k in keys)
