"""``shipyard datasets``: add folders as immutable dataset versions, list them, get them back."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console, Group
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table
from rich.text import Text

from shipyard.cli._collab import annotations_json, annotations_view, parse_pairs, text_or_stdin
from shipyard.cli._render import human_size, local_time, new_table, print_message, write_json
from shipyard.cli._state import get_state, open_client
from shipyard.domain.datasets import (
    Dataset,
    DatasetUsage,
    DatasetVersion,
    ManifestEntry,
    parse_dataset_ref,
    validate_dataset_name,
)
from shipyard.errors import NotFound

if TYPE_CHECKING:
    from shipyard.sdk.client import Client

app = typer.Typer(
    help="Immutable, content-addressed dataset versions and the runs that used them.",
    no_args_is_help=True,
)

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
NameArgument = Annotated[str, typer.Argument(help="Dataset name, e.g. mnist.")]
RefArgument = Annotated[
    str, typer.Argument(help="NAME or NAME@VERSION (default: the latest version).")
]


class BarProgress:
    """Draws each phase of a dataset transfer (hashing, uploading, downloading) as a bar."""

    def __init__(self, progress: Progress, label: str) -> None:
        self._progress = progress
        self._label = label
        self._task: TaskID | None = None

    def phase(self, name: str, total: int) -> None:
        """Start a new bar for the phase."""
        if self._task is not None:
            self._progress.remove_task(self._task)
        self._task = self._progress.add_task(f"{self._label}: {name}", total=total)

    def advance(self, amount: int) -> None:
        """Move the current bar on."""
        if self._task is not None:
            self._progress.advance(self._task, amount)


@contextmanager
def progress_bars(console: Console, label: str) -> Iterator[BarProgress]:
    """Byte-count progress bars on ``console``, drawn on terminals only, removed when done."""
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=console,
        disable=not console.is_terminal,
        transient=True,
    )
    with progress:
        yield BarProgress(progress, label)


# -- JSON and tables ----------------------------------------------------------------------------
def version_json(version: DatasetVersion) -> dict[str, Any]:
    """A version as JSON."""
    return {
        "name": version.name,
        "version": version.version,
        "ref": version.ref,
        "digest": version.digest,
        "file_count": version.file_count,
        "total_size": version.total_size,
        "message": version.message,
        "created_at": version.created_at,
        "created_by": version.created_by,
    }


def _sized(*columns: str) -> Table:
    table = new_table()
    for column in columns:
        numeric = column in ("version", "latest", "files", "size")
        table.add_column(column, no_wrap=True, justify="right" if numeric else "left")
    return table


def datasets_table(datasets: Iterable[Dataset]) -> Table:
    """Datasets: name, latest version, files, size, updated, by, message."""
    table = _sized("name", "latest", "files", "size", "updated", "by", "message")
    for dataset in datasets:
        latest = dataset.latest
        table.add_row(
            Text(dataset.name, style="bold"),
            str(latest.version),
            str(latest.file_count),
            human_size(latest.total_size),
            local_time(latest.created_at, seconds=False),
            Text(latest.created_by),
            Text(latest.message),
        )
    return table


def versions_table(versions: Iterable[DatasetVersion]) -> Table:
    """Versions: number, digest (short), files, size, created, by, message."""
    table = _sized("version", "digest", "files", "size", "created", "by", "message")
    for version in versions:
        table.add_row(
            str(version.version),
            version.digest[:12],
            str(version.file_count),
            human_size(version.total_size),
            local_time(version.created_at, seconds=False),
            Text(version.created_by),
            Text(version.message),
        )
    return table


def details(
    version: DatasetVersion, manifest: Sequence[ManifestEntry], usages: Sequence[DatasetUsage]
) -> Group:
    """A version's attributes, its files and the runs that used it."""
    grid = Table.grid(padding=(0, 2))
    grid.add_column(style="bold")
    grid.add_column()
    grid.add_row("dataset", Text(version.ref))
    grid.add_row("digest", version.digest)
    grid.add_row("files", f"{version.file_count} ({human_size(version.total_size)})")
    grid.add_row("created", f"{local_time(version.created_at)} by {version.created_by or '-'}")
    grid.add_row("message", Text(version.message or "-"))
    files = _sized("path", "size", "sha256")
    for entry in manifest:
        files.add_row(Text(entry.path), human_size(entry.size), entry.sha256[:12])
    files.title = "files"
    runs = new_table("run", "direction", "version", title="runs that used it")
    for usage in usages:
        runs.add_row(usage.run_id, usage.direction, str(usage.version))
    parts: list[Table] = [grid, files]
    if usages:
        parts.append(runs)
    return Group(*parts)


def _latest_or_none(client: Client, name: str) -> DatasetVersion | None:
    try:
        return client.dataset_version(name)
    except NotFound:
        return None


# -- commands -----------------------------------------------------------------------------------
@app.command("add")
def add(
    ctx: typer.Context,
    name: NameArgument,
    path: Annotated[Path, typer.Argument(help="A file or folder to add (folders recursively).")],
    message: Annotated[
        str, typer.Option("--message", "-m", help="What changed in this version.")
    ] = "",
    as_json: JsonOption = False,
) -> None:
    """Add a file or folder as the next version of a dataset (only new content is uploaded).

    Adding the same content as the latest version changes nothing.

    [bold]Examples[/bold]

      shipyard datasets add mnist ./data/mnist -m "fixed 12 labels"
    """
    state = get_state(ctx)
    validate_dataset_name(name)
    with open_client(ctx) as client:
        before = _latest_or_none(client, name)
        with progress_bars(state.err, name) as bars:
            version = client.add_dataset(name, path, message, progress=bars)
    if as_json:
        write_json({**version_json(version), "created": before != version})
        return
    size = f"{version.file_count} files, {human_size(version.total_size)}"
    if before == version:
        print_message(state.out, f"unchanged: {version.ref} already holds these files ({size})")
    else:
        print_message(state.out, f"created {version.ref} ({size}), digest {version.digest[:12]}")


@app.command("list")
def list_datasets(ctx: typer.Context, as_json: JsonOption = False) -> None:
    """List datasets with their latest version.

    [bold]Examples[/bold]

      shipyard datasets list --json
    """
    with open_client(ctx) as client:
        found = client.list_datasets()
    if as_json:
        write_json(
            {
                "datasets": [
                    {"name": d.name, "created_at": d.created_at, "latest": version_json(d.latest)}
                    for d in found
                ]
            }
        )
        return
    out = get_state(ctx).out
    if not found:
        print_message(out, "no datasets yet: add one with `shipyard datasets add NAME PATH`")
        return
    out.print(datasets_table(found))


@app.command("versions")
def versions(ctx: typer.Context, name: NameArgument, as_json: JsonOption = False) -> None:
    """List the versions of a dataset, oldest first.

    [bold]Examples[/bold]

      shipyard datasets versions mnist
    """
    with open_client(ctx) as client:
        found = client.dataset_versions(name)
    if as_json:
        write_json({"name": name, "versions": [version_json(v) for v in found]})
        return
    get_state(ctx).out.print(versions_table(found))


@app.command("get")
def get(
    ctx: typer.Context,
    ref: RefArgument,
    dest: Annotated[Path, typer.Argument(help="Folder to write the files to (created if needed).")],
) -> None:
    """Write a dataset version's files to a folder, every file checked against its sha256.

    Files already there with the right content are kept, so an interrupted get can be run again.

    [bold]Examples[/bold]

      shipyard datasets get mnist@2 ./data/mnist
    """
    state = get_state(ctx)
    name, number = parse_dataset_ref(ref)
    with open_client(ctx) as client:
        version = client.dataset_version(name, number)
        with progress_bars(state.err, version.ref) as bars:
            client.get_dataset(name, version.version, dest, progress=bars)
    size = f"{version.file_count} files, {human_size(version.total_size)}"
    print_message(state.out, f"wrote {version.ref} ({size}) to {dest}")


@app.command("show")
def show(ctx: typer.Context, ref: RefArgument, as_json: JsonOption = False) -> None:
    """Show a version: its files (path, size, sha256) and the runs that used it.

    [bold]Examples[/bold]

      shipyard datasets show mnist@1

      shipyard datasets show mnist --json
    """
    name, number = parse_dataset_ref(ref)
    with open_client(ctx) as client:
        version = client.dataset_version(name, number)
        manifest = client.dataset_manifest(name, version.version)
        usages = client.dataset_lineage(name, version.version)
    if as_json:
        files = [{"path": e.path, "size": e.size, "sha256": e.sha256} for e in manifest]
        runs = [{"run_id": u.run_id, "direction": u.direction} for u in usages]
        write_json({**version_json(version), "files": files, "runs": runs})
        return
    get_state(ctx).out.print(details(version, manifest, usages))


# -- tags and notes (collaboration) -----------------------------------------------------------


@app.command("tag")
def tag_dataset(
    ctx: typer.Context,
    name: NameArgument,
    pairs: Annotated[
        list[str] | None, typer.Argument(help="Tags as KEY=VALUE (one or more).")
    ] = None,
    remove: Annotated[
        list[str] | None, typer.Option("--remove", help="A tag key to remove (repeatable).")
    ] = None,
) -> None:
    """Set (or overwrite) tags of a dataset, or remove some with --remove.

    [bold]Examples[/bold]

      shipyard datasets tag mnist license=CC-BY-SA-3.0 source=yann.lecun.com

      shipyard datasets tag mnist --remove source
    """
    tags = parse_pairs(pairs or [])
    with open_client(ctx) as client:
        for key, value in tags.items():
            client.set_dataset_tag(name, key, value)
        for key in remove or []:
            client.delete_dataset_tag(name, key)
    changed = [*tags, *(f"-{key}" for key in remove or [])]
    print_message(get_state(ctx).out, f"tagged dataset {name}: {', '.join(changed) or 'nothing'}")


@app.command("note")
def note_dataset(
    ctx: typer.Context,
    name: NameArgument,
    text: Annotated[
        str | None, typer.Argument(help="Markdown notes, or - to read them from stdin.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Set a dataset's Markdown notes (at most 64 KiB); without TEXT, print them.

    [bold]Examples[/bold]

      shipyard datasets note mnist "Re-labelled 12 images in v3, see #41."

      shipyard datasets note mnist - < DATASHEET.md

      shipyard datasets note mnist --json
    """
    with open_client(ctx) as client:
        if text is None:
            found = client.dataset_annotations(name)
        else:
            found = client.set_dataset_notes(name, text_or_stdin(text))
    if as_json:
        write_json(annotations_json(found))
    elif text is None:
        get_state(ctx).out.print(annotations_view(found))
    else:
        print_message(get_state(ctx).out, f"updated the notes of dataset {name}")
