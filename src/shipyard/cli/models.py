"""``shipyard models``: register logged models, list and show them, move aliases, download."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Group
from rich.table import Table
from rich.text import Text

from shipyard.cli._render import local_time, new_table, print_message, write_json
from shipyard.cli._state import get_state, open_client

if TYPE_CHECKING:
    from shipyard.domain.models import ModelVersion, RegisteredModel

app = typer.Typer(
    help="The model registry: registered models, their versions, aliases and model URIs.",
    no_args_is_help=True,
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
NameArgument = Annotated[str, typer.Argument(help="Registered model name, e.g. iris-clf.")]
UriArgument = Annotated[
    str,
    typer.Argument(
        help="Model URI: runs:/RUN_ID/models/NAME, models:/NAME/VERSION, models:/NAME@ALIAS "
        "or models:/NAME/latest."
    ),
]


# -- JSON and tables ----------------------------------------------------------------------------
def model_json(model: RegisteredModel) -> dict[str, Any]:
    """A registered model as JSON."""
    return {
        "name": model.name,
        "project": model.project,
        "description": model.description,
        "tags": dict(model.tags),
        "aliases": dict(model.aliases),
        "latest_version": model.latest_version,
        "created_at": model.created_at,
        "updated_at": model.updated_at,
    }


def version_json(version: ModelVersion) -> dict[str, Any]:
    """A model version as JSON."""
    return {
        "name": version.name,
        "version": version.version,
        "uri": version.uri,
        "run_id": version.run_id,
        "source": version.source,
        "flavor": version.flavor,
        "signature": None if version.signature is None else dict(version.signature),
        "description": version.description,
        "tags": dict(version.tags),
        "aliases": list(version.aliases),
        "created_at": version.created_at,
        "created_by": version.created_by,
    }


def models_table(models: Iterable[RegisteredModel]) -> Table:
    """Registered models: name, project, latest version, aliases, updated, description."""
    table = new_table("name", "project", "latest", "aliases", "updated", "description")
    for model in models:
        aliases = ", ".join(f"{a}→{v}" for a, v in sorted(model.aliases.items()))
        table.add_row(
            Text(model.name, style="bold"),
            Text(model.project),
            "-" if model.latest_version is None else str(model.latest_version),
            Text(aliases or "-"),
            local_time(model.updated_at, seconds=False),
            Text(model.description),
        )
    return table


def versions_table(versions: Iterable[ModelVersion]) -> Table:
    """Versions: number, aliases, flavor, source run, created, by, description."""
    table = new_table("version", "aliases", "flavor", "run", "created", "by", "description")
    for version in versions:
        table.add_row(
            str(version.version),
            Text(", ".join(version.aliases) or "-", style="bold"),
            version.flavor,
            Text(version.run_id or "-"),
            local_time(version.created_at, seconds=False),
            Text(version.created_by or "-"),
            Text(version.description),
        )
    return table


def details(model: RegisteredModel, versions: Sequence[ModelVersion]) -> Group:
    """A registered model's attributes and its versions."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    grid.add_row("model", Text(model.name))
    grid.add_row("project", Text(model.project))
    grid.add_row("description", Text(model.description or "-"))
    tags = ", ".join(f"{k}={v}" for k, v in sorted(model.tags.items()))
    grid.add_row("tags", Text(tags or "-"))
    grid.add_row("created", local_time(model.created_at))
    table = versions_table(versions)
    table.title = "versions"
    return Group(grid, table)


# -- commands -----------------------------------------------------------------------------------
@app.command("register")
def register(
    ctx: typer.Context, uri: UriArgument, name: NameArgument, as_json: JsonOption = False
) -> None:
    """Register a logged model as the next version of a registered model (created in the source
    run's project when it does not exist yet).

    [bold]Examples[/bold]

      shipyard models register runs:/0193c4.../models/iris-clf iris-clf
    """
    with open_client(ctx) as client:
        version = client.register_model(uri, name)
    if as_json:
        write_json(version_json(version))
        return
    print_message(
        get_state(ctx).out, f"registered {version.uri} from run {version.run_id} ({version.source})"
    )


@app.command("list")
def list_models(
    ctx: typer.Context,
    project: Annotated[
        str | None, typer.Option("--project", "-p", help="Only this project's models.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """List registered models with their latest version and aliases.

    [bold]Examples[/bold]

      shipyard models list --project iris
    """
    with open_client(ctx) as client:
        found = client.list_models(project)
    if as_json:
        write_json({"models": [model_json(m) for m in found]})
        return
    out = get_state(ctx).out
    if not found:
        print_message(out, "no registered models yet: `shipyard models register URI NAME`")
        return
    out.print(models_table(found))


@app.command("show")
def show(ctx: typer.Context, name: NameArgument, as_json: JsonOption = False) -> None:
    """Show a registered model and its versions (newest first) with their aliases and runs.

    [bold]Examples[/bold]

      shipyard models show iris-clf

      shipyard models show iris-clf --json
    """
    with open_client(ctx) as client:
        model = client.get_model(name)
        versions = client.model_versions(name)
    if as_json:
        write_json({**model_json(model), "versions": [version_json(v) for v in versions]})
        return
    get_state(ctx).out.print(details(model, versions))


@app.command("alias")
def alias(
    ctx: typer.Context,
    name: NameArgument,
    version: Annotated[int, typer.Argument(help="The version the alias should point at.")],
    alias_name: Annotated[str, typer.Argument(metavar="ALIAS", help="e.g. champion.")],
    as_json: JsonOption = False,
) -> None:
    """Point an alias at a version (promotion without stages); the move is audited on a server.

    [bold]Examples[/bold]

      shipyard models alias iris-clf 3 champion
    """
    with open_client(ctx) as client:
        previous = client.set_model_alias(name, alias_name, version)
    if as_json:
        write_json({"name": name, "alias": alias_name, "version": version, "previous": previous})
        return
    moved = "new alias" if previous is None else f"was version {previous}"
    print_message(get_state(ctx).out, f"models:/{name}@{alias_name} -> version {version} ({moved})")


@app.command("unalias")
def unalias(
    ctx: typer.Context,
    name: NameArgument,
    alias_name: Annotated[str, typer.Argument(metavar="ALIAS", help="The alias to remove.")],
) -> None:
    """Remove an alias from a registered model.

    [bold]Examples[/bold]

      shipyard models unalias iris-clf challenger
    """
    with open_client(ctx) as client:
        client.delete_model_alias(name, alias_name)
    print_message(get_state(ctx).out, f"removed models:/{name}@{alias_name}")


@app.command("download")
def download(
    ctx: typer.Context,
    uri: UriArgument,
    dest: Annotated[Path, typer.Argument(help="Folder to write the model to (created).")],
) -> None:
    """Download a model folder (every file checked against its sha256); load it with
    ``shipyard.flavors.load_model(DEST)``.

    [bold]Examples[/bold]

      shipyard models download models:/iris-clf@champion ./iris-model
    """
    with open_client(ctx) as client:
        folder = client.download_model(uri, dest)
    print_message(get_state(ctx).out, f"wrote {uri} to {folder}")
