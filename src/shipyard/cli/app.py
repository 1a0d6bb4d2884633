"""The ``shipyard`` Typer application: the global options and the command groups.

Every command is thin: parse, make one SDK call, render. Errors are reported by
:func:`shipyard.cli.main`; the root callback fills the :class:`CliState` it passes in.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version
from typing import Annotated

import typer

from shipyard.cli import agent as agent_cli
from shipyard.cli import artifacts, db, env, import_cmd, launch, projects, runs, server, sync
from shipyard.cli import audit as audit_cli
from shipyard.cli import ci as ci_cli
from shipyard.cli import datasets as dataset_cli
from shipyard.cli import deployments as deployments_cli
from shipyard.cli import diff as diff_cli
from shipyard.cli import jobs as jobs_cli
from shipyard.cli import login as login_cli
from shipyard.cli import models as models_cli
from shipyard.cli import reproduce as reproduce_cli
from shipyard.cli import serve as serve_cli
from shipyard.cli import sweep as sweep_cli
from shipyard.cli import teams as teams_cli
from shipyard.cli import tokens as tokens_cli
from shipyard.cli import ui as ui_cli
from shipyard.cli import users as users_cli
from shipyard.cli import workflow as workflow_cli
from shipyard.cli import workflow_schedule as workflow_schedule_cli
from shipyard.cli._state import CliState

HELP = """Shipyard: track, compare and reproduce machine learning runs.

Where data lives comes from --tracking-uri or SHIPYARD_TRACKING_URI: unset means the embedded \
store in ./.shipyard; sqlite:///... or postgresql+psycopg://... a database; http(s)://... a \
Shipyard server.

[bold]Examples[/bold]

  shipyard runs list --project iris --filter "metrics.acc > 0.9" --order-by -metrics.acc

  shipyard --tracking-uri http://127.0.0.1:8080 projects list --json
"""


def _show_version(value: bool) -> None:
    if not value:
        return
    try:
        text = version("shipyard")
    except PackageNotFoundError:  # running from a source tree that is not installed
        text = "unknown"
    typer.echo(f"shipyard {text}")
    raise typer.Exit()


app = typer.Typer(
    name="shipyard",
    help=HELP,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)


@app.callback(help=HELP)
def root(
    ctx: typer.Context,
    tracking_uri: Annotated[
        str | None,
        typer.Option(
            "--tracking-uri",
            envvar="SHIPYARD_TRACKING_URI",
            show_envvar=True,
            help="Where runs live: sqlite:///..., postgresql+psycopg://... or http(s)://host:port.",
        ),
    ] = None,
    debug: Annotated[
        bool, typer.Option("--debug", help="Show the full traceback when a command fails.")
    ] = False,
    show_version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_show_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Global options, shared by every command."""
    state = ctx.ensure_object(CliState)
    state.tracking_uri = tracking_uri
    state.debug = debug


app.add_typer(projects.app, name="projects")
app.add_typer(runs.app, name="runs")
app.add_typer(artifacts.app, name="artifacts")
app.add_typer(dataset_cli.app, name="datasets")
app.add_typer(models_cli.app, name="models")
app.add_typer(db.app, name="db")
app.command("sync")(sync.sync_command)
app.command("server")(server.server_command)
app.command("serve")(serve_cli.serve_command)
app.command("ui")(ui_cli.ui_command)
app.command("run", context_settings=launch.CONTEXT_SETTINGS)(launch.run_command)
runs.app.command("env")(env.env_command)
app.command("diff")(diff_cli.diff_command)
app.command("reproduce")(reproduce_cli.reproduce_command)
app.add_typer(sweep_cli.app, name="sweep")
app.add_typer(jobs_cli.app, name="jobs")
app.command("agent")(agent_cli.agent_command)
app.add_typer(users_cli.app, name="users")
app.add_typer(tokens_cli.app, name="tokens")
app.add_typer(teams_cli.app, name="teams")
app.add_typer(audit_cli.app, name="audit")
app.command("login")(login_cli.login_command)
app.command("logout")(login_cli.logout_command)
app.add_typer(ci_cli.app, name="ci")
app.add_typer(workflow_cli.app, name="workflow")
workflow_cli.app.add_typer(workflow_schedule_cli.app, name="schedule")
app.add_typer(deployments_cli.app, name="deployments")
app.add_typer(import_cmd.app, name="import")
