"""``shipyard ci run``: run a workflow inside an existing CI system and report it in Markdown.

The workflow runs to its end on the CI machine (the checkout CI made), tracked in the configured
store. The summary says how it went: each gate's checks with the values they read (metrics
versus the champion), and each job's status with why it ran or was cached. A failed gate, or any
failed job, makes :attr:`CiResult.passed` false, so the command exits non-zero and the merge is
blocked.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shipyard.artifacts.base import ArtifactStore
from shipyard.domain.workflows import StepStatus, TriggerEvent, WorkflowJob, WorkflowStatus
from shipyard.errors import ShipyardError
from shipyard.settings import Settings
from shipyard.workflows._stores import EngineStore
from shipyard.workflows.service import WorkflowRunInfo, start_workflow
from shipyard.workflows.spec import parse_workflow

_ICONS = {
    StepStatus.SUCCEEDED: "✅",
    StepStatus.CACHED: "♻️",
    StepStatus.FAILED: "❌",
    StepStatus.SKIPPED: "⏭️",
    StepStatus.CANCELLED: "🚫",
    StepStatus.PENDING: "⏳",
    StepStatus.RUNNING: "⏳",
}
CHAMPION = "champion"


@dataclass(frozen=True)
class Check:
    """One gate expression as the engine recorded it."""

    verdict: str  # PASS, FAIL or ERROR
    text: str
    values: Mapping[str, str]


@dataclass(frozen=True)
class GateReport:
    """A gate job: whether it passed, its headline and its checks."""

    job: str
    passed: bool
    headline: str
    checks: tuple[Check, ...]


@dataclass(frozen=True)
class CiResult:
    """A finished workflow run, its gates and its Markdown summary."""

    info: WorkflowRunInfo
    gates: tuple[GateReport, ...]
    markdown: str

    @property
    def passed(self) -> bool:
        """Whether the workflow succeeded (every gate passed and no job failed)."""
        return self.info.status is WorkflowStatus.SUCCEEDED

    @property
    def gate_failed(self) -> bool:
        """Whether a gate failed (a regression, as opposed to a broken job)."""
        return any(not gate.passed for gate in self.gates)


def run_ci(
    store: EngineStore,
    artifacts: ArtifactStore,
    path: Path,
    *,
    params: Mapping[str, Any] | None = None,
    no_cache: bool = False,
    executor: str = "local",
    settings: Settings | None = None,
    hub_url: str | None = None,
    trigger: TriggerEvent | None = None,
) -> CiResult:
    """Run the workflow at ``path`` to its end and build its report.

    Example::

        result = run_ci(store, artifacts, Path(".shipyard/workflows/train.yaml"))
        print(result.markdown); sys.exit(0 if result.passed else 1)
    """
    info = start_workflow(
        store, artifacts, path, params=params, no_cache=no_cache, executor=executor,
        settings=settings, trigger=trigger, wait=True,
    )  # fmt: skip
    return report(info, hub_url=hub_url)


def report(info: WorkflowRunInfo, *, hub_url: str | None = None) -> CiResult:
    """The :class:`CiResult` of a finished workflow run."""
    kinds = _kinds(info)
    gates = tuple(gate_report(job) for job in info.jobs if kinds.get(job.name) == "gate")
    return CiResult(info, gates, markdown(info, gates, kinds, hub_url=hub_url))


def gate_report(job: WorkflowJob) -> GateReport:
    """Read a gate job's recorded verdicts (``PASS|FAIL|ERROR  text  (ref=value, ...)``)."""
    lines = job.message.splitlines()
    headline = lines[0] if lines else job.reason
    checks = tuple(_check(line) for line in lines[1:] if line.split(" ", 1)[0] in _VERDICTS)
    return GateReport(job.name, job.status is StepStatus.SUCCEEDED, headline, checks)


_VERDICTS = ("PASS", "FAIL", "ERROR")


def _check(line: str) -> Check:
    verdict, _, rest = line.partition(" ")
    text, values = rest.strip(), {}
    if verdict != "ERROR" and text.endswith(")") and "  (" in text:
        text, _, shown = text.rpartition("  (")
        for pair in shown[:-1].split(", "):
            key, _, value = pair.partition("=")
            values[key.strip()] = value.strip()
    return Check(verdict, text.strip(), values)


def champion_rows(gates: Sequence[GateReport]) -> list[tuple[str, str, str, str]]:
    """``(metric, this run, champion, change)`` for each metric a gate compared with the
    champion."""
    rows: dict[str, tuple[str, str, str, str]] = {}
    for gate in gates:
        for check in gate.checks:
            for key, value in check.values.items():
                who, _, metric = key.partition(".metrics.")
                champion = check.values.get(f"{CHAMPION}.metrics.{metric}")
                if metric and who != CHAMPION and champion is not None:
                    rows[f"{who}.{metric}"] = (metric, value, champion, _change(value, champion))
    return list(rows.values())


def markdown(
    info: WorkflowRunInfo,
    gates: Sequence[GateReport],
    kinds: Mapping[str, str],
    *,
    hub_url: str | None = None,
) -> str:
    """The Markdown summary of a finished workflow run."""
    run = info.run
    ok = run.status is WorkflowStatus.SUCCEEDED
    lines = [f"## {'✅' if ok else '❌'} Workflow `{run.name}` {run.status.value.lower()}", ""]
    facts = [f"run `{run.id}`", f"project `{run.project}`"]
    if run.commit:
        facts.append(f"commit `{run.commit[:12]}`")
    if hub_url:
        facts.append(f"[open in Shipyard]({hub_url.rstrip('/')}/workflows/runs/{run.id})")
    lines += [" · ".join(facts), ""]
    if run.message and not ok:
        lines += [f"> {_cell(run.message)}", ""]
    lines += _gate_section(gates) + _champion_section(gates) + _jobs_section(info.jobs, kinds)
    return "\n".join(lines).rstrip() + "\n"


def _gate_section(gates: Sequence[GateReport]) -> list[str]:
    if not gates:
        return []
    lines = ["### Gates", ""]
    for gate in gates:
        lines += [f"**{gate.job}**: {'passed ✅' if gate.passed else 'failed ❌'}", ""]
        if gate.checks:
            lines += ["| | check | values |", "|---|---|---|"]
            for check in gate.checks:
                icon = {"PASS": "✅", "FAIL": "❌"}.get(check.verdict, "⚠️")
                shown = ", ".join(f"`{k}` = {v}" for k, v in check.values.items())
                lines.append(f"| {icon} | `{_cell(check.text)}` | {shown} |")
            lines.append("")
        elif gate.headline:
            lines += [_cell(gate.headline), ""]
    return lines


def _champion_section(gates: Sequence[GateReport]) -> list[str]:
    rows = champion_rows(gates)
    if not rows:
        return []
    lines = ["### Metrics versus the champion", "", "| metric | this run | champion | change |",
             "|---|---:|---:|---:|"]  # fmt: skip
    lines += [f"| `{m}` | {mine} | {champ} | {change} |" for m, mine, champ, change in rows]
    return [*lines, ""]


def _jobs_section(jobs: Sequence[WorkflowJob], kinds: Mapping[str, str]) -> list[str]:
    lines = ["### Jobs", "", "| job | status | why | run |", "|---|---|---|---|"]
    for job in jobs:
        kind = kinds.get(job.name, "run")
        name = f"`{job.name}`" + (f" ({kind})" if kind != "run" else "")
        why = job.reason or ""
        if job.status is StepStatus.FAILED and job.message and kind != "gate":
            why += f": {job.message.splitlines()[0]}"
        run = f"`{job.run_id[:12]}`" if job.run_id else ""
        status = f"{_ICONS.get(job.status, '')} {job.status.value.lower()}"
        lines.append(f"| {name} | {status} | {_cell(why)} | {run} |")
    return [*lines, ""]


def _kinds(info: WorkflowRunInfo) -> dict[str, str]:
    try:
        workflow = parse_workflow(info.run.spec, source=info.run.path or info.run.name)
    except ShipyardError:
        return {}
    return {name: step.kind for name, step in workflow.jobs.items()}


def _change(value: str, champion: str) -> str:
    try:
        delta = float(value) - float(champion)
    except ValueError:
        return ""
    return f"{delta:+.4g}"


def _cell(text: str) -> str:
    """Text safe inside one Markdown table cell."""
    return text.replace("|", "\\|").replace("\n", " ").strip()
