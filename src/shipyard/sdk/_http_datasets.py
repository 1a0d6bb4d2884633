""":class:`HttpDatasetStore`: the DatasetStore protocol over a Shipyard server's REST API.

It shares the connection, headers and error translation of an :class:`HttpRunStore`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TypeVar

from pydantic import BaseModel

from shipyard.api import datasets as api
from shipyard.api.datasets import (
    DatasetLineage,
    DatasetList,
    DatasetVersionCreate,
    DatasetVersionDetail,
    DatasetVersionList,
    DatasetVersionOut,
)
from shipyard.api.routes import url
from shipyard.domain.datasets import (
    Dataset,
    DatasetUsage,
    DatasetVersion,
    ManifestEntry,
    normalize_manifest,
    validate_dataset_name,
    validate_dataset_version,
    validate_message,
)
from shipyard.sdk._http_store import HttpRunStore, wire

_M = TypeVar("_M", bound=BaseModel)


class HttpDatasetStore:
    """The :class:`~shipyard.store.datasets.DatasetStore` protocol over HTTP.

    Example::

        datasets = HttpDatasetStore(HttpRunStore("http://127.0.0.1:8080"))
        print([d.name for d in datasets.list_datasets()])
    """

    def __init__(self, http: HttpRunStore) -> None:
        self._http = http

    def create_dataset_version(
        self,
        name: str,
        entries: Sequence[ManifestEntry],
        message: str = "",
        user: str = "",
    ) -> DatasetVersion:
        """Record a version whose blobs are on the server (see ``DatasetStore``).

        Names and manifests are checked here first, so bad input fails the same way as with a
        local store. Raises ``NotFound`` naming a blob the server does not hold.
        """
        validate_dataset_name(name)
        validate_message(message)
        manifest = normalize_manifest(entries)
        body = wire(
            DatasetVersionCreate,
            entries=[{"path": e.path, "size": e.size, "sha256": e.sha256} for e in manifest],
            message=message,
            user=user,
        )
        response = self._http.request("POST", url(api.DATASET_VERSIONS, name=name), body=body)
        return DatasetVersionOut.model_validate_json(response.content).to_domain()

    def list_datasets(self) -> Sequence[Dataset]:
        """Every dataset with its latest version, by name."""
        return [d.to_domain() for d in self._get(DatasetList, api.DATASETS).datasets]

    def list_dataset_versions(self, name: str) -> Sequence[DatasetVersion]:
        """The versions of a dataset, oldest first. Raises ``NotFound``."""
        listing = self._get(DatasetVersionList, url(api.DATASET_VERSIONS, name=name))
        return [v.to_domain() for v in listing.versions]

    def get_dataset_version(self, name: str, version: int | None = None) -> DatasetVersion:
        """One version (``None``: the latest). Raises ``NotFound``."""
        return self._version(name, version, manifest=False).to_domain()

    def get_manifest(self, name: str, version: int | None = None) -> Sequence[ManifestEntry]:
        """The files of a version, sorted by path. Raises ``NotFound``."""
        detail = self._version(name, version, manifest=True)
        return [entry.to_domain() for entry in detail.manifest or ()]

    def runs_using_dataset(self, name: str, version: int | None = None) -> Sequence[DatasetUsage]:
        """Runs that recorded the dataset (or one version) as input or output."""
        params = None if version is None else {"version": validate_dataset_version(version)}
        lineage = self._get(DatasetLineage, url(api.DATASET_LINEAGE, name=name), params)
        return [usage.to_domain() for usage in lineage.usages]

    def _version(self, name: str, version: int | None, *, manifest: bool) -> DatasetVersionDetail:
        segment = api.LATEST if version is None else str(validate_dataset_version(version))
        path = url(api.DATASET_VERSION, name=name, version=segment)
        params = {"manifest": "true" if manifest else "false"}
        return self._get(DatasetVersionDetail, path, params)

    def _get(self, model: type[_M], path: str, params: dict[str, Any] | None = None) -> _M:
        return model.model_validate_json(self._http.request("GET", path, params=params).content)
