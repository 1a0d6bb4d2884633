"""Helpers for the deployment tests: log and register real scikit-learn iris models."""

from __future__ import annotations

import json
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression
from sklearn.tree import DecisionTreeClassifier

from shipyard.artifacts.base import ArtifactStore
from shipyard.domain.entities import Artifact
from shipyard.domain.models import ModelVersion
from shipyard.flavors import save_model
from shipyard.registry import register_model
from shipyard.store.sql.store import SqlRunStore


def iris() -> tuple[np.ndarray, np.ndarray]:
    """The iris features (float32) and labels."""
    data = load_iris()
    return data.data.astype(np.float32), data.target


def log_iris_model(
    store: SqlRunStore,
    artifacts: ArtifactStore,
    *,
    name: str = "iris-clf",
    project: str = "iris",
    kind: str = "logreg",
    broken: bool = False,
) -> ModelVersion:
    """Train an iris classifier, log it to a new run and register it as the next version."""
    x, y = iris()
    model = (
        LogisticRegression(max_iter=500)
        if kind == "logreg"
        else DecisionTreeClassifier(max_depth=2)
    ).fit(x, y)
    run = store.create_run(project, name=f"train-{kind}")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "model"
        save_model(model, folder, input_example=x[:5])
        if broken:
            for path in folder.iterdir():
                if path.suffix in (".pkl", ".pickle", ".joblib", ".skops"):
                    path.write_bytes(b"not a model")
        store.add_artifacts(run.id, _upload(artifacts, folder, f"models/{name}"))
    return register_model(store, artifacts, f"runs:/{run.id}/models/{name}", name)


def _upload(artifacts: ArtifactStore, folder: Path, prefix: str) -> list[Artifact]:
    found = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        info = artifacts.put_file(path)
        rel = path.relative_to(folder).as_posix()
        found.append(
            Artifact(f"{prefix}/{rel}", info.size, info.sha256, "application/octet-stream")
        )
    return found


class _Receiver(BaseHTTPRequestHandler):
    received: list[dict[str, Any]] = []

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        type(self).received.append(json.loads(self.rfile.read(length)))
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        return


@contextmanager
def webhook_receiver(path: str) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """A local HTTP server that keeps the JSON bodies POSTed to it: yields its URL (ending in
    ``path``) and the list the bodies land in."""
    received: list[dict[str, Any]] = []
    server = HTTPServer(("127.0.0.1", 0), type("Hook", (_Receiver,), {"received": received}))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}{path}", received
    finally:
        server.shutdown()
        server.server_close()
