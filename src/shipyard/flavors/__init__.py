"""Model flavors: save a trained model (scikit-learn, XGBoost, LightGBM, ONNX, a Python class with
``predict``) to a folder with its signature and requirements, and load it back."""
