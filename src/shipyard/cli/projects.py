"""``shipyard projects``: list the projects that hold runs; tag them and keep notes on them."""

from __future__ import annotations

from typing import Annotated

import typer

from shipyard.cli._auth import StoreOption, members_table, open_auth, record_json
from shipyard.cli._collab import annotations_json, annotations_view, parse_pairs, text_or_stdin
from shipyard.cli._render import print_message, project_json, projects_table, write_json
from shipyard.cli._state import get_state, open_client

app = typer.Typer(help="List projects (named collections of runs).", no_args_is_help=True)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


@app.command("list")
def list_projects(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """List every project, by name.

    [bold]Examples[/bold]

      shipyard projects list

      shipyard projects list --json | jq -r '.projects[].name'
    """
    with open_client(ctx) as client:
        projects = client.list_projects()
    if as_json:
        write_json({"projects": [project_json(p) for p in projects]})
        return
    state = get_state(ctx)
    if not projects:
        print_message(state.out, "no projects yet: runs create their project when they start")
        return
    state.out.print(projects_table(projects))


# -- tags and notes (collaboration) -----------------------------------------------------------
ProjectArgument = Annotated[str, typer.Argument(help="The project name.")]


@app.command("tag")
def tag_project(
    ctx: typer.Context,
    name: ProjectArgument,
    pairs: Annotated[list[str], typer.Argument(help="Tags as KEY=VALUE (one or more).")],
) -> None:
    """Set (or overwrite) tags of a project.

    [bold]Examples[/bold]

      shipyard projects tag iris team=vision owner=ada
    """
    tags = parse_pairs(pairs)
    with open_client(ctx) as client:
        for key, value in tags.items():
            client.set_project_tag(name, key, value)
    print_message(get_state(ctx).out, f"tagged project {name}: {', '.join(tags)}")


@app.command("untag")
def untag_project(
    ctx: typer.Context,
    name: ProjectArgument,
    keys: Annotated[list[str], typer.Argument(help="Tag keys to remove (one or more).")],
) -> None:
    """Remove tags of a project.

    [bold]Examples[/bold]

      shipyard projects untag iris owner
    """
    with open_client(ctx) as client:
        for key in keys:
            client.delete_project_tag(name, key)
    print_message(get_state(ctx).out, f"removed from project {name}: {', '.join(keys)}")


@app.command("note")
def note_project(
    ctx: typer.Context,
    name: ProjectArgument,
    text: Annotated[
        str | None, typer.Argument(help="Markdown notes, or - to read them from stdin.")
    ] = None,
    description: Annotated[
        str | None, typer.Option("--description", help="Also set the one-line description.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Set a project's Markdown notes (at most 64 KiB); without TEXT, print them.

    [bold]Examples[/bold]

      shipyard projects note iris "Baseline: **run 0193a5c1**. Next: try depth 6."

      shipyard projects note iris - < NOTES.md

      shipyard projects note iris --json
    """
    with open_client(ctx) as client:
        if text is None and description is None:
            found = client.project_annotations(name)
        else:
            notes = None if text is None else text_or_stdin(text)
            found = client.update_project(name, description=description, notes=notes)
    if as_json:
        write_json(annotations_json(found))
    elif text is None and description is None:
        get_state(ctx).out.print(annotations_view(found))
    else:
        print_message(get_state(ctx).out, f"updated the notes of project {name}")


# -- members (auth) ---------------------------------------------------------------------------
RoleOption = Annotated[str, typer.Option("--role", help="viewer, editor or admin.")]
TeamOption = Annotated[str | None, typer.Option("--team", help="A team instead of a user.")]


@app.command("grant")
def grant(
    ctx: typer.Context,
    project: ProjectArgument,
    user_name: Annotated[str | None, typer.Argument(help="The user (or use --team).")] = None,
    role: RoleOption = "viewer",
    team: TeamOption = None,
    store: StoreOption = None,
) -> None:
    """Give a user or a team a role in a project: viewer, editor or admin (project admins).

    [bold]Examples[/bold]

      shipyard projects grant iris ada --role editor

      shipyard projects grant iris --team vision --role viewer
    """
    from shipyard.domain.auth import parse_role

    with open_auth(ctx, store) as client:
        member = client.grant(project, parse_role(role), user=user_name, team=team)
    who = f"{member.kind.value} {member.principal}"
    print_message(get_state(ctx).out, f"{who} is now {member.role.value} of project {project}")


@app.command("revoke")
def revoke(
    ctx: typer.Context,
    project: ProjectArgument,
    user_name: Annotated[str | None, typer.Argument(help="The user (or use --team).")] = None,
    team: TeamOption = None,
    store: StoreOption = None,
) -> None:
    """Take a user's or a team's role in a project away (project admins).

    [bold]Examples[/bold]

      shipyard projects revoke iris ada

      shipyard projects revoke iris --team vision
    """
    with open_auth(ctx, store) as client:
        client.revoke(project, user=user_name, team=team)
    who = f"team {team}" if user_name is None else f"user {user_name}"
    print_message(get_state(ctx).out, f"{who} has no role in project {project} any more")


@app.command("members")
def members(
    ctx: typer.Context,
    project: ProjectArgument,
    as_json: JsonOption = False,
    store: StoreOption = None,
) -> None:
    """List the roles granted in a project, to users and teams.

    [bold]Examples[/bold]

      shipyard projects members iris

      shipyard projects members iris --json
    """
    with open_auth(ctx, store) as client:
        found = client.members(project)
    if as_json:
        write_json({"members": [record_json(m) for m in found]})
        return
    get_state(ctx).out.print(members_table(found))
