"""What the workflow pages show, computed without IO: the DAG laid out by topological level,
node colours by status, and the JSON the page polls for live updates.

The layout is deterministic: a job's level is one more than the deepest job it needs (jobs that
need nothing are level 0); within a level jobs keep their declared order. Each level is a
column, so edges always point right.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from shipyard.domain.workflows import WorkflowJob, WorkflowRun
from shipyard.errors import ShipyardError
from shipyard.workflows.spec import parse_workflow

NODE_W, NODE_H = 180, 56
GAP_X, GAP_Y = 70, 24
PAD = 12


@dataclass(frozen=True)
class Node:
    """One job drawn as a box."""

    name: str
    status: str
    kind: str
    x: int
    y: int
    level: int
    reason: str = ""
    run_id: str | None = None


@dataclass(frozen=True)
class Edge:
    """A ``needs`` arrow from ``source`` (needed) to ``target``."""

    source: str
    target: str
    path: str


@dataclass(frozen=True)
class Dag:
    """A laid-out workflow run: nodes, edges and the drawing's size."""

    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    width: int
    height: int


def needs_of(run: WorkflowRun, jobs: Sequence[WorkflowJob]) -> dict[str, tuple[str, ...]]:
    """Each job's ``needs``, read from the workflow text the run kept (none if it cannot be
    read)."""
    names = [job.name for job in jobs]
    try:
        workflow = parse_workflow(run.spec, source=run.path or "<workflow>")
    except ShipyardError:
        return dict.fromkeys(names, ())
    steps = workflow.jobs
    return {
        name: tuple(n for n in steps[name].needs if n in names) if name in steps else ()
        for name in names
    }


def kinds_of(run: WorkflowRun) -> dict[str, str]:
    """Each job's kind (``run``, ``gate``, ``promote``) from the kept workflow text."""
    try:
        return {name: step.kind for name, step in parse_workflow(run.spec).jobs.items()}
    except ShipyardError:
        return {}


def levels(needs: Mapping[str, Sequence[str]]) -> dict[str, int]:
    """Topological level of each job (cycles, which specs refuse, are cut)."""
    found: dict[str, int] = {}

    def level(name: str, seen: frozenset[str]) -> int:
        if name not in found:
            parents = [p for p in needs.get(name, ()) if p not in seen]
            found[name] = 1 + max((level(p, seen | {name}) for p in parents), default=-1)
        return found[name]

    for name in needs:
        level(name, frozenset())
    return found


def layout(run: WorkflowRun, jobs: Sequence[WorkflowJob]) -> Dag:
    """Lay the jobs of ``run`` out as columns by level."""
    needs, kinds = needs_of(run, jobs), kinds_of(run)
    depth = levels(needs)
    rows: dict[int, int] = {}
    nodes = []
    for job in jobs:
        level = depth.get(job.name, 0)
        row = rows.get(level, 0)
        rows[level] = row + 1
        x, y = PAD + level * (NODE_W + GAP_X), PAD + row * (NODE_H + GAP_Y)
        nodes.append(Node(job.name, job.status.value, kinds.get(job.name, "run"), x, y, level,
                          job.reason, job.run_id))  # fmt: skip
    at = {node.name: node for node in nodes}
    edges = tuple(
        Edge(parent, node.name, _curve(at[parent], node))
        for node in nodes
        for parent in needs.get(node.name, ())
        if parent in at
    )
    width = PAD * 2 + (max(depth.values(), default=0) + 1) * (NODE_W + GAP_X) - GAP_X
    height = PAD * 2 + max(rows.values(), default=1) * (NODE_H + GAP_Y) - GAP_Y
    return Dag(tuple(nodes), edges, width, height)


def _curve(source: Node, target: Node) -> str:
    x1, y1 = source.x + NODE_W, source.y + NODE_H // 2
    x2, y2 = target.x, target.y + NODE_H // 2
    middle = (x1 + x2) // 2
    return f"M{x1},{y1} C{middle},{y1} {middle},{y2} {x2},{y2}"


def state_json(run: WorkflowRun, jobs: Sequence[WorkflowJob]) -> dict[str, Any]:
    """What the page polls: the run's status and each job's status, reason and run."""
    return {
        "id": run.id,
        "status": run.status.value,
        "terminal": run.status.is_terminal,
        "message": run.message,
        "ended_at": run.ended_at,
        "jobs": [
            {
                "name": job.name,
                "status": job.status.value,
                "reason": job.reason,
                "message": job.message,
                "run_id": job.run_id,
                "outputs": dict(job.outputs),
                "started_at": job.started_at,
                "ended_at": job.ended_at,
            }
            for job in jobs
        ],
    }


def duration(start: int | None, end: int | None) -> str:
    """A short duration (``"1m 12s"``) or ``""`` when not known."""
    if start is None or end is None:
        return ""
    seconds = max(0, (end - start) // 1000)
    minutes, seconds = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m {seconds}s" if minutes else f"{seconds}s"
