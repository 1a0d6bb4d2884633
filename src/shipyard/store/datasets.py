"""The dataset store protocol: immutable, content-addressed dataset versions and their lineage.

Contract (checked by ``shipyard.testing.dataset_contract`` over every backend):

* A version is its manifest (relative path, size, sha256 per file). Its ``digest`` is the sha256
  of the canonical manifest (:func:`shipyard.domain.datasets.canonical_manifest`), so equal
  content gives equal digests everywhere.
* ``create_dataset_version`` is atomic and creates the dataset on first use. When the latest
  version already has the same digest it returns that version instead of numbering a new one, so
  adding unchanged content again is a no-op. Versions are numbered 1, 2, 3... and never change.
* The store keeps metadata only: the files' bytes are blobs in an
  :class:`~shipyard.artifacts.ArtifactStore`, stored *before* the version that names them.
* Lineage comes from run inputs of kind ``"dataset"`` (``RunInput.version`` is the number).
* Errors are :mod:`shipyard.errors` classes: ``NotFound`` names the dataset or version,
  ``InvalidArgument`` refuses bad names and manifest paths that are absolute or leave the
  dataset's folder. Thread safe, like :class:`~shipyard.store.base.RunStore`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from shipyard.domain.datasets import Dataset, DatasetUsage, DatasetVersion, ManifestEntry


@runtime_checkable
class DatasetStore(Protocol):
    """Where dataset versions, their manifests and their lineage live."""

    def create_dataset_version(
        self,
        name: str,
        entries: Sequence[ManifestEntry],
        message: str = "",
        user: str = "",
    ) -> DatasetVersion:
        """Record a version with these files (the latest one when its digest is the same).

        Example::

            v = store.create_dataset_version("mnist", [ManifestEntry("a.csv", 3, sha)], "first")
        """
        ...

    def list_datasets(self) -> Sequence[Dataset]:
        """Every dataset with its latest version, by name."""
        ...

    def list_dataset_versions(self, name: str) -> Sequence[DatasetVersion]:
        """The versions of a dataset, oldest first. Raises ``NotFound``."""
        ...

    def get_dataset_version(self, name: str, version: int | None = None) -> DatasetVersion:
        """One version (``None``: the latest). Raises ``NotFound`` naming what is missing."""
        ...

    def get_manifest(self, name: str, version: int | None = None) -> Sequence[ManifestEntry]:
        """The files of a version (``None``: the latest), sorted by path. Raises ``NotFound``."""
        ...

    def runs_using_dataset(self, name: str, version: int | None = None) -> Sequence[DatasetUsage]:
        """Runs that recorded the dataset (one version, or any) as input or output, in the order
        they recorded it. Raises ``NotFound`` for an unknown dataset or version."""
        ...
