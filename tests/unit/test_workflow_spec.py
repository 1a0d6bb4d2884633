"""Workflow files: what is accepted, triggers, and errors that name FILE:LINE."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipyard.domain.workflows import TriggerEvent
from shipyard.errors import InvalidArgument
from shipyard.workflows.spec import (
    OutputDecl,
    WorkflowSpecError,
    load_workflow,
    parse_workflow,
)

SPEC = """\
name: train-and-ship
on:
  push: {branches: [main, "release/*"]}
  pull_request: {}
  schedule: "0 3 * * *"
  manual: {}
  dataset: {name: iris}
  model_alias: {name: iris-clf, alias: champion}
  alert: {deployment: iris-prod}
params: {lr: 0.01}
jobs:
  prepare: {run: python prep.py, outputs: {data: {dataset: iris-clean}}}
  train:   {needs: [prepare], run: "python train.py --lr ${params.lr}",
            inputs: {data: prepare.outputs.data}, outputs: {model: {model: iris-clf}},
            resources: {cpus: 2, memory: 4G, timeout: 1h}}
  evaluate: {needs: [train], run: python eval.py, inputs: {model: train.outputs.model}}
  gate:    {needs: [evaluate], gate: {all: ["evaluate.metrics.accuracy >= 0.9",
            "evaluate.metrics.accuracy >= champion.metrics.accuracy - 0.01"]}}
  promote: {needs: [gate], promote: {model: train.outputs.model, alias: champion}}
"""


def parse(text: str = SPEC) -> object:
    return parse_workflow(text, source="train.yaml")


def error(text: str) -> WorkflowSpecError:
    with pytest.raises(WorkflowSpecError) as caught:
        parse_workflow(text, source="train.yaml")
    return caught.value


def test_reads_the_issue_example(tmp_path: Path) -> None:
    path = tmp_path / "train.yaml"
    path.write_text(SPEC)
    workflow = load_workflow(path)
    assert workflow.name == "train-and-ship"
    assert list(workflow.jobs) == ["prepare", "train", "evaluate", "gate", "promote"]
    train = workflow.jobs["train"]
    assert train.needs == ("prepare",)
    assert train.outputs == {"model": OutputDecl("model", "iris-clf")}
    assert train.resources.cpus == 2
    assert train.resources.memory_bytes == 4_000_000_000
    assert train.resources.timeout_s == 3600
    assert train.line == 13
    assert workflow.jobs["gate"].kind == "gate"
    assert workflow.jobs["promote"].kind == "promote"
    assert workflow.render(train.run or "", workflow.with_params({"lr": 0.5})) == (
        "python train.py --lr 0.5"
    )
    assert workflow.upstream("promote") == {"gate", "evaluate", "train", "prepare"}


def test_jobs_come_in_needs_first_order() -> None:
    text = "jobs:\n  b: {needs: a, run: x}\n  a: {run: y}\n"
    assert list(parse_workflow(text).jobs) == ["a", "b"]


@pytest.mark.parametrize(
    ("event", "expected"),
    [
        (TriggerEvent("push", branch="main"), True),
        (TriggerEvent("push", branch="release/1.2"), True),
        (TriggerEvent("push", branch="dev"), False),
        (TriggerEvent("pull_request", branch="anything"), True),
        (TriggerEvent("schedule", cron="0 3 * * *"), True),
        (TriggerEvent("schedule", cron="0 4 * * *"), False),
        (TriggerEvent("manual"), True),
        (TriggerEvent("dataset", name="iris"), True),
        (TriggerEvent("dataset", name="mnist"), False),
        (TriggerEvent("model_alias", name="iris-clf", alias="champion"), True),
        (TriggerEvent("model_alias", name="iris-clf", alias="staging"), False),
        (TriggerEvent("alert", name="iris-prod"), True),
    ],
)
def test_matches_trigger_events(event: TriggerEvent, expected: bool) -> None:
    workflow = parse_workflow(SPEC)
    assert workflow.matches(event) is expected


def test_on_may_be_a_word_or_a_list_and_defaults_to_manual() -> None:
    jobs = "\njobs: {a: {run: x}}\n"
    assert parse_workflow("on: push" + jobs).matches(TriggerEvent("push", branch="x"))
    assert not parse_workflow("on: push" + jobs).matches(TriggerEvent("manual"))
    assert parse_workflow("on: [push, manual]" + jobs).on.manual
    assert parse_workflow(jobs).on.manual


def test_unknown_params_are_refused() -> None:
    workflow = parse_workflow(SPEC)
    with pytest.raises(InvalidArgument, match="no param"):
        workflow.with_params({"lrr": 1})


@pytest.mark.parametrize(
    ("old", "new", "message"),
    [
        ("needs: [prepare]", "needs: [prep]",
         "train.yaml:13: job 'train' needs unknown job 'prep' "
         "(known: prepare, evaluate, gate, promote)"),
        ("${params.lr}", "${params.lrr}", "train.yaml:13: ${params.lrr} names an unknown param"),
        ("${params.lr}", "${env.HOME}", "train.yaml:13: unknown template '${env.HOME}'"),
        ("resources:", "resorces:", "train.yaml:15: unknown key 'resorces' in jobs.train"),
        ('"evaluate.metrics.accuracy >= 0.9"', '"evaluate.metrics.accuracy >="',
         "train.yaml:17: invalid gate expression"),
        ('"evaluate.metrics.accuracy >= champion', '"promote.metrics.accuracy >= champion',
         "train.yaml:18: promote.metrics.accuracy names job 'promote', which the gate does not"),
        ("needs: [evaluate], gate", "needs: [train], gate", "which the gate does not need"),
        ("python prep.py,", "python prep.py, needs: promote,",
         "jobs form a cycle: prepare -> promote"),
        ("inputs: {model: train.outputs.model}", "inputs: {model: train.outputs.modle}",
         "train.yaml:16: job 'train' has no output 'modle'"),
        ("python prep.py,", "python prep.py, inputs: {m: train.outputs.model},",
         "train.yaml:12: 'train.outputs.model' uses job 'train', which this job does not need"),
        ("{model: train.outputs.model, alias", "{model: prepare.outputs.data, alias",
         "is a dataset"),
        ('schedule: "0 3 * * *"', 'schedule: "0 3 * *"', "train.yaml:5: invalid cron schedule"),
        ("python eval.py,", "python eval.py, gate: {all: [a.metrics.x > 1]},",
         "exactly one of run"),
        ("memory: 4G", "memory: lots", "train.yaml:15: invalid memory size"),
        ("dataset: {name: iris}", "dataset: {nme: iris}",
         "train.yaml:7: 'dataset' must be {name: X}"),
        ("name: train-and-ship", "name: x\nname: y", "train.yaml:2: key 'name' is given twice"),
        ("jobs:", "jobz:", "unknown key 'jobz'"),
    ],
)  # fmt: skip
def test_errors_point_at_the_line(old: str, new: str, message: str) -> None:
    assert old in SPEC
    err = error(SPEC.replace(old, new, 1))
    assert message in err.message
    assert err.source == "train.yaml"


def test_suggests_close_names() -> None:
    err = error(SPEC.replace("resources:", "resorces:"))
    assert err.hint == "did you mean 'resources'?"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the workflow file is empty"),
        ("jobs: [a, b]", "'jobs' must be a mapping"),
        ("name: x", "the workflow has no 'jobs'"),
        ("jobs: {}", "'jobs' is empty"),
        ("jobs:\n  a: {run: x\n", "not valid YAML"),
        ("jobs: {'bad name': {run: x}}", "invalid job name"),
    ],
)
def test_rejects_malformed_files(text: str, message: str) -> None:
    assert message in error(text).message


def test_unreadable_files_are_invalid_arguments(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match="cannot read workflow file"):
        load_workflow(tmp_path / "missing.yaml")
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"\xff\xfe")
    with pytest.raises(InvalidArgument, match="not UTF-8"):
        load_workflow(binary)


def test_the_example_workflow_is_valid() -> None:
    root = Path(__file__).resolve().parents[2] / "examples" / "workflows" / "iris"
    workflow = load_workflow(root / ".shipyard" / "workflows" / "train.yaml")
    assert list(workflow.jobs) == ["prepare", "train", "evaluate", "gate", "promote"]
    assert workflow.project == "iris"
    for step in workflow.jobs.values():
        script = (step.run or "").split()[1:2]
        assert all((root / name).is_file() for name in script)
