"""Model flavors: save a trained model (scikit-learn, XGBoost, LightGBM, ONNX, a Python class with
``predict``) to a folder with its signature and requirements, and load it back.

Rule: no store, SDK or server imports; a flavor's framework is imported when first used.

>>> meta = save_model(clf, Path("out/iris"), input_example=X[:5])
>>> load_model(Path("out/iris")).predict(X[:2])
"""

from shipyard.flavors._api import FLAVORS, LoadedModel, flavor_of, load_model, save_model
from shipyard.flavors._meta import MODEL_FILE, ModelMeta
from shipyard.flavors._signature import ColSpec, Signature, infer_signature

__all__ = [
    "FLAVORS",
    "MODEL_FILE",
    "ColSpec",
    "LoadedModel",
    "ModelMeta",
    "Signature",
    "flavor_of",
    "infer_signature",
    "load_model",
    "save_model",
]
