"""Wire formats for bulk ingest: 100,000 points encoded, decoded and ingested through the app.

Prints one JSON object (seconds, best of ``--repeat``): ``python benchmarks/bench_ingest_wire.py``.
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from shipyard.api import codec, routes
from shipyard.api.routes import url
from shipyard.api.schemas import IngestIn
from shipyard.artifacts.local import LocalArtifactStore
from shipyard.domain.batch import IngestBatch, MetricColumns
from shipyard.server.app import create_app
from shipyard.store.sql.store import SqlRunStore
from shipyard.testing.asgi import asgi_client


def best(fn: Callable[[], object], repeat: int) -> float:
    """The fastest of ``repeat`` runs, in seconds."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return round(min(times), 4)


def make_batch(points: int, batch_id: str) -> IngestBatch:
    """One metric with ``points`` values, a few of them NaN or infinite."""
    values = [math.sin(i / 100) for i in range(points)]
    values[7], values[8] = math.nan, math.inf
    columns = MetricColumns(
        list(range(points)), [1_700_000_000_000 + i for i in range(points)], values
    )
    return IngestBatch(batch_id, metrics={"train/loss": columns})


def main() -> None:
    """Measure and print."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--points", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    batch = make_batch(args.points, "b")
    packed = codec.encode_batch(batch)
    as_json = IngestIn.of(batch).model_dump_json().encode()
    result: dict[str, object] = {"points": args.points, "msgpack_bytes": len(packed)}
    result["json_bytes"] = len(as_json)
    result["msgpack_encode_s"] = best(lambda: codec.encode_batch(batch), args.repeat)
    result["msgpack_decode_s"] = best(lambda: codec.decode_batch(packed), args.repeat)
    result["json_decode_s"] = best(
        lambda: IngestIn.model_validate_json(as_json).to_domain(), args.repeat
    )
    with tempfile.TemporaryDirectory() as tmp:
        store = SqlRunStore.from_uri(f"sqlite:///{tmp}/s.db", auto_create=True)
        client = asgi_client(create_app(store, LocalArtifactStore(Path(tmp) / "a")))
        counter = iter(range(10**9))

        def post(body: bytes, media_type: str) -> None:
            run = store.create_run("bench", name=str(next(counter)))
            response = client.post(
                url(routes.RUN_INGEST, run_id=run.id),
                content=body,
                headers={"content-type": media_type},
            )
            response.raise_for_status()

        result["http_ingest_msgpack_s"] = best(lambda: post(packed, routes.MSGPACK), args.repeat)
        result["http_ingest_json_s"] = best(lambda: post(as_json, "application/json"), args.repeat)
        result["store_ingest_only_s"] = best(
            lambda: store.ingest(store.create_run("bench").id, batch), args.repeat
        )
        client.close()
        store.close()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
