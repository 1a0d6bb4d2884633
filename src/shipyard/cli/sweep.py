"""``shipyard sweep``: run hyperparameter sweeps (Optuna) as tracked runs, and follow them.

The sweep engine lives in :mod:`shipyard.sweeps`; these commands parse, call it, and render.
Sweeps and the SDK are imported inside the commands, so ``--help`` stays fast.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text

from shipyard.cli._render import format_value, local_time, new_table, print_message, write_json
from shipyard.cli._state import get_state
from shipyard.errors import InvalidArgument

if TYPE_CHECKING:
    from shipyard.executors import Executor
    from shipyard.settings import Settings
    from shipyard.sweeps import SweepListing, SweepProgress, SweepResult, TrialSummary

app = typer.Typer(
    help="Hyperparameter sweeps driven by Optuna; every trial is a tracked run.",
    no_args_is_help=True,
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
StorageOption = Annotated[
    str | None,
    typer.Option(
        "--storage",
        help="The Optuna storage (SQLAlchemy URL) of the sweeps; default: <home>/sweeps.db.",
    ),
]
SweepArgument = Annotated[str, typer.Argument(help="The sweep id (shipyard sweep list).")]
_STATE_STYLES = {"COMPLETE": "green", "PRUNED": "magenta", "FAIL": "red", "RUNNING": "yellow"}


@app.command("run")
def run_command(
    ctx: typer.Context,
    spec_file: Annotated[Path, typer.Argument(metavar="SPEC", help="The sweep spec (YAML).")],
    executor: Annotated[
        str, typer.Option("--executor", "-e", help="Where trials run: local or ray.")
    ] = "local",
    ray_address: Annotated[
        str | None,
        typer.Option("--ray-address", help="The Ray dashboard URL, e.g. http://127.0.0.1:8265."),
    ] = None,
    parallel: Annotated[int, typer.Option("--parallel", "-j", help="Trials at once.")] = 1,
    resume: Annotated[
        str | None, typer.Option("--resume", metavar="SWEEP_ID", help="Resume this sweep.")
    ] = None,
    storage: StorageOption = None,
    max_trials: Annotated[
        int | None, typer.Option("--max-trials", help="Override the spec's max_trials.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Run the sweep in SPEC: each trial runs its command as a tracked run.

    SPEC names the project, the command (${name} takes each parameter's value), the metric and
    its goal, the method (grid, random, tpe, cmaes), the parameters, max_trials and early_stop
    (median, hyperband, none). The command logs the metric with shipyard.start_run(), which
    continues the trial's run. An interrupted sweep continues with --resume SWEEP_ID.

    [bold]Examples[/bold]

      shipyard sweep run sweep.yaml --parallel 4

      shipyard sweep run sweep.yaml --executor ray --ray-address http://127.0.0.1:8265

      shipyard sweep run sweep.yaml --resume 0193a5c1f2e04b7d9c1e2f3a4b5c6d7e
    """
    from shipyard.sweeps import load_spec, run_sweep

    state = get_state(ctx)
    settings = state.settings
    logging.getLogger("optuna").setLevel(logging.WARNING)  # the live view replaces its lines
    spec = load_spec(spec_file, max_trials=max_trials)
    runner = _open_executor(executor, ray_address, settings)
    view = _LiveView(state.err, spec.metric.name, spec.metric.goal)
    with Live(view, console=state.err, refresh_per_second=4, transient=False) as live:
        view.live = live
        result = run_sweep(
            spec,
            executor=runner,
            parallel=parallel,
            settings=settings,
            storage=storage,
            sweep_id=resume,
            on_progress=view.update,
        )
    if as_json:
        write_json(result.to_dict())
    else:
        state.out.print(_result_view(result))


@app.command("status")
def status_command(
    ctx: typer.Context,
    sweep_id: SweepArgument,
    storage: StorageOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show a sweep's progress, its best trial (params, value, run) and every trial.

    [bold]Examples[/bold]

      shipyard sweep status 0193a5c1f2e04b7d9c1e2f3a4b5c6d7e --json
    """
    from shipyard.sweeps import sweep_status

    state = get_state(ctx)
    result = sweep_status(sweep_id.strip(), settings=state.settings, storage=storage)
    if as_json:
        write_json(result.to_dict())
        return
    state.out.print(Group(_result_view(result), Text(), _trials_table(result)))


@app.command("list")
def list_command(
    ctx: typer.Context, storage: StorageOption = None, as_json: JsonOption = False
) -> None:
    """List the sweeps, oldest first, with their progress and best value.

    [bold]Examples[/bold]

      shipyard sweep list

      shipyard sweep list --storage postgresql+psycopg://db/sweeps --json
    """
    from shipyard.sweeps import list_sweeps

    state = get_state(ctx)
    listings = list_sweeps(settings=state.settings, storage=storage)
    if as_json:
        write_json([item.to_dict() for item in listings])
    elif not listings:
        print_message(state.err, "no sweeps yet: start one with `shipyard sweep run sweep.yaml`")
    else:
        state.out.print(_listing_table(listings))


def _open_executor(name: str, ray_address: str | None, settings: Settings) -> Executor:
    from shipyard.executors import open_executor

    if name not in ("local", "ray"):
        raise InvalidArgument(
            f"sweeps run on the local or ray executor, not {name!r}",
            "use --executor local or --executor ray",
        )
    return open_executor(name, ray_address=ray_address, state_dir=settings.home / "jobs")


class _LiveView:
    """The live line of ``sweep run``: finished/running/pruned/failed and the best so far."""

    def __init__(self, console: Console, metric: str, goal: str) -> None:
        self.console = console
        self.metric = metric
        self.goal = goal
        self.progress: SweepProgress | None = None
        self.live: Live | None = None

    def update(self, progress: SweepProgress) -> None:
        """Take new counters (called by the sweep engine)."""
        if self.progress is None:
            print_message(self.console, f"shipyard: sweep {progress.sweep_id}", style="dim")
        self.progress = progress
        if self.live is not None:
            self.live.refresh()

    def __rich__(self) -> RenderableType:
        p = self.progress
        if p is None:
            return Text("starting the sweep...", style="dim")
        text = Text.assemble(
            (f"{p.finished}/{p.max_trials} trials", "bold"),
            f"  {p.running} running  {p.completed} completed  ",
            (f"{p.pruned} pruned", "magenta"),
            "  ",
            (f"{p.failed} failed", "red" if p.failed else ""),
        )
        if p.best is not None and p.best.value is not None:
            text.append(f"  best {self.metric} ({self.goal}) ")
            text.append(format_value(p.best.value), style="green")
            text.append(f" in trial {p.best.number}")
        return text


def _result_view(result: SweepResult) -> RenderableType:
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    spec, counts, best = result.spec, result.counts, result.best
    rows = [
        ("sweep", result.sweep_id),
        ("project", result.project),
        ("method", f"{spec.method} (early stop: {spec.early_stop.type})"),
        ("metric", f"{spec.metric.name} ({spec.metric.goal})"),
        ("progress", f"{result.progress().finished}/{spec.max_trials} trials finished"),
        ("states", "  ".join(f"{k.lower()} {v}" for k, v in counts.items() if v)),
    ]
    if best is not None and best.value is not None:
        rows += [
            ("best value", f"{format_value(best.value)} (trial {best.number})"),
            ("best run", best.run_id or "-"),
            ("best params", ", ".join(f"{k}={format_value(v)}" for k, v in best.params.items())),
        ]
    for label, value in rows:
        grid.add_row(label, Text(value))
    return grid


def _trials_table(result: SweepResult) -> Table:
    names = list(result.spec.parameters)
    table = new_table("trial", "state", result.spec.metric.name, *names, "run")
    for column in table.columns[2 : 3 + len(names)]:
        column.justify = "right"
    for trial in result.trials:
        table.add_row(*_trial_cells(trial, names))
    return table


def _trial_cells(trial: TrialSummary, names: list[str]) -> list[RenderableType]:
    state = Text(trial.state, style=_STATE_STYLES.get(trial.state, ""))
    if trial.requeued:
        state.append(" (requeued)", style="dim")
    value = "-" if trial.value is None else format_value(trial.value)
    params = [format_value(trial.params[n]) if n in trial.params else "-" for n in names]
    return [str(trial.number), state, value, *params, Text(trial.run_id or "-")]


def _listing_table(listings: list[SweepListing]) -> Table:
    table = new_table("sweep", "project", "name", "method", "metric", "trials", "best", "started")
    for item in listings:
        best = "-" if item.best_value is None else format_value(item.best_value)
        table.add_row(
            Text(item.sweep_id),
            Text(item.project),
            Text(item.name or "-"),
            item.method,
            Text(f"{item.metric.name} ({item.metric.goal})"),
            f"{item.trials}/{item.max_trials}",
            best,
            local_time(item.started_at),
        )
    return table
