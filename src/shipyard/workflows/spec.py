"""Workflow files: what they may say, read with line numbers for errors.

A workflow (``.shipyard/workflows/*.yaml``) names its triggers (``on``), its parameters and a DAG
of jobs. A job either runs a command (``run``), checks a ``gate`` or ``promote``s a model::

    name: train-and-ship
    on: {push: {branches: [main]}, schedule: "0 3 * * *", manual: {}}
    params: {lr: 0.01}
    jobs:
      train: {run: "python train.py --lr ${params.lr}", outputs: {model: {model: iris-clf}}}
      gate: {needs: [train], gate: {all: ["train.metrics.accuracy >= 0.9"]}}
      promote: {needs: [gate], promote: {model: train.outputs.model, alias: champion}}

:func:`load_workflow` (or :func:`parse_workflow` for text) validates everything that can be
checked without running it and raises :class:`WorkflowSpecError` naming ``FILE:LINE``.
This module does not import the SDK: the hub reads workflow files too.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shipyard.domain.workflows import TriggerEvent
from shipyard.errors import InvalidArgument
from shipyard.workflows import _parse
from shipyard.workflows._yaml import WorkflowSpecError, load_located
from shipyard.workflows.expr import Node

__all__ = [
    "EventTrigger",
    "Gate",
    "GateCheck",
    "OutputDecl",
    "Promote",
    "Resources",
    "Step",
    "TriggerEvent",
    "Triggers",
    "Workflow",
    "WorkflowSpecError",
    "load_workflow",
    "parse_workflow",
]

MAX_FILE_BYTES = 1 << 20
_PARAM_REF = re.compile(r"\$\{\s*params\.([A-Za-z_][A-Za-z0-9_\-]*)\s*\}")


@dataclass(frozen=True, slots=True)
class OutputDecl:
    """A job's declared output: the dataset or registered model it produces, by name."""

    kind: str  # "dataset" or "model"
    name: str


@dataclass(frozen=True, slots=True)
class Resources:
    """Limits of a job's command (per worker)."""

    cpus: float | None = None
    gpus: float | None = None
    memory_bytes: int | None = None
    timeout_s: float | None = None


@dataclass(frozen=True, slots=True)
class GateCheck:
    """One gate expression: its text, its tree and the line it is written on."""

    text: str
    node: Node
    line: int | None = None


@dataclass(frozen=True, slots=True)
class Gate:
    """A gate passes when ``all`` its checks hold and, if ``any`` is given, one of those does."""

    all: tuple[GateCheck, ...] = ()
    any: tuple[GateCheck, ...] = ()

    @property
    def checks(self) -> tuple[GateCheck, ...]:
        """Every check, ``all`` first."""
        return self.all + self.any


@dataclass(frozen=True, slots=True)
class Promote:
    """Point ``alias`` at a model: ``model`` is ``JOB.outputs.NAME`` (a model output)."""

    model: str
    alias: str

    @property
    def source(self) -> tuple[str, str]:
        """``(job, output)`` of the promoted model."""
        job, _, output = self.model.split(".", 2)
        return job, output


@dataclass(frozen=True, slots=True)
class Step:
    """One job of a workflow: exactly one of ``run``, ``gate`` and ``promote`` is set."""

    name: str
    needs: tuple[str, ...] = ()
    run: str | None = None
    env: Mapping[str, str] = field(default_factory=dict)
    inputs: Mapping[str, str] = field(default_factory=dict)
    outputs: Mapping[str, OutputDecl] = field(default_factory=dict)
    resources: Resources = field(default_factory=Resources)
    gate: Gate | None = None
    promote: Promote | None = None
    cache: bool = True
    line: int | None = None

    @property
    def kind(self) -> str:
        """``"run"``, ``"gate"`` or ``"promote"``."""
        return "gate" if self.gate else "promote" if self.promote else "run"


@dataclass(frozen=True, slots=True)
class EventTrigger:
    """An event that starts the workflow: a new ``dataset`` version (``name``), a model alias
    moving (``model_alias``: ``name`` and ``alias``), or an ``alert`` of deployment ``name``."""

    kind: str
    name: str
    alias: str | None = None


@dataclass(frozen=True, slots=True)
class Triggers:
    """When the workflow runs. ``push``/``pull_request`` hold branch patterns (``()``: every
    branch; ``None``: not triggered by it); ``schedule`` cron strings."""

    push: tuple[str, ...] | None = None
    pull_request: tuple[str, ...] | None = None
    schedule: tuple[str, ...] = ()
    manual: bool = False
    events: tuple[EventTrigger, ...] = ()


@dataclass(frozen=True, slots=True)
class Workflow:
    """A validated workflow file; ``jobs`` are in an order where needs come first."""

    name: str
    jobs: Mapping[str, Step]
    on: Triggers = field(default_factory=Triggers)
    params: Mapping[str, Any] = field(default_factory=dict)
    env: Mapping[str, str] = field(default_factory=dict)
    project: str | None = None
    path: str = "<workflow>"
    text: str = ""

    def matches(self, event: TriggerEvent) -> bool:
        """Whether ``event`` starts this workflow.

        Example::

            workflow.matches(TriggerEvent("push", branch="main"))
        """
        on = self.on
        if event.kind in ("push", "pull_request"):
            branches = on.push if event.kind == "push" else on.pull_request
            return branches is not None and _branch_matches(branches, event.branch or "")
        if event.kind == "schedule":
            return event.cron is None or event.cron in on.schedule
        if event.kind == "manual":
            return on.manual
        return any(_event_matches(trigger, event) for trigger in on.events)

    def render(self, text: str, params: Mapping[str, Any]) -> str:
        """``text`` with every ``${params.NAME}`` replaced by that parameter's value."""
        return _PARAM_REF.sub(lambda m: _param_text(params[m.group(1)]), text)

    def with_params(self, overrides: Mapping[str, Any]) -> dict[str, Any]:
        """The workflow's params updated with ``overrides``; unknown names raise
        ``InvalidArgument``."""
        unknown = sorted(set(overrides) - set(self.params))
        if unknown:
            raise InvalidArgument(
                f"workflow {self.name!r} has no param(s) {', '.join(unknown)}",
                hint=f"its params are: {', '.join(self.params) or '(none)'}",
            )
        return {**self.params, **overrides}

    def upstream(self, job: str) -> set[str]:
        """Every job that ``job`` needs, directly or not."""
        seen: set[str] = set()
        todo = list(self.jobs[job].needs)
        while todo:
            name = todo.pop()
            if name not in seen:
                seen.add(name)
                todo.extend(self.jobs[name].needs)
        return seen


def load_workflow(path: Path) -> Workflow:
    """Read and validate a workflow file. Raises :class:`WorkflowSpecError` (``FILE:LINE: ...``)
    or ``NotFound``-like ``InvalidArgument`` when the file cannot be read."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise InvalidArgument(
            f"cannot read workflow file {path}: {exc.strerror or exc}",
            hint="check the path (workflows live in .shipyard/workflows/)",
        ) from None
    if len(data) > MAX_FILE_BYTES:
        raise InvalidArgument(
            f"workflow file {path} is larger than {MAX_FILE_BYTES} bytes", hint="split it"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidArgument(
            f"workflow file {path} is not UTF-8 text", hint="save it as UTF-8"
        ) from None
    return parse_workflow(text, source=str(path), default_name=Path(path).stem)


def parse_workflow(text: str, *, source: str = "<workflow>", default_name: str = "") -> Workflow:
    """Validate workflow ``text``; ``source`` names it in errors."""
    spec = load_located(text, source)
    fields = _parse.workflow_fields(spec, default_name or "workflow")
    jobs = {
        name: Step(**values) if "name" in values else Step(name=name, **values)
        for name, values in fields.pop("jobs").items()
    }
    on = fields.pop("on")
    triggers = Triggers(
        push=on.get("push"),
        pull_request=on.get("pull_request"),
        schedule=tuple(on.get("schedule", ())),
        manual=bool(on.get("manual", False)),
        events=tuple(EventTrigger(*event) for event in on.get("events", ())),
    )
    workflow = Workflow(jobs=jobs, on=triggers, path=source, text=text, **fields)
    _parse.check_references(workflow, spec)
    return workflow


def _branch_matches(patterns: Sequence[str], branch: str) -> bool:
    return not patterns or any(fnmatch.fnmatchcase(branch, pattern) for pattern in patterns)


def _event_matches(trigger: EventTrigger, event: TriggerEvent) -> bool:
    if trigger.kind != event.kind or trigger.name != event.name:
        return False
    return trigger.alias is None or trigger.alias == event.alias


def _param_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
