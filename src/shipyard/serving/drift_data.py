"""Where drift data comes from: reference files (``.npy``, ``.csv``) and windows of the prediction
log (:func:`shipyard.serving.predlog.read_predictions`)."""

from __future__ import annotations

import csv
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from shipyard.errors import InvalidArgument
from shipyard.serving.predlog import PredictionRecord, read_predictions

MAX_WINDOW_ROWS = 100_000
"""Rows a window keeps at most (the newest)."""


def read_table(path: Path) -> tuple[np.ndarray, list[str] | None]:
    """A reference table from ``.npy`` (2-D, no names) or ``.csv`` (header row, then rows).

    CSV columns whose every value parses as a number become numbers; the others stay strings.
    """
    if not path.is_file():
        raise InvalidArgument(f"no reference file {str(path)!r}", hint="check the path")
    if path.suffix == ".npy":
        try:
            array = np.load(path, allow_pickle=False)
        except ValueError as exc:
            raise InvalidArgument(
                f"cannot read {path.name}: {exc}", hint="save with np.save"
            ) from None
        return array, None
    if path.suffix == ".csv":
        return _read_csv(path)
    raise InvalidArgument(
        f"unsupported reference file {path.name!r}", hint="use a .npy or .csv file"
    )


def _read_csv(path: Path) -> tuple[np.ndarray, list[str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        rows = [row for row in reader if row]
    if not header or not rows:
        raise InvalidArgument(
            f"{path.name} has no header or no rows", hint="the first line names the columns"
        )
    if any(len(row) != len(header) for row in rows):
        raise InvalidArgument(
            f"{path.name}: every row must have {len(header)} values",
            hint="check for missing or extra commas",
        )
    columns = [_column([row[i] for row in rows]) for i in range(len(header))]
    table = np.empty((len(rows), len(header)), dtype=object)
    for i, column in enumerate(columns):
        table[:, i] = column
    numeric = all(c.dtype.kind == "f" for c in columns)
    return (table.astype(float) if numeric else table), [h.strip() for h in header]


def _column(values: list[str]) -> np.ndarray:
    try:
        return np.array([float(v) for v in values], dtype=float)
    except ValueError:
        return np.array(values, dtype=object)


def prediction_window(
    folder: Path,
    *,
    window_s: float,
    now: float | None = None,
    max_rows: int = MAX_WINDOW_ROWS,
) -> tuple[np.ndarray | None, list[str] | None]:
    """The input rows logged in the last ``window_s`` seconds (the newest ``max_rows``) and
    their column names (when the requests named them); ``(None, None)`` when there are none."""
    end = time.time() if now is None else now
    rows: list[Sequence[Any]] = []
    columns: list[str] | None = None
    if folder.is_dir():
        for record in read_predictions(folder, since=end - window_s, until=end + 1):
            rows.extend(_rows(record))
            columns = record.columns or columns
            if len(rows) > 2 * max_rows:
                rows = rows[-max_rows:]
    if not rows:
        return None, None
    kept = rows[-max_rows:]
    try:
        array = np.asarray(kept, dtype=float)
    except (TypeError, ValueError):
        array = np.asarray(kept, dtype=object)
    if array.ndim == 1:
        array = array.reshape(-1, 1)
    return array, columns if columns and len(columns) == array.shape[1] else None


def _rows(record: PredictionRecord) -> list[Sequence[Any]]:
    inputs = record.inputs
    if isinstance(inputs, dict):  # named inputs: one column each
        columns = [np.asarray(v).reshape(-1) for v in inputs.values()]
        return [list(r) for r in zip(*columns, strict=False)]
    if not isinstance(inputs, list):
        return []
    return [row if isinstance(row, list) else [row] for row in inputs]
