"""Dataset routes: list datasets and versions, read a version with its manifest, create a version
from stored blobs, and the lineage of a dataset. ``router`` includes the blob routes
(``blobs.py``), so the app registers both with one ``include_router``."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response

from shipyard.api import datasets as api
from shipyard.api.datasets import (
    DatasetLineage,
    DatasetList,
    DatasetVersionCreate,
    DatasetVersionDetail,
    DatasetVersionList,
    DatasetVersionOut,
)
from shipyard.artifacts.batch import blob_sizes
from shipyard.domain.datasets import ManifestEntry, normalize_manifest, validate_dataset_name
from shipyard.errors import InvalidArgument, NotFound, ShipyardError
from shipyard.server._deps import Artifacts, errors, json_response
from shipyard.server.access import Caller, CallerDep, Need, rule
from shipyard.server.routes import blobs
from shipyard.store.datasets import DatasetStore
from shipyard.store.triggers import emit_event

router = APIRouter(tags=["datasets"])


def get_datasets(request: Request) -> DatasetStore:
    """The app's metadata store, as a dataset store."""
    store = request.app.state.store
    if not isinstance(store, DatasetStore):
        raise ShipyardError(
            f"this server's metadata store ({type(store).__name__}) does not keep datasets",
            hint="run the server on a SQL store (sqlite:/// or postgresql+psycopg://)",
        )
    return store


Datasets = Annotated[DatasetStore, Depends(get_datasets)]


def parse_version(version: str) -> int | None:
    """A ``{version}`` path segment: a number from 1, or ``latest`` (``None``)."""
    if version == api.LATEST:
        return None
    if not version.isdigit() or int(version) < 1:
        raise InvalidArgument(
            f"invalid dataset version {version!r}",
            hint="use a version number from 1, or 'latest'",
        )
    return int(version)


@router.get(
    api.DATASETS,
    response_model=DatasetList,
    responses=errors(),
    summary="List datasets",
    description="Every dataset with its latest version, by name.",
    dependencies=[rule(Need.USER)],
)
def list_datasets(store: Datasets) -> Response:
    """Every dataset."""
    return json_response(DatasetList.listing(store.list_datasets()))


@router.get(
    api.DATASET_VERSIONS,
    response_model=DatasetVersionList,
    responses=errors(404),
    summary="List dataset versions",
    description="The versions of a dataset, oldest first.",
    dependencies=[rule(Need.USER)],
)
def list_versions(name: str, store: Datasets) -> Response:
    """The versions of a dataset."""
    return json_response(DatasetVersionList.listing(store.list_dataset_versions(name)))


@router.post(
    api.DATASET_VERSIONS,
    response_model=DatasetVersionOut,
    status_code=201,
    responses=errors(404),
    summary="Create a dataset version",
    description="Record a version from files whose blobs are stored (`POST /api/v1/blobs/missing` "
    "says which to upload; `PUT /api/v1/blobs/{sha256}` or `POST /api/v1/blobs/pack` uploads). "
    "The dataset is created on first use. When the latest version has the same files it is "
    "returned instead of a new one. 404 names a blob that is not stored.",
    dependencies=[rule(Need.USER)],
)
def create_version(
    name: str, body: DatasetVersionCreate, store: Datasets, blobs: Artifacts
) -> Response:
    """Create (or find) the version with these files."""
    validate_dataset_name(name)
    manifest = normalize_manifest(body.manifest())
    _check_blobs(manifest, blobs)
    before = _latest_number(store, name)
    version = store.create_dataset_version(name, manifest, body.message, body.user)
    if version.version != before:
        emit_event(store, "dataset", {"name": name, "version": version.version})
    return json_response(DatasetVersionOut.of(version), status_code=201)


def _latest_number(store: Datasets, name: str) -> int | None:
    try:
        return store.get_dataset_version(name).version
    except NotFound:
        return None


def _check_blobs(manifest: tuple[ManifestEntry, ...], blobs: Artifacts) -> None:
    sizes = blob_sizes(blobs, (entry.sha256 for entry in manifest))
    for entry in manifest:
        size = sizes[entry.sha256]
        if size is None:
            raise NotFound(
                f"blob {entry.sha256} of dataset file {entry.path!r} is not stored",
                hint=f"upload it first: PUT {api.BLOB.format(sha256=entry.sha256)}",
            )
        if size != entry.size:
            raise InvalidArgument(
                f"dataset file {entry.path!r} declares {entry.size} bytes but its blob "
                f"{entry.sha256} has {size}",
                hint="send the size of the uploaded file",
            )


@router.get(
    api.DATASET_VERSION,
    response_model=DatasetVersionDetail,
    responses=errors(404),
    summary="Get a dataset version",
    description="One version (`latest` for the newest) with its manifest: every file's path, "
    "size and sha256, sorted by path (`manifest=false` leaves it out).",
    dependencies=[rule(Need.USER)],
)
def get_version(name: str, version: str, store: Datasets, manifest: bool = True) -> Response:
    """A version and its files."""
    number = parse_version(version)
    found = store.get_dataset_version(name, number)
    files = store.get_manifest(name, found.version) if manifest else None
    return json_response(DatasetVersionDetail.build(found, files))


@router.get(
    api.DATASET_LINEAGE,
    response_model=DatasetLineage,
    responses=errors(404),
    summary="Dataset lineage",
    description="The runs that consumed (`input`) or produced (`output`) the dataset, or one "
    "`version` of it, in the order they recorded it.",
    dependencies=[rule(Need.USER)],
)
def lineage(
    name: str, store: Datasets, request: Request, caller: CallerDep, version: int | None = None
) -> Response:
    """Runs that used a dataset (only those in projects the caller sees)."""
    usages = store.runs_using_dataset(name, version)
    if not caller.is_admin:
        usages = [u for u in usages if _visible_run(request, caller, u.run_id)]
    return json_response(DatasetLineage.listing(name, usages))


def _visible_run(request: Request, caller: Caller, run_id: str) -> bool:
    try:
        return caller.sees(request.app.state.store.get_run(run_id).project)
    except NotFound:
        return False


router.include_router(blobs.router)  # the blob transfer that dataset versions rely on
