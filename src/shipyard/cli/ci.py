"""``shipyard ci``: run a workflow inside an existing CI system (GitHub Actions, GitLab CI).

``shipyard ci run WORKFLOW`` runs the workflow to its end, prints a Markdown summary (gates with
metrics versus the champion, why each job ran or was cached) and exits 1 when it failed, e.g.
because a gate caught a regression, so the CI job fails and the merge is blocked. Against a hub
(``SHIPYARD_TRACKING_URI=https://hub``) the jobs run on the CI runner and everything is recorded
on the hub: the workflow run, its jobs' runs, datasets, models, the step cache and promotions.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from shipyard.cli._render import print_message, write_json
from shipyard.cli._state import get_state

if TYPE_CHECKING:
    from shipyard.artifacts.base import ArtifactStore
    from shipyard.settings import Settings
    from shipyard.workflows._stores import EngineStore

app = typer.Typer(
    help="Run workflows inside an existing CI system and report them in Markdown.",
    no_args_is_help=True,
)


@app.command("run")
def run_command(
    ctx: typer.Context,
    workflow: Annotated[
        Path, typer.Argument(metavar="WORKFLOW", help="The workflow file (.shipyard/workflows/).")
    ],
    param: Annotated[
        list[str] | None,
        typer.Option("--param", "-p", metavar="KEY=VALUE", help="Set a workflow param."),
    ] = None,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Run every job, even when a result is cached.")
    ] = False,
    executor: Annotated[
        str, typer.Option("--executor", "-e", help="Where jobs run: local or ray.")
    ] = "local",
    summary_file: Annotated[
        Path | None,
        typer.Option(
            "--summary-file",
            envvar="GITHUB_STEP_SUMMARY",
            help="Also append the Markdown summary to this file (GitHub sets this variable).",
        ),
    ] = None,
    hub_url: Annotated[
        str | None,
        typer.Option(
            "--hub-url",
            help="The hub's address, to link the run in the summary (default: the tracking URI "
            "when it is a hub).",
        ),
    ] = None,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print JSON (status, gates, markdown) instead.")
    ] = False,
) -> None:
    """Run WORKFLOW to its end, print a Markdown summary, exit 1 if it failed.

    Runs where the CI job runs (its checkout), tracked in the configured store: the embedded one,
    a database, or a hub given by --tracking-uri / SHIPYARD_TRACKING_URI (with a token that may
    write: SHIPYARD_TOKEN). Exit codes: 0 succeeded, 1 failed (a gate failed or a job failed).

    [bold]Examples[/bold]

      shipyard ci run .shipyard/workflows/train.yaml

      shipyard ci run .shipyard/workflows/train.yaml -p lr=0.02 --no-cache

      SHIPYARD_TRACKING_URI=https://hub.example.com SHIPYARD_TOKEN=... shipyard ci run train.yaml

      SHIPYARD_TRACKING_URI=postgresql+psycopg://ci@db/shipyard shipyard ci run train.yaml
    """
    from shipyard.cli.workflow import parse_params
    from shipyard.workflows.ci import run_ci

    state = get_state(ctx)
    store, artifacts = _open(state.settings)
    try:
        result = run_ci(
            store, artifacts, workflow, params=parse_params(param or []), no_cache=no_cache,
            executor=executor, settings=state.settings, hub_url=hub_url or _hub(state.settings),
        )  # fmt: skip
    finally:
        store.close()
    if summary_file is not None:
        with summary_file.open("a", encoding="utf-8") as fh:
            fh.write(result.markdown)
    if as_json:
        write_json({"workflow_run_id": result.info.id, "status": result.info.status.value,
                    "passed": result.passed, "gate_failed": result.gate_failed,
                    "markdown": result.markdown})  # fmt: skip
    else:
        state.out.print(result.markdown, markup=False, highlight=False, soft_wrap=True, end="")
    if not result.passed:
        why = "a gate failed" if result.gate_failed else "the workflow failed"
        print_message(state.err, f"{why}: workflow run {result.info.id}", style="red")
        raise typer.Exit(1)


def _hub(settings: Settings) -> str | None:
    """The hub the workflow is recorded on (linked from the summary), if any."""
    return settings.tracking_uri if settings.is_remote else None


def _open(settings: Settings) -> tuple[EngineStore, ArtifactStore]:
    """The stores the engine runs against: embedded, a database, or a hub (``http(s)://``)."""
    if settings.is_remote:
        from shipyard.sdk._http_workflows import open_hub_engine

        return open_hub_engine(settings)
    from shipyard.artifacts.base import open_artifact_store
    from shipyard.store.sql.store import SqlRunStore

    store = SqlRunStore.from_uri(settings.store_uri, auto_create=True)
    return store, open_artifact_store(settings.artifact_uri)
