"""Shared fixtures: a clean environment, fresh PostgreSQL databases, a moto S3 server."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

PG_URL_ENV = "SHIPYARD_TEST_POSTGRES_URL"

pytest_plugins = ["conftest_ray"]  # the session's local Ray head node (tests/conftest_ray.py)


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    """No SHIPYARD_* variable leaks in from the shell; each test runs in its own folder; what a
    test sets in ``os.environ`` (e.g. ``seed_everything``'s determinism flags) is undone after."""
    saved = dict(os.environ)
    for key in list(os.environ):
        if key.startswith("SHIPYARD_") and not key.startswith("SHIPYARD_TEST_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    yield
    for key in set(os.environ) - set(saved):
        del os.environ[key]
    os.environ.update({k: v for k, v in saved.items() if os.environ.get(k) != v})


def _pg_admin_url() -> str | None:
    return os.environ.get(PG_URL_ENV)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh, empty PostgreSQL database for one test (dropped afterwards).

    Skips when ``SHIPYARD_TEST_POSTGRES_URL`` is unset; CI always sets it, and ``.ci/run`` fails
    if PostgreSQL tests were skipped there.
    """
    admin = _pg_admin_url()
    if not admin:
        if os.environ.get("SHIPYARD_TEST_REQUIRE_SERVICES"):
            pytest.fail(f"{PG_URL_ENV} must be set when SHIPYARD_TEST_REQUIRE_SERVICES is (CI)")
        pytest.skip(f"{PG_URL_ENV} is not set")
    import sqlalchemy as sa

    name = f"shipyard_t_{uuid.uuid4().hex[:12]}"
    engine = sa.create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    base = admin.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with engine.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        engine.dispose()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    """Block until something listens on 127.0.0.1:port."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout}s")


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """A real S3-compatible server (moto_server) on loopback for the whole session."""
    port = free_port()
    exe = Path(sys.executable).with_name("moto_server")
    proc = subprocess.Popen(
        [str(exe), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture
def s3_env(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """AWS variables pointing boto3 at the moto server; returns a fresh bucket's ``s3://`` URI."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    import boto3

    bucket = f"b-{uuid.uuid4().hex[:10]}"
    boto3.client("s3", endpoint_url=moto_endpoint).create_bucket(Bucket=bucket)
    return f"s3://{bucket}/artifacts"
