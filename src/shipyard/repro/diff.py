"""``diff_runs``: everything that differs between two runs, section by section.

Sections: ``code`` (commits, branches, dirty flags and the unified diff between the two code
states), ``params``, ``packages``, ``environment`` (Python, OS, container, frameworks,
determinism variables), ``hardware`` (CPU, memory, GPUs, driver, CUDA, cuDNN), ``datasets`` (the
dataset versions each run used) and ``metrics`` (last/min/max side by side, with deltas).

This module never imports the SDK: the hub server runs it over its own stores.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shipyard.domain.entities import Run
from shipyard.errors import InvalidArgument
from shipyard.repro._codediff import DEFAULT_MAX_DIFF_BYTES, CodeDiff, CodeState, diff_code
from shipyard.repro._sections import (
    DatasetChange,
    Fact,
    MappingDiff,
    MetricDelta,
    PackagesDiff,
    diff_datasets,
    diff_mapping,
    diff_metrics,
    diff_packages,
    environment_facts,
    hardware_facts,
)
from shipyard.repro.source import ENVIRONMENT_ARTIFACT, RunSource

SECTIONS = ("code", "params", "packages", "environment", "hardware", "datasets", "metrics")
"""Every section of a diff, in display order."""

__all__ = [
    "SECTIONS",
    "CodeDiff",
    "CodeState",
    "DatasetChange",
    "Fact",
    "MappingDiff",
    "MetricDelta",
    "PackagesDiff",
    "RunDiff",
    "check_sections",
    "diff_runs",
]


def _run_json(run: Run) -> dict[str, Any]:
    return {
        "id": run.id,
        "project": run.project,
        "name": run.name,
        "status": run.status.value,
        "start_time": run.start_time,
        "end_time": run.end_time,
    }


@dataclass(frozen=True, slots=True)
class RunDiff:
    """How run B differs from run A; a section left out of the request is ``None``."""

    a: Run
    b: Run
    code: CodeDiff | None = None
    params: MappingDiff | None = None
    packages: PackagesDiff | None = None
    environment: tuple[Fact, ...] | None = None
    hardware: tuple[Fact, ...] | None = None
    datasets: tuple[DatasetChange, ...] | None = None
    metrics: tuple[MetricDelta, ...] | None = None
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON form: ``{"a", "b", "notes", <section>: ...}`` for each computed section.

        ``environment`` and ``hardware`` list every compared fact with ``same``; non-finite
        numbers are the strings ``"NaN"``, ``"Infinity"`` and ``"-Infinity"``.
        """
        data: dict[str, Any] = {"a": _run_json(self.a), "b": _run_json(self.b)}
        for name in SECTIONS:
            value = getattr(self, name)
            if value is None:
                continue
            if isinstance(value, tuple):
                data[name] = [item.to_dict() for item in value]
            else:
                data[name] = value.to_dict()
        data["notes"] = list(self.notes)
        return data


def check_sections(sections: Collection[str] | None) -> tuple[str, ...]:
    """The requested sections in display order (all when ``None``); raises ``InvalidArgument``."""
    if sections is None:
        return SECTIONS
    unknown = sorted(set(sections) - set(SECTIONS))
    if unknown:
        raise InvalidArgument(
            f"unknown diff section {', '.join(map(repr, unknown))}",
            hint=f"choose from {', '.join(SECTIONS)}",
        )
    return tuple(s for s in SECTIONS if s in sections)


def diff_runs(
    client: RunSource,
    run_a: str,
    run_b: str,
    *,
    repo: Path | None = None,
    sections: Collection[str] | None = None,
    include_system: bool = False,
    search_repos: bool = True,
    max_diff_bytes: int = DEFAULT_MAX_DIFF_BYTES,
) -> RunDiff:
    """Compare two runs.

    Args:
        client: where runs are read (``ClientSource(Client())``, or the server's own source).
        run_a, run_b: the two run ids (A is the baseline: "added" means only in B).
        repo: a git repository holding both commits (default: the recorded repository root if
            it still exists and holds them, else a temporary clone of the recorded remote).
        sections: the sections to compute (default: all of :data:`SECTIONS`).
        include_system: also compare ``system/`` metrics.
        search_repos: look for a repository (``repo``, the recorded root, a clone of the
            remote) for the code diff; when false (the hub server, which must not read paths or
            clone URLs that run records name) the two uncommitted patches are compared instead.
        max_diff_bytes: the most bytes of code diff to keep.

    Raises ``NotFound`` for an unknown run, ``InvalidArgument`` for an unknown section.

    Example::

        with Client() as client:
            diff = diff_runs(ClientSource(client), "0193a...", "0193b...")
            print(diff.code.patch if diff.code else "")
    """
    wanted = check_sections(sections)
    a, b = client.get_run(run_a), client.get_run(run_b)
    needs_env = {"code", "packages", "environment", "hardware"} & set(wanted)
    env_a = client.environment(a.id) if needs_env else None
    env_b = client.environment(b.id) if needs_env else None
    notes = [
        f"run {run.id} has no environment record ({ENVIRONMENT_ARTIFACT}): its code, packages "
        "and machine cannot be compared"
        for run, env in ((a, env_a), (b, env_b))
        if needs_env and env is None
    ]
    parts: dict[str, Any] = {}
    if "code" in wanted:
        state_a = CodeState.of(a.id, env_a, client.code_patch(a.id) if env_a else None)
        state_b = CodeState.of(b.id, env_b, client.code_patch(b.id) if env_b else None)
        parts["code"] = diff_code(
            state_a, state_b, repo=repo, search=search_repos, max_bytes=max_diff_bytes
        )
    if "params" in wanted:
        parts["params"] = diff_mapping(a.params, b.params)
    if "packages" in wanted:
        parts["packages"] = diff_packages(env_a, env_b)
    if "environment" in wanted:
        parts["environment"] = environment_facts(env_a, env_b)
    if "hardware" in wanted:
        parts["hardware"] = hardware_facts(env_a, env_b)
    if "datasets" in wanted:
        parts["datasets"] = diff_datasets(client.run_inputs(a.id), client.run_inputs(b.id))
    if "metrics" in wanted:
        parts["metrics"] = diff_metrics(a.metrics, b.metrics, include_system=include_system)
    return RunDiff(a, b, notes=tuple(notes), **parts)
