"""``shipyard deployments``: serve registered models, roll out canaries, promote or roll back,
watch drift and alert on it.

Embedded (no hub) a deployment is a local background process that this command starts and
checks; a small monitor process keeps following aliases, scraping metrics, checking drift and
evaluating alerts. Against a hub (``--tracking-uri http://...``) the hub's controller does that
on the hub machine, and these commands wait until it applied each change."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from shipyard.cli._deploy_render import (
    alerts_json,
    alerts_tables,
    deployment_json,
    deployments_table,
    drift_json,
    drift_table,
    status_view,
)
from shipyard.cli._render import print_message, write_json
from shipyard.cli._state import CliState, get_state
from shipyard.domain.serving import AlertKind, DeploymentStatus

if TYPE_CHECKING:
    from shipyard.serving.local import LocalDeployments

app = typer.Typer(
    help="Serve registered models as deployments: canary rollouts, promote and roll back, "
    "health, metrics, data drift and alerts.",
    no_args_is_help=True,
)
alerts_app = typer.Typer(
    help="Alert rules of a deployment: latency, error rate and drift fire webhooks and "
    "workflows.\n\n[bold]Examples[/bold]\n\n  shipyard deployments alerts list iris",
    no_args_is_help=True,
)
app.add_typer(alerts_app, name="alerts")

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
NameArgument = Annotated[str, typer.Argument(help="The deployment's name, e.g. iris-prod.")]
ModelOption = Annotated[
    str,
    typer.Option(
        "--model", "-m", help="models:/NAME@ALIAS, models:/NAME/VERSION or runs:/RUN_ID/PATH."
    ),
]
WaitOption = Annotated[
    float,
    typer.Option("--timeout", help="Seconds to wait for a hub to apply the change (0: no wait)."),
]


@contextmanager
def open_deployments(state: CliState) -> Iterator[LocalDeployments | Any]:
    """The deployments service: the hub's REST API, or local processes (embedded)."""
    from shipyard.sdk.backend import open_backend

    settings = state.settings
    backend = open_backend(settings)
    try:
        if settings.is_remote:
            from shipyard.sdk._http_deployments import HttpDeployments

            yield HttpDeployments(backend.store)  # type: ignore[arg-type]
        else:
            from shipyard.serving.local import LocalDeployments

            root = settings.home / "deployments"
            monitor = (settings.store_uri, settings.artifact_uri)
            yield LocalDeployments(
                backend.store,  # type: ignore[arg-type]
                backend.artifacts,  # type: ignore[attr-defined]
                root.resolve(),
                monitor_args=monitor,
            )
    finally:
        backend.close()


def _finish(state: CliState, service: Any, name: str, timeout: float, as_json: bool) -> None:
    deployment = service.wait(name, timeout) if timeout > 0 else service.get(name)
    if deployment is None:
        print_message(state.err, f"deployment {name} deleted")
        return
    if as_json:
        write_json(deployment_json(deployment))
    else:
        state.out.print(status_view(deployment, []))
    if deployment.status is DeploymentStatus.FAILED:
        raise typer.Exit(1)


@app.command("create")
def create_command(
    ctx: typer.Context,
    name: NameArgument,
    model: ModelOption,
    project: Annotated[
        str | None, typer.Option("--project", "-p", help="Default: the model's project.")
    ] = None,
    follow_alias: Annotated[
        bool,
        typer.Option("--follow-alias", help="Roll out the new version whenever the alias moves."),
    ] = False,
    batch_size: Annotated[
        int | None, typer.Option("--batch-size", min=1, help="Turn batching on: rows per batch.")
    ] = None,
    batch_wait_ms: Annotated[
        float | None, typer.Option("--batch-wait-ms", min=0, help="Longest wait for a batch.")
    ] = None,
    predlog_rate: Annotated[
        float,
        typer.Option("--predlog-rate", min=0, max=1, help="Share of requests logged for drift."),
    ] = 1.0,
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="0: any free port.")] = 0,
    reference: Annotated[
        Path | None,
        typer.Option("--reference", help="Drift reference (.npy or .csv with a header row)."),
    ] = None,
    drift_window: Annotated[
        int, typer.Option("--drift-window", min=1, help="Seconds of predictions per drift check.")
    ] = 3600,
    drift_tests: Annotated[
        list[str] | None,
        typer.Option(
            "--drift-test",
            help="[FEATURE=]TEST: ks, wasserstein, chisquare, z, jensenshannon or psi, for one "
            "feature or (without FEATURE) every other one; repeatable. Default: Evidently's.",
        ),
    ] = None,
    timeout: WaitOption = 300.0,
    as_json: JsonOption = False,
) -> None:
    """Deploy a model; returns once it is READY (or FAILED: a model that fails to load never
    takes traffic).

    [bold]Examples[/bold]

      shipyard deployments create iris --model models:/iris-clf@champion --follow-alias

      shipyard deployments create iris --model models:/iris-clf/3 --reference train.csv --json

      shipyard deployments create iris -m models:/iris-clf/3 --batch-size 32 --predlog-rate 0.1

      shipyard deployments create iris -m models:/iris-clf/3 --drift-test psi \\
        --drift-test petal_width=ks
    """
    state = get_state(ctx)
    config: dict[str, Any] = {"predlog_rate": predlog_rate, "port": port}
    config["drift_window_s"] = drift_window
    if drift_tests:
        config["drift_tests"] = _drift_tests(drift_tests)
    if batch_size is not None:
        config["max_batch_size"] = batch_size
        config["max_wait_ms"] = 5.0 if batch_wait_ms is None else batch_wait_ms
    summary = None if reference is None else _summary(reference)
    with open_deployments(state) as service:
        service.create(
            name, model, project=project, follow_alias=follow_alias, config=config,
            reference=summary,
        )  # fmt: skip
        _finish(state, service, name, timeout, as_json)


def _drift_tests(values: list[str]) -> dict[str, str]:
    tests = {}
    for value in values:
        feature, sep, test = value.rpartition("=")
        tests[feature.strip() if sep else "*"] = test.strip()
    return tests


def _summary(path: Path) -> dict[str, Any]:
    from shipyard.serving.drift import summarize
    from shipyard.serving.drift_data import read_table

    table, columns = read_table(path)
    return summarize(table, columns, source=f"file:{path.name}").to_dict()


@app.command("update")
def update_command(
    ctx: typer.Context,
    name: NameArgument,
    model: ModelOption,
    canary: Annotated[
        int | None,
        typer.Option(
            "--canary", min=1, max=100, help="Percent of requests for the new version (1-99)."
        ),
    ] = None,
    follow_alias: Annotated[
        bool | None,
        typer.Option("--follow-alias/--no-follow-alias", help="Follow the URI's alias."),
    ] = None,
    timeout: WaitOption = 300.0,
    as_json: JsonOption = False,
) -> None:
    """Roll out a new model version: a canary next to the stable one, or a full replacement.

    [bold]Examples[/bold]

      shipyard deployments update iris --model models:/iris-clf/4 --canary 20

      shipyard deployments update iris --model models:/iris-clf/4
    """
    state = get_state(ctx)
    with open_deployments(state) as service:
        service.update(name, model, canary_percent=canary, follow_alias=follow_alias)
        _finish(state, service, name, timeout, as_json)


@app.command("promote")
def promote_command(
    ctx: typer.Context, name: NameArgument, timeout: WaitOption = 300.0, as_json: JsonOption = False
) -> None:
    """Make the canary the stable version (100% of requests).

    [bold]Examples[/bold]

      shipyard deployments promote iris
    """
    state = get_state(ctx)
    with open_deployments(state) as service:
        service.promote(name)
        _finish(state, service, name, timeout, as_json)


@app.command("rollback")
def rollback_command(
    ctx: typer.Context, name: NameArgument, timeout: WaitOption = 300.0, as_json: JsonOption = False
) -> None:
    """Drop the canary: the stable version takes every request again.

    [bold]Examples[/bold]

      shipyard deployments rollback iris
    """
    state = get_state(ctx)
    with open_deployments(state) as service:
        service.rollback(name)
        _finish(state, service, name, timeout, as_json)


@app.command("list")
def list_command(
    ctx: typer.Context,
    project: Annotated[str | None, typer.Option("--project", "-p", help="Only this one.")] = None,
    as_json: JsonOption = False,
) -> None:
    """List deployments with their status, URL and versions.

    [bold]Examples[/bold]

      shipyard deployments list

      shipyard deployments list --project iris --json
    """
    state = get_state(ctx)
    with open_deployments(state) as service:
        found = service.list_deployments(project)
    if as_json:
        write_json([deployment_json(d) for d in found])
    else:
        state.out.print(deployments_table(found))


@app.command("status")
def status_command(ctx: typer.Context, name: NameArgument, as_json: JsonOption = False) -> None:
    """Show a deployment: status, URL, versions and weights, recent metrics and events.

    [bold]Examples[/bold]

      shipyard deployments status iris

      shipyard deployments status iris --json | jq -r .url
    """
    state = get_state(ctx)
    with open_deployments(state) as service:
        deployment = service.get(name)
        events = service.events(name, 10)
        metrics = service.metrics(name)
    if as_json:
        write_json(
            {**deployment_json(deployment), "metrics": metrics["window"],
             "events": [{"at": e.at, "kind": e.kind, "message": e.message} for e in events]}
        )  # fmt: skip
    else:
        state.out.print(status_view(deployment, events, metrics["window"]))


@app.command("logs")
def logs_command(
    ctx: typer.Context,
    name: NameArgument,
    lines: Annotated[int, typer.Option("--lines", "-n", min=1, help="Lines to show.")] = 100,
) -> None:
    """Print the last lines of a deployment's server log.

    [bold]Examples[/bold]

      shipyard deployments logs iris --lines 50
    """
    with open_deployments(get_state(ctx)) as service:
        text = service.logs(name, lines)
    typer.echo(text)


@app.command("delete")
def delete_command(ctx: typer.Context, name: NameArgument, timeout: WaitOption = 60.0) -> None:
    """Stop a deployment's server and remove it with its history.

    [bold]Examples[/bold]

      shipyard deployments delete iris
    """
    state = get_state(ctx)
    with open_deployments(state) as service:
        service.delete(name)
        if timeout > 0:
            service.wait(name, timeout)
    print_message(state.err, f"deployment {name} deleted")


@app.command("drift")
def drift_command(
    ctx: typer.Context,
    name: NameArgument,
    window: Annotated[
        float | None, typer.Option("--window", min=1, help="Seconds of predictions to test.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Test logged predictions against the training reference, feature by feature.

    Numbers: Kolmogorov-Smirnov (p < 0.05) up to 1000 reference rows, else Wasserstein distance
    / std >= 0.1; categories: chi-squared or Z-test (p < 0.05), else Jensen-Shannon >= 0.1. The
    data drifts when half the features or more do.

    [bold]Examples[/bold]

      shipyard deployments drift iris

      shipyard deployments drift iris --window 600 --json
    """
    state = get_state(ctx)
    with open_deployments(state) as service:
        report = service.drift(name, window)
    if as_json:
        write_json(drift_json(report))
    else:
        state.out.print(drift_table(report))


@app.command("reference")
def reference_command(
    ctx: typer.Context,
    name: NameArgument,
    path: Annotated[Path, typer.Argument(help="A .npy or .csv (header row) file.")],
) -> None:
    """Set the drift reference from a file (summarised once, here).

    [bold]Examples[/bold]

      shipyard deployments reference iris data/train.csv
    """
    state = get_state(ctx)
    summary = _summary(path)
    with open_deployments(state) as service:
        service.set_reference(name, summary)
    print_message(state.err, f"reference of {name}: {summary['rows']} rows from {path.name}")


@alerts_app.command("add")
def alerts_add_command(
    ctx: typer.Context,
    name: NameArgument,
    kind: Annotated[
        AlertKind, typer.Option("--kind", help="latency_p99 (s), error_rate (0-1) or drift.")
    ],
    threshold: Annotated[float, typer.Option("--threshold", help="Fire above this value.")],
    window: Annotated[
        int, typer.Option("--window", min=1, max=86400, help="Seconds the rule looks at.")
    ] = 300,
    webhook: Annotated[
        str | None, typer.Option("--webhook", help="POST a JSON payload to this URL.")
    ] = None,
    workflow: Annotated[
        str | None, typer.Option("--workflow", help="Also request this workflow (on: alert).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Add an alert rule: it fires (once, when its condition starts to hold) a webhook and/or
    a workflow request.

    [bold]Examples[/bold]

      shipyard deployments alerts add iris --kind latency_p99 --threshold 0.25 --webhook URL

      shipyard deployments alerts add iris --kind drift --threshold 0.5 --workflow retrain.yaml
    """
    state = get_state(ctx)
    with open_deployments(state) as service:
        created = service.add_alert(
            name, kind=kind, threshold=threshold, window_s=window, webhook_url=webhook,
            workflow=workflow,
        )  # fmt: skip
    if as_json:
        write_json(alerts_json([created], [])["rules"][0])
    else:
        print_message(state.out, f"alert rule {created.id} added")


@alerts_app.command("list")
def alerts_list_command(
    ctx: typer.Context, name: NameArgument, as_json: JsonOption = False
) -> None:
    """List a deployment's alert rules and recent firings.

    [bold]Examples[/bold]

      shipyard deployments alerts list iris --json
    """
    state = get_state(ctx)
    with open_deployments(state) as service:
        rules, firings = service.alerts(name)
    if as_json:
        write_json(alerts_json(rules, firings))
    else:
        for table in alerts_tables(rules, firings):
            state.out.print(table)


@alerts_app.command("delete")
def alerts_delete_command(
    ctx: typer.Context,
    name: NameArgument,
    rule_id: Annotated[str, typer.Argument(help="The rule's id (alerts list shows it).")],
) -> None:
    """Remove an alert rule.

    [bold]Examples[/bold]

      shipyard deployments alerts delete iris 0193a5c1f2e04b7d9c1e2f3a4b5c6d7e
    """
    state = get_state(ctx)
    with open_deployments(state) as service:
        service.delete_alert(name, rule_id)
    print_message(state.err, f"alert rule {rule_id} removed")
