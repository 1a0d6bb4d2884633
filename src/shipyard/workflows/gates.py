"""Gates and promotion: check metrics before a model moves, then move its alias.

A gate's references: ``JOB.metrics.NAME`` (the last value the job's run logged),
``champion.metrics.NAME`` (of the model version that holds the alias a downstream ``promote``
would move, or ``champion``) and ``params.NAME``. A promotion records the metrics its gates read
on the promoted version as tags (``shipyard.metrics.NAME``), so the champion's value is the one
its own gate saw (its evaluation job's), else the metric of the run that logged it. With no
champion yet, every comparison against it passes, so the first model can be promoted.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

from shipyard.domain.models import ModelVersion
from shipyard.domain.workflows import StepStatus, WorkflowJob
from shipyard.errors import InvalidArgument, NotFound
from shipyard.registry import promote
from shipyard.workflows import expr
from shipyard.workflows._context import RunContext
from shipyard.workflows.spec import Gate, Step, Workflow

DEFAULT_ALIAS = "champion"
METRIC_TAG = "shipyard.metrics."


@dataclass(frozen=True, slots=True)
class Verdict:
    """One gate expression: its text, the values it read and whether it held."""

    text: str
    values: Mapping[str, float | None]
    passed: bool

    def line(self) -> str:
        """``PASS|FAIL  expression  (ref=value, ...)``."""
        shown = ", ".join(f"{k}={_show(v)}" for k, v in self.values.items())
        return f"{'PASS' if self.passed else 'FAIL'}  {self.text}" + (
            f"  ({shown})" if shown else ""
        )


def run_gate(ctx: RunContext, step: Step, done: Mapping[str, WorkflowJob]) -> WorkflowJob:
    """Evaluate a gate job and record its verdicts; a failing gate fails the job."""
    assert step.gate is not None
    champion = champion_of(ctx, step.name)
    verdicts, error = _judge(ctx, step.gate, done, champion)
    passed = error is None and _passes(step.gate, verdicts)
    lines = [v.line() for v in verdicts] + ([f"ERROR {error}"] if error else [])
    head = f"gate {step.name!r} {'passed' if passed else 'failed'}"
    if champion[0] is not None and champion[1] is None:
        head += f" (no {champion[0]} yet: champion comparisons pass)"
    return ctx.store.update_workflow_job(
        ctx.run.id,
        step.name,
        status=StepStatus.SUCCEEDED if passed else StepStatus.FAILED,
        reason="gate passed" if passed else "gate failed: no promotion",
        message="\n".join([head, *lines]),
    )


def run_promote(ctx: RunContext, step: Step, done: Mapping[str, WorkflowJob]) -> WorkflowJob:
    """Point the alias at the model version the named job produced."""
    assert step.promote is not None
    job, output = step.promote.source
    ref = done[job].outputs.get(output, "")
    name, _, version = ref.removeprefix("models:/").rpartition("/")
    if not ref.startswith("models:/") or not version.isdigit():
        raise InvalidArgument(
            f"job {job!r} output {output!r} is {ref!r}, not a registered model version",
            hint="declare it as outputs: {NAME: {model: MODEL}} and register it in the job",
        )
    for key, value in _gate_metrics(ctx, step.name, done).items():
        ctx.store.set_model_version_tag(name, int(version), key, value)
    before = _promote(ctx, name, int(version), step.promote.alias)
    label = f"{name}@{step.promote.alias}"
    if before == int(version):
        message = f"{label} already at version {version}"
    else:
        moved = "set" if before is None else f"moved from version {before}"
        message = f"{label} {moved} to version {version}"
    return ctx.store.update_workflow_job(
        ctx.run.id, step.name, status=StepStatus.SUCCEEDED, reason="promoted", message=message,
        outputs={"model": ref},
    )  # fmt: skip


def _promote(ctx: RunContext, name: str, version: int, alias: str) -> int | None:
    return promote(ctx.store, name, version, alias)


def champion_of(ctx: RunContext, gate: str) -> tuple[str | None, ModelVersion | None]:
    """``(label, version)`` of the champion the gate compares against: label is
    ``MODEL@ALIAS`` (``None`` when the workflow names no model), version ``None`` when no
    version holds the alias yet."""
    target = champion_target(ctx.workflow, gate)
    if target is None:
        return None, None
    name, alias = target
    try:
        version = ctx.store.get_model_version_by_alias(name, alias)
    except NotFound:
        return f"{name}@{alias}", None
    return f"{name}@{alias}", version


def champion_target(workflow: Workflow, gate: str) -> tuple[str, str] | None:
    """The (model, alias) a downstream promote would move, else the first upstream model
    output with alias ``champion``."""
    for step in workflow.jobs.values():
        if step.promote is not None and gate in workflow.upstream(step.name):
            job, output = step.promote.source
            return workflow.jobs[job].outputs[output].name, step.promote.alias
    for job in workflow.upstream(gate):
        for decl in workflow.jobs[job].outputs.values():
            if decl.kind == "model":
                return decl.name, DEFAULT_ALIAS
    return None


def _judge(
    ctx: RunContext,
    gate: Gate,
    done: Mapping[str, WorkflowJob],
    champion: tuple[str | None, ModelVersion | None],
) -> tuple[list[Verdict], str | None]:
    verdicts: list[Verdict] = []
    for check in gate.checks:
        seen: dict[str, float | None] = {}

        def resolve(parts: tuple[str, ...], seen: dict[str, float | None] = seen) -> float | None:
            value = _value(ctx, parts, done, champion[1])
            seen[".".join(parts)] = value
            return value

        try:
            result = expr.evaluate(check.node, resolve)
        except InvalidArgument as exc:
            return verdicts, f"{check.text}: {exc.message}"
        verdicts.append(Verdict(check.text, seen, bool(result) if result is not None else True))
    return verdicts, None


def _passes(gate: Gate, verdicts: list[Verdict]) -> bool:
    required = verdicts[: len(gate.all)]
    optional = verdicts[len(gate.all) :]
    return all(v.passed for v in required) and (not optional or any(v.passed for v in optional))


def _value(
    ctx: RunContext,
    parts: tuple[str, ...],
    done: Mapping[str, WorkflowJob],
    champion: ModelVersion | None,
) -> float | None:
    head = parts[0]
    if head == "params":
        return _number(ctx.params[parts[1]], ".".join(parts))
    if head == "champion":
        return None if champion is None else _champion_metric(ctx, champion, parts[2])
    run_id = done[head].run_id
    if run_id is None:
        raise InvalidArgument(f"job {head!r} has no run to read metrics from", hint="use a run job")
    return _metric(ctx, run_id, parts[2], f"job {head!r} (run {run_id})", missing_ok=False)


def _metric(ctx: RunContext, run_id: str, name: str, who: str, *, missing_ok: bool) -> float | None:
    summary = ctx.store.get_run(run_id).metrics.get(name)
    if summary is None or math.isnan(summary.last):
        if missing_ok:
            return None
        raise InvalidArgument(
            f"{who} logged no metric {name!r}", hint="log it in the job's script: run.log_metrics"
        )
    return float(summary.last)


def _champion_metric(ctx: RunContext, champion: ModelVersion, name: str) -> float | None:
    recorded = champion.tags.get(METRIC_TAG + name)
    if recorded is not None:
        try:
            return float(recorded)
        except ValueError:
            pass
    if champion.run_id is None:
        return None
    return _metric(ctx, champion.run_id, name, "the champion's run", missing_ok=True)


def _gate_metrics(ctx: RunContext, promote: str, done: Mapping[str, WorkflowJob]) -> dict[str, str]:
    """The ``JOB.metrics.NAME`` values the gates before ``promote`` read, by metric name."""
    found: dict[str, str] = {}
    for job in ctx.workflow.upstream(promote):
        gate = ctx.workflow.jobs[job].gate
        for check in gate.checks if gate else ():
            for ref in expr.refs(check.node):
                head = ref.parts[0]
                run_id = done[head].run_id if head in done else None
                if head in ("params", "champion") or run_id is None:
                    continue
                value = _metric(ctx, run_id, ref.parts[2], head, missing_ok=True)
                if value is not None:
                    found[METRIC_TAG + ref.parts[2]] = repr(value)
    return found


def _number(value: object, what: str) -> float:
    if isinstance(value, bool | int | float):
        return float(value)
    raise InvalidArgument(f"{what} is {value!r}, not a number", hint="compare numbers only")


def _show(value: float | None) -> str:
    return "none" if value is None else f"{value:g}"
