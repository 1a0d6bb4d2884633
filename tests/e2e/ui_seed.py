"""Data, a server and page helpers for the browser tests.

The store is filled through the store and artifact APIs (the same ones the server uses); the
server is ``python -m shipyard.server`` on a free port. ``Watched`` pages come from the
``watched`` fixture of ``ui_fixtures`` (a test module opts in with
``pytest_plugins = ["ui_fixtures"]``).
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from conftest import free_port, wait_for_port
from shipyard.artifacts import open_artifact_store
from shipyard.domain.batch import IngestBatch, MetricColumns, RunEnd
from shipyard.domain.entities import Artifact, RunInput, RunStatus
from shipyard.settings import Settings
from shipyard.store.factory import open_store

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
needs_chromium = pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium")
expect.set_options(timeout=20_000)  # generous: CI machines are small and busy
T0 = 1_700_000_000_000
XSS_NAME = "<img src=x onerror=alert(1)>"
NOTES = "# Findings\n\nDepth **8** wins. <script>alert('notes')</script>\n\n- fast\n- stable\n"
PATCH = (
    "diff --git a/train.py b/train.py\nindex 1111111..2222222 100644\n--- a/train.py\n"
    "+++ b/train.py\n@@ -1,3 +1,3 @@\n import shipyard\n-LR = 0.1\n+LR = 0.05\n print(LR)\n"
)
CSV = "epoch,acc,note\n" + "".join(f'{i},{0.5 + i / 2000:.4f},"row {i}, ok"\n' for i in range(600))
NOTEBOOK = {
    "nbformat": 4,
    "nbformat_minor": 5,
    "metadata": {"language_info": {"name": "python"}},
    "cells": [
        {"cell_type": "markdown", "metadata": {}, "source": ["# Analysis\n", "Look at *this*."]},
        {
            "cell_type": "code",
            "execution_count": 1,
            "metadata": {},
            "source": "print(1 + 1)",
            "outputs": [{"output_type": "stream", "name": "stdout", "text": ["2\n"]}],
        },
    ],
}


def tiny_png(width: int = 24, height: int = 16) -> bytes:
    """A valid RGB PNG of a blue rectangle."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    row = b"\x00" + b"\x40\x58\xe0" * width
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(row * height))
        + chunk(b"IEND", b"")
    )


def environment_record(numpy: str = "2.1.3") -> dict[str, Any]:
    """An environment record shaped like the SDK's capture."""
    return {
        "schema": 1,
        "captured_at": "2023-11-14T22:13:20.000+00:00",
        "code": {
            "cwd": "/home/ada/iris",
            "entry_point": {"argv": ["train.py", "--depth", "8"]},
            "git": {
                "commit": "3f2c9a1b7e",
                "branch": "main",
                "remote_url": "https://example.invalid/ada/iris.git",
                "dirty": True,
                "patch_artifact": ".shipyard/code.patch",
            },
        },
        "python": {"version": "3.11.9", "implementation": "CPython"},
        "packages": {"distributions": {"numpy": numpy, "scikit-learn": "1.5.2"}},
        "system": {
            "os": {"system": "Linux", "release": "6.1", "distribution": "Debian GNU/Linux 12"},
            "cpu": {"model": "Test CPU", "logical_cores": 8},
            "memory_total_bytes": 16 * 1024**3,
        },
        "accelerators": {"gpus": [], "driver_version": None},
        "command": ["python", "train.py", "--depth", "8"],
    }


@dataclass
class Seeded:
    """Where the data lives and the ids of the runs, by name."""

    store_uri: str
    artifacts_dir: Path
    ids: dict[str, str] = field(default_factory=dict)

    @classmethod
    def at(cls, root: Path) -> Seeded:
        """A SQLite store and an artifacts folder under ``root`` (nothing written yet)."""
        return cls(f"sqlite:///{root / 'shipyard.db'}", root / "artifacts")


def _ingest(store: Any, run_id: str, metrics: dict[str, list[float]], end: int | None) -> None:
    columns = {
        key: MetricColumns(list(range(len(v))), [T0 + 1000 * i for i in range(len(v))], v)
        for key, v in metrics.items()
    }
    done = None if end is None else RunEnd(RunStatus.FINISHED, end)
    store.ingest(run_id, IngestBatch(f"b-{run_id}", metrics=columns, end=done))


def _curve(n: int, start: float, end: float) -> list[float]:
    return [start + (end - start) * (i / (n - 1)) ** 0.5 for i in range(n)]


def _add_files(store: Any, blobs: Any, run_id: str, files: dict[str, tuple[bytes, str]]) -> None:
    records = []
    for path, (data, media_type) in files.items():
        info = blobs.put_stream([data])
        records.append(Artifact(path, info.size, info.sha256, media_type))
    store.add_artifacts(run_id, records)


def seed(root: Path) -> Seeded:
    """Two projects; iris has five runs (one RUNNING, one child, one with a hostile name)."""
    seeded = Seeded.at(root)
    store = open_store(seeded.store_uri, auto_create=True)
    blobs = open_artifact_store(str(seeded.artifacts_dir))
    ids = seeded.ids
    try:
        specs: list[tuple[str, dict[str, Any], float, int | None]] = [
            ("rf-1", {"model": "rf", "depth": 4, "lr": 0.1}, 0.91, 65_000),
            ("rf-2", {"model": "rf", "depth": 8, "lr": 0.05}, 0.95, 3_723_000),
            ("lr-1", {"model": "lr", "depth": 1, "lr": 0.2}, 0.87, None),
        ]
        for i, (name, params, acc, duration) in enumerate(specs):
            start = T0 + i * 60_000
            run = store.create_run("iris", name=name, user="ada", params=params, start_time=start)
            ids[name] = run.id
            metrics = {"acc": _curve(50, 0.5, acc), "loss": _curve(50, 2.0, 1 - acc)}
            metrics["system/cpu_percent"] = [40.0 + (i * 7) % 30 for i in range(20)]
            _ingest(store, run.id, metrics, None if duration is None else start + duration)
        child = store.create_run("iris", name="rf-2-fold-1", parent_id=ids["rf-2"], start_time=T0)
        ids["rf-2-fold-1"] = child.id
        _ingest(store, child.id, {"acc": [0.9, 0.93]}, T0 + 5_000)
        hostile = store.create_run(
            "iris", name=XSS_NAME, params={"model": XSS_NAME}, start_time=T0 + 300_000
        )
        ids["hostile"] = hostile.id
        _ingest(store, hostile.id, {"acc": [0.1]}, T0 + 301_000)
        store.set_tags(ids["rf-2"], {"team": "vision", "stage": "tuning"})
        store.update_run(ids["rf-2"], notes=NOTES)
        store.add_run_inputs(ids["rf-2"], [RunInput("dataset", "iris", "1", digest="ab12")])
        _add_files(store, blobs, ids["rf-2"], _rf2_files())
        _add_files(
            store, blobs, ids["rf-1"], _environment_files("2.0.0", PATCH.replace("0.05", "0.1"))
        )
        mnist = store.create_run("mnist", name="cnn", user="grace", start_time=T0)
        _ingest(store, mnist.id, {"loss": [2.3, 0.4]}, T0 + 10_000)
    finally:
        store.close()
    return seeded


def _rf2_files() -> dict[str, tuple[bytes, str]]:
    return {
        "eval/metrics.csv": (CSV.encode(), "text/csv"),
        "config.json": (b'{"depth": 8, "layers": [1, 2, 3]}', "application/json"),
        "plots/confusion.png": (tiny_png(), "image/png"),
        "report.md": (b"# Report\n\n| a | b |\n|---|---|\n| 1 | 2 |\n", "text/markdown"),
        "analysis.ipynb": (json.dumps(NOTEBOOK).encode(), "application/x-ipynb+json"),
        **_environment_files("2.1.3", PATCH),
    }


def _environment_files(numpy: str, patch: str) -> dict[str, tuple[bytes, str]]:
    return {
        ".shipyard/environment.json": (
            json.dumps(environment_record(numpy)).encode(),
            "application/json",
        ),
        ".shipyard/code.patch": (patch.encode(), "text/x-diff"),
    }


@dataclass
class Server:
    """A running ``python -m shipyard.server`` and its base URL."""

    url: str
    process: subprocess.Popen[bytes]


def start_server(seeded: Seeded, log: Path, *options: str) -> Server:
    """Serve ``seeded`` from a real server process on a free port (``options``: e.g. --auth)."""
    port = free_port()
    argv = [
        sys.executable, "-m", "shipyard.server", *options, "--store", seeded.store_uri,
        "--artifacts", str(seeded.artifacts_dir), "--host", "127.0.0.1", "--port", str(port),
        "--log-level", "warning",
    ]  # fmt: skip
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
    with log.open("wb") as out:
        process = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env)
    wait_for_port(port)
    url = f"http://127.0.0.1:{port}"
    httpx.get(f"{url}/api/v1/health", timeout=10).raise_for_status()
    return Server(url, process)


@contextmanager
def serving(seeded: Seeded, log: Path, *options: str) -> Iterator[Server]:
    """``start_server``, and the process stopped on leaving."""
    server = start_server(seeded, log, *options)
    try:
        yield server
    finally:
        server.process.terminate()
        server.process.wait(timeout=20)


def sdk_settings(server: Server, root: Path, user: str) -> Settings:
    """SDK settings that track to ``server`` over HTTP as ``user`` (no capture, no sampling)."""
    return Settings(
        tracking_uri=server.url, home=root / "home", user=user,
        system_metrics_interval=0, capture=False,
    )  # fmt: skip


@dataclass
class Watched:
    """A page plus what it did that it must not: leave the origin, throw, open dialogs."""

    page: Page
    external: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    dialogs: list[str] = field(default_factory=list)


def shot(page: Page, name: str) -> None:
    """Save a full-page screenshot for people to look at."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")  # else the sticky top bar lands mid-page
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)
