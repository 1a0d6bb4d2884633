"""The model registry over the stores: model URIs (``runs:/``, ``models:/NAME/VERSION``,
``models:/NAME@ALIAS``), registered models, versions, aliases. No SDK: the server uses it too.

>>> resolve_model_uri(store, "models:/iris-clf@champion").run_id
"""

from shipyard.registry._resolve import (
    BlobSource,
    ModelStore,
    ResolvedModel,
    download_model,
    ensure_registered_model,
    latest_version,
    promote,
    read_model_meta,
    register_model,
    resolve_model_uri,
)
from shipyard.registry._uri import ModelUri, parse_model_uri

__all__ = [
    "BlobSource",
    "ModelStore",
    "ModelUri",
    "ResolvedModel",
    "download_model",
    "ensure_registered_model",
    "latest_version",
    "parse_model_uri",
    "promote",
    "read_model_meta",
    "register_model",
    "resolve_model_uri",
]
