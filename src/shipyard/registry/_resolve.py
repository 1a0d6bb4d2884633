"""Resolving model URIs over the stores, downloading model folders, registering and promoting."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Protocol, runtime_checkable

from shipyard.domain.entities import Artifact, Run
from shipyard.domain.models import ModelVersion, validate_model_name
from shipyard.errors import AlreadyExists, InvalidArgument, NotFound
from shipyard.flavors import MODEL_FILE, ModelMeta
from shipyard.registry._uri import parse_model_uri
from shipyard.store.registry import RegistryStore
from shipyard.store.triggers import emit_event


@runtime_checkable
class ModelStore(RegistryStore, Protocol):
    """A registry store that also reads runs and their artifact records (``SqlRunStore``, the
    SDK's ``HttpRegistryStore``)."""

    def get_run(self, run_id: str) -> Run:
        """A run (for its project). Raises ``NotFound``."""
        ...

    def list_artifacts(self, run_id: str, path: str | None = None) -> Sequence[Artifact]:
        """Artifact records of a run under a folder."""
        ...

    def get_artifact(self, run_id: str, path: str) -> Artifact:
        """One artifact record. Raises ``NotFound``."""
        ...


class BlobSource(Protocol):
    """Where the model's bytes come from: an :class:`~shipyard.artifacts.ArtifactStore` (or the
    SDK's adapter over a server) whose ``download`` writes a blob atomically, checksum verified."""

    def download(self, sha256: str, dest: Path) -> object:
        """Write the blob ``sha256`` to ``dest``; ``IntegrityError`` when it does not match."""
        ...


@dataclass(frozen=True, slots=True)
class ResolvedModel:
    """Where a model URI's folder is: a run and the folder's artifact path in it, and the
    registered version when the URI named one."""

    run_id: str
    artifact_path: str
    version: ModelVersion | None = None

    @property
    def run_uri(self) -> str:
        """``runs:/RUN_ID/PATH`` of the folder."""
        return f"runs:/{self.run_id}/{self.artifact_path}"


def resolve_model_uri(store: RegistryStore, uri: str) -> ResolvedModel:
    """The run and artifact folder a model URI names. Raises ``InvalidArgument`` for a malformed
    URI and ``NotFound`` for a missing model, version or alias."""
    parsed = parse_model_uri(uri)
    if parsed.name is None:
        assert parsed.run_id is not None
        assert parsed.path is not None
        return ResolvedModel(parsed.run_id, parsed.path)
    if parsed.alias is not None:
        version = store.get_model_version_by_alias(parsed.name, parsed.alias)
    elif parsed.version is not None:
        version = store.get_model_version(parsed.name, parsed.version)
    else:
        version = latest_version(store, parsed.name)
    if version.run_id is None:
        raise NotFound(
            f"version {version.version} of registered model {version.name!r} has no source run",
            hint="its run was deleted; register the model again from a run that has it",
        )
    return ResolvedModel(version.run_id, version.source, version)


def latest_version(store: RegistryStore, name: str) -> ModelVersion:
    """The newest version of a registered model. Raises ``NotFound`` when it has none."""
    latest = store.get_registered_model(name).latest_version
    if latest is None:
        raise NotFound(
            f"registered model {name!r} has no versions yet",
            hint=f"register one with `shipyard models register runs:/RUN_ID/models/M {name}`",
        )
    return store.get_model_version(name, latest)


def download_model(store: ModelStore, artifacts: BlobSource, uri: str, dest: Path) -> Path:
    """Download the model folder a URI names into ``dest`` (checksums verified) and return the
    folder to pass to :func:`shipyard.flavors.load_model`.

    Raises ``NotFound`` when the URI names no model folder (no ``shipyard-model.yaml``).
    """
    resolved = resolve_model_uri(store, uri)
    files = store.list_artifacts(resolved.run_id, resolved.artifact_path)
    prefix = PurePosixPath(resolved.artifact_path)
    names = {str(PurePosixPath(a.path).relative_to(prefix)) for a in files if a.path != str(prefix)}
    if MODEL_FILE not in names and "MLmodel" not in names:
        raise NotFound(
            f"{uri} names no model: run {resolved.run_id} has no {MODEL_FILE} under "
            f"{resolved.artifact_path!r}",
            hint="log the model with run.log_model(model, NAME) and use runs:/RUN_ID/models/NAME",
        )
    dest = Path(dest)
    for artifact in files:
        relative = PurePosixPath(artifact.path).relative_to(prefix)
        target = dest.joinpath(*relative.parts)
        if ".." in relative.parts or not target.resolve().is_relative_to(dest.resolve()):
            raise InvalidArgument(f"artifact path {artifact.path!r} leaves the model folder")
        artifacts.download(artifact.sha256, target)
    return dest


def read_model_meta(store: ModelStore, artifacts: BlobSource, run_id: str, path: str) -> ModelMeta:
    """The ``shipyard-model.yaml`` of a run's model folder. Raises ``NotFound``."""
    try:
        artifact = store.get_artifact(run_id, f"{path}/{MODEL_FILE}")
    except NotFound:
        raise NotFound(
            f"run {run_id} has no model at {path!r} (no {MODEL_FILE})",
            hint="log the model with run.log_model(model, NAME); its path is models/NAME",
        ) from None
    with tempfile.TemporaryDirectory(prefix="shipyard-model-") as tmp:
        artifacts.download(artifact.sha256, Path(tmp) / MODEL_FILE)
        return ModelMeta.read(Path(tmp))


def register_model(
    store: ModelStore,
    artifacts: BlobSource,
    uri: str,
    name: str,
    *,
    project: str | None = None,
    description: str = "",
    created_by: str = "",
) -> ModelVersion:
    """Register the model folder a URI names as the next version of ``name`` (created in the
    source run's project, or ``project``, when it does not exist yet)."""
    validate_model_name(name)
    resolved = resolve_model_uri(store, uri)
    meta = read_model_meta(store, artifacts, resolved.run_id, resolved.artifact_path)
    ensure_registered_model(store, name, project or store.get_run(resolved.run_id).project)
    return store.create_model_version(
        name,
        run_id=resolved.run_id,
        source=resolved.artifact_path,
        flavor=meta.flavor,
        signature=None if meta.signature is None else meta.signature.to_dict(),
        description=description,
        created_by=created_by,
    )


def ensure_registered_model(store: RegistryStore, name: str, project: str) -> None:
    """Create the registered model unless it exists (a concurrent creation is fine)."""
    try:
        store.get_registered_model(name)
    except NotFound:
        with contextlib.suppress(AlreadyExists):
            store.create_registered_model(name, project=project)


def promote(store: RegistryStore, name: str, version: int, alias: str) -> int | None:
    """Point ``alias`` (``champion``...) at a version: stage-free promotion. Returns the version
    the alias pointed at before (``None`` when it is new)."""
    previous = store.set_model_alias(name, alias, version)
    event = {"name": name, "alias": alias, "version": version, "previous": previous}
    emit_event(store, "model_alias", event)
    return previous
