"""``shipyard runs env RUN``: the environment captured for a run (code, Python, machine, GPUs...).

Renders the ``environment.json`` record (see :mod:`shipyard.capture.layout`) section by section;
``--json`` prints it whole. Missing values are left out, so records of older captures still show.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Mapping, Sequence
from typing import Annotated, Any

import typer
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from shipyard.cli._render import human_size, new_table, print_message, write_json
from shipyard.cli._state import get_state, open_client
from shipyard.cli.runs import JsonOption, RunArgument, resolve_run

Rows = list[tuple[str, object]]


def env_command(
    ctx: typer.Context,
    run: RunArgument,
    as_json: JsonOption = False,
    packages: Annotated[
        bool, typer.Option("--packages", help="Also list every installed package and version.")
    ] = False,
) -> None:
    """Show the environment captured for a run: code, Python, system, container, GPUs, packages.

    [bold]Examples[/bold]

      shipyard runs env 0193a5c1f2e0

      shipyard runs env 0193a5c1f2e0 --packages

      shipyard runs env 0193a5c1f2e0 --json > environment.json
    """
    with open_client(ctx) as client:
        found = resolve_run(client, run)
        env = client.environment(found.id)
    if as_json:
        write_json(env)
        return
    out = get_state(ctx).out
    print_message(out, f"run {found.id} ({found.project}/{found.name})", style="bold")
    out.print(render_environment(env, packages=packages))


def render_environment(env: Mapping[str, Any], *, packages: bool = False) -> RenderableType:
    """The sections of an environment record as Rich tables (``packages``: list them all)."""
    sections: list[tuple[str, Rows]] = [
        ("run", _run_rows(env)),
        ("code", _code_rows(env)),
        ("python", _python_rows(env)),
        ("system", _system_rows(env)),
        ("container", _container_rows(env)),
        ("accelerators", _accelerator_rows(env)),
        ("frameworks", _framework_rows(env)),
        ("packages", _package_rows(env)),
        ("seeds", _seed_rows(env)),
    ]
    parts: list[RenderableType] = [_section(title, rows) for title, rows in sections if rows]
    if packages:
        parts.append(_packages_table(_get(env, "packages", "distributions")))
    problems = _get(env, "errors")
    if isinstance(problems, list) and problems:
        parts.append(_errors_table(problems))
    return Group(*parts)


def _section(title: str, rows: Rows) -> Table:
    grid = Table(
        title=title,
        title_justify="left",
        title_style="bold cyan",
        show_header=False,
        box=None,
        padding=(0, 2, 0, 0),
    )
    grid.add_column(style="dim", no_wrap=True, min_width=20)
    grid.add_column(overflow="fold")
    for key, value in rows:
        grid.add_row(key, Text(_text(value)))
    return grid


def _rows(*pairs: tuple[str, object]) -> Rows:
    """The pairs whose value is set (not ``None``, empty, or an empty collection)."""
    return [(key, value) for key, value in pairs if value not in (None, "", [], {})]


def _run_rows(env: Mapping[str, Any]) -> Rows:
    command = _get(env, "command")
    return _rows(
        ("captured at", _get(env, "captured_at")),
        ("launcher", _get(env, "launcher")),
        ("command", shlex.join(map(str, command)) if isinstance(command, list) else None),
        ("capture took", _suffix(_get(env, "duration_ms"), " ms")),
    )


def _code_rows(env: Mapping[str, Any]) -> Rows:
    code = _get(env, "code")
    if not isinstance(code, Mapping):
        return []
    git = _get(code, "git")
    rows = _rows(
        ("working directory", _get(code, "cwd")),
        ("script", _get(code, "entry_point", "script")),
        ("module", _get(code, "entry_point", "module")),
        ("notebook", _get(code, "notebook", "path")),
    )
    if not isinstance(git, Mapping):
        return [*rows, ("git", "not a git repository")]
    skipped = _get(git, "skipped") or []
    return rows + _rows(
        ("git commit", _get(git, "commit") or "no commits yet"),
        ("git branch", _get(git, "branch") or ("(detached)" if _get(git, "detached") else None)),
        ("git remote", _get(git, "remote_url")),
        ("uncommitted changes", _dirty(git)),
        ("patch artifact", _get(git, "patch_artifact")),
        ("left out of patch", ", ".join(_skipped(skipped)) if skipped else None),
    )


def _dirty(git: Mapping[str, Any]) -> str:
    if not _get(git, "dirty"):
        return "no"
    files = len(_get(git, "patch_files") or [])
    size = human_size(int(_get(git, "patch_bytes") or 0))
    return f"yes: {files} files in the patch ({size})"


def _skipped(skipped: Iterable[Any]) -> list[str]:
    return [f"{_get(s, 'path')} ({_get(s, 'reason')})" for s in skipped if isinstance(s, Mapping)]


def _python_rows(env: Mapping[str, Any]) -> Rows:
    python = _get(env, "python")
    return _rows(
        ("version", _join(_get(python, "implementation"), _get(python, "version"))),
        ("executable", _get(python, "executable")),
        ("virtualenv", _get(python, "prefix") if _get(python, "virtualenv") else None),
        ("conda env", _get(python, "conda_env")),
    )


def _system_rows(env: Mapping[str, Any]) -> Rows:
    system = _get(env, "system")
    memory = _get(system, "memory_total_bytes")
    cores = _get(system, "cpu", "logical_cores")
    return _rows(
        ("os", _get(system, "os", "distribution") or _get(system, "os", "system")),
        ("kernel", _get(system, "os", "kernel")),
        ("machine", _get(system, "os", "machine")),
        ("hostname", _get(system, "hostname")),
        ("cpu", _join(_get(system, "cpu", "model"), f"({cores} cores)" if cores else None)),
        ("memory", human_size(int(memory)) if isinstance(memory, int) else None),
        ("kubernetes", _get(system, "kubernetes")),
        ("slurm", _get(system, "slurm")),
    )


def _container_rows(env: Mapping[str, Any]) -> Rows:
    container = _get(env, "container")
    if not _get(container, "in_container"):
        return [("in a container", "no")] if isinstance(container, Mapping) else []
    return _rows(
        ("runtime", _get(container, "runtime") or "unknown"),
        ("image", _get(container, "image")),
        ("image digest", _get(container, "image_digest")),
        ("cpu limit", _get(container, "limits", "cpus")),
        ("memory limit", _size(_get(container, "limits", "memory_bytes"))),
    )


def _accelerator_rows(env: Mapping[str, Any]) -> Rows:
    acc = _get(env, "accelerators")
    if not isinstance(acc, Mapping):
        return []
    gpus = [g for g in _get(acc, "gpus") or [] if isinstance(g, Mapping)]
    rows = [(f"gpu {_get(g, 'index')}", _gpu(g)) for g in gpus] or [("gpus", "none")]
    return rows + _rows(
        ("driver", _get(acc, "driver_version")),
        ("cuda", _get(acc, "cuda")),
        ("cudnn", _get(acc, "cudnn")),
        ("nccl", _get(acc, "nccl")),
        ("CUDA_VISIBLE_DEVICES", _get(acc, "cuda_visible_devices")),
    )


def _gpu(gpu: Mapping[str, Any]) -> str:
    memory = _size(_get(gpu, "memory_total_bytes"))
    return _join(_get(gpu, "name"), f"({memory})" if memory else None) or "unknown"


def _framework_rows(env: Mapping[str, Any]) -> Rows:
    versions = _get(env, "frameworks", "versions")
    rows: Rows = list(versions.items()) if isinstance(versions, Mapping) else []
    determinism = _get(env, "frameworks", "determinism", "env")
    if isinstance(determinism, Mapping) and determinism:
        rows.append(("determinism", ", ".join(f"{k}={v}" for k, v in determinism.items())))
    return rows


def _package_rows(env: Mapping[str, Any]) -> Rows:
    packages = _get(env, "packages")
    return _rows(("count", _get(packages, "count")), ("sha256", _get(packages, "sha256")))


def _seed_rows(env: Mapping[str, Any]) -> Rows:
    seeds = _get(env, "seeds")
    seeded = _get(seeds, "seeded")
    return _rows(
        ("seed", _get(seeds, "seed")),
        ("deterministic", _get(seeds, "deterministic")),
        ("seeded", ", ".join(map(str, seeded)) if isinstance(seeded, list) else None),
    )


def _packages_table(distributions: object) -> Table:
    table = new_table("package", "version", title="installed packages")
    if isinstance(distributions, Mapping):
        for name, version in sorted(distributions.items()):
            table.add_row(Text(str(name)), Text(str(version)))
    return table


def _errors_table(problems: Sequence[Any]) -> Table:
    table = new_table("probe", "step", "error", title="what could not be captured")
    for problem in problems:
        if isinstance(problem, Mapping):
            cells = (Text(_text(_get(problem, key))) for key in ("probe", "step", "error"))
            table.add_row(*cells)
    return table


# -- small helpers ----------------------------------------------------------------------------
def _get(data: object, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, Mapping):
            return None
        data = data.get(key)
    return data


def _text(value: object) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={v}" for k, v in value.items() if v not in (None, ""))
    return str(value)


def _join(*parts: object) -> str | None:
    return " ".join(str(p) for p in parts if p not in (None, "")) or None


def _suffix(value: object, unit: str) -> str | None:
    return None if value is None else f"{value}{unit}"


def _size(value: object) -> str | None:
    return human_size(value) if isinstance(value, int) and not isinstance(value, bool) else None
