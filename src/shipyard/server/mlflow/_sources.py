"""Where a model version's files are: MLflow source URIs mapped to a run and an artifact path."""

from __future__ import annotations

import yaml

from shipyard.artifacts.base import ArtifactStore
from shipyard.domain.validation import validate_artifact_path
from shipyard.errors import InvalidArgument, NotFound
from shipyard.server.mlflow._access import CompatStore
from shipyard.server.mlflow._artifacts import Location, resolve

_NOT_FLAVORS = frozenset({"python_function"})


def source_location(
    store: CompatStore, source: str, run_id: str | None = None, model_id: str | None = None
) -> Location:
    """The run and folder of ``runs:/RUN/path``, ``models:/m-ID`` or ``mlflow-artifacts:/...``.

    Raises ``InvalidArgument`` for any other kind of URI (Shipyard serves the files itself).
    """
    if source.startswith("runs:/"):
        found_run, _, path = source.removeprefix("runs:/").partition("/")
        store.get_run(found_run)
        return Location(found_run, validate_artifact_path(path) if path else "")
    if source.startswith("models:/m-") or (model_id and source.startswith("models:/")):
        model = store.mlflow_get_logged_model(model_id or source.removeprefix("models:/"))
        return Location(model.run_id, model.artifact_path)
    if source.startswith("mlflow-artifacts:"):
        path = source.removeprefix("mlflow-artifacts:").lstrip("/")
        if "://" in source:  # mlflow-artifacts://host:port/path
            path = path.split("/", 1)[1] if "/" in path else ""
        return resolve(store, path)
    if run_id:
        raise InvalidArgument(
            f"model source {source!r} is not stored by this server",
            hint=f"register runs:/{run_id}/<path> instead",
        )
    raise InvalidArgument(
        f"unsupported model source {source!r}",
        hint="register a model logged to this server: runs:/RUN_ID/PATH or models:/m-ID",
    )


def flavor_of(store: CompatStore, blobs: ArtifactStore, where: Location) -> str:
    """The model's flavor from its ``MLmodel`` (``sklearn``...), else ``mlflow``."""
    try:
        record = store.get_artifact(where.run_id, f"{where.path}/MLmodel".lstrip("/"))
        text = b"".join(blobs.open(record.sha256)).decode("utf-8", "replace")
        flavors = (yaml.safe_load(text) or {}).get("flavors") or {}
    except (NotFound, InvalidArgument, yaml.YAMLError, AttributeError):
        return "mlflow"
    names = [str(f) for f in flavors if f not in _NOT_FLAVORS]
    return names[0] if names else "mlflow"
