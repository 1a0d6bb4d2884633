"""A real ``python -m shipyard.server`` process, over SQLite + a local artifact folder and over
PostgreSQL + S3 (moto), driven through ``HttpRunStore``/``HttpBackend`` and raw HTTP."""

from __future__ import annotations

import math
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import orjson
import pytest

from conftest import free_port, wait_for_port
from shipyard.api import routes
from shipyard.api.routes import url
from shipyard.artifacts import open_artifact_store
from shipyard.artifacts.local import LocalArtifactStore
from shipyard.domain.batch import IngestBatch, MetricColumns
from shipyard.errors import IntegrityError, NotFound, PayloadTooLarge, Unavailable
from shipyard.sdk._http import HttpBackend, HttpRunStore
from shipyard.server.app import create_app
from shipyard.settings import Settings
from shipyard.store.sql.store import SqlRunStore
from shipyard.testing.asgi import asgi_client

LIMIT = 1024 * 1024  # the body limit the SQLite server runs with


@contextmanager
def running_server(store_uri: str, artifacts_uri: str, cwd: Path, *extra: str) -> Iterator[str]:
    """Start ``python -m shipyard.server`` on a free port; yields its base URL."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
    command = [sys.executable, "-m", "shipyard.server", "--store", store_uri]
    command += ["--artifacts", artifacts_uri, "--port", str(port), "--log-level", "warning"]
    log = (cwd / "server.log").open("wb")
    proc = subprocess.Popen([*command, *extra], cwd=cwd, env=env, stdout=log, stderr=log)
    try:
        wait_for_port(port, timeout=60)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        log.close()


@pytest.fixture(scope="module")
def sqlite_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """One server for the module: ``(base_url, artifact folder)``."""
    home = tmp_path_factory.mktemp("server")
    store_uri = f"sqlite:///{home}/shipyard.db"
    with running_server(
        store_uri, str(home / "artifacts"), home, "--max-body-bytes", str(LIMIT)
    ) as base:
        yield base, home / "artifacts"


@pytest.fixture
def base_url(sqlite_server: tuple[str, Path]) -> str:
    return sqlite_server[0]


@pytest.fixture
def http(base_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=base_url, timeout=30) as client:
        yield client


@pytest.fixture
def store(base_url: str) -> Iterator[HttpRunStore]:
    store = HttpRunStore(base_url)
    yield store
    store.close()


def _error(response: httpx.Response) -> dict[str, str]:
    body = response.json()
    assert set(body) == {"error"}
    return dict(body["error"])


# -- the round trip, on both deployments ------------------------------------------------------


def check_round_trip(base: str, tmp_path: Path, client: httpx.Client) -> tuple[str, list[str]]:
    """Health, a run, NaN/inf through msgpack and JSON, history both ways, artifacts up and down.
    Returns the run id and the paths of the blob uploads sent."""
    sent: list[str] = []

    def record(request: httpx.Request) -> None:
        if request.method == "PUT":
            sent.append(request.url.path)

    client.event_hooks["request"].append(record)
    backend = HttpBackend(Settings(tracking_uri=base), client=client)
    health = client.get(f"{base}{routes.HEALTH}").json()
    assert health["status"] == "ok"
    assert health["version"]

    store = backend.store
    run = store.create_run("roundtrip", name="r", params={"lr": 0.5, "opt": "adam"})
    columns = MetricColumns([0, 1, 2, 3], [10, 11, 12, 13], [1.0, math.nan, math.inf, -math.inf])
    assert store.ingest(run.id, IngestBatch("b-msgpack", metrics={"loss": columns}))
    assert not store.ingest(run.id, IngestBatch("b-msgpack", metrics={"loss": columns}))
    json_batch = {
        "batch_id": "b-json",
        "metrics": {
            "acc/train": {
                "steps": [0, 1, 2],
                "timestamps": [5, 6, 7],
                "values": ["NaN", "Infinity", 0.5],
            }
        },
    }
    response = client.post(f"{base}{url(routes.RUN_INGEST, run_id=run.id)}", json=json_batch)
    assert response.status_code == 200, response.text
    assert response.json() == {"applied": True}

    history = store.metric_history(run.id, "loss")
    assert history.steps == [0, 1, 2, 3]
    assert math.isnan(history.values[1])
    assert history.values[2:] == [math.inf, -math.inf]
    raw = client.get(
        f"{base}{url(routes.RUN_METRIC_HISTORY, run_id=run.id)}", params={"key": "acc/train"}
    )
    assert raw.headers["content-type"].startswith("application/json")
    assert raw.json()["values"] == ["NaN", "Infinity", 0.5]
    summary = store.get_run(run.id).metrics["loss"]
    assert (summary.count, summary.min, summary.max) == (4, -math.inf, math.inf)

    data = os.urandom(300_000)
    (tmp_path / "a.bin").write_bytes(data)
    (tmp_path / "same.bin").write_bytes(data)
    (tmp_path / "notes.txt").write_text("hello")
    first = backend.upload_artifacts(run.id, [(tmp_path / "a.bin", "model/a.bin")])
    uploaded: list[int] = []
    second = backend.upload_artifacts(
        run.id,
        [(tmp_path / "same.bin", "copy/same.bin"), (tmp_path / "notes.txt", "notes.txt")],
        progress=uploaded.append,
    )
    assert sum(uploaded) == len(data) + 5  # bytes handled, sent or found already stored
    assert [a.path for a in first + second] == ["model/a.bin", "copy/same.bin", "notes.txt"]
    assert first[0].sha256 == second[0].sha256
    assert second[1].media_type == "text/plain"

    progress: list[int] = []
    dest = tmp_path / "down" / "a.bin"
    backend.download_artifact(run.id, second[0], dest, progress=progress.append)
    assert dest.read_bytes() == data
    assert sum(progress) == len(data)
    backend.close()
    return run.id, sent


def test_round_trip_over_sqlite_and_a_local_folder(
    sqlite_server: tuple[str, Path], tmp_path: Path
) -> None:
    base, folder = sqlite_server
    with httpx.Client(timeout=30) as client:
        _, puts = check_round_trip(base, tmp_path, client)
    # identical bytes are sent once: two PUTs for three files (two of them identical)
    assert len(puts) == 2
    assert LocalArtifactStore(folder).stored_bytes() >= 300_000 + 5


@pytest.mark.postgres
def test_round_trip_over_postgres_and_s3(pg_url: str, s3_env: str, tmp_path: Path) -> None:
    with running_server(pg_url, s3_env, tmp_path) as base, httpx.Client(timeout=30) as client:
        run_id, puts = check_round_trip(base, tmp_path, client)
        assert len(puts) == 2
        assert open_artifact_store(s3_env).stored_bytes() == 300_000 + 5
        store = HttpRunStore(base, client=client)
        assert store.get_run(run_id).params == {"lr": 0.5, "opt": "adam"}


# -- artifacts -----------------------------------------------------------------------------------


def test_download_of_tampered_bytes_raises_and_leaves_nothing(
    sqlite_server: tuple[str, Path], tmp_path: Path
) -> None:
    base, folder = sqlite_server
    backend = HttpBackend(Settings(tracking_uri=base))
    run = backend.store.create_run("tamper")
    source = tmp_path / "w.bin"
    source.write_bytes(b"weights " * 1000)
    [record] = backend.upload_artifacts(run.id, [(source, "w.bin")])
    blob = LocalArtifactStore(folder).blob_path(record.sha256)
    blob.chmod(0o644)
    blob.write_bytes(b"tampered" * 1000)
    out = tmp_path / "out"
    with pytest.raises(IntegrityError, match=record.sha256):
        backend.download_artifact(run.id, record, out / "w.bin")
    assert list(out.iterdir()) == []
    backend.close()


def test_blob_upload_with_wrong_sha256_is_refused(http: httpx.Client, store: HttpRunStore) -> None:
    run = store.create_run("blobs")
    wrong = "0" * 64
    response = http.put(url(routes.RUN_BLOB, run_id=run.id, sha256=wrong), content=b"data")
    assert response.status_code == 422
    assert _error(response)["code"] == "integrity_error"
    assert http.head(url(routes.RUN_BLOB, run_id=run.id, sha256=wrong)).status_code == 404


def test_registering_a_record_before_its_blob_is_refused(
    http: httpx.Client, store: HttpRunStore
) -> None:
    run = store.create_run("blobs")
    record = {"path": "a.txt", "size": 1, "sha256": "a" * 64, "media_type": "text/plain"}
    response = http.post(url(routes.RUN_ARTIFACTS, run_id=run.id), json={"artifacts": [record]})
    assert response.status_code == 404
    assert "upload it first" in _error(response)["hint"]


@pytest.mark.parametrize(
    "query", ["path=../x", "path=/etc/passwd", "path=%2e%2e/x", "path=a/../../x"]
)
def test_path_traversal_is_refused(http: httpx.Client, store: HttpRunStore, query: str) -> None:
    run = store.create_run("paths")
    for template in (routes.RUN_ARTIFACT_CONTENT, routes.RUN_ARTIFACTS):
        response = http.get(f"{url(template, run_id=run.id)}?{query}")
        assert response.status_code == 400, response.text
        error = _error(response)
        assert error["code"] == "invalid_argument"
        assert "artifact path" in error["message"]


def test_registering_a_path_outside_the_run_is_refused(
    http: httpx.Client, store: HttpRunStore
) -> None:
    run = store.create_run("paths")
    sha = http.put(url(routes.RUN_BLOB, run_id=run.id, sha256=_sha(b"x")), content=b"x").json()[
        "sha256"
    ]
    for path in ("../x", "/etc/passwd"):
        record = {"path": path, "size": 1, "sha256": sha}
        response = http.post(url(routes.RUN_ARTIFACTS, run_id=run.id), json={"artifacts": [record]})
        assert response.status_code == 400
        assert path in _error(response)["message"]


def _sha(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def test_blob_uploads_over_their_own_limit_are_refused(tmp_path: Path) -> None:
    sql = SqlRunStore.from_uri(f"sqlite:///{tmp_path}/s.db", auto_create=True)
    blobs = LocalArtifactStore(tmp_path / "blobs")
    client = asgi_client(create_app(sql, blobs, max_body_bytes=500, max_blob_bytes=1000))
    backend = HttpBackend(Settings(tracking_uri="http://shipyard.test"), client=client)
    run = backend.store.create_run("limits")
    (tmp_path / "big.bin").write_bytes(b"x" * 1001)
    (tmp_path / "ok.bin").write_bytes(b"y" * 1000)  # over max_body_bytes, within max_blob_bytes
    with pytest.raises(PayloadTooLarge, match="1000 bytes"):
        backend.upload_artifacts(run.id, [(tmp_path / "big.bin", "big.bin")])
    assert blobs.stored_bytes() == 0
    [record] = backend.upload_artifacts(run.id, [(tmp_path / "ok.bin", "ok.bin")])
    assert (record.size, blobs.stored_bytes()) == (1000, 1000)
    backend.close()
    client.close()
    sql.close()


# -- error shapes --------------------------------------------------------------------------------


def test_missing_run_is_a_404_naming_it(http: httpx.Client, store: HttpRunStore) -> None:
    missing = "0" * 32
    response = http.get(url(routes.RUN, run_id=missing))
    assert response.status_code == 404
    error = _error(response)
    assert error["code"] == "not_found"
    assert missing in error["message"]
    with pytest.raises(NotFound, match=missing):
        store.get_run(missing)


def test_unknown_field_is_a_400_naming_it(http: httpx.Client) -> None:
    response = http.post(routes.RUNS, json={"project": "p", "nmae": "typo"})
    assert response.status_code == 400
    error = _error(response)
    assert error["code"] == "invalid_argument"
    assert "nmae" in error["message"]


def test_malformed_json_is_a_400(http: httpx.Client, base_url: str) -> None:
    for path in (routes.RUNS, url(routes.RUN_INGEST, run_id="0" * 32)):
        response = http.post(
            path, content=b'{"project": ', headers={"content-type": "application/json"}
        )
        assert response.status_code == 400, path
        assert "malformed JSON" in _error(response)["message"]


def test_malformed_msgpack_is_a_400(http: httpx.Client, store: HttpRunStore) -> None:
    run = store.create_run("p")
    response = http.post(
        url(routes.RUN_INGEST, run_id=run.id),
        content=b"\xc1not msgpack",
        headers={"content-type": routes.MSGPACK},
    )
    assert response.status_code == 400
    assert "msgpack" in _error(response)["message"]


def test_bodies_over_the_limit_are_a_413(http: httpx.Client, store: HttpRunStore) -> None:
    run = store.create_run("big")
    big = b"x" * (LIMIT + 1)
    declared = http.post(url(routes.RUN_INGEST, run_id=run.id), content=big)
    assert declared.status_code == 413
    assert _error(declared)["code"] == "payload_too_large"
    chunked = http.post(url(routes.RUN_INGEST, run_id=run.id), content=iter([big[:LIMIT], b"yy"]))
    assert chunked.status_code == 413
    assert str(LIMIT) in _error(chunked)["message"]
    # the connection is still usable afterwards
    assert http.get(routes.HEALTH).status_code == 200


def test_unknown_route_is_a_404_in_the_error_shape(http: httpx.Client) -> None:
    response = http.get("/api/v1/nothing-here")
    assert response.status_code == 404
    assert "/api/v1/nothing-here" in _error(response)["message"]


def test_filter_syntax_error_comes_back_as_its_class(store: HttpRunStore) -> None:
    from shipyard.errors import FilterSyntaxError
    from shipyard.store.base import SearchQuery

    with pytest.raises(FilterSyntaxError):
        store.search_runs(SearchQuery(filter="metrics.acc >>> 1"))


# -- search over the query string ----------------------------------------------------------------


def test_get_runs_searches_like_post(http: httpx.Client, store: HttpRunStore) -> None:
    for value in (0.1, 0.9, 0.5):
        run = store.create_run("search-get")
        store.ingest(
            run.id, IngestBatch(f"b{value}", metrics={"acc": MetricColumns([0], [0], [value])})
        )
    response = http.get(
        routes.RUNS, params={"project": "search-get", "order_by": "-metrics.acc", "limit": 2}
    )
    assert response.status_code == 200, response.text
    page = response.json()
    assert [r["metrics"]["acc"]["last"] for r in page["runs"]] == [0.9, 0.5]
    assert page["next_page_token"]


# -- docs --------------------------------------------------------------------------------------


def test_docs_load_their_assets_from_the_server(http: httpx.Client) -> None:
    page = http.get("/docs")
    assert page.status_code == 200
    assert "text/html" in page.headers["content-type"]
    assert re.findall(r"https?://", page.text) == []
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert any(a.endswith(".js") for a in assets)
    assert any(a.endswith(".css") for a in assets)
    for asset in assets:
        assert asset.startswith("/"), asset
        assert http.get(asset).status_code == 200, asset


def declared_routes() -> set[tuple[str, str]]:
    """Every ``(method, path)`` in the ``ROUTES`` tuple of a ``shipyard.api`` module."""
    import importlib
    import pkgutil

    import shipyard.api

    found: set[tuple[str, str]] = set()
    for info in pkgutil.iter_modules(shipyard.api.__path__):
        module = importlib.import_module(f"shipyard.api.{info.name}")
        found |= set(getattr(module, "ROUTES", ()))
    return found


def test_openapi_lists_every_route_with_a_summary(http: httpx.Client) -> None:
    spec = orjson.loads(http.get("/openapi.json").content)
    listed = {
        (method.upper(), path)
        for path, operations in spec["paths"].items()
        for method in operations
    }
    assert listed == declared_routes()
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            assert operation.get("summary"), (method, path)
            assert operation.get("description"), (method, path)
    assert "IngestIn" in spec["components"]["schemas"]


def test_a_server_that_is_not_there_is_unavailable() -> None:
    address = f"http://127.0.0.1:{free_port()}"
    store = HttpRunStore(address, timeout=5)
    with pytest.raises(Unavailable, match=f"cannot reach Shipyard server at {address}") as caught:
        store.get_run("0" * 32)
    assert caught.value.hint
    store.close()
