"""Models in the SDK: log a model as run artifacts, register it, and load it back by URI.

A logged model is the folder :func:`shipyard.flavors.save_model` writes, uploaded under the run's
``models/<name>/`` (content-addressed, so unchanged files are stored once). Loading resolves the
URI (``runs:/``, ``models:/NAME/VERSION``, ``models:/NAME@ALIAS``, ``models:/NAME/latest``),
downloads the folder into ``<home>/models/`` (kept and reused while its files are the same) and
loads it with its flavor.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from shipyard.api import datasets as blob_api
from shipyard.api.routes import url
from shipyard.artifacts.base import CHUNK_SIZE
from shipyard.domain.entities import RunInput
from shipyard.domain.models import MODEL_KIND, ModelVersion, validate_model_name
from shipyard.errors import ShipyardError
from shipyard.flavors import LoadedModel, ModelMeta, load_model, save_model
from shipyard.registry import (
    BlobSource,
    ModelStore,
    download_model,
    ensure_registered_model,
    register_model,
    resolve_model_uri,
)
from shipyard.sdk._blobs import write_verified
from shipyard.sdk._http_store import HttpRunStore
from shipyard.sdk.backend import Backend
from shipyard.settings import Settings

MODELS_FOLDER = "models"
"""Where a run's logged models live among its artifacts: ``models/<name>/``."""


@dataclass(frozen=True, slots=True)
class LoggedModel:
    """A model logged by a run: ``uri`` is ``runs:/<run_id>/models/<name>``; ``version`` is the
    registered version when the model was registered too."""

    run_id: str
    artifact_path: str
    meta: ModelMeta
    version: ModelVersion | None = None

    @property
    def uri(self) -> str:
        """``runs:/RUN_ID/models/NAME``."""
        return f"runs:/{self.run_id}/{self.artifact_path}"


class HttpBlobSource:
    """Downloads blobs by sha256 from a Shipyard server (``GET /api/v1/blobs/{sha256}``),
    verified before they land."""

    def __init__(self, http: HttpRunStore) -> None:
        self._http = http

    def download(self, sha256: str, dest: Path) -> int:
        """Write the blob to ``dest``; ``IntegrityError`` when the bytes do not match."""
        dest.parent.mkdir(parents=True, exist_ok=True)
        with self._http.stream("GET", url(blob_api.BLOB, sha256=sha256)) as response:
            return write_verified(dest, response.iter_bytes(CHUNK_SIZE), sha256)


def registry_of(backend: Backend) -> ModelStore:
    """The registry store of a backend (the SQL store, or the server's API)."""
    store = backend.store
    if isinstance(store, HttpRunStore):
        from shipyard.sdk._http_registry import HttpRegistryStore

        return HttpRegistryStore(store)
    if not isinstance(store, ModelStore):
        raise ShipyardError(
            f"the metadata store ({type(store).__name__}) has no model registry",
            hint="use a SQL store (sqlite:/// or postgresql+psycopg://) or a Shipyard server",
        )
    return store


def blobs_of(backend: Backend) -> BlobSource:
    """Where a backend's artifact bytes are read from."""
    if isinstance(backend.store, HttpRunStore):
        return HttpBlobSource(backend.store)
    artifacts: BlobSource | None = getattr(backend, "artifacts", None)
    if artifacts is None:
        raise ShipyardError(f"the backend {type(backend).__name__} cannot read artifact bytes")
    return artifacts


def log_model(
    backend: Backend,
    settings: Settings,
    run_id: str,
    model: Any,
    name: str,
    *,
    input_example: Any = None,
    register_as: str | None = None,
    flavor: str | None = None,
) -> LoggedModel:
    """Save ``model`` with its flavor and upload it under the run's ``models/<name>/``;
    with ``register_as``, also register it as the next version of that registered model."""
    artifact_path = f"{MODELS_FOLDER}/{validate_model_name(name)}"
    if register_as is not None:
        validate_model_name(register_as)
    with tempfile.TemporaryDirectory(prefix="shipyard-model-") as tmp:
        folder = Path(tmp) / name
        meta = save_model(model, folder, input_example=input_example, flavor=flavor)
        files = [
            (file, f"{artifact_path}/{file.relative_to(folder).as_posix()}")
            for file in sorted(folder.rglob("*"))
            if file.is_file()
        ]
        backend.upload_artifacts(run_id, files)
    logged = LoggedModel(run_id, artifact_path, meta)
    if register_as is None:
        return logged
    version = _register(backend, settings, logged, register_as)
    return LoggedModel(run_id, artifact_path, meta, version)


def _register(backend: Backend, settings: Settings, logged: LoggedModel, name: str) -> ModelVersion:
    registry = registry_of(backend)
    ensure_registered_model(registry, name, backend.store.get_run(logged.run_id).project)
    signature = logged.meta.signature
    version = registry.create_model_version(
        name,
        run_id=logged.run_id,
        source=logged.artifact_path,
        flavor=logged.meta.flavor,
        signature=None if signature is None else signature.to_dict(),
        created_by=settings.user,
    )
    _record_output(backend, version)
    return version


def _record_output(backend: Backend, version: ModelVersion) -> None:
    """Lineage: the run produced this registered version."""
    if version.run_id is not None:
        record = RunInput(MODEL_KIND, version.name, str(version.version), direction="output")
        backend.store.add_run_inputs(version.run_id, [record])


def register(backend: Backend, settings: Settings, uri: str, name: str) -> ModelVersion:
    """Register the model folder a URI names as the next version of ``name`` (created in the
    source run's project when new)."""
    version = register_model(
        registry_of(backend), blobs_of(backend), uri, name, created_by=settings.user
    )
    _record_output(backend, version)
    return version


def download(backend: Backend, uri: str, dest: Path) -> Path:
    """Download the model folder a URI names into ``dest`` (checksums verified)."""
    return download_model(registry_of(backend), blobs_of(backend), uri, Path(dest))


def load(backend: Backend, settings: Settings, uri: str) -> LoadedModel:
    """Load the model a URI names, downloading it into the local cache when needed."""
    store = registry_of(backend)
    resolved = resolve_model_uri(store, uri)
    files = store.list_artifacts(resolved.run_id, resolved.artifact_path)
    digest = hashlib.sha256("".join(f"{a.path} {a.sha256}\n" for a in files).encode())
    cached = settings.home / "models" / resolved.run_id / resolved.artifact_path
    folder = cached / digest.hexdigest()[:16]
    if not folder.is_dir():
        _download_into(store, blobs_of(backend), resolved.run_uri, folder)
    return load_model(folder)


def _download_into(store: ModelStore, blobs: BlobSource, uri: str, folder: Path) -> None:
    """Download into a temporary sibling, then rename: a cached folder is always complete."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = folder.with_name(f".{folder.name}.{secrets.token_hex(6)}.part")
    try:
        download_model(store, blobs, uri, tmp)
        try:
            os.rename(tmp, folder)
        except OSError:  # another process cached it first
            if not folder.is_dir():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
