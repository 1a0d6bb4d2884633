"""Routes and wire models of datasets and of the blob transfer they use.

Dataset versions are JSON; blob bytes travel raw (one blob per ``PUT``/``GET``) or, for many
small files, in *packs* (see :mod:`shipyard.api.packs`): one request carries hundreds of blobs.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Annotated, Self

from pydantic import ConfigDict, Field, StringConstraints

from shipyard.api.routes import API_PREFIX
from shipyard.api.schemas import RequestModel, WireModel
from shipyard.domain.datasets import Dataset, DatasetUsage, DatasetVersion, ManifestEntry

DATASETS = f"{API_PREFIX}/datasets"
DATASET_VERSIONS = f"{DATASETS}/{{name}}/versions"
DATASET_VERSION = f"{DATASET_VERSIONS}/{{version}}"
DATASET_LINEAGE = f"{DATASETS}/{{name}}/lineage"
BLOBS_MISSING = f"{API_PREFIX}/blobs/missing"
BLOBS_PACK = f"{API_PREFIX}/blobs/pack"
BLOBS_FETCH = f"{API_PREFIX}/blobs/fetch"
BLOB = f"{API_PREFIX}/blobs/{{sha256}}"

LATEST = "latest"
"""The ``{version}`` that names a dataset's newest version."""
MAX_BLOBS_PER_REQUEST = 10_000
"""Most sha256s one ``missing`` or ``fetch`` request may name."""
PACK = "application/x-shipyard-pack"
"""Media type of a blob pack."""

ROUTES: tuple[tuple[str, str], ...] = (
    ("GET", DATASETS),
    ("GET", DATASET_VERSIONS),
    ("POST", DATASET_VERSIONS),
    ("GET", DATASET_VERSION),
    ("GET", DATASET_LINEAGE),
    ("POST", BLOBS_MISSING),
    ("POST", BLOBS_PACK),
    ("POST", BLOBS_FETCH),
    ("GET", BLOB),
    ("PUT", BLOB),
)
"""Every dataset and blob route as ``(method, path template)``."""

Sha256 = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{64}$")]


class ManifestEntryOut(WireModel):
    """One file of a dataset version."""

    path: str = Field(description="Relative POSIX path inside the dataset, e.g. 'train/1.png'.")
    size: int = Field(ge=0)
    sha256: Sha256 = Field(description="Lowercase hex sha256 of the content.")

    def to_domain(self) -> ManifestEntry:
        """Domain form."""
        return ManifestEntry(self.path, self.size, self.sha256)


class ManifestEntryIn(ManifestEntryOut):
    """A file of a version to create (unknown fields are refused)."""

    model_config = ConfigDict(ser_json_inf_nan="strings", from_attributes=True, extra="forbid")


class DatasetVersionCreate(RequestModel):
    """Create a version from files whose blobs are already stored (``PUT /blobs/{sha256}``)."""

    entries: list[ManifestEntryIn]
    message: str = ""
    user: str = ""

    def manifest(self) -> list[ManifestEntry]:
        """The entries in domain form."""
        return [entry.to_domain() for entry in self.entries]


class DatasetVersionOut(WireModel):
    """An immutable dataset version."""

    name: str
    version: int
    digest: str = Field(description="sha256 of the canonical manifest.")
    file_count: int
    total_size: int
    message: str = ""
    created_at: int = Field(default=0, description="Milliseconds since the epoch (UTC).")
    created_by: str = ""

    def to_domain(self) -> DatasetVersion:
        """Domain form."""
        fields = {name: getattr(self, name) for name in DatasetVersionOut.model_fields}
        return DatasetVersion(**fields)


class DatasetVersionDetail(DatasetVersionOut):
    """A version with its files (``manifest`` is ``null`` when not asked for)."""

    manifest: list[ManifestEntryOut] | None = None

    @classmethod
    def build(cls, version: DatasetVersion, manifest: Iterable[ManifestEntry] | None) -> Self:
        """Wire form of a version and (optionally) its manifest."""
        files = None
        if manifest is not None:
            # Built without re-validation: the entries come from a store, already checked.
            files = [
                ManifestEntryOut.model_construct(path=e.path, size=e.size, sha256=e.sha256)
                for e in manifest
            ]
        return cls(**DatasetVersionOut.of(version).model_dump(), manifest=files)


class DatasetVersionList(WireModel):
    """The versions of a dataset, oldest first."""

    versions: list[DatasetVersionOut]

    @classmethod
    def listing(cls, versions: Iterable[DatasetVersion]) -> Self:
        """Wire form of domain versions."""
        return cls(versions=[DatasetVersionOut.of(v) for v in versions])


class DatasetOut(WireModel):
    """A dataset and its newest version."""

    name: str
    created_at: int
    latest: DatasetVersionOut

    def to_domain(self) -> Dataset:
        """Domain form."""
        return Dataset(self.name, self.created_at, self.latest.to_domain())


class DatasetList(WireModel):
    """Every dataset, by name."""

    datasets: list[DatasetOut]

    @classmethod
    def listing(cls, datasets: Iterable[Dataset]) -> Self:
        """Wire form of domain datasets."""
        return cls(datasets=[DatasetOut.of(d) for d in datasets])


class DatasetUsageOut(WireModel):
    """A run that consumed (``input``) or produced (``output``) a version."""

    run_id: str
    direction: str
    version: int

    def to_domain(self) -> DatasetUsage:
        """Domain form."""
        return DatasetUsage(self.run_id, self.direction, self.version)


class DatasetLineage(WireModel):
    """The runs that used a dataset, in the order they recorded it."""

    name: str
    usages: list[DatasetUsageOut]

    @classmethod
    def listing(cls, name: str, usages: Iterable[DatasetUsage]) -> Self:
        """Wire form of domain usages."""
        return cls(name=name, usages=[DatasetUsageOut.of(u) for u in usages])


class BlobsQuery(RequestModel):
    """Name blobs by sha256 (``missing``: which are not stored; ``fetch``: send them)."""

    sha256s: list[Sha256] = Field(max_length=MAX_BLOBS_PER_REQUEST)


class BlobsMissing(WireModel):
    """The asked-for blobs that the server does not store, in the order asked."""

    missing: list[str]


class PackStored(WireModel):
    """What a pack upload stored."""

    blobs: int = Field(description="Blobs in the pack.")
    bytes: int = Field(description="Their total size.")
