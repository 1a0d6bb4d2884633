"""``shipyard jobs``: run commands as tracked jobs on local processes, Ray or Kubernetes (or on a
hub queue for agents), and list, follow and cancel them. A job is named by its run id or a unique
prefix of it (at least 6 characters)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Annotated, Any

import typer

from shipyard.cli._job_render import STATE_STYLES, job_details, job_json, jobs_table
from shipyard.cli._render import print_message, write_json
from shipyard.cli._state import CliState, get_state
from shipyard.domain.jobs import JobPhase

if TYPE_CHECKING:
    from shipyard.domain.jobs import Job
    from shipyard.jobs.request import JobRequest
    from shipyard.jobs.service import JobService

app = typer.Typer(
    help="Run commands as tracked jobs (local processes, Ray, Kubernetes, or a queue that "
    "agents serve), and list, follow and cancel them.",
    no_args_is_help=True,
)

SUBMIT_SETTINGS: dict[str, Any] = {"allow_interspersed_args": False}
"""Options end at the first word of the command, so its own options (``--lr``) stay its own."""

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
JobArgument = Annotated[
    str, typer.Argument(help="The job's run id, or a unique prefix of it (at least 6 characters).")
]


@contextmanager
def open_jobs(state: CliState) -> Iterator[JobService]:
    """A job service for the configured tracking URI; its notes go to stderr."""
    from shipyard.jobs.service import JobService

    def note(text: str) -> None:
        print_message(state.err, f"shipyard: {text}", style="dim")

    service = JobService(state.settings, note=note)
    try:
        yield service
    finally:
        service.close()


@app.command("submit", context_settings=SUBMIT_SETTINGS)
def submit_command(
    ctx: typer.Context,
    command: Annotated[
        list[str], typer.Argument(metavar="COMMAND", help="The command to run and its options.")
    ],
    project: Annotated[
        str | None, typer.Option("--project", "-p", help="The run's project.")
    ] = None,
    name: Annotated[str | None, typer.Option("--name", "-n", help="The run's name.")] = None,
    executor: Annotated[
        str | None,
        typer.Option("--executor", "-e", help="local (default), ray or kubernetes."),
    ] = None,
    ray_address: Annotated[
        str | None,
        typer.Option("--ray-address", help="The Ray dashboard URL, e.g. http://head:8265."),
    ] = None,
    cpus: Annotated[float | None, typer.Option("--cpus", help="CPUs per worker.")] = None,
    gpus: Annotated[float | None, typer.Option("--gpus", help="GPUs per worker.")] = None,
    memory: Annotated[
        str | None, typer.Option("--memory", help="Memory per worker, e.g. 4G or 512Mi.")
    ] = None,
    env: Annotated[
        list[str] | None, typer.Option("--env", help="An environment variable K=V (repeat).")
    ] = None,
    timeout: Annotated[
        str | None, typer.Option("--timeout", help="Stop the job after this long, e.g. 1h.")
    ] = None,
    retries: Annotated[
        int, typer.Option("--retries", min=0, help="Run a failed or lost job again N times.")
    ] = 0,
    workers: Annotated[
        int, typer.Option("--workers", min=1, help="Cooperating processes (torch.distributed).")
    ] = 1,
    queue: Annotated[
        str | None, typer.Option("--queue", "-q", help="Only enqueue on the hub for an agent.")
    ] = None,
    param: Annotated[
        list[str] | None, typer.Option("--param", help="A param KEY=VALUE of the run.")
    ] = None,
    tag: Annotated[list[str] | None, typer.Option("--tag", help="A tag KEY=VALUE.")] = None,
    in_place: Annotated[
        bool, typer.Option("--in-place", help="Run a local job here, not in a code snapshot.")
    ] = False,
    image: Annotated[
        str | None, typer.Option("--image", help="Container image (kubernetes).")
    ] = None,
    namespace: Annotated[
        str, typer.Option("--namespace", help="Kubernetes namespace.")
    ] = "default",
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print what would be submitted; create nothing.")
    ] = False,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Stream the output until the job ends.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Run COMMAND as a tracked job, from a snapshot of the code here (commit + uncommitted
    changes), with the captured environment stored with its run.

    Inside COMMAND, shipyard.start_run() continues the job's run. With --follow the output
    streams here and shipyard exits with the job's exit code.

    [bold]Examples[/bold]

      shipyard jobs submit --cpus 2 --memory 4G --retries 1 -- python train.py --lr 0.1

      shipyard jobs submit -e ray --ray-address http://head:8265 --workers 2 -- python ddp.py

      shipyard jobs submit --queue gpu-box --gpus 1 -- python train.py

      shipyard jobs submit --executor kubernetes --image repo/train:1 --dry-run -- python train.py
    """
    from shipyard.domain.jobs import parse_duration
    from shipyard.executors.base import parse_memory
    from shipyard.jobs.request import JobRequest
    from shipyard.sdk.launch import parse_assignments

    state = get_state(ctx)
    request = JobRequest(
        command=command,
        project=project,
        name=name,
        executor=executor,
        ray_address=ray_address,
        cpus=cpus,
        gpus=gpus,
        memory_bytes=None if memory is None else parse_memory(memory),
        env={
            k: str(v) for k, v in parse_assignments(env or [], option="--env", typed=False).items()
        },
        timeout_s=None if timeout is None else parse_duration(timeout, what="--timeout"),
        retries=retries,
        workers=workers,
        queue=queue,
        params=parse_assignments(param or [], option="--param", typed=True),
        tags=parse_assignments(tag or [], option="--tag", typed=False),
        in_place=in_place,
        image=image,
        namespace=namespace,
    )
    if dry_run:
        _print_dry_run(state, request)
        return
    with open_jobs(state) as jobs:
        job = jobs.submit(request)
        _announce(state, job, as_json, quiet=follow)
        if follow:
            raise typer.Exit(_follow(state, jobs, job.run_id))


def _print_dry_run(state: CliState, request: JobRequest) -> None:
    from shipyard.jobs.service import dry_run

    if request.executor == "kubernetes" and not request.image:
        print_message(state.err, "shipyard: no --image given; the manifest shows a placeholder")
    if request.executor == "kubernetes" and not state.settings.is_remote:
        print_message(
            state.err,
            "shipyard: pods cannot reach the embedded store; set SHIPYARD_TRACKING_URI to a hub",
        )
    sys.stdout.write(dry_run(state.settings, request).rstrip("\n") + "\n")


def _announce(state: CliState, job: Job, as_json: bool, *, quiet: bool) -> None:
    """The new job: JSON, or its run id on stdout (for scripts) and a line on stderr."""
    if as_json:
        write_json(job_json(job))
        return
    where = f"queue {job.queue}" if job.queue else (job.handle or job.executor)
    print_message(state.err, f"shipyard: job {job.run_id} {job.state.value} ({where})", style="dim")
    if not quiet:
        sys.stdout.write(job.run_id + "\n")
        sys.stdout.flush()


def _follow(state: CliState, jobs: JobService, run_id: str) -> int:
    """Stream the job's output; returns the exit status for shipyard (the job's exit code)."""
    try:
        for line in jobs.logs(run_id, follow=True):
            state.out.file.write(line + "\n")
            state.out.file.flush()
    except KeyboardInterrupt:
        print_message(
            state.err,
            f"shipyard: stopped following; job {run_id} goes on "
            f"(`shipyard jobs cancel {run_id[:12]}` stops it)",
        )
        return 130
    job = jobs.get(run_id)
    line = f"shipyard: job {run_id} {job.state.value}"
    if job.exit_code is not None:
        line += f" (exit code {job.exit_code})"
    print_message(state.err, line, style=STATE_STYLES.get(job.state))
    if job.state is JobPhase.SUCCEEDED:
        return 0
    return job.exit_code if job.exit_code else 1


@app.command("list")
def list_command(
    ctx: typer.Context,
    queue: Annotated[str | None, typer.Option("--queue", "-q", help="Only this queue.")] = None,
    state_filter: Annotated[
        list[JobPhase] | None,
        typer.Option("--state", case_sensitive=False, help="Only jobs in this state (repeat)."),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000, help="At most N jobs.")] = 50,
    as_json: JsonOption = False,
) -> None:
    """List jobs, newest first (jobs running here are refreshed from their executor).

    [bold]Examples[/bold]

      shipyard jobs list --state RUNNING --state QUEUED

      shipyard jobs list --queue gpu-box --json
    """
    state = get_state(ctx)
    with open_jobs(state) as jobs:
        found = jobs.list(queue=queue, states=state_filter or (), limit=limit)
    if as_json:
        write_json([job_json(job) for job in found])
    elif not found:
        print_message(state.err, "no jobs", style="dim")
    else:
        state.out.print(jobs_table(found))


@app.command("status")
def status_command(ctx: typer.Context, job_ref: JobArgument, as_json: JsonOption = False) -> None:
    """Show a job: its state, where it runs, its attempts and how they ended.

    [bold]Examples[/bold]

      shipyard jobs status 01a21d20

      shipyard jobs status 01a21d20 --json
    """
    state = get_state(ctx)
    with open_jobs(state) as jobs:
        job = jobs.get(job_ref)
    if as_json:
        write_json(job_json(job))
    else:
        state.out.print(job_details(job))


@app.command("logs")
def logs_command(
    ctx: typer.Context,
    job_ref: JobArgument,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="Keep streaming until the job ends.")
    ] = False,
) -> None:
    """Print a job's output (live while it runs on this machine or Ray; stored once it ended).

    [bold]Examples[/bold]

      shipyard jobs logs 01a21d20

      shipyard jobs logs 01a21d20 --follow
    """
    state = get_state(ctx)
    with open_jobs(state) as jobs:
        run_id = jobs.resolve(job_ref)
        if follow:
            raise typer.Exit(_follow(state, jobs, run_id))
        for line in jobs.logs(run_id):
            state.out.file.write(line + "\n")


@app.command("cancel")
def cancel_command(ctx: typer.Context, job_ref: JobArgument) -> None:
    """Cancel a job: stop its whole process tree and end its run KILLED (an agent's job stops
    at the agent's next heartbeat).

    [bold]Examples[/bold]

      shipyard jobs cancel 01a21d20
    """
    state = get_state(ctx)
    with open_jobs(state) as jobs:
        job = jobs.cancel(job_ref)
    text = f"job {job.run_id} {job.state.value}"
    if job.cancel_requested and not job.state.is_terminal:
        text += f" (cancel requested; agent {job.agent} stops it)"
    print_message(state.err, f"shipyard: {text}")
