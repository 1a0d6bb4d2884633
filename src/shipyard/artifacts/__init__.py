"""Content-addressed blob stores. Rule: every backend implements :class:`ArtifactStore` and passes
one contract suite (local folder, S3-compatible)."""

from shipyard.artifacts.base import ArtifactStore, BlobInfo, open_artifact_store

__all__ = ["ArtifactStore", "BlobInfo", "open_artifact_store"]
