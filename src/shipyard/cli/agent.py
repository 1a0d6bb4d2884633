"""``shipyard agent --queue NAME``: run the jobs of a hub queue on this machine."""

from __future__ import annotations

import signal
from types import FrameType
from typing import Annotated

import typer

from shipyard.cli._render import print_message
from shipyard.cli._state import get_state


def agent_command(
    ctx: typer.Context,
    queue: Annotated[str, typer.Option("--queue", "-q", help="The queue to serve.")],
    executor: Annotated[
        str, typer.Option("--executor", "-e", help="Where jobs run: local or ray.")
    ] = "local",
    ray_address: Annotated[
        str | None,
        typer.Option("--ray-address", help="The Ray dashboard URL, e.g. http://head:8265."),
    ] = None,
    poll: Annotated[
        str, typer.Option("--poll", help="Time between claims while the queue is empty.")
    ] = "2s",
    lease: Annotated[
        str,
        typer.Option(
            "--lease", help="A job whose agent misses heartbeats this long is LOST and retried."
        ),
    ] = "30s",
    max_jobs: Annotated[
        int | None, typer.Option("--max-jobs", min=1, help="Exit after running N jobs.")
    ] = None,
    name: Annotated[
        str | None, typer.Option("--name", help="The agent's name (default: HOST-PID).")
    ] = None,
) -> None:
    """Claim the jobs of a queue on the hub and run them here, one at a time, until Ctrl-C.

    Each job's code snapshot is rebuilt here; the agent heartbeats while it runs, stores its
    output with the run and reports how it ended. Ctrl-C or SIGTERM stops the running job and
    gives it back to the queue (it is retried while it has retries left).

    [bold]Examples[/bold]

      SHIPYARD_TRACKING_URI=http://hub:8080 shipyard agent --queue gpu-box

      shipyard agent --queue cluster --executor ray --ray-address http://head:8265 --lease 1m
    """
    from shipyard.domain.jobs import parse_duration
    from shipyard.jobs.agent import Agent, AgentOptions

    state = get_state(ctx)
    options = AgentOptions(
        queue=queue,
        name=name,
        executor=executor,
        ray_address=ray_address,
        poll_s=parse_duration(poll, what="--poll"),
        lease_s=parse_duration(lease, what="--lease"),
        max_jobs=max_jobs,
    )

    def note(text: str) -> None:
        print_message(state.err, f"shipyard: {text}", style="dim")

    agent = Agent(options, state.settings, note=note)

    def stop(signum: int, frame: FrameType | None) -> None:
        note(f"agent {agent.name}: stopping ({signal.Signals(signum).name})")
        agent.stop()

    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, stop)
    note(f"agent {agent.name} serves queue {queue} with the {executor} executor")
    try:
        count = agent.run()
    finally:
        agent.close()
    note(f"agent {agent.name}: ran {count} job(s)")
