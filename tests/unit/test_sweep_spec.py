"""The sweep spec: parsing, defaults, command substitution, and errors that point at the line."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from optuna.samplers import GridSampler

from shipyard.sweeps import SweepSpecError, load_spec, parse_spec
from shipyard.sweeps._optuna import distributions, make_pruner, make_sampler

FULL = """\
project: tuning
name: lr-search
command: python train.py --lr ${lr} --depth ${depth} --opt=${opt}
metric: {name: val_acc, goal: maximize}
method: tpe
seed: 7
parameters:
  lr: {distribution: log_uniform, min: 1e-4, max: 1e-1}
  depth: {values: [2, 4, 8]}
  dropout: {distribution: uniform, min: 0, max: 0.5}
  units: {distribution: int_uniform, min: 8, max: 64, q: 8}
  width: {distribution: int_log_uniform, min: 16, max: 1024}
  opt: [adam, "sgd with momentum"]
  epochs: {value: 3}
max_trials: 32
early_stop: {type: hyperband, min_resource: 1, reduction_factor: 3}
env: {OMP_NUM_THREADS: 1}
"""


def test_full_spec_is_read_with_every_kind_of_parameter() -> None:
    spec = parse_spec(FULL, source="sweep.yaml")
    assert (spec.project, spec.name, spec.method, spec.seed) == ("tuning", "lr-search", "tpe", 7)
    assert (spec.metric.name, spec.metric.goal, spec.max_trials) == ("val_acc", "maximize", 32)
    lr, units = spec.parameters["lr"], spec.parameters["units"]
    assert (lr.kind, lr.low, lr.high, lr.is_log) == ("log_uniform", 1e-4, 1e-1, True)
    assert (units.kind, units.low, units.high, units.step) == ("int_uniform", 8, 64, 8)
    assert spec.parameters["depth"].values == (2, 4, 8)
    assert spec.parameters["epochs"].is_constant
    assert spec.early_stop.type == "hyperband"
    assert dict(spec.early_stop.options) == {"min_resource": 1, "reduction_factor": 3}
    assert dict(spec.env) == {"OMP_NUM_THREADS": "1"}
    # constants are not searched; everything else becomes an Optuna distribution
    assert set(distributions(spec)) == {"lr", "depth", "dropout", "units", "width", "opt"}
    assert type(make_pruner(spec)).__name__ == "HyperbandPruner"
    assert type(make_sampler(spec)).__name__ == "TPESampler"


def test_round_trip_through_to_dict() -> None:
    spec = parse_spec(FULL)
    assert parse_spec(spec.to_dict()) == spec


def test_command_substitution_keeps_each_value_one_argument() -> None:
    spec = parse_spec(FULL)
    params = {"lr": 0.001, "depth": 4, "opt": "sgd with momentum"}
    assert spec.command_for(params) == [
        *("python", "train.py", "--lr", "0.001", "--depth", "4"),
        "--opt=sgd with momentum",
    ]


def test_grid_defaults_max_trials_to_its_size_and_caps_it() -> None:
    grid = {
        "metric": {"name": "acc", "goal": "minimize"},
        "method": "grid",
        "parameters": {
            "a": {"values": [1, 2, 3]},
            "b": {"distribution": "int_uniform", "min": 1, "max": 2},
        },
    }
    spec = parse_spec(grid)
    assert (spec.grid_size, spec.max_trials) == (6, 6)
    assert parse_spec({**grid, "max_trials": 100}).max_trials == 6
    assert parse_spec({**grid, "max_trials": 4}).max_trials == 4
    assert spec.with_max_trials(50).max_trials == 6
    assert isinstance(make_sampler(spec), GridSampler)


def test_load_spec_reads_a_file(tmp_path: Path) -> None:
    path = tmp_path / "sweep.yaml"
    path.write_text(FULL)
    assert load_spec(path) == parse_spec(FULL)


@pytest.mark.parametrize(
    ("text", "line", "key", "says"),
    [
        ("metric: {name: a, goal: up}\n", 1, "metric.goal", "'up' is not allowed"),
        (FULL.replace("method: tpe", "method: bayes"), 5, "method", "'bayes' is not allowed"),
        (FULL.replace("max: 1e-1", "max: lots"), 8, "parameters.lr.max", "must be a number"),
        (FULL.replace("min: 1e-4", "min: 0"), 8, "parameters.lr.min", "above 0 for a log"),
        (
            FULL.replace("min: 0, max: 0.5", "min: 1, max: 0.5"),
            10,
            "parameters.dropout.max",
            "above min",
        ),
        (FULL.replace("q: 8", "q: 5"), 11, "parameters.units.q", "whole steps"),
        (
            FULL.replace("log_uniform, min: 1e-4", "normal, min: 1e-4"),
            8,
            "parameters.lr.distribution",
            "not a distribution",
        ),
        (
            FULL.replace("${depth}", "${height}"),
            3,
            "command",
            "${height}, which is not a parameter",
        ),
        (FULL.replace("max_trials: 32", "max_trial: 32"), 15, "max_trial", "not a sweep spec key"),
        (FULL.replace("max_trials: 32\n", ""), None, "max_trials", "required for method tpe"),
        (
            FULL.replace("type: hyperband", "type: asha"),
            16,
            "early_stop.type",
            "'asha' is not allowed",
        ),
        (
            FULL.replace("min_resource", "n_warmup_steps"),
            16,
            "early_stop.n_warmup_steps",
            "not an option of hyperband",
        ),
        (FULL + "seed: 3\n", 18, "seed", "given twice"),
        (
            FULL.replace("depth: {values: [2, 4, 8]}", "depth: {values: [2, 4, 2]}"),
            9,
            "parameters.depth.values[2]",
            "repeats 2",
        ),
        (
            FULL.replace("method: tpe", "method: grid"),
            8,
            "parameters.lr",
            "method grid cannot cover",
        ),
        (
            FULL.replace("  epochs: {value: 3}", "  epochs: {value: 3, values: [1]}"),
            14,
            "parameters.epochs.value",
            "cannot be combined with values",
        ),
        ("metric: [1\n", 2, "", "not valid YAML"),
    ],
)
def test_errors_point_to_the_line_and_the_key(
    text: str, line: int | None, key: str, says: str
) -> None:
    with pytest.raises(SweepSpecError) as caught:
        parse_spec(text, source="sweep.yaml")
    error = caught.value
    if line is not None:
        assert error.line == line
        assert f"sweep.yaml, line {line}: " in error.message
    assert error.key == key or (key == "" and error.key == "")
    assert says in error.message
    assert error.hint  # always says what is allowed


def test_an_empty_or_scalar_spec_is_refused() -> None:
    with pytest.raises(SweepSpecError, match="empty"):
        parse_spec("", source="sweep.yaml")
    with pytest.raises(SweepSpecError, match="must be a mapping"):
        parse_spec("just text\n", source="sweep.yaml")


def test_missing_file_names_it(tmp_path: Path) -> None:
    with pytest.raises(SweepSpecError, match=r"cannot read the sweep spec .*nope\.yaml"):
        load_spec(tmp_path / "nope.yaml")


def test_dict_specs_name_the_key_without_a_line() -> None:
    with pytest.raises(SweepSpecError) as caught:
        parse_spec({"metric": {"name": "a"}, "parameters": {"x": [1]}}, source="my spec")
    assert caught.value.line is None
    assert caught.value.message == "my spec: metric: has no goal"


def test_yaml_anchors_and_merges_work() -> None:
    text = textwrap.dedent(
        """\
        base: &range {distribution: uniform, min: 0, max: 1}
        """
    )
    with pytest.raises(SweepSpecError, match="base: is not a sweep spec key"):
        parse_spec(text)
    merged = FULL.replace(
        "  epochs: {value: 3}",
        "  epochs: {value: 3}\n  beta: {<<: {distribution: uniform, min: 0}, max: 2}",
    )
    assert parse_spec(merged).parameters["beta"].high == 2.0
