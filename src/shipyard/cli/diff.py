"""``shipyard diff RUN_A RUN_B``: what differs between two runs, section by section.

Code (commits and the unified diff between the two code states, colorized), params, packages,
environment, hardware, datasets and metrics (last/min/max with deltas). ``--json`` prints the
same document as ``GET /api/v1/runs/diff``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console, Group, RenderableType
from rich.text import Text

from shipyard.cli._render import MISSING, format_value, new_table, print_message, write_json
from shipyard.cli._state import get_state, open_client
from shipyard.cli.runs import JsonOption, resolve_run

if TYPE_CHECKING:
    from shipyard.repro.diff import CodeDiff, Fact, RunDiff

_DIFF_STYLES = (
    ("diff --git", "bold"),
    ("index ", "dim"),
    ("+++", "bold"),
    ("---", "bold"),
    ("@@", "cyan"),
    ("+", "green"),
    ("-", "red"),
)


def diff_command(
    ctx: typer.Context,
    run_a: Annotated[str, typer.Argument(help="The baseline run (id or unique prefix).")],
    run_b: Annotated[str, typer.Argument(help="The run compared with it.")],
    as_json: JsonOption = False,
    repo: Annotated[
        Path | None,
        typer.Option("--repo", help="A git repository holding both commits (for the code diff)."),
    ] = None,
    section: Annotated[
        list[str] | None,
        typer.Option(
            "--section",
            "-s",
            help="Only these sections: code, params, packages, environment, hardware, datasets, "
            "metrics (repeatable).",
        ),
    ] = None,
    metrics_only: Annotated[
        bool, typer.Option("--metrics-only", help="Only compare metrics.")
    ] = False,
    params_only: Annotated[
        bool, typer.Option("--params-only", help="Only compare params.")
    ] = False,
    code_only: Annotated[bool, typer.Option("--code-only", help="Only compare code.")] = False,
    system: Annotated[
        bool, typer.Option("--system", help="Also compare system/ metrics (CPU, memory...).")
    ] = False,
    show_all: Annotated[
        bool, typer.Option("--all", help="Also show environment and hardware facts that match.")
    ] = False,
) -> None:
    """Show what differs between two runs: code, params, packages, environment, data, metrics.

    The code diff compares each run's commit plus its uncommitted changes, using the recorded
    repository (or --repo, or a clone of the recorded remote); nothing in a working tree is
    touched.

    [bold]Examples[/bold]

      shipyard diff 0193a5c1f2e0 0193a5d7aa41

      shipyard diff 0193a5c1f2e0 0193a5d7aa41 --metrics-only

      shipyard diff 0193a5c1f2e0 0193a5d7aa41 --json > diff.json
    """
    from shipyard.repro.client_source import ClientSource
    from shipyard.repro.diff import diff_runs

    wanted = _sections(section, metrics_only=metrics_only, params_only=params_only, code=code_only)
    with open_client(ctx) as client:
        a, b = resolve_run(client, run_a), resolve_run(client, run_b)
        diff = diff_runs(
            ClientSource(client), a.id, b.id, repo=repo, sections=wanted, include_system=system
        )
    if as_json:
        write_json(diff.to_dict())
        return
    render_diff(get_state(ctx).out, diff, show_all=show_all)


def _sections(
    chosen: Sequence[str] | None, *, metrics_only: bool, params_only: bool, code: bool
) -> list[str] | None:
    picked = [*(chosen or [])]
    picked += ["metrics"] * metrics_only + ["params"] * params_only + ["code"] * code
    return [s.strip().lower() for s in picked] or None


def render_diff(out: Console, diff: RunDiff, *, show_all: bool = False) -> None:
    """Print a run diff section by section (the code diff is never wrapped: long lines scroll)."""
    for side, run in (("A", diff.a), ("B", diff.b)):
        print_message(out, f"{side}  {run.id}  {run.project}/{run.name or '-'}", style="bold")
    if diff.code is not None:
        _print_code(out, diff.code)
    parts: list[RenderableType] = []
    if diff.params is not None:
        parts.append(_changes("params", diff.params.to_dict(), "param"))
    if diff.packages is not None:
        parts.append(_packages(diff))
    for title, facts in (("environment", diff.environment), ("hardware", diff.hardware)):
        if facts is not None:
            parts.append(_facts(title, facts, show_all=show_all))
    if diff.datasets is not None:
        parts.append(_datasets(diff))
    if diff.metrics is not None:
        parts.append(_metrics(diff))
    for part in parts:
        out.print()
        out.print(part)
    for note in diff.notes:
        print_message(out, f"note: {note}", style="yellow")


def _title(text: str) -> Text:
    return Text(text, style="bold cyan")


def _print_code(out: Console, code: CodeDiff) -> None:
    table = new_table("", "commit", "branch", "uncommitted changes")
    for side, state in (("A", code.a), ("B", code.b)):
        dirty = "yes" if state.dirty else "no"
        if state.skipped:
            dirty += f" ({len(state.skipped)} file(s) not recorded)"
        table.add_row(side, Text(state.commit or "-"), Text(state.branch or "-"), dirty)
    out.print()
    out.print(Group(_title("code"), table))
    if code.method == "identical" or (code.method == "git" and not code.patch):
        print_message(out, "the code is identical", style="green")
    elif code.patch:
        if code.files:
            print_message(out, f"{len(code.files)} file(s) differ: {', '.join(code.files)}")
        out.print(colorize_diff(code.patch), soft_wrap=True)
    for note in code.notes:
        print_message(out, f"note: {note}", style="yellow")


def colorize_diff(patch: str) -> Text:
    """A unified diff with added lines green, removed red, hunk headers cyan."""
    text = Text()
    for line in patch.rstrip("\n").splitlines(keepends=True):
        style = next((s for prefix, s in _DIFF_STYLES if line.startswith(prefix)), "")
        text.append(line, style=style)
    return text


def _changes(title: str, data: dict[str, Any], what: str) -> RenderableType:
    if not (data["added"] or data["removed"] or data["changed"]):
        return Group(_title(title), Text(f"all {data['unchanged']} {what}s are the same"))
    table = new_table(what, "A", "B")
    for key, change in data["changed"].items():
        table.add_row(Text(key), _value(change["a"]), _value(change["b"], "yellow"))
    for key, value in data["removed"].items():
        table.add_row(Text(key), _value(value, "red"), MISSING)
    for key, value in data["added"].items():
        table.add_row(Text(key), MISSING, _value(value, "green"))
    same = Text(f"{data['unchanged']} {what}(s) unchanged", style="dim")
    return Group(_title(title), table, same)


def _value(value: object, style: str = "") -> Text:
    if isinstance(value, str | int | float | bool) or value is None:
        return Text(format_value(value), style=style)
    return Text(str(value), style=style)


def _packages(diff: RunDiff) -> RenderableType:
    packages = diff.packages
    assert packages is not None
    if not packages.recorded:
        return Group(_title("packages"), Text("not recorded for both runs", style="dim"))
    return _changes("packages", packages.to_dict(), "package")


def _facts(title: str, facts: Sequence[Fact], *, show_all: bool) -> RenderableType:
    shown = [f for f in facts if show_all or not f.same]
    same = sum(1 for f in facts if f.same)
    if not shown:
        return Group(_title(title), Text(f"all {same} compared values are the same"))
    table = new_table("", "A", "B")
    for fact in shown:
        style = "" if fact.same else "yellow"
        table.add_row(Text(fact.key), _value(fact.a), _value(fact.b, style))
    return Group(_title(title), table, Text(f"{same} value(s) the same", style="dim"))


def _datasets(diff: RunDiff) -> RenderableType:
    datasets = diff.datasets or ()
    if not datasets:
        return Group(_title("datasets"), Text("no dataset inputs recorded", style="dim"))
    table = new_table("dataset", "A", "B", "")
    for change in datasets:
        data = change.to_dict()
        table.add_row(
            Text(change.name),
            _dataset(data["a"]),
            _dataset(data["b"]),
            Text("same", style="green") if change.same else Text("differs", style="yellow"),
        )
    return Group(_title("datasets"), table)


def _dataset(side: dict[str, str] | None) -> Text:
    if side is None:
        return MISSING
    digest = f" ({side['digest'][:12]})" if side.get("digest") else ""
    return Text(f"v{side['version']}{digest}")


def _metrics(diff: RunDiff) -> RenderableType:
    metrics = diff.metrics or ()
    if not metrics:
        return Group(_title("metrics"), Text("no metrics logged", style="dim"))
    table = new_table("metric", "stat", "A", "B", "delta")
    for column in table.columns[2:]:
        column.justify = "right"
    for metric in metrics:
        data = metric.to_dict()
        for stat in ("last", "min", "max"):
            table.add_row(
                Text(metric.key) if stat == "last" else Text(""),
                Text(stat, style="dim"),
                _number(data["a"], stat),
                _number(data["b"], stat),
                _delta(data["delta"][stat]),
            )
    return Group(_title("metrics"), table)


def _number(side: dict[str, Any] | None, stat: str) -> Text:
    if side is None or side.get(stat) is None:
        return MISSING
    return _value(side[stat])


def _delta(value: object) -> Text:
    if value is None:
        return MISSING
    if isinstance(value, int | float) and value == 0:
        return Text("0", style="dim")
    shown = f"{value:+.4g}" if isinstance(value, int | float) else str(value)
    return Text(shown, style="yellow")
