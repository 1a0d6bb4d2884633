"""From located YAML data to the fields of a :class:`~shipyard.workflows.spec.Workflow`.

Every check raises :class:`~shipyard.workflows._yaml.WorkflowSpecError` pointing at the line.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from croniter import croniter  # type: ignore[import-untyped, unused-ignore]

from shipyard.domain.jobs import parse_duration
from shipyard.errors import InvalidArgument
from shipyard.executors.base import parse_memory
from shipyard.workflows import expr
from shipyard.workflows._yaml import KeyPath, Located

if TYPE_CHECKING:
    from shipyard.workflows.spec import Workflow

TOP_KEYS = ("name", "description", "on", "params", "env", "project", "jobs")
JOB_KEYS = (
    "needs",
    "run",
    "env",
    "inputs",
    "outputs",
    "resources",
    "gate",
    "promote",
    "cache",
    "description",
)
TRIGGER_KEYS = ("push", "pull_request", "schedule", "manual", "dataset", "model_alias", "alert")
RESOURCE_KEYS = ("cpus", "gpus", "memory", "timeout")
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]{0,127}$")
_TEMPLATE = re.compile(r"\$\{([^}]*)\}")
_PARAM = re.compile(r"^\s*params\.([A-Za-z_][A-Za-z0-9_\-]*)\s*$")
_OUTPUT_REF = re.compile(r"^([A-Za-z_][A-Za-z0-9_\-]*)\.outputs\.([A-Za-z_][A-Za-z0-9_\-]*)$")
_PROMOTE_HINT = "promote: {model: train.outputs.model, alias: champion}"
_ENV_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def workflow_fields(spec: Located, default_name: str) -> dict[str, Any]:
    """The workflow's fields (``jobs`` as ``{name: step fields}`` in needs-first order)."""
    data = _mapping(spec, (), spec.data, "the workflow")
    _known_keys(spec, (), data, TOP_KEYS)
    if "jobs" not in data:
        raise spec.error((), "the workflow has no 'jobs'", hint="add jobs: {NAME: {run: ...}}")
    name = data.get("name", default_name)
    _text(spec, ("name",), name, "the workflow name")
    jobs_data = _mapping(spec, ("jobs",), data["jobs"], "'jobs'")
    if not jobs_data:
        raise spec.error(("jobs",), "'jobs' is empty", hint="add at least one job")
    jobs = {job: _step(spec, job, values) for job, values in jobs_data.items()}
    return {
        "name": name,
        "params": _params(spec, data.get("params")),
        "env": _env(spec, ("env",), data.get("env")),
        "project": _project(spec, data.get("project")),
        "on": _triggers(spec, data.get("on")),
        "jobs": {job: jobs[job] for job in _order(spec, jobs)},
    }


def check_references(workflow: Workflow, spec: Located) -> None:
    """Check ``${params.x}``, inputs, gate references and promote sources against the DAG."""
    for step in workflow.jobs.values():
        where: KeyPath = ("jobs", step.name)
        texts: list[tuple[KeyPath, str]] = [(("run",), step.run or "")]
        texts += [(("env", k), v) for k, v in step.env.items()]
        for sub, text in texts:
            _check_templates(spec, (*where, *sub), text, workflow.params)
        upstream = workflow.upstream(step.name)
        for name, ref in step.inputs.items():
            _output_ref(spec, workflow, (*where, "inputs", name), ref, upstream, kinds=None)
        if step.gate:
            for group, checks in (("all", step.gate.all), ("any", step.gate.any)):
                for i, check in enumerate(checks):
                    path = (*where, "gate", group, i)
                    _check_gate_refs(spec, workflow, path, check.node, upstream)
        if step.promote:
            where = (*where, "promote", "model")
            _output_ref(spec, workflow, where, step.promote.model, upstream, kinds=("model",))
    for key, text in workflow.env.items():
        _check_templates(spec, ("env", key), text, workflow.params)


# -- jobs --------------------------------------------------------------------------------------
def _step(spec: Located, job: str, raw: Any) -> dict[str, Any]:
    path: KeyPath = ("jobs", job)
    if not _NAME.match(job):
        raise spec.error(path, f"invalid job name {job!r}", hint="use letters, digits, - and _")
    data = _mapping(spec, path, raw, f"job {job!r}")
    _known_keys(spec, path, data, JOB_KEYS)
    kinds = [key for key in ("run", "gate", "promote") if key in data]
    if len(kinds) != 1:
        problem = "has none" if not kinds else f"has {' and '.join(kinds)}"
        raise spec.error(
            path,
            f"job {job!r} must have exactly one of run, gate, promote ({problem})",
            hint="split it into several jobs linked with needs",
        )
    return {
        "name": job,
        "needs": _needs(spec, path, data.get("needs")),
        "run": _run(spec, path, data.get("run")),
        "env": _env(spec, (*path, "env"), data.get("env")),
        "inputs": _inputs(spec, path, data.get("inputs")),
        "outputs": _outputs(spec, path, data.get("outputs")),
        "resources": _resources(spec, path, data.get("resources")),
        "gate": _gate(spec, path, data["gate"]) if "gate" in data else None,
        "promote": _promote(spec, path, data["promote"]) if "promote" in data else None,
        "cache": _bool(spec, (*path, "cache"), data.get("cache", True)),
        "line": spec.line(path),
    }


def _needs(spec: Located, path: KeyPath, raw: Any) -> tuple[str, ...]:
    if raw is None:
        return ()
    items = [raw] if isinstance(raw, str) else raw
    if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
        raise spec.error((*path, "needs"), "needs must be a job name or a list of job names")
    return tuple(dict.fromkeys(items))


def _run(spec: Located, path: KeyPath, raw: Any) -> str | None:
    if raw is None:
        return None
    if not isinstance(raw, str) or not raw.strip():
        raise spec.error(
            (*path, "run"), "run must be a non-empty command line", hint="run: python train.py"
        )
    return raw


def _inputs(spec: Located, path: KeyPath, raw: Any) -> dict[str, str]:
    data = _mapping(spec, (*path, "inputs"), raw or {}, "inputs")
    for name, ref in data.items():
        where = (*path, "inputs", name)
        _env_name(spec, where, name, "input")
        if not isinstance(ref, str) or not _OUTPUT_REF.match(ref):
            raise spec.error(
                where,
                f"input {name!r} must be JOB.outputs.NAME, got {ref!r}",
                hint="e.g. inputs: {data: prepare.outputs.data}",
            )
    return dict(data)


def _outputs(spec: Located, path: KeyPath, raw: Any) -> dict[str, Any]:
    from shipyard.workflows.spec import OutputDecl

    data = _mapping(spec, (*path, "outputs"), raw or {}, "outputs")
    out = {}
    for name, decl in data.items():
        where = (*path, "outputs", name)
        _env_name(spec, where, name, "output")
        ok = isinstance(decl, dict) and len(decl) == 1
        kind, value = next(iter(decl.items())) if ok else ("", None)
        if kind not in ("dataset", "model") or not isinstance(value, str) or not value:
            raise spec.error(
                where,
                f"output {name!r} must be {{dataset: NAME}} or {{model: NAME}}",
                hint="e.g. outputs: {model: {model: iris-clf}}",
            )
        out[name] = OutputDecl(kind, value)
    return out


def _resources(spec: Located, path: KeyPath, raw: Any) -> Any:
    from shipyard.workflows.spec import Resources

    where = (*path, "resources")
    data = _mapping(spec, where, raw or {}, "resources")
    _known_keys(spec, where, data, RESOURCE_KEYS)
    try:
        return Resources(
            cpus=_positive(data.get("cpus"), "cpus"),
            gpus=_positive(data.get("gpus"), "gpus"),
            memory_bytes=None if data.get("memory") is None else parse_memory(data["memory"]),
            timeout_s=None if data.get("timeout") is None else parse_duration(data["timeout"]),
        )
    except InvalidArgument as exc:
        raise spec.error(where, exc.message, hint=exc.hint) from None


def _gate(spec: Located, path: KeyPath, raw: Any) -> Any:
    from shipyard.workflows.spec import Gate, GateCheck

    where = (*path, "gate")
    data = _mapping(spec, where, raw, "gate")
    _known_keys(spec, where, data, ("all", "any"))
    groups: dict[str, tuple[GateCheck, ...]] = {}
    for group in ("all", "any"):
        items = data.get(group, [])
        items = [items] if isinstance(items, str) else items
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise spec.error((*where, group), f"gate {group} must be a list of expressions")
        groups[group] = tuple(
            _check(spec, (*where, group, i), text) for i, text in enumerate(items)
        )
    if not groups["all"] and not groups["any"]:
        raise spec.error(
            where, "the gate has no expressions", hint='gate: {all: ["a.metrics.x > 1"]}'
        )
    return Gate(all=groups["all"], any=groups["any"])


def _check(spec: Located, path: KeyPath, text: str) -> Any:
    from shipyard.workflows.spec import GateCheck

    try:
        return GateCheck(text, expr.parse(text), spec.line(path))
    except InvalidArgument as exc:
        raise spec.error(path, f"invalid gate expression: {exc.message}", hint=exc.hint) from None


def _promote(spec: Located, path: KeyPath, raw: Any) -> Any:
    from shipyard.workflows.spec import Promote

    where = (*path, "promote")
    data = _mapping(spec, where, raw, "promote")
    _known_keys(spec, where, data, ("model", "alias"))
    for key in ("model", "alias"):
        if not isinstance(data.get(key), str) or not data[key]:
            raise spec.error(where, f"promote needs '{key}'", hint=_PROMOTE_HINT)
    if not _OUTPUT_REF.match(data["model"]):
        raise spec.error((*where, "model"), "promote model must be JOB.outputs.NAME")
    return Promote(model=data["model"], alias=data["alias"])


def _order(spec: Located, jobs: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Jobs in an order where needs come first (declaration order otherwise)."""
    known = list(jobs)
    for job, values in jobs.items():
        for need in values["needs"]:
            if need not in jobs:
                raise spec.error(
                    ("jobs", job, "needs"),
                    f"job {job!r} needs unknown job {need!r} (known: {_others(known, job)})",
                    hint=_suggest(need, known),
                )
    order: list[str] = []
    state: dict[str, int] = {}

    def visit(job: str, chain: list[str]) -> None:
        if state.get(job) == 2:
            return
        if state.get(job) == 1:
            cycle = " -> ".join([*chain[chain.index(job) :], job])
            raise spec.error(
                ("jobs", job, "needs"),
                f"jobs form a cycle: {cycle}",
                hint="remove one of these needs",
            )
        state[job] = 1
        for need in jobs[job]["needs"]:
            visit(need, [*chain, job])
        state[job] = 2
        order.append(job)

    for job in jobs:
        visit(job, [])
    return order


# -- triggers ----------------------------------------------------------------------------------
def _triggers(spec: Located, raw: Any) -> dict[str, Any]:
    path: KeyPath = ("on",)
    if raw is None:
        return {"manual": True}
    if isinstance(raw, str):
        raw = {raw: None}
    elif isinstance(raw, list) and all(isinstance(i, str) for i in raw):
        raw = dict.fromkeys(raw)
    data = _mapping(spec, path, raw, "'on'")
    _known_keys(spec, path, data, TRIGGER_KEYS)
    out: dict[str, Any] = {"manual": "manual" in data and data["manual"] is not False}
    for kind in ("push", "pull_request"):
        if kind in data:
            out[kind] = _branches(spec, (*path, kind), data[kind])
    if "schedule" in data:
        out["schedule"] = _schedule(spec, (*path, "schedule"), data["schedule"])
    out["events"] = [
        e for kind in ("dataset", "model_alias", "alert") for e in _events(spec, kind, data)
    ]
    return out


def _branches(spec: Located, path: KeyPath, raw: Any) -> tuple[str, ...]:
    data = _mapping(spec, path, raw or {}, str(path[-1]))
    _known_keys(spec, path, data, ("branches",))
    branches = data.get("branches", [])
    branches = [branches] if isinstance(branches, str) else branches
    if not isinstance(branches, list) or not all(isinstance(b, str) and b for b in branches):
        raise spec.error((*path, "branches"), "branches must be a list of branch names or patterns")
    return tuple(branches)


def _schedule(spec: Located, path: KeyPath, raw: Any) -> list[str]:
    items = raw if isinstance(raw, list) else [raw]
    crons = []
    for i, item in enumerate(items):
        text = item.get("cron") if isinstance(item, dict) else item
        where = (*path, i) if isinstance(raw, list) else path
        if not isinstance(text, str) or not croniter.is_valid(text):
            raise spec.error(
                where,
                f"invalid cron schedule {text!r}",
                hint='e.g. schedule: "0 3 * * *" (03:00 daily)',
            )
        crons.append(text)
    return crons


def _events(
    spec: Located, kind: str, data: Mapping[str, Any]
) -> Iterable[tuple[str, str, str | None]]:
    if kind not in data:
        return []
    raw = data[kind]
    items = raw if isinstance(raw, list) else [raw]
    field = "deployment" if kind == "alert" else "name"
    keys = ("name", "alias") if kind == "model_alias" else (field,)
    out = []
    for item in items:
        path: KeyPath = ("on", kind)
        example = ", ".join(f"{k}: X" for k in keys)
        if (
            not isinstance(item, dict)
            or set(item) != set(keys)
            or not all(isinstance(item[k], str) for k in keys)
        ):
            raise spec.error(
                path, f"'{kind}' must be {{{example}}}", hint=f"e.g. {kind}: {{{example}}}"
            )
        out.append((kind, item[field], item.get("alias")))
    return out


# -- small values ------------------------------------------------------------------------------
def _params(spec: Located, raw: Any) -> dict[str, Any]:
    data = _mapping(spec, ("params",), raw or {}, "params")
    for key, value in data.items():
        if not _NAME.match(key):
            raise spec.error(
                ("params", key), f"invalid param name {key!r}", hint="use letters, digits, - and _"
            )
        if not isinstance(value, str | int | float | bool) and value is not None:
            raise spec.error(("params", key), f"param {key!r} must be a number, text or boolean")
    return dict(data)


def _env(spec: Located, path: KeyPath, raw: Any) -> dict[str, str]:
    data = _mapping(spec, path, raw or {}, "env")
    for key, value in data.items():
        _env_name(spec, (*path, key), key, "environment variable")
        if not isinstance(value, str | int | float | bool):
            raise spec.error((*path, key), f"env {key} must be text or a number")
    return {key: str(value) for key, value in data.items()}


def _project(spec: Located, raw: Any) -> str | None:
    if raw is None:
        return None
    _text(spec, ("project",), raw, "the project")
    return str(raw)


def _check_templates(spec: Located, path: KeyPath, text: str, params: Mapping[str, Any]) -> None:
    for match in _TEMPLATE.finditer(text):
        ref = _PARAM.match(match.group(1))
        if ref is None:
            raise spec.error(
                path,
                f"unknown template {match.group(0)!r}",
                hint="only ${params.NAME} is supported",
            )
        if ref.group(1) not in params:
            raise spec.error(
                path,
                f"{match.group(0)} names an unknown param {ref.group(1)!r} "
                f"(known: {', '.join(params) or 'none'})",
                hint=_suggest(ref.group(1), list(params)) or "declare it under params:",
            )


def _output_ref(
    spec: Located,
    workflow: Workflow,
    path: KeyPath,
    ref: str,
    upstream: set[str],
    kinds: tuple[str, ...] | None,
) -> None:
    match = _OUTPUT_REF.match(ref)
    assert match is not None  # checked while parsing
    job, output = match.groups()
    if job not in workflow.jobs:
        raise spec.error(
            path, f"{ref!r} names unknown job {job!r}", hint=_suggest(job, list(workflow.jobs))
        )
    if job not in upstream:
        raise spec.error(
            path,
            f"{ref!r} uses job {job!r}, which this job does not need",
            hint=f"add {job} to needs",
        )
    decl = workflow.jobs[job].outputs.get(output)
    if decl is None:
        known = ", ".join(workflow.jobs[job].outputs) or "none"
        raise spec.error(path, f"job {job!r} has no output {output!r} (outputs: {known})")
    if kinds and decl.kind not in kinds:
        raise spec.error(path, f"{ref!r} is a {decl.kind}, not a {' or '.join(kinds)}")


def _check_gate_refs(
    spec: Located, workflow: Workflow, path: KeyPath, node: expr.Node, upstream: set[str]
) -> None:
    for ref in expr.refs(node):
        head, parts = ref.parts[0], ref.parts
        if head == "params":
            if len(parts) != 2 or parts[1] not in workflow.params:
                raise spec.error(
                    path,
                    f"{ref} is not a declared param",
                    hint=_suggest(parts[-1], list(workflow.params)),
                )
            continue
        if len(parts) != 3 or parts[1] != "metrics":
            raise spec.error(
                path, f"{ref} must be JOB.metrics.NAME, champion.metrics.NAME or params.NAME"
            )
        if head != "champion" and head not in upstream:
            hint = (
                f"add {head} to needs"
                if head in workflow.jobs
                else _suggest(head, list(workflow.jobs))
            )
            raise spec.error(
                path, f"{ref} names job {head!r}, which the gate does not need", hint=hint
            )


def _mapping(spec: Located, path: KeyPath, raw: Any, what: str) -> dict[str, Any]:
    if not isinstance(raw, dict):
        raise spec.error(path, f"{what} must be a mapping (KEY: VALUE), got {type(raw).__name__}")
    return raw


def _known_keys(
    spec: Located, path: KeyPath, data: Mapping[str, Any], known: tuple[str, ...]
) -> None:
    for key in data:
        if key not in known:
            where = ".".join(str(p) for p in path) or "the workflow"
            raise spec.error(
                (*path, key),
                f"unknown key {key!r} in {where}",
                hint=_suggest(key, known) or f"use one of {', '.join(known)}",
            )


def _suggest(word: str, choices: Iterable[str]) -> str | None:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f"did you mean {close[0]!r}?" if close else None


def _text(spec: Located, path: KeyPath, raw: Any, what: str) -> None:
    if not isinstance(raw, str) or not raw or len(raw) > 256 or not raw.isprintable():
        raise spec.error(path, f"{what} must be printable text of 1 to 256 characters")


def _env_name(spec: Located, path: KeyPath, name: str, what: str) -> None:
    if not _ENV_KEY.match(name):
        raise spec.error(path, f"invalid {what} name {name!r}", hint="use letters, digits and _")


def _bool(spec: Located, path: KeyPath, raw: Any) -> bool:
    if not isinstance(raw, bool):
        raise spec.error(path, f"expected true or false, got {raw!r}")
    return raw


def _positive(raw: Any, what: str) -> float | None:
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, int | float) or raw <= 0:
        raise InvalidArgument(
            f"{what} must be a positive number, got {raw!r}", hint=f"e.g. {what}: 2"
        )
    return float(raw)


def _others(known: list[str], job: str) -> str:
    return ", ".join(k for k in known if k != job) or "none"
