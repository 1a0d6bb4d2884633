"""The seam between the SDK and where data goes: the embedded store or a Shipyard server.

Both implementations expose a :class:`~shipyard.store.RunStore` (``backend.store``) plus artifact
transfer. ``EmbeddedBackend`` (``sdk/_embedded.py``) writes to a SQL store and an artifact store
directly; ``HttpBackend`` (``sdk/_http.py``) talks to ``shipyard server`` over HTTP. Tests run the
same suites over both.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

from shipyard.domain.entities import Artifact
from shipyard.settings import Settings
from shipyard.store.base import RunStore


class Backend(Protocol):
    """Where an SDK client reads and writes."""

    @property
    def store(self) -> RunStore:
        """Metadata operations."""
        ...

    def upload_artifacts(
        self,
        run_id: str,
        files: Sequence[tuple[Path, str]],
        *,
        progress: Callable[[int], None] | None = None,
    ) -> list[Artifact]:
        """Store local files under the given artifact paths of a run and record them.

        Content that the backend already holds is not sent again. Returns the records.

        ``progress`` is called with byte counts as files are handled (sent, or found already
        stored), adding up to their total size; the CLI draws progress bars with it."""
        ...

    def download_artifact(
        self,
        run_id: str,
        artifact: Artifact,
        dest: Path,
        *,
        progress: Callable[[int], None] | None = None,
    ) -> None:
        """Write one artifact's bytes to ``dest`` (atomically, checksum verified).

        ``progress`` is called with the byte count of each chunk written."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


def open_backend(settings: Settings) -> Backend:
    """The backend that ``settings.tracking_uri`` names (embedded when unset)."""
    if settings.is_remote:
        from shipyard.sdk._http import HttpBackend

        return HttpBackend(settings)
    from shipyard.sdk._embedded import EmbeddedBackend

    return EmbeddedBackend(settings)
