"""Every flavor saves a real model and loads it back with exactly the same predictions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml
from sklearn.datasets import load_diabetes, load_iris, load_wine
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from shipyard.errors import InvalidArgument, NotFound
from shipyard.flavors import MODEL_FILE, ModelMeta, flavor_of, load_model, save_model

IRIS = load_iris()
WINE = load_wine()
DIABETES = load_diabetes()


class Doubler:
    """A custom model: any class with predict."""

    def __init__(self, factor: float) -> None:
        self.factor = factor

    def predict(self, inputs: Any) -> Any:
        return np.asarray(inputs).sum(axis=1) * self.factor


def round_trip(model: Any, x: np.ndarray, tmp_path: Path, **kw: Any) -> tuple[ModelMeta, Any]:
    meta = save_model(model, tmp_path / "model", input_example=x[:5], **kw)
    loaded = load_model(tmp_path / "model")
    assert loaded.meta == meta
    return meta, loaded


def test_sklearn_pipeline_round_trips(tmp_path: Path) -> None:
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=500))
    model.fit(IRIS.data, IRIS.target)
    meta, loaded = round_trip(model, IRIS.data, tmp_path)
    assert meta.flavor == "sklearn"
    assert np.array_equal(loaded.predict(IRIS.data), model.predict(IRIS.data))
    assert any(r.startswith("scikit-learn==") for r in meta.requirements)
    assert meta.python_version.count(".") == 2
    assert meta.signature is not None
    assert meta.signature.to_dict()["inputs"] == [
        {"name": None, "dtype": "float64", "shape": [-1, 4]}
    ]
    assert meta.signature.outputs is not None
    assert meta.signature.outputs[0].dtype == "int64"


def test_sklearn_with_named_columns(tmp_path: Path) -> None:
    model = RandomForestClassifier(n_estimators=5, random_state=0).fit(WINE.data, WINE.target)
    names = [n.replace("/", "_") for n in WINE.feature_names]
    example = {n: WINE.data[:5, i] for i, n in enumerate(names)}
    save_model(model, tmp_path / "wine", input_example=example)
    loaded = load_model(tmp_path / "wine")
    assert loaded.meta.signature is not None
    assert loaded.meta.signature.names == names
    records = [dict(zip(names, row, strict=True)) for row in WINE.data]
    assert np.array_equal(loaded.predict(records), model.predict(WINE.data))
    shuffled = {n: WINE.data[:, i] for i, n in reversed(list(enumerate(names)))}
    assert np.array_equal(loaded.predict(shuffled), model.predict(WINE.data))
    with pytest.raises(InvalidArgument, match=r"expected 13 input columns \[alcohol, .*got 12"):
        loaded.predict({n: WINE.data[:, i] for i, n in enumerate(names[:12])})


def test_xgboost_round_trips(tmp_path: Path) -> None:
    xgboost = pytest.importorskip("xgboost")
    model = xgboost.XGBClassifier(n_estimators=5, max_depth=2).fit(IRIS.data, IRIS.target)
    meta, loaded = round_trip(model, IRIS.data, tmp_path)
    assert meta.flavor == "xgboost"
    assert (tmp_path / "model" / "model.ubj").is_file()
    assert np.array_equal(loaded.predict(IRIS.data), model.predict(IRIS.data))


def test_xgboost_booster_round_trips(tmp_path: Path) -> None:
    xgboost = pytest.importorskip("xgboost")
    data = xgboost.DMatrix(DIABETES.data, label=DIABETES.target)
    booster = xgboost.train({"max_depth": 2}, data, num_boost_round=5)
    _, loaded = round_trip(booster, DIABETES.data, tmp_path)
    expected = booster.predict(xgboost.DMatrix(DIABETES.data))
    assert np.array_equal(loaded.predict(DIABETES.data), expected)


@pytest.mark.parametrize("kind", ["classifier", "regressor", "binary"])
def test_lightgbm_round_trips(tmp_path: Path, kind: str) -> None:
    lightgbm = pytest.importorskip("lightgbm")
    if kind == "regressor":
        x, y = DIABETES.data, DIABETES.target
        model = lightgbm.LGBMRegressor(n_estimators=5, verbose=-1).fit(x, y)
    else:
        x, y = IRIS.data, IRIS.target
        y = (y == 1).astype(int) if kind == "binary" else y
        model = lightgbm.LGBMClassifier(n_estimators=5, verbose=-1).fit(x, y)
    meta, loaded = round_trip(model, x, tmp_path)
    assert meta.flavor == "lightgbm"
    assert np.array_equal(loaded.predict(x), model.predict(x))


def test_onnx_round_trips(tmp_path: Path) -> None:
    skl2onnx = pytest.importorskip("skl2onnx")
    model = LogisticRegression(max_iter=500).fit(IRIS.data, IRIS.target)
    x = IRIS.data.astype(np.float32)
    onx = skl2onnx.to_onnx(model, x[:1], options={"zipmap": False})
    meta, loaded = round_trip(onx, x, tmp_path)
    assert meta.flavor == "onnx"
    out = loaded.predict(IRIS.data)  # float64 input is converted to the signature's float32
    assert isinstance(out, dict)
    assert np.array_equal(out["label"], model.predict(IRIS.data))
    assert meta.signature is not None
    assert meta.signature.outputs is not None
    assert [o.name for o in meta.signature.outputs] == ["label", "probabilities"]


def test_python_flavor_round_trips(tmp_path: Path) -> None:
    meta, loaded = round_trip(Doubler(2.5), IRIS.data, tmp_path)
    assert meta.flavor == "python"
    assert meta.extra["class"].endswith(":Doubler")
    assert np.array_equal(loaded.predict(IRIS.data), Doubler(2.5).predict(IRIS.data))


def test_python_flavor_names_a_class_that_cannot_be_imported(tmp_path: Path) -> None:
    save_model(Doubler(1.0), tmp_path / "m")
    meta_path = tmp_path / "m" / MODEL_FILE
    data = yaml.safe_load(meta_path.read_text())
    data["extra"]["class"] = "not_installed_pkg.models:Doubler"
    meta_path.write_text(yaml.safe_dump(data))
    with pytest.raises(InvalidArgument, match="not_installed_pkg") as caught:
        load_model(tmp_path / "m")
    assert caught.value.hint is not None
    assert "PYTHONPATH" in caught.value.hint


def test_no_signature_without_an_example(tmp_path: Path) -> None:
    model = Ridge().fit(DIABETES.data, DIABETES.target)
    meta = save_model(model, tmp_path / "r")
    assert meta.signature is None
    loaded = load_model(tmp_path / "r")
    assert np.array_equal(loaded.predict(DIABETES.data), model.predict(DIABETES.data))


def test_bad_models_and_folders_are_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgument, match="no flavor saves"):
        save_model(object(), tmp_path / "x")
    with pytest.raises(InvalidArgument, match="unknown model flavor 'torch'"):
        save_model(Doubler(1.0), tmp_path / "x", flavor="torch")
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "file").write_text("x")
    with pytest.raises(InvalidArgument, match="not an empty folder"):
        save_model(Doubler(1.0), tmp_path / "full")
    with pytest.raises(NotFound, match=MODEL_FILE):
        load_model(tmp_path / "full")
    assert flavor_of(Doubler(1.0)).name == "python"


def test_mlflow_sklearn_folders_load(tmp_path: Path) -> None:
    import pickle

    model = LogisticRegression(max_iter=500).fit(IRIS.data, IRIS.target)
    folder = tmp_path / "mlflow"
    folder.mkdir()
    (folder / "model.pkl").write_bytes(pickle.dumps(model))
    inputs = '[{"type": "double", "name": "a"}, {"type": "double", "name": "b"}, ' + (
        '{"type": "double", "name": "c"}, {"type": "double", "name": "d"}]'
    )
    mlmodel = {
        "flavors": {
            "python_function": {"python_version": "3.11.7", "loader_module": "mlflow.sklearn"},
            "sklearn": {"pickled_model": "model.pkl", "serialization_format": "cloudpickle"},
        },
        "signature": {"inputs": inputs, "outputs": None},
    }
    (folder / "MLmodel").write_text(yaml.safe_dump(mlmodel))
    loaded = load_model(folder)
    assert loaded.flavor == "sklearn"
    assert np.array_equal(loaded.predict(IRIS.data), model.predict(IRIS.data))
    with pytest.raises(InvalidArgument, match="expected 4 input columns"):
        loaded.predict({"a": [1.0]})
