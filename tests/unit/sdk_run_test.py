"""Pure helpers of the SDK: error formatting, run outcomes, step and param rules, spool records."""

from __future__ import annotations

import math

import pytest

from shipyard.domain.batch import IngestBatch, MetricColumns, RunEnd
from shipyard.domain.entities import RunStatus
from shipyard.errors import InvalidArgument
from shipyard.sdk._embedded import media_type_of
from shipyard.sdk._spool import decode_payload, encode_record
from shipyard.sdk._writer import _BatchBuilder
from shipyard.sdk.run import _coerce_step, _same_param, format_error, outcome_of


def _raise(exc: BaseException) -> BaseException:
    try:
        raise exc
    except BaseException as caught:  # we want the traceback attached
        return caught


def test_format_error_has_type_message_and_traceback() -> None:
    text = format_error(_raise(ValueError("bad shape (3, 4)")))
    assert text.startswith("ValueError: bad shape (3, 4)")
    assert "Traceback (most recent call last):" in text
    assert "_raise" in text


def test_format_error_is_bounded() -> None:
    text = format_error(_raise(RuntimeError("x" * 20_000)))
    assert len(text) <= 4100
    assert text.startswith("RuntimeError: xxx")


@pytest.mark.parametrize(
    ("exc", "status"),
    [
        (None, RunStatus.FINISHED),
        (KeyboardInterrupt(), RunStatus.KILLED),
        (SystemExit(0), RunStatus.FINISHED),
        (SystemExit(2), RunStatus.FAILED),
        (ValueError("boom"), RunStatus.FAILED),
    ],
)
def test_outcome_of(exc: BaseException | None, status: RunStatus) -> None:
    got, error = outcome_of(exc)
    assert got is status
    assert (error is None) == (status is RunStatus.FINISHED)


def test_same_param_keeps_types_apart() -> None:
    assert _same_param(0.01, 0.01)
    assert _same_param(math.nan, math.nan)
    assert not _same_param(1, 1.0)
    assert not _same_param(True, 1)
    assert not _same_param("4", 4)


def test_coerce_step() -> None:
    np = pytest.importorskip("numpy")
    assert _coerce_step(np.int64(7)) == 7
    with pytest.raises(InvalidArgument, match="bool"):
        _coerce_step(True)
    with pytest.raises(InvalidArgument, match="negative"):
        _coerce_step(-1)
    with pytest.raises(InvalidArgument, match="not an integer"):
        _coerce_step(1.5)


def test_batch_builder_makes_columns_per_key() -> None:
    builder = _BatchBuilder()
    builder.add_metrics(0, 100, {"loss": 1.0, "acc": 0.1})
    builder.add_metrics(1, 101, {"loss": 0.5})
    batch = builder.build()
    assert batch.point_count == 3
    assert list(batch.metrics["loss"].steps) == [0, 1]
    assert list(batch.metrics["loss"].timestamps) == [100, 101]
    assert list(batch.metrics["acc"].values) == [0.1]
    assert len(batch.batch_id) == 32


def test_spool_record_round_trip() -> None:
    batch = IngestBatch(
        batch_id="b" * 32,
        metrics={"loss": MetricColumns([0, 1], [10, 11], [1.0, math.inf])},
        params={"lr": 0.01, "depth": 4, "opt": "adam", "bn": True, "none": None},
        tags={"team": "cv"},
        end=RunEnd(RunStatus.FAILED, 12, "ValueError: x"),
    )
    record = decode_payload(encode_record("r" * 32, batch)[8:])
    assert record.run_id == "r" * 32
    assert record.batch.batch_id == batch.batch_id
    assert record.batch.params == batch.params
    assert type(record.batch.params["depth"]) is int
    assert list(record.batch.metrics["loss"].values) == [1.0, math.inf]
    assert record.batch.end == batch.end


def test_media_types() -> None:
    assert media_type_of("plots/loss.png") == "image/png"
    assert media_type_of("metrics.json") == "application/json"
    assert media_type_of("model.no-such-extension") == "application/octet-stream"
