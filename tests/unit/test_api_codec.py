"""The compact wire format and the JSON wire models: round trips, NaN, malformed input."""

from __future__ import annotations

import math

import msgpack
import pytest

from shipyard.api import codec
from shipyard.api.routes import RUN_TAG, url
from shipyard.api.schemas import IngestIn, MetricSeriesOut, RunCreate, describe_errors
from shipyard.domain.batch import IngestBatch, MetricColumns, RunEnd
from shipyard.domain.entities import MetricSeries, RunStatus
from shipyard.errors import InvalidArgument

SPECIAL = [0.5, math.nan, math.inf, -math.inf, -0.0, 1e308]


def _batch() -> IngestBatch:
    columns = MetricColumns([0, 1, 2, 3, 4, 2**62], [10, 11, 12, 13, 14, 15], SPECIAL)
    return IngestBatch(
        "b-1",
        metrics={"train/loss": columns},
        params={"lr": 0.1, "n": 3, "flag": True, "opt": "adam", "none": None},
        tags={"team": "vision"},
        end=RunEnd(RunStatus.FAILED, 99, "OOM"),
    )


def _same_floats(got: list[float], want: list[float]) -> bool:
    return all((math.isnan(a) and math.isnan(b)) or a == b for a, b in zip(got, want, strict=True))


def test_batch_round_trips_through_msgpack_with_nan_and_infinities() -> None:
    batch = _batch()
    decoded = codec.decode_batch(codec.encode_batch(batch))
    columns = decoded.metrics["train/loss"]
    assert list(columns.steps) == [0, 1, 2, 3, 4, 2**62]
    assert _same_floats(list(columns.values), SPECIAL)
    assert type(columns.steps[0]) is int
    assert (decoded.batch_id, decoded.end, dict(decoded.tags)) == (
        "b-1",
        batch.end,
        {"team": "vision"},
    )
    assert dict(decoded.params) == dict(batch.params)
    assert {k: type(v) for k, v in decoded.params.items()} == {
        k: type(v) for k, v in batch.params.items()
    }


def test_batch_round_trips_through_json_with_nan_as_strings() -> None:
    text = IngestIn.of(_batch()).model_dump_json()
    assert '"NaN","Infinity","-Infinity"' in text
    decoded = IngestIn.model_validate_json(text).to_domain()
    assert _same_floats(list(decoded.metrics["train/loss"].values), SPECIAL)


def test_series_round_trips_through_msgpack_and_json() -> None:
    series = MetricSeries("m", [0, 5], [1, 2], [math.nan, math.inf], total=9)
    again = codec.decode_series(codec.encode_series(series))
    assert (again.key, again.steps, again.timestamps, again.total) == ("m", [0, 5], [1, 2], 9)
    assert _same_floats(list(again.values), [math.nan, math.inf])
    text = MetricSeriesOut.of(series).model_dump_json()
    assert '"values":["NaN","Infinity"]' in text


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\xc1", "malformed msgpack"),
        (msgpack.packb([1, 2]), "invalid request"),
        (msgpack.packb({"batch_id": "b", "bogus": 1}), "bogus"),
        (msgpack.packb({"metrics": {}}), "batch_id"),
        (
            msgpack.packb(
                {
                    "batch_id": "b",
                    "metrics": {"m": {"steps": b"1234567", "timestamps": b"", "values": b""}},
                }
            ),
            "not a multiple of 8",
        ),
        (
            msgpack.packb(
                {
                    "batch_id": "b",
                    "metrics": {
                        "m": {"steps": b"\0" * 16, "timestamps": b"\0" * 8, "values": b"\0" * 8}
                    },
                }
            ),
            "different lengths",
        ),
    ],
)
def test_malformed_batches_are_invalid_arguments(data: bytes, message: str) -> None:
    with pytest.raises(InvalidArgument, match=message):
        codec.decode_batch(data)


def test_columns_that_cannot_be_packed_are_refused() -> None:
    bad = IngestBatch("b", metrics={"m": MetricColumns([2**64], [0], [1.0])})
    with pytest.raises(InvalidArgument, match="int64"):
        codec.encode_batch(bad)


def test_requests_refuse_unknown_fields_and_errors_name_them() -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError) as caught:
        RunCreate.model_validate({"project": "p", "nmae": "x"})
    assert "nmae" in describe_errors(caught.value.errors())


def test_url_encodes_path_parameters() -> None:
    assert url(RUN_TAG, run_id="r1", key="team/owner x") == "/api/v1/runs/r1/tags/team%2Fowner%20x"
