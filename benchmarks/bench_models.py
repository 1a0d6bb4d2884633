"""Models: the cost of log_model, register, alias moves and load_model, embedded (SQLite + local
artifacts), per flavor, and the per-call overhead of a signature check.

    .venv/bin/python benchmarks/bench_models.py [--quick]

Variants (milliseconds per call):

* ``save_<flavor>`` / ``load_<flavor>``: ``shipyard.flavors.save_model`` (with an input example, so
  the signature is inferred and checked) and ``load_model`` of a small model;
* ``log_model_register``: ``run.log_model(..., register_as=...)`` in an open run;
* ``load_by_alias_cold`` / ``load_by_alias_cached``: ``shipyard.load_model("models:/m@champion")``
  with an empty local cache, and again once cached;
* ``set_alias``: one alias move;
* ``coerce_records_100``: ``Signature.coerce_inputs`` of 100 records of 4 named columns.

JSON on stdout, progress on stderr.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
from _harness import Json, emit, log, machine, parse_args, summarize, timed_ms, workdir
from sklearn.datasets import load_iris
from sklearn.linear_model import LogisticRegression

import shipyard
from shipyard import Client, Settings
from shipyard.flavors import infer_signature, load_model, save_model

X, Y = load_iris(return_X_y=True)
NAMES = ["sepal_length", "sepal_width", "petal_length", "petal_width"]


def flavors() -> dict[str, Any]:
    """One small model per flavor."""
    import lightgbm
    import xgboost
    from skl2onnx import to_onnx

    sk = LogisticRegression(max_iter=500).fit(X, Y)
    return {
        "sklearn": sk,
        "xgboost": xgboost.XGBClassifier(n_estimators=20, max_depth=3).fit(X, Y),
        "lightgbm": lightgbm.LGBMClassifier(n_estimators=20, verbose=-1).fit(X, Y),
        "onnx": to_onnx(sk, X[:1].astype(np.float32), options={"zipmap": False}),
    }


def bench_flavors(root: Path, repeats: int) -> Json:
    """Save and load each flavor."""
    results: Json = {}
    for name, model in flavors().items():
        example = X[:5].astype(np.float32) if name == "onnx" else X[:5]
        counter = iter(range(10_000))

        def save(
            model: Any = model, example: Any = example, name: str = name, counter: Any = counter
        ) -> None:
            save_model(model, root / f"{name}-{next(counter)}", input_example=example)

        log(f"save/load {name}")
        results[f"save_{name}"] = summarize(timed_ms(save, repeats), "ms")
        results[f"load_{name}"] = summarize(timed_ms(load_model, repeats, root / f"{name}-0"), "ms")
    return results


def bench_registry(root: Path, repeats: int) -> Json:
    """log_model with registration, alias moves and load by alias, embedded."""
    settings = Settings(home=root / "home", system_metrics_interval=0, capture=False)
    model = LogisticRegression(max_iter=500).fit(X, Y)
    results: Json = {}
    with shipyard.start_run(project="bench", settings=settings) as run:

        def log_one() -> None:
            run.log_model(model, "clf", input_example=X[:5], register_as="m")

        log("log_model + register")
        results["log_model_register"] = summarize(timed_ms(log_one, repeats), "ms")
    with Client(settings=settings) as client:
        versions = iter(range(1, repeats + 1))
        log("alias moves")
        move = lambda: client.set_model_alias("m", "champion", next(versions))  # noqa: E731
        results["set_alias"] = summarize(timed_ms(move, repeats), "ms")

        def cold() -> None:
            shutil.rmtree(settings.home / "models", ignore_errors=True)
            client.load_model("models:/m@champion")

        log("load by alias")
        results["load_by_alias_cold"] = summarize(timed_ms(cold, repeats), "ms")
        load = lambda: client.load_model("models:/m@champion")  # noqa: E731
        results["load_by_alias_cached"] = summarize(timed_ms(load, repeats), "ms")
    return results


def bench_coerce(repeats: int) -> Json:
    """The signature check serving runs on every request."""
    signature = infer_signature({n: X[:5, i] for i, n in enumerate(NAMES)})
    records = [dict(zip(NAMES, row, strict=True)) for row in X[:100].tolist()]
    samples = timed_ms(signature.coerce_inputs, repeats * 10, records)
    return {"coerce_records_100": summarize(samples, "ms")}


def main() -> None:
    """Run every variant and print the JSON report."""
    args = parse_args(__doc__ or "")
    repeats = 5 if args.quick else 20
    with workdir("models") as root:
        results = {
            **bench_flavors(root / "flavors", repeats),
            **bench_registry(root / "registry", repeats),
            **bench_coerce(repeats),
        }
    emit({"benchmark": "models", "repeats": repeats, "machine": machine(), "results": results})


if __name__ == "__main__":
    main()
