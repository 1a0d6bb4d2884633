"""``shipyard workflow``: validate and run workflow files (a DAG of jobs with a step cache,
gates and promotion), and list, show, follow, cancel and retry workflow runs.

``run`` and ``retry`` run the engine here, against the configured store: embedded, a database,
or a hub (``http(s)://``: the jobs run here, the workflow run, its jobs' runs, datasets, models
and promotions are recorded on the hub). ``runs``, ``show``, ``logs`` and ``cancel`` work
against all of them.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from shipyard.cli._render import print_message, write_json
from shipyard.cli._state import CliState, get_state

if TYPE_CHECKING:
    from shipyard.artifacts.base import ArtifactStore
    from shipyard.sdk._http_workflows import HttpWorkflowReader
    from shipyard.workflows._stores import EngineStore
    from shipyard.workflows.service import WorkflowRunInfo

app = typer.Typer(
    help="Validate and run workflows (jobs with a step cache, gates, promotion); list, show, "
    "follow, cancel and retry workflow runs.",
    no_args_is_help=True,
)

FOLLOW_POLL_S = 0.3
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
RunArgument = Annotated[str, typer.Argument(metavar="ID", help="The workflow run's id.")]
FileArgument = Annotated[
    Path, typer.Argument(metavar="FILE", help="The workflow file (.shipyard/workflows/*.yaml).")
]
ExecutorOption = Annotated[
    str, typer.Option("--executor", "-e", help="Where jobs run: local (default) or ray.")
]
RayOption = Annotated[
    str | None, typer.Option("--ray-address", help="The Ray dashboard URL, e.g. http://head:8265.")
]
JobArgument = Annotated[str, typer.Argument(metavar="JOB", help="The job's name in the workflow.")]
NoCacheOption = Annotated[
    bool, typer.Option("--no-cache", help="Run every job, even when a result is cached.")
]


@app.command("validate")
def validate_command(ctx: typer.Context, path: FileArgument, as_json: JsonOption = False) -> None:
    """Check FILE without running it; errors name FILE:LINE and how to fix it.

    [bold]Examples[/bold]

      shipyard workflow validate .shipyard/workflows/train.yaml

      shipyard workflow validate train.yaml --json
    """
    from shipyard.workflows.spec import load_workflow

    workflow = load_workflow(path)
    if as_json:
        jobs = {n: {"kind": s.kind, "needs": list(s.needs)} for n, s in workflow.jobs.items()}
        write_json({"name": workflow.name, "valid": True, "jobs": jobs})
        return
    order = " -> ".join(workflow.jobs)
    print_message(get_state(ctx).out, f"{path}: workflow {workflow.name!r} is valid ({order})")


@app.command("run")
def run_command(
    ctx: typer.Context,
    path: FileArgument,
    param: Annotated[
        list[str] | None,
        typer.Option("--param", "-p", metavar="KEY=VALUE", help="Set a workflow param (repeat)."),
    ] = None,
    no_cache: NoCacheOption = False,
    executor: ExecutorOption = "local",
    ray_address: RayOption = None,
    workdir: Annotated[
        Path | None, typer.Option("--workdir", help="Where jobs run (default: the repo root).")
    ] = None,
    project: Annotated[
        str | None, typer.Option("--project", help="The project (default: the file's project:).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Run the workflow in FILE to its end; exit 1 when it failed.

    Independent jobs run in parallel; each job is a tracked run. A job whose command, code,
    params, environment and input contents are unchanged is not run again (its earlier run
    and outputs are reused); the table says why each job ran or was skipped.

    [bold]Examples[/bold]

      shipyard workflow run .shipyard/workflows/train.yaml

      shipyard workflow run train.yaml --param lr=0.02 --no-cache

      shipyard workflow run train.yaml -e ray --ray-address http://head:8265

      SHIPYARD_TRACKING_URI=http://hub:8080 shipyard workflow run train.yaml
    """
    from shipyard.workflows.service import start_workflow

    state = get_state(ctx)
    with _engine(state) as (store, artifacts):
        started = start_workflow(
            store, artifacts, path, params=parse_params(param or []), workdir=workdir,
            no_cache=no_cache, executor=executor, ray_address=ray_address, wait=False,
            settings=state.settings, project=project,
        )  # fmt: skip
        info = _follow(state, store, started.id)
    _report(state, info, as_json)


@app.command("retry")
def retry_command(
    ctx: typer.Context,
    workflow_run_id: RunArgument,
    no_cache: NoCacheOption = False,
    executor: ExecutorOption = "local",
    ray_address: RayOption = None,
    workdir: Annotated[
        Path | None, typer.Option("--workdir", help="Where jobs run (default: as before).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Resume a failed or cancelled workflow run from its failed jobs (a new workflow run that
    reuses every job that succeeded); exit 1 when it failed again.

    [bold]Examples[/bold]

      shipyard workflow retry 01a21dd9bda112ad183ea6125e4fdcd8

      shipyard workflow retry 01a21dd9bda112ad183ea6125e4fdcd8 --no-cache --json
    """
    from shipyard.workflows.service import retry_workflow

    state = get_state(ctx)
    with _engine(state) as (store, artifacts):
        started = retry_workflow(
            store, artifacts, workflow_run_id, workdir=workdir, no_cache=no_cache,
            executor=executor, ray_address=ray_address, wait=False, settings=state.settings,
        )  # fmt: skip
        info = _follow(state, store, started.id)
    _report(state, info, as_json)


@app.command("runs")
def runs_command(
    ctx: typer.Context,
    project: Annotated[str | None, typer.Option("--project", help="Only this project.")] = None,
    name: Annotated[str | None, typer.Option("--name", help="Only this workflow.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000, help="At most N.")] = 20,
    as_json: JsonOption = False,
) -> None:
    """List workflow runs, newest first.

    [bold]Examples[/bold]

      shipyard workflow runs

      shipyard workflow runs --project iris --name train-and-ship --json
    """
    from shipyard.cli._workflow_render import runs_table, workflow_json

    state = get_state(ctx)
    with _reader(state) as reader:
        found = reader.list_workflow_runs(project=project, name=name, limit=limit)
    if as_json:
        write_json([workflow_json(run) for run in found])
    else:
        state.out.print(runs_table(found))


@app.command("show")
def show_command(
    ctx: typer.Context, workflow_run_id: RunArgument, as_json: JsonOption = False
) -> None:
    """Show a workflow run: each job's status, run, duration and why it ran or was skipped,
    with gate verdicts and failure messages.

    [bold]Examples[/bold]

      shipyard workflow show 01a21dd9bda112ad183ea6125e4fdcd8

      shipyard workflow show 01a21dd9bda112ad183ea6125e4fdcd8 --json
    """
    from shipyard.cli._workflow_render import run_details, workflow_json

    state = get_state(ctx)
    with _reader(state) as reader:
        run = reader.get_workflow_run(workflow_run_id)
        jobs = reader.list_workflow_jobs(workflow_run_id)
    if as_json:
        write_json(workflow_json(run, jobs))
    else:
        state.out.print(run_details(run, jobs))


@app.command("logs")
def logs_command(ctx: typer.Context, workflow_run_id: RunArgument, job: JobArgument) -> None:
    """Print the output of one job of a workflow run (stored when the job ended).

    [bold]Examples[/bold]

      shipyard workflow logs 01a21dd9bda112ad183ea6125e4fdcd8 train

      shipyard workflow logs 01a21dd9bda112ad183ea6125e4fdcd8 evaluate | tail -n 20
    """
    state = get_state(ctx)
    with _reader(state) as reader:
        lines = reader.job_logs(workflow_run_id, job)
    for line in lines:
        state.out.print(line, markup=False, highlight=False, soft_wrap=True)


@app.command("cancel")
def cancel_command(ctx: typer.Context, workflow_run_id: RunArgument) -> None:
    """Ask the engine running a workflow run to stop its jobs (a pending run ends at once).

    [bold]Examples[/bold]

      shipyard workflow cancel 01a21dd9bda112ad183ea6125e4fdcd8
    """
    state = get_state(ctx)
    with _reader(state) as reader:
        run = reader.request_workflow_cancel(workflow_run_id)
    verb = "cancel requested" if not run.status.is_terminal else run.status.value.lower()
    print_message(state.out, f"workflow run {run.id}: {verb}")


def parse_params(items: list[str]) -> dict[str, Any]:
    """``["lr=0.02", "name=a"]`` -> ``{"lr": 0.02, "name": "a"}`` (numbers and booleans typed)."""
    from shipyard.sdk.launch import parse_assignments

    return parse_assignments(items, option="--param", typed=True)


def _follow(state: CliState, store: EngineStore, workflow_run_id: str) -> WorkflowRunInfo:
    """Print each job's changes to stderr until the workflow run ends; Ctrl-C cancels it."""
    from shipyard.workflows.service import cancel_workflow, get_workflow, wait_workflow

    print_message(state.err, f"workflow run {workflow_run_id} started", style="dim")
    seen: dict[str, str] = {}
    try:
        while True:
            info = get_workflow(store, workflow_run_id)
            for job in info.jobs:
                if seen.get(job.name) != job.status.value and job.status.value != "PENDING":
                    seen[job.name] = job.status.value
                    why = f" ({job.reason})" if job.reason else ""
                    print_message(state.err, f"  {job.name}: {job.status.value.lower()}{why}")
            if info.status.is_terminal:
                return info
            time.sleep(FOLLOW_POLL_S)
    except KeyboardInterrupt:
        print_message(state.err, "cancelling (running jobs are stopped)...", style="yellow")
        cancel_workflow(store, workflow_run_id)
        return wait_workflow(store, workflow_run_id)


def _report(state: CliState, info: WorkflowRunInfo, as_json: bool) -> None:
    from shipyard.cli._workflow_render import run_details, workflow_json

    if as_json:
        write_json(workflow_json(info.run, info.jobs))
    else:
        state.out.print(run_details(info.run, info.jobs))
    if info.status.value != "SUCCEEDED":
        raise typer.Exit(1)


@contextmanager
def _engine(state: CliState) -> Iterator[tuple[EngineStore, ArtifactStore]]:
    """The stores the engine runs against: embedded, a database, or a hub (``http(s)://``:
    jobs run here, everything is recorded on the hub)."""
    settings = state.settings
    if settings.is_remote:
        from shipyard.sdk._http_workflows import open_hub_engine

        hub, blobs = open_hub_engine(settings)
        try:
            yield hub, blobs
        finally:
            hub.close()
        return
    from shipyard.artifacts.base import open_artifact_store
    from shipyard.store.sql.store import SqlRunStore
    from shipyard.workflows.engine import fail_lost_runs

    store = SqlRunStore.from_uri(settings.store_uri, auto_create=True)
    try:
        fail_lost_runs(store)  # no daemon watches an embedded store: whoever looks does
        yield store, open_artifact_store(settings.artifact_uri)
    finally:
        store.close()


class _LocalReader:
    """The reads the CLI needs, over a local store (same methods as the HTTP reader)."""

    def __init__(self, store: EngineStore, artifacts: ArtifactStore) -> None:
        self._store, self._artifacts = store, artifacts
        self.list_workflow_runs = store.list_workflow_runs
        self.get_workflow_run = store.get_workflow_run
        self.list_workflow_jobs = store.list_workflow_jobs
        self.request_workflow_cancel = store.request_workflow_cancel

    def job_logs(self, workflow_run_id: str, job: str) -> list[str]:
        from shipyard.workflows.service import job_logs

        return list(job_logs(self._store, self._artifacts, workflow_run_id, job))


@contextmanager
def _reader(state: CliState) -> Iterator[HttpWorkflowReader | _LocalReader]:
    if not state.settings.is_remote:
        with _engine(state) as (store, artifacts):
            yield _LocalReader(store, artifacts)
        return
    from shipyard.sdk._http_workflows import open_hub_engine

    hub, _ = open_hub_engine(state.settings)
    try:
        yield hub.workflows
    finally:
        hub.close()
