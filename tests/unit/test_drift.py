"""Drift tests against a summarised reference: Evidently-like defaults, thresholds, shapes."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import pytest

from shipyard.errors import InvalidArgument
from shipyard.serving.drift import (
    ReferenceSummary,
    check_drift,
    default_test,
    feature_drift,
    summarize,
)
from shipyard.serving.drift_data import prediction_window, read_table

RNG = np.random.default_rng(7)


def table(rows: int, shift: float = 0.0) -> np.ndarray:
    numeric = RNG.normal(loc=shift, scale=1.0, size=(rows, 2))
    pattern = [0.0] * 5 + [1.0] * 3 + [2.0] * 2  # exact shares: never drifts by chance
    colour = np.resize(np.array(pattern), rows).reshape(-1, 1)
    return np.hstack([numeric, colour])


@pytest.mark.parametrize(
    ("rows", "tests"),
    [(500, ["ks", "ks", "chisquare"]), (5000, ["wasserstein", "wasserstein", "jensenshannon"])],
)
def test_default_tests_follow_reference_size(rows: int, tests: list[str]) -> None:
    summary = summarize(table(rows), ["a", "b", "colour"])
    assert [default_test(f) for f in summary.features] == tests
    assert summary.features[2].kind == "categorical"


@pytest.mark.parametrize("rows", [500, 5000])
def test_same_distribution_does_not_drift(rows: int) -> None:
    summary = summarize(table(rows), ["a", "b", "colour"])
    report = check_drift(summary, table(2000), ["a", "b", "colour"])
    assert report["dataset_drift"] is False
    assert report["current_rows"] == 2000


@pytest.mark.parametrize("rows", [500, 5000])
def test_shifted_features_drift(rows: int) -> None:
    summary = summarize(table(rows), ["a", "b", "colour"])
    shifted = table(2000, shift=1.5)
    report = check_drift(summary, shifted, ["a", "b", "colour"])
    flags = {f["name"]: f["drift"] for f in report["features"]}
    assert flags == {"a": True, "b": True, "colour": False}
    assert report["dataset_drift"] is True
    assert report["share_drifted"] == pytest.approx(2 / 3)


def test_categories_shift_and_new_categories_drift() -> None:
    summary = summarize(np.array([["red"]] * 300 + [["blue"]] * 300, dtype=object), ["c"])
    current = np.array([["red"]] * 100 + [["green"]] * 100, dtype=object)
    result = check_drift(summary, current, ["c"])["features"][0]
    assert result["test"] == "z"
    assert result["drift"] is True


def test_columns_are_matched_by_name() -> None:
    data = table(500)
    summary = summarize(data, ["a", "b", "colour"])
    report = check_drift(summary, data[:, [2, 0, 1]], ["colour", "a", "b"])
    assert not report["dataset_drift"]


def test_psi_and_wasserstein_on_request() -> None:
    summary = summarize(table(500), ["a", "b", "colour"])
    values = RNG.normal(loc=2.0, size=1000)
    assert feature_drift(summary.features[0], values, "psi")["drift"] is True
    assert feature_drift(summary.features[0], values, "wasserstein")["statistic"] > 1.0
    with pytest.raises(InvalidArgument, match="unknown drift test"):
        feature_drift(summary.features[0], values, "magic")


def test_summary_round_trips_through_json() -> None:
    summary = summarize(table(3000), ["a", "b", "colour"], source="file:x.npy")
    again = ReferenceSummary.from_dict(json.loads(json.dumps(summary.to_dict())))
    assert again == summary
    assert len(summary.features[0].sample) == 0  # large references keep quantiles only


def test_mismatched_windows_are_refused() -> None:
    summary = summarize(table(100), ["a", "b", "colour"])
    with pytest.raises(InvalidArgument, match="3 features"):
        check_drift(summary, np.zeros((10, 2)))
    with pytest.raises(InvalidArgument, match="non-empty"):
        check_drift(summary, np.zeros((0, 3)))
    with pytest.raises(InvalidArgument, match="malformed"):
        ReferenceSummary.from_dict({"features": [{}]})


def test_reference_files(tmp_path: Path) -> None:
    np.save(tmp_path / "ref.npy", np.ones((4, 2)))
    array, names = read_table(tmp_path / "ref.npy")
    assert array.shape == (4, 2)
    assert names is None
    (tmp_path / "ref.csv").write_text("x,colour\n1.5,red\n2,blue\n")
    array, names = read_table(tmp_path / "ref.csv")
    assert names == ["x", "colour"]
    assert array[1, 0] == 2.0
    assert array[0, 1] == "red"
    (tmp_path / "bad.csv").write_text("x,y\n1\n")
    with pytest.raises(InvalidArgument, match="every row"):
        read_table(tmp_path / "bad.csv")
    (tmp_path / "ref.txt").write_text("1")
    with pytest.raises(InvalidArgument, match="unsupported"):
        read_table(tmp_path / "ref.txt")


def test_prediction_window_reads_logged_rows(tmp_path: Path) -> None:
    now = time.time()
    hour = time.strftime("%Y%m%dT%H", time.gmtime(now))
    lines = [
        {"ts": now - 5, "model": "m", "version": "1", "protocol": "v2", "columns": ["a", "b"],
         "inputs": [[1, 2], [3, 4]], "outputs": [0, 1]},
        {"ts": now - 4000, "model": "m", "version": "1", "protocol": "v2", "columns": None,
         "inputs": [[9, 9]], "outputs": [0]},
    ]  # fmt: skip
    path = tmp_path / f"predictions-{hour}-1.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines) + "{cut")
    array, columns = prediction_window(tmp_path, window_s=60, now=now)
    assert array is not None
    assert array.tolist() == [[1, 2], [3, 4]]
    assert columns == ["a", "b"]
    assert prediction_window(tmp_path / "none", window_s=60) == (None, None)
