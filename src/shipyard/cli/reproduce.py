"""``shipyard reproduce RUN``: rebuild a run from its record, run it again, and verify it.

A thin wrapper of :func:`shipyard.repro.reproduce.reproduce`: it prints what was restored, streams
the command's output, and with ``--verify`` a table of every metric (original, reproduced, delta,
✓/✗). Exit status 0 only when the command succeeded and, with ``--verify``, every metric matched.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from shipyard.cli._render import MISSING, new_table, print_message, write_json
from shipyard.cli._state import get_state, open_client
from shipyard.cli.runs import JsonOption, RunArgument, resolve_run

if TYPE_CHECKING:
    from shipyard.repro.reproduce import Reproduction

ENV_HELP = "current: this Python; recorded: a new virtualenv with the recorded packages."


def reproduce_command(
    ctx: typer.Context,
    run: RunArgument,
    verify: Annotated[
        bool, typer.Option("--verify", help="Compare every metric with the original run.")
    ] = False,
    rtol: Annotated[
        float, typer.Option("--rtol", help="Relative tolerance of --verify (default: exact).")
    ] = 0.0,
    atol: Annotated[
        float, typer.Option("--atol", help="Absolute tolerance of --verify (default: exact).")
    ] = 0.0,
    env: Annotated[str, typer.Option("--env", help=ENV_HELP)] = "current",
    workdir: Annotated[
        Path | None,
        typer.Option("--workdir", help="An empty folder to rebuild in (default: a new temp one)."),
    ] = None,
    allow_missing_commit: Annotated[
        bool,
        typer.Option("--allow-missing-commit", help="Rebuild on the recorded branch if needed."),
    ] = False,
    allow_package_mismatch: Annotated[
        bool,
        typer.Option("--allow-package-mismatch", help="Go on when packages cannot be installed."),
    ] = False,
    allow_gpu_mismatch: Annotated[
        bool, typer.Option("--allow-gpu-mismatch", help="Go on when the GPUs differ.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only show what would be done (nothing is created).")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Rebuild RUN in a fresh folder and run it again as a new run, then verify its metrics.

    The code is cloned at the recorded commit with the recorded uncommitted changes; packages
    (--env recorded), dataset versions and seeds are restored. The new run is tagged
    shipyard.reproduction_of. Exit status 0 only when the command succeeds and, with --verify,
    every metric (last, min and max) matches.

    [bold]Examples[/bold]

      shipyard reproduce 0193a5c1f2e0 --verify

      shipyard reproduce 0193a5c1f2e0 --env recorded --verify --rtol 1e-6

      shipyard reproduce 0193a5c1f2e0 --env recorded --dry-run
    """
    from shipyard.repro.reproduce import ReproduceOptions, reproduce

    state = get_state(ctx)
    options = ReproduceOptions(
        env=env.strip().lower(),
        workdir=workdir,
        verify=verify,
        rtol=rtol,
        atol=atol,
        allow_missing_commit=allow_missing_commit,
        allow_package_mismatch=allow_package_mismatch,
        allow_gpu_mismatch=allow_gpu_mismatch,
        dry_run=dry_run,
        echo=not as_json,
    )
    on_launch = None if as_json else (lambda r: _print_restored(state.out, r))
    with open_client(ctx) as client:
        original = resolve_run(client, run)
        if not as_json:
            what = f"{original.project}/{original.name or '-'}"
            print_message(state.out, f"reproducing run {original.id} ({what})", style="bold")
        result = reproduce(client, original.id, options, on_launch=on_launch)
    if as_json:
        write_json(result.to_dict())
    else:
        _print_result(state.out, result)
    if not result.succeeded:
        raise typer.Exit(1)


def _print_restored(out: Console, result: Reproduction) -> None:
    out.print(_plan_table(result))
    print_message(out, "")


def _plan_table(result: Reproduction) -> RenderableType:
    grid = Table(show_header=False, box=None, padding=(0, 2, 0, 0))
    grid.add_column(style="dim", no_wrap=True)
    grid.add_column(overflow="fold")
    data = result.to_dict()
    code = data["code"]
    rows = [
        ("code from", code["source"]),
        ("commit", code.get("checked_out") or code.get("commit") or "(none: no commit yet)"),
        ("patch", _patch_text(code)),
        ("not restored", ", ".join(code.get("not_restored") or []) or None),
        ("rejected hunks", ", ".join(code.get("rejected") or []) or None),
        ("folder", str(code.get("path") or result.workdir)),
        ("python", _python_text(result)),
        ("variables", " ".join(f"{k}={v}" for k, v in result.variables.items()) or None),
        ("datasets", ", ".join(f"{k} v{v}" for k, v in result.pins.items()) or None),
        ("command", f"{shlex.join(result.command)}  (in {result.cwd})"),
    ]
    for key, value in rows:
        if value:
            grid.add_row(key, Text(str(value)))
    return grid


def _patch_text(code: dict[str, object]) -> str | None:
    if "patch_applied" not in code:
        return None
    return "applied" if code["patch_applied"] else "none (clean working tree)"


def _python_text(result: Reproduction) -> str:
    python = result.python
    if python.mode == "current":
        return f"{python.python} (this interpreter)"
    count = len(python.requirements)
    return f"{python.python} (new virtualenv via {python.tool}, {count} recorded packages)"


def _print_result(out: Console, result: Reproduction) -> None:
    if result.dry_run:
        _print_plan(out, result)
        return
    for note in result.notes + (result.checkout.notes if result.checkout else []):
        print_message(out, f"note: {note}", style="yellow")
    style = "green" if result.exit_code == 0 else "red"
    outcome = f"new run {result.run_id}: {result.status} (exit {result.exit_code})"
    print_message(out, outcome, style=style)
    if result.checks is not None:
        out.print(verification_table(result))
        _print_verdict(out, result)


def _print_plan(out: Console, result: Reproduction) -> None:
    print_message(out, "dry run: nothing was created", style="bold")
    out.print(_plan_table(result))
    if result.python.mode == "recorded":
        print_message(out, "install plan:", style="bold")
        if result.python.self_requirement:
            print_message(out, f"  {result.python.self_requirement}  (this Shipyard)")
        for line in result.python.requirements:
            print_message(out, f"  {line}")
    for note in result.notes + result.python.notes:
        print_message(out, f"note: {note}", style="yellow")
    for blocker in result.blockers:
        print_message(out, f"would stop: {blocker}", style="red")


def verification_table(result: Reproduction) -> RenderableType:
    """Every compared metric statistic: original, reproduced, delta and ✓/✗."""
    table = new_table("metric", "stat", "original", "reproduced", "delta", "")
    for column in table.columns[2:5]:
        column.justify = "right"
    for check in result.checks or ():
        data = check.to_dict()
        table.add_row(
            Text(check.key),
            Text(check.stat, style="dim"),
            _cell(data["original"]),
            _cell(data["reproduced"]),
            _cell(data["delta"], signed=True),
            Text("✓", style="green") if check.ok else Text("✗", style="bold red"),
        )
    rtol, atol = result.tolerances
    title = "exact match" if rtol == 0 and atol == 0 else f"rtol={rtol:g}, atol={atol:g}"
    return Group(Text(f"verification ({title})", style="bold cyan"), table)


def _cell(value: object, *, signed: bool = False) -> Text:
    if value is None:
        return MISSING
    if isinstance(value, float | int) and not isinstance(value, bool):
        if signed:
            return Text("0", style="dim") if value == 0 else Text(f"{value:+.6g}", style="yellow")
        return Text(repr(value))
    return Text(str(value))


def _print_verdict(out: Console, result: Reproduction) -> None:
    checks = result.checks or ()
    failed = [c for c in checks if not c.ok]
    if not failed:
        print_message(out, f"✓ reproduced: all {len(checks)} metric values match", style="green")
        return
    names = ", ".join(dict.fromkeys(f"{c.key} ({c.stat})" for c in failed))
    verdict = f"✗ not reproduced: {len(failed)} of {len(checks)} metric values differ: {names}"
    print_message(out, verdict, style="bold red")
