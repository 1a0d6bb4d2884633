"""Fuzz every operation of a live server's OpenAPI document with schemathesis; count 5xx answers.

Each operation gets schema-valid cases (with path parameters pointing at real, seeded resources
where the operation has them) and schema-violating cases. Run it alone for the figures::

    .venv/bin/python tests/security/fuzz.py --examples 25

It starts its own server (SQLite, a local artifact folder) and prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import msgpack
import orjson
import schemathesis
import uvicorn
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import HypothesisException
from schemathesis import GenerationMode
from schemathesis.core.errors import SerializationNotPossible

from shipyard.artifacts.local import LocalArtifactStore
from shipyard.server.app import create_app
from shipyard.store.sql.store import SqlRunStore


@schemathesis.serializer("application/x-msgpack")
def _msgpack(ctx: Any, value: Any) -> bytes:
    return bytes(msgpack.packb(value, use_bin_type=True))


@schemathesis.serializer("application/x-shipyard-pack", "application/octet-stream")
def _raw(ctx: Any, value: Any) -> bytes:
    return value if isinstance(value, bytes) else orjson.dumps(value, default=str)


@dataclass
class FuzzReport:
    """What a fuzz run did."""

    operations: int = 0
    cases: int = 0
    server_errors: list[str] = field(default_factory=list)
    unsatisfiable: list[str] = field(default_factory=list)
    seconds: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        """JSON form."""
        return {
            "operations": self.operations,
            "cases": self.cases,
            "server_errors": len(self.server_errors),
            "server_error_samples": self.server_errors[:20],
            "operation_modes_without_cases": self.unsatisfiable,
            "seconds": round(self.seconds, 1),
        }


@contextmanager
def live_server(home: Path, port: int) -> Iterator[tuple[str, Mapping[str, str]]]:
    """A uvicorn server in a thread over a fresh SQLite store with one project, run and artifact.

    Yields the base URL and the values of path parameters that name seeded resources.
    """
    store = SqlRunStore.from_uri(f"sqlite:///{home}/fuzz.db", auto_create=True)
    app = create_app(store, LocalArtifactStore(home / "artifacts"), max_body_bytes=1 << 20)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="critical")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the fuzz server did not start")
        time.sleep(0.05)
    try:
        run = httpx.post(f"{base}/api/v1/runs", json={"project": "iris", "params": {"d": 3}})
        known = {"run_id": run.json()["id"], "name": "iris", "project": "iris"}
        yield base, known
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        store.close()


def fuzz(base_url: str, known: Mapping[str, str], *, examples: int = 20) -> FuzzReport:
    """Fuzz every operation; returns the counts (5xx answers are listed, not raised)."""
    started = time.monotonic()
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    report = FuzzReport()
    for result in schema.get_all_operations():
        operation = result.ok()
        report.operations += 1
        names = {p.name for p in operation.path_parameters}
        seeded = {k: v for k, v in known.items() if k in names}
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            params = seeded if mode is GenerationMode.POSITIVE and seeded else None
            _fuzz_one(operation, mode, params, base_url, examples, report)
    report.seconds = time.monotonic() - started
    return report


def _fuzz_one(
    operation: Any,
    mode: GenerationMode,
    path_parameters: dict[str, str] | None,
    base_url: str,
    examples: int,
    report: FuzzReport,
) -> None:
    label = f"{operation.label} [{mode.value}]"
    strategy = operation.as_strategy(generation_mode=mode, path_parameters=path_parameters)

    @given(case=strategy)
    @settings(
        max_examples=examples,
        deadline=None,
        database=None,
        derandomize=True,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        response = case.call(base_url=base_url, timeout=30)
        report.cases += 1
        if response.status_code >= 500:
            report.server_errors.append(f"{label}: {response.status_code} {response.text[:200]}")

    try:
        run()
    except (HypothesisException, SerializationNotPossible):
        report.unsatisfiable.append(label)


def main() -> None:
    """Start a server, fuzz it, print the report as JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--examples", type=int, default=20)
    parser.add_argument("--port", type=int, default=18765)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as home, live_server(Path(home), args.port) as (base, known):
        report = fuzz(base, known, examples=args.examples)
    print(json.dumps(report.to_dict(), indent=2))


if __name__ == "__main__":
    main()
