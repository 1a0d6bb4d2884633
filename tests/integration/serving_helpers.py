"""Models and servers for the serving tests: a saved iris classifier, a Python model class, and
uvicorn running a serving app on a free port in a background thread."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import uvicorn
from fastapi import FastAPI

from shipyard.flavors import save_model

COLUMNS = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


def iris() -> tuple[np.ndarray, np.ndarray]:
    """The iris features and labels."""
    from sklearn.datasets import load_iris

    features, labels = load_iris(return_X_y=True)
    return features, labels


def save_iris(path: Path, *, named: bool = True, max_iter: int = 500) -> Path:
    """Train a logistic regression on iris and save it (named columns or a 4-wide tensor)."""
    from sklearn.linear_model import LogisticRegression

    features, labels = iris()
    model = LogisticRegression(max_iter=max_iter).fit(features, labels)
    example: Any = {n: features[:5, i] for i, n in enumerate(COLUMNS)} if named else features[:5]
    save_model(model, path, input_example=example)
    return path


class ConstantModel:
    """A custom Python model: predicts ``value`` for every row (and checks it got 2-D input)."""

    def __init__(self, value: float) -> None:
        self.value = value

    def predict(self, inputs: Any) -> np.ndarray:
        """One ``value`` per row."""
        array = np.asarray(inputs)
        assert array.ndim == 2
        return np.full(len(array), self.value)


def save_constant(path: Path, value: float) -> Path:
    """Save a :class:`ConstantModel` with a 2-column tensor signature."""
    save_model(ConstantModel(value), path, input_example=np.zeros((2, 2)))
    return path


@contextmanager
def running(app: FastAPI, port: int) -> Iterator[str]:
    """Serve ``app`` with uvicorn on 127.0.0.1:port in a thread; yields the base URL."""
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("the serving app did not start")
            threading.Event().wait(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


class BrokenModel:
    """A custom Python model whose predict crashes (a bug in the model, not bad input)."""

    def predict(self, inputs: Any) -> np.ndarray:
        """Always fails."""
        raise RuntimeError("secret internal detail")
