"""The embedded backend: the SDK writes straight to a SQL store and an artifact store.

Nothing configured means SQLite and a blob folder under ``settings.home`` (``./.shipyard``);
``SHIPYARD_TRACKING_URI=postgresql+psycopg://...`` and ``SHIPYARD_ARTIFACTS=s3://...`` point it at
shared engines without a server.
"""

from __future__ import annotations

import mimetypes
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from shipyard.artifacts import ArtifactStore, open_artifact_store
from shipyard.artifacts.base import atomic_target
from shipyard.domain.entities import Artifact
from shipyard.domain.validation import validate_artifact_path
from shipyard.sdk._folders import ensure_private_folder
from shipyard.settings import Settings
from shipyard.store.base import RunStore
from shipyard.store.factory import open_store

DEFAULT_MEDIA_TYPE = "application/octet-stream"


def media_type_of(path: str) -> str:
    """The media type of an artifact path by its extension (``application/octet-stream`` when
    unknown)."""
    guessed, _encoding = mimetypes.guess_type(path, strict=False)
    return guessed or DEFAULT_MEDIA_TYPE


class EmbeddedBackend:
    """A :class:`~shipyard.sdk.backend.Backend` over a local or direct store (no server)."""

    def __init__(self, settings: Settings) -> None:
        ensure_private_folder(settings.home)
        self._store = open_store(settings.store_uri, auto_create=True)
        self._artifacts: ArtifactStore = open_artifact_store(settings.artifact_uri)

    @property
    def store(self) -> RunStore:
        """Metadata operations."""
        return self._store

    @property
    def artifacts(self) -> ArtifactStore:
        """The blob store behind this backend."""
        return self._artifacts

    def upload_artifacts(
        self,
        run_id: str,
        files: Sequence[tuple[Path, str]],
        *,
        progress: Callable[[int], None] | None = None,
    ) -> list[Artifact]:
        """Store files (identical content is stored once) and record them under the given paths.

        ``progress`` gets each file's size once it is stored. Raises ``NotFound`` for an unknown
        run and ``InvalidArgument`` for a bad artifact path.
        """
        self._store.get_run(run_id)
        paths = [validate_artifact_path(path) for _local, path in files]
        now = time.time_ns() // 1_000_000
        records = []
        for (local, _given), path in zip(files, paths, strict=True):
            blob = self._artifacts.put_file(local)
            records.append(Artifact(path, blob.size, blob.sha256, media_type_of(path), now))
            if progress is not None:
                progress(blob.size)
        self._store.add_artifacts(run_id, records)
        return records

    def download_artifact(
        self,
        run_id: str,
        artifact: Artifact,
        dest: Path,
        *,
        progress: Callable[[int], None] | None = None,
    ) -> None:
        """Write one artifact's bytes to ``dest`` (atomic, checksum verified).

        ``progress`` gets the size of each chunk written.
        """
        if progress is None:
            self._artifacts.download(artifact.sha256, dest)
            return
        with atomic_target(dest) as tmp, tmp.open("xb") as out:
            for chunk in self._artifacts.open(artifact.sha256):  # verified at the end
                out.write(chunk)
                progress(len(chunk))

    def close(self) -> None:
        """Release the store's connections."""
        self._store.close()
