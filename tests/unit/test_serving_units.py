"""Serving parts without a server: the OIP codec, MLflow formats, batching, prediction logs."""

from __future__ import annotations

import asyncio
import socket
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import orjson
import pytest

from shipyard.errors import InvalidArgument
from shipyard.serving import deployment_server, invocations, protocol
from shipyard.serving.batching import Batcher, BatchingConfig, concat, split
from shipyard.serving.predlog import PredictionLogger, PredLogConfig, read_predictions
from shipyard.serving.runners import ProcessRunner, ServerRef
from shipyard.serving.runtime import ModelSlot
from shipyard.serving.serve import ServeConfig


def test_parse_infer_request_json_and_binary() -> None:
    body = orjson.dumps(
        {
            "id": "a",
            "inputs": [
                {"name": "x", "shape": [2, 2], "datatype": "INT32", "data": [[1, 2], [3, 4]]},
                {"name": "s", "shape": [2], "datatype": "BYTES", "data": ["p", "q"]},
            ],
            "outputs": [{"name": "y", "parameters": {"binary_data": True}}],
        }
    )
    request = protocol.parse_infer_request(body)
    assert request.id == "a"
    assert request.inputs["x"].dtype == np.int32
    assert request.inputs["x"].tolist() == [[1, 2], [3, 4]]
    assert request.inputs["s"].tolist() == ["p", "q"]
    assert request.outputs == ["y"]
    assert request.binary_outputs == {"y"}

    raw = np.arange(4, dtype=np.float32).tobytes()
    strings = b"".join(len(s).to_bytes(4, "little") + s for s in (b"ab", b"c"))
    header = orjson.dumps(
        {
            "inputs": [
                {"name": "f", "shape": [2, 2], "datatype": "FP32",
                 "parameters": {"binary_data_size": len(raw)}},
                {"name": "b", "shape": [2], "datatype": "BYTES",
                 "parameters": {"binary_data_size": len(strings)}},
            ]
        }
    )  # fmt: skip
    request = protocol.parse_infer_request(header + raw + strings, str(len(header)))
    assert request.inputs["f"].tolist() == [[0.0, 1.0], [2.0, 3.0]]
    assert request.inputs["b"].tolist() == ["ab", "c"]


@pytest.mark.parametrize(
    ("body", "header", "message"),
    [
        (b"{}", None, "'inputs' must be a non-empty list"),
        (b'{"inputs": [1]}', None, "inputs[0] must be an object"),
        (b'{"inputs": [{"name": "x", "shape": [-1], "datatype": "FP32", "data": [1]}]}', None,
         "'shape' must be a list of non-negative integers"),
        (b'{"inputs": [{"name": "x", "shape": [1], "datatype": "FP32"}]}', None,
         "'data' must be a JSON array"),
        (b'{"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [1]}]}abc', "99",
         "is not a size within the body"),
        (b'{"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [1]}], "id": 3}',
         None, "'id' must be a string"),
    ],
)  # fmt: skip
def test_parse_infer_request_errors(body: bytes, header: str | None, message: str) -> None:
    with pytest.raises(InvalidArgument, match=None) as info:
        protocol.parse_infer_request(body, header)
    assert message in info.value.message


def test_binary_payload_leftovers_are_refused() -> None:
    header = orjson.dumps(
        {"inputs": [{"name": "x", "shape": [1], "datatype": "FP32", "data": [1.0]}]}
    )
    with pytest.raises(InvalidArgument, match="binary data no input claims"):
        protocol.parse_infer_request(header + b"\x00" * 4, str(len(header)))


def test_encode_infer_response_json_binary_and_selection() -> None:
    request = protocol.InferRequest(inputs={}, id="7")
    outputs = {"label": np.array([1, 2]), "proba": np.array([[0.5, 0.5], [0.1, 0.9]])}
    body, size = protocol.encode_infer_response("m", "3", request, outputs)
    assert size is None
    doc = orjson.loads(body)
    assert doc["id"] == "7"
    assert doc["outputs"][1] == {
        "name": "proba", "shape": [2, 2], "datatype": "FP64", "data": [0.5, 0.5, 0.1, 0.9]
    }  # fmt: skip
    request = protocol.InferRequest(inputs={}, outputs=["label"], binary_outputs={"label"})
    body, size = protocol.encode_infer_response("m", "3", request, outputs)
    assert size is not None
    assert [o["name"] for o in orjson.loads(body[:size])["outputs"]] == ["label"]
    assert np.frombuffer(body[size:], dtype=np.int64).tolist() == [1, 2]
    strings = {"s": np.array(["ab", "c"])}
    body, _ = protocol.encode_infer_response("m", "3", protocol.InferRequest(inputs={}), strings)
    assert orjson.loads(body)["outputs"][0]["datatype"] == "BYTES"


def test_parse_invocation_shapes() -> None:
    split_ = invocations.parse_invocation(
        b'{"dataframe_split": {"columns": ["a", "b"], "data": [[1, 2], [3, 4]]}}',
        "application/json",
    )
    assert isinstance(split_, dict)
    assert split_["b"].tolist() == [2, 4]
    rows = invocations.parse_invocation(b'{"instances": [1, 2, 3]}', "application/json")
    assert isinstance(rows, np.ndarray)
    assert rows.shape == (3, 1)
    columns = invocations.parse_invocation(b'{"inputs": {"a": [1, 2]}}', "application/json")
    assert isinstance(columns, dict)
    assert columns["a"].tolist() == [1, 2]
    assert invocations.encode_predictions(np.array([1.5])) == b'{"predictions":[1.5]}'


def test_parse_invocation_errors() -> None:
    with pytest.raises(InvalidArgument, match="expected exactly one of"):
        invocations.parse_invocation(b'{"params": {}}', "application/json")
    with pytest.raises(InvalidArgument, match="must have the same fields"):
        invocations.parse_invocation(
            b'{"dataframe_records": [{"a": 1}, {"b": 2}]}', "application/json"
        )
    with pytest.raises(InvalidArgument, match="CSV line 3 has 1 fields, expected 2"):
        invocations.parse_invocation(b"a,b\n1,2\n3\n", "text/csv")


def test_concat_and_split_round_trip() -> None:
    parts = [np.ones((1, 2)), np.zeros((3, 2))]
    joined = concat(list(parts))
    assert isinstance(joined, np.ndarray)
    assert joined.shape == (4, 2)
    pieces = split(np.arange(4), [1, 3])
    assert [p.tolist() for p in pieces if isinstance(p, np.ndarray)] == [[0], [1, 2, 3]]
    named = split({"a": np.arange(4), "b": np.arange(8).reshape(4, 2)}, [2, 2])
    assert isinstance(named[1], dict)
    assert named[1]["b"].tolist() == [[4, 5], [6, 7]]
    with pytest.raises(InvalidArgument, match="not one row per input row"):
        split(np.arange(3), [2, 2])


def test_batcher_groups_concurrent_requests_and_isolates_a_bad_one() -> None:
    calls: list[int] = []

    def predict(data: object) -> np.ndarray:
        array = np.asarray(data)
        if array.shape[1] != 2:
            raise ValueError("two columns please")
        calls.append(len(array))
        return array.sum(axis=1)

    batcher = Batcher(predict, BatchingConfig(max_batch_size=8, max_wait_ms=50))

    async def main() -> list[object]:
        requests = [batcher.submit(np.full((1, 2), float(i)), 1) for i in range(5)]
        bad = batcher.submit(np.ones((1, 3)), 1)
        return await asyncio.gather(*requests, bad, return_exceptions=True)

    results = asyncio.run(main())
    assert [np.asarray(r).tolist() for r in results[:5]] == [[0.0], [2.0], [4.0], [6.0], [8.0]]
    assert isinstance(results[5], ValueError)
    assert calls == [1, 1, 1, 1, 1]  # the batch of six failed, so each request ran alone

    calls.clear()

    async def good() -> list[np.ndarray]:
        requests = [batcher.submit(np.full((1, 2), float(i)), 1) for i in range(5)]
        return list(await asyncio.gather(*requests))

    assert [r.tolist() for r in asyncio.run(good())] == [[0.0], [2.0], [4.0], [6.0], [8.0]]
    assert calls == [5]  # submitted in the same turn of the loop: one predict


def test_batcher_flushes_a_full_batch_at_once() -> None:
    sizes: list[int] = []

    def predict(data: object) -> np.ndarray:
        sizes.append(len(np.asarray(data)))
        return np.zeros(len(np.asarray(data)))

    batcher = Batcher(predict, BatchingConfig(max_batch_size=4, max_wait_ms=10_000))

    async def main() -> None:
        started = time.monotonic()
        await asyncio.gather(*(batcher.submit(np.zeros((2, 1)), 2) for _ in range(4)))
        assert time.monotonic() - started < 10  # full batches never wait for max_wait

    batcher._gap = 0.0  # as if requests were arriving back to back: batches stay open
    asyncio.run(main())
    assert sizes == [4, 4]


def test_batching_config_is_validated() -> None:
    with pytest.raises(InvalidArgument, match="max_batch_size must be at least 1"):
        BatchingConfig(max_batch_size=0)
    with pytest.raises(InvalidArgument, match="max_wait_ms"):
        BatchingConfig(max_wait_ms=-1)


def test_prediction_logger_writes_hourly_files_and_counts_drops(tmp_path: Path) -> None:
    written: list[int] = []
    dropped: list[int] = []
    logger = PredictionLogger(
        PredLogConfig(tmp_path, sample_rate=1.0, queue_size=1),
        on_written=written.append,
        on_dropped=lambda: dropped.append(1),
    )
    for i in range(200):
        logger.offer("m", "1", "v2", ["a"], np.array([[float(i)]]), np.array([i]))
    logger.close()
    records = list(read_predictions(tmp_path))
    assert len(records) == sum(written)
    assert len(records) + len(dropped) == 200
    assert records[0].columns == ["a"]
    hours = {datetime.fromtimestamp(r.ts, UTC).strftime("%Y%m%dT%H") for r in records}
    files = list(tmp_path.glob("predictions-*.jsonl"))
    assert {f.name.split("-")[1] for f in files} == hours  # one file per UTC hour (and pid)


def test_read_predictions_filters_and_skips_broken_lines(tmp_path: Path) -> None:
    line = {"ts": 100.0, "model": "m", "version": "1", "protocol": "v2", "columns": None,
            "inputs": [[1]], "outputs": [2]}  # fmt: skip
    late = {**line, "ts": 5000.0, "model": "n"}
    path = tmp_path / "predictions-19700101T00-1.jsonl"
    path.write_bytes(orjson.dumps(line) + b"\n{broken\n" + orjson.dumps(late) + b"\n")
    assert [r.ts for r in read_predictions(tmp_path)] == [100.0, 5000.0]
    assert [r.model for r in read_predictions(tmp_path, since=200)] == ["n"]
    assert [r.model for r in read_predictions(tmp_path, until=200)] == ["m"]
    assert [r.ts for r in read_predictions(tmp_path, model="m")] == [100.0]


def test_predlog_config_is_validated(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match="between 0 and 1"):
        PredLogConfig(tmp_path, sample_rate=1.5)


def test_model_slot_validation() -> None:
    with pytest.raises(InvalidArgument, match="must be >= 0"):
        ModelSlot("m", "1", Path("x"), weight=-1)
    with pytest.raises(InvalidArgument, match="without '/'"):
        ModelSlot("a/b", "1", Path("x"))


def test_serve_config_round_trips_through_json(tmp_path: Path) -> None:
    config = ServeConfig(
        (ModelSlot("m", "1", tmp_path / "a", 3.0), ModelSlot("m", "2", tmp_path / "b", 1.0)),
        BatchingConfig(16, 2.0),
        PredLogConfig(tmp_path / "logs", 0.5),
    )
    assert ServeConfig.from_json(config.to_json()) == config


# -- the deployment server's socket and address ---------------------------------------------
def test_the_deployment_server_turns_nagle_off_on_its_connections() -> None:
    """Accepted connections inherit TCP_NODELAY, and asyncio sets it again only on sockets made
    with proto=IPPROTO_TCP; without it each response waited ~40 ms for a delayed ACK."""
    sock = deployment_server.listen_socket("127.0.0.1", 0)
    try:
        assert sock.proto == socket.IPPROTO_TCP
        sock.listen(1)
        with socket.create_connection(sock.getsockname()):
            accepted, _ = sock.accept()
            with accepted:
                assert accepted.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) == 1
    finally:
        sock.close()


def test_a_server_on_every_interface_advertises_a_reachable_address(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert deployment_server.advertised("127.0.0.1") == "127.0.0.1"
    assert deployment_server.advertised("::1") == "[::1]"
    monkeypatch.setenv("SHIPYARD_ADVERTISE_HOST", "node-7.internal")
    assert deployment_server.advertised("0.0.0.0") == "node-7.internal"
    monkeypatch.delenv("SHIPYARD_ADVERTISE_HOST")
    assert deployment_server.advertised("0.0.0.0") not in ("", "0.0.0.0")


def test_a_local_controller_leaves_a_hub_job_to_its_liveness_check() -> None:
    """An embedded controller cannot ask the hub's executor about its job: it must not start a
    second server next to one that may still answer."""
    runner = ProcessRunner()
    assert runner.running(ServerRef(job="local:0193a5c1f2e04b7d9c1e2f3a4b5c6d7e"))
    assert not runner.running(ServerRef())
    assert not runner.running(ServerRef(pid=2**22 + 1))  # no such process
